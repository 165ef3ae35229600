/**
 * An in-process memloom worker of a test stack that also runs the fixture pipelines
 * (`test/fixtures/pipelines.ts`), stopped when the test file ends.
 */
import type { MemloomWorker } from '../../workers/agent-worker.ts';
import pipelines from '../fixtures/pipelines.ts';
import type { TestStack } from '../helpers/stack.ts';

export function startPipelineWorker(stack: TestStack): Promise<MemloomWorker> {
  return stack.startWorker({ pipelines });
}
