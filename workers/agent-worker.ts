/**
 * The memloom worker: agent workflows plus every activity, on one task queue. Model keys are
 * read here, from the worker's environment, and nowhere else.
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities/index.ts';
import { loadConfig, readModelApiKey, type MemloomConfig } from '../src/config/env.ts';
import { createLogger, type Logger } from '../src/config/logger.ts';
import { createDb, type Db } from '../src/db/pool.ts';
import { ModelClients } from '../src/llm/model-client.ts';
import type { ToolDefinition } from '../src/tools/define-tool.ts';
import { publishTools } from '../src/db/tool-store.ts';
import { ToolRegistry } from '../src/tools/registry.ts';
import { checkDatabase, connectTemporal } from './preflight.ts';
import { installRuntime } from './runtime.ts';

export interface MemloomWorkerOptions {
  /** Overrides of the environment's configuration. */
  config?: Partial<MemloomConfig>;
  /** User tools agents may call by name. */
  tools?: ToolDefinition[];
  /** An existing pool; otherwise one is created from `databaseUrl` and closed with the worker. */
  db?: Db;
  /** An existing connection; otherwise one is opened to `temporalAddress` and closed with the worker. */
  connection?: NativeConnection;
  /** Model endpoint key; default LLM_API_KEY / OPENAI_API_KEY of this process. */
  modelApiKey?: string;
  /** A prebuilt workflow bundle (tests build one per process). */
  workflowBundle?: WorkerOptions['workflowBundle'];
  logger?: Logger;
  /** Extra Temporal worker options. */
  workerOptions?: Partial<Omit<WorkerOptions, 'connection' | 'taskQueue' | 'activities' | 'workflowsPath' | 'workflowBundle'>>;
}

export interface MemloomWorker {
  readonly worker: Worker;
  readonly taskQueue: string;
  /** Runs until shutdown; resolves when the worker stopped. */
  run(): Promise<void>;
  /** Stops polling, waits for running activities, closes what it opened. */
  shutdown(): Promise<void>;
}

/** Path of the workflow entry module, as source (tsx) or compiled (dist). */
export function workflowsPath(): string {
  const ts = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL('../workflows/index.js', import.meta.url));
}

export async function createMemloomWorker(options: MemloomWorkerOptions = {}): Promise<MemloomWorker> {
  const config = loadConfig(options.config);
  const logger = options.logger ?? createLogger(config.logLevel, 'memloom-worker');
  installRuntime(logger);
  const db = options.db ?? createDb({ connectionString: config.databaseUrl, max: config.dbPoolSize, logger });
  let connection: NativeConnection;
  try {
    // fail at start, naming what is wrong, rather than announce a worker that cannot run turns
    await checkDatabase(db, config.databaseUrl);
    connection = options.connection ?? (await connectTemporal(config.temporalAddress));
  } catch (error) {
    if (!options.db) await db.end();
    throw error;
  }
  const tools = new ToolRegistry(options.tools ?? []);
  const activities = createActivities({
    db,
    logger,
    tools,
    models: new ModelClients({ defaultBaseUrl: config.llmBaseUrl, apiKey: options.modelApiKey ?? readModelApiKey() }),
  });
  const worker = await Worker.create({
    connection,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    activities,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: workflowsPath() }),
    shutdownGraceTime: '10 seconds',
    // every running activity may hold a pool connection: the pool is sized to match
    maxConcurrentActivityTaskExecutions: config.activityConcurrency,
    ...options.workerOptions,
  });

  // user tools run only on workers that have them: their calls go to a task queue of this tool
  // set, which every worker finds in the published registry
  const toolQueue = toolSetTaskQueue(config.taskQueue, tools.userToolNames());
  const toolWorker = toolQueue
    ? await Worker.create({
        connection,
        namespace: config.temporalNamespace,
        taskQueue: toolQueue,
        activities: { runTool: activities.runTool },
        shutdownGraceTime: '10 seconds',
        maxConcurrentActivityTaskExecutions: config.activityConcurrency,
      })
    : undefined;
  if (toolQueue) await publishTools(db, tools.published(toolQueue));

  let running: Promise<void> | undefined;
  const closeOwned = async (): Promise<void> => {
    if (!options.db) await db.end();
    if (!options.connection) await connection.close();
  };
  return {
    worker,
    taskQueue: config.taskQueue,
    run() {
      running ??= (async () => {
        const runs = [worker.run(), ...(toolWorker ? [toolWorker.run()] : [])];
        try {
          await Promise.all(runs);
        } finally {
          // one stopped (shutdown or a fatal error): the other stops with it
          for (const w of [worker, toolWorker]) if (w?.getState() === 'RUNNING') w.shutdown();
          await Promise.allSettled(runs);
          await closeOwned();
        }
      })();
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      if (toolWorker?.getState() === 'RUNNING') toolWorker.shutdown();
      if (running) await running;
      else await closeOwned();
    },
  };
}

/**
 * The task queue of the workers that have exactly these user tools: `<queue>/tools/<hash>`, or
 * undefined without user tools. Two workers with the same tools share it.
 */
export function toolSetTaskQueue(taskQueue: string, toolNames: readonly string[]): string | undefined {
  if (toolNames.length === 0) return undefined;
  const hash = createHash('sha256').update([...toolNames].sort().join('\n')).digest('hex').slice(0, 12);
  return `${taskQueue}/tools/${hash}`;
}
