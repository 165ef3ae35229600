/**
 * A real stack per test file: its own Postgres database (migrated), the shared Temporal dev
 * server started by test/run.ts (or another one the test names), an in-process memloom worker on
 * its own task queue, the scripted model server, and a client.
 */
import { after } from 'node:test';
import { randomUUID } from 'node:crypto';
import { createClient, type MemloomClient } from '../../src/client/memloom-client.ts';
import { createLogger, type Logger } from '../../src/config/logger.ts';
import type { CheckedModels } from '../../src/config/models-file.ts';
import type { PipelineDefinition } from '../../src/pipelines/define-pipeline.ts';
import { createDb, type Db } from '../../src/db/pool.ts';
import { createScratchDatabase } from './scratch-database.ts';
import { startScriptedModelServer, type ScriptedModelServer, type ScriptedModelServerOptions } from '../../src/dev/scripted-model-server.ts';
import type { ToolDefinition } from '../../src/tools/define-tool.ts';
import { createMemloomWorker, type MemloomWorker } from '../../workers/agent-worker.ts';

export const TEMPORAL_ADDRESS = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
export const ADMIN_DATABASE_URL = process.env.MEMLOOM_TEST_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const BUNDLE = process.env.MEMLOOM_TEST_WORKFLOW_BUNDLE;

/** A fresh, migrated database; dropped when the test file ends. */
export async function createTestDatabase(): Promise<{ url: string; db: Db }> {
  const scratch = await createScratchDatabase(ADMIN_DATABASE_URL, 'memloom_test');
  const db = createDb({ connectionString: scratch.url });
  after(async () => {
    await db.end().catch(() => undefined);
    await scratch.drop();
  });
  return { url: scratch.url, db };
}

export interface TestStack {
  db: Db;
  databaseUrl: string;
  taskQueue: string;
  model: ScriptedModelServer;
  client: MemloomClient;
  /** The in-process worker, when started. */
  worker: MemloomWorker | null;
  /** `modelApiKey` given as `undefined` starts a worker that sends no API key at all. */
  startWorker(extra?: { tools?: ToolDefinition[]; modelApiKey?: string | undefined; models?: CheckedModels; logger?: Logger; pipelines?: PipelineDefinition[] }): Promise<MemloomWorker>;
  /** Default llm_config pointing at the scripted model server. */
  llmConfig: { model: string; model_endpoint: string; context_window: number };
}

export interface TestStackOptions {
  tools?: ToolDefinition[];
  modelApiKey?: string;
  /** @default true */
  startWorker?: boolean;
  modelServerApiKey?: string;
  /** Another Temporal server for the client and the workers, e.g. one a test restarts. @default TEMPORAL_ADDRESS, the shared dev server */
  temporalAddress?: string;
  /** More options of the scripted model server, e.g. a `contextWindow` it enforces. */
  modelServer?: ScriptedModelServerOptions;
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const { url, db } = await createTestDatabase();
  const taskQueue = `memloom-test-${randomUUID()}`;
  const temporalAddress = options.temporalAddress ?? TEMPORAL_ADDRESS;
  const model = await startScriptedModelServer({ ...options.modelServer, ...(options.modelServerApiKey ? { apiKey: options.modelServerApiKey } : {}) });
  const client = await createClient({ temporalAddress, databaseUrl: url, taskQueue });
  const workers: MemloomWorker[] = [];
  const runs: Promise<void>[] = [];
  const stack: TestStack = {
    db,
    databaseUrl: url,
    taskQueue,
    model,
    client,
    worker: null,
    llmConfig: { model: 'scripted-model', model_endpoint: model.url, context_window: 8192 },
    async startWorker(extra = {}) {
      const worker = await createMemloomWorker({
        config: { temporalAddress, databaseUrl: url, taskQueue },
        db,
        tools: extra.tools ?? options.tools ?? [],
        // an empty key means none: the worker then sends no Authorization header
        modelApiKey: 'modelApiKey' in extra ? (extra.modelApiKey ?? '') : (options.modelApiKey ?? 'sk-test'),
        logger: extra.logger ?? createLogger('silent'),
        ...(extra.models ? { models: extra.models } : {}),
        ...(extra.pipelines ? { pipelines: extra.pipelines } : {}),
        ...(BUNDLE ? { workflowBundle: { codePath: BUNDLE } } : {}),
      });
      workers.push(worker);
      runs.push(worker.run());
      stack.worker = worker;
      return worker;
    },
  };
  if (options.startWorker !== false) await stack.startWorker();
  after(async () => {
    await Promise.all(workers.map((w) => w.shutdown().catch(() => undefined)));
    await Promise.allSettled(runs);
    await client.close();
    await model.close();
  });
  return stack;
}
