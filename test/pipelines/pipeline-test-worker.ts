/**
 * An in-process memloom worker of a test stack that also runs the fixture pipelines
 * (`test/fixtures/pipelines.ts`), stopped when the test file ends.
 */
import { after } from 'node:test';
import { createLogger } from '../../src/config/logger.ts';
import { createMemloomWorker, type MemloomWorker } from '../../workers/agent-worker.ts';
import pipelines from '../fixtures/pipelines.ts';
import { TEMPORAL_ADDRESS, type TestStack } from '../helpers/stack.ts';

export async function startPipelineWorker(stack: TestStack): Promise<MemloomWorker> {
  const bundle = process.env.MEMLOOM_TEST_WORKFLOW_BUNDLE;
  const worker = await createMemloomWorker({
    config: { temporalAddress: TEMPORAL_ADDRESS, databaseUrl: stack.databaseUrl, taskQueue: stack.taskQueue },
    db: stack.db,
    pipelines,
    modelApiKey: 'sk-test',
    logger: createLogger('silent'),
    ...(bundle ? { workflowBundle: { codePath: bundle } } : {}),
  });
  const running = worker.run();
  after(async () => {
    await worker.shutdown().catch(() => undefined);
    await running.catch(() => undefined);
  });
  return worker;
}
