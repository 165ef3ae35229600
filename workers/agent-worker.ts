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
import { loadModelsFile, resolveDeploymentKeys, type CheckedModels } from '../src/config/models-file.ts';
import { startMetricsServer, type MetricsServer } from '../src/metrics/metrics-server.ts';
import { createPrometheusMetrics } from '../src/metrics/prometheus.ts';
import { NO_METRICS, fanOutMetrics, type WorkerMetrics } from '../src/metrics/worker-metrics.ts';
import type { ToolDefinition } from '../src/tools/define-tool.ts';
import { createClient, type MemloomClient } from '../src/client/memloom-client.ts';
import type { PipelineDefinition } from '../src/pipelines/define-pipeline.ts';
import { PipelineRegistry } from '../src/pipelines/registry.ts';
import { publishTools } from '../src/db/tool-store.ts';
import { publishPipelines } from '../src/db/pipeline-store.ts';
import { vectorSearchMode } from '../src/db/passage-store.ts';
import { loadEncoding } from '../src/llm/token-count.ts';
import { ToolRegistry } from '../src/tools/registry.ts';
import { checkDatabase, connectTemporal } from './preflight.ts';
import { freeLoopbackPort, installRuntime, type TemporalMetricsEndpoint } from './runtime.ts';

export interface MemloomWorkerOptions {
  /** Overrides of the environment's configuration. */
  config?: Partial<MemloomConfig>;
  /** User tools agents may call by name. */
  tools?: ToolDefinition[];
  /** User pipelines (`definePipeline`), besides the built-ins; every worker of a task queue must have the same. */
  pipelines?: PipelineDefinition[];
  /** An existing pool; otherwise one is created from `databaseUrl` and closed with the worker. */
  db?: Db;
  /** An existing connection; otherwise one is opened to `temporalAddress` and closed with the worker. */
  connection?: NativeConnection;
  /** Model endpoint key; default LLM_API_KEY / OPENAI_API_KEY of this process. */
  modelApiKey?: string;
  /** A checked models file; default: MEMLOOM_MODELS (`config.modelsFile`) when set. Its keys are read from this process's environment. */
  models?: CheckedModels;
  /** A prebuilt workflow bundle (tests build one per process). */
  workflowBundle?: WorkerOptions['workflowBundle'];
  logger?: Logger;
  /**
   * Where activities report turns and model calls, besides the Prometheus metrics served on
   * `config.metricsPort` when that is set.
   * @default none
   */
  metrics?: WorkerMetrics;
  /** Extra Temporal worker options. */
  workerOptions?: Partial<Omit<WorkerOptions, 'connection' | 'taskQueue' | 'activities' | 'workflowsPath' | 'workflowBundle'>>;
}

export interface MemloomWorker {
  readonly worker: Worker;
  readonly taskQueue: string;
  /** The Prometheus endpoint on `config.metricsPort`, with the Temporal SDK's part; null when off. */
  readonly metricsServer: WorkerMetricsInfo | null;
  /** Runs until shutdown; resolves when the worker stopped. */
  run(): Promise<void>;
  /** Stops polling, waits for running activities, closes what it opened. */
  shutdown(): Promise<void>;
}

export interface WorkerMetricsInfo {
  /** The port `/metrics` is served on. */
  port: number;
  /** Where the Temporal SDK's metrics come from, or why they are not part of the scrape. */
  temporal: TemporalMetricsEndpoint;
}

/** Path of the workflow entry module, as source (tsx) or compiled (dist). */
export function workflowsPath(): string {
  const ts = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL('../workflows/index.js', import.meta.url));
}

export async function createMemloomWorker(options: MemloomWorkerOptions = {}): Promise<MemloomWorker> {
  const config = loadConfig(options.config);
  const logger = options.logger ?? createLogger(config.logLevel, 'memloom-worker');
  const { metricsPort } = config;
  // the SDK serves its metrics on a loopback port; the worker's metrics server passes them on
  const temporalMetrics = installRuntime(logger, metricsPort !== undefined ? { metricsPort: await freeLoopbackPort() } : {});
  const db = options.db ?? createDb({ connectionString: config.databaseUrl, max: config.dbPoolSize, logger });
  let connection: NativeConnection;
  let metricsServer: MetricsServer | undefined;
  let metrics = options.metrics ?? NO_METRICS;
  try {
    // fail at start, naming what is wrong, rather than announce a worker that cannot run turns
    await checkDatabase(db, config.databaseUrl);
    if ((await vectorSearchMode(db)) === 'exact') logger.warn('archival search: the pgvector extension is not available in this database; vector search is an exact scan');
    if (metricsPort !== undefined) {
      const prometheus = createPrometheusMetrics({ db, logger });
      metrics = fanOutMetrics(prometheus, metrics);
      metricsServer = await startMetricsServer({ port: metricsPort, metrics: prometheus, temporal: temporalMetrics, logger });
    }
    connection = options.connection ?? (await connectTemporal(config.temporalAddress));
  } catch (error) {
    await metricsServer?.close();
    if (!options.db) await db.end();
    throw error;
  }
  // a bad models file or a missing os.environ/ key stops the worker before it takes a turn
  const modelsFile = options.models ?? (config.modelsFile !== undefined ? await loadModelsFile(config.modelsFile) : undefined);
  // the tokenizer's tables load in one blocking step (about half a second): at start, not inside a turn
  loadEncoding();
  const tools = new ToolRegistry(options.tools ?? []);
  const pipelines = new PipelineRegistry(options.pipelines ?? []);
  /** The client pipeline stages send their messages with, created on first use. */
  let stageClient: Promise<MemloomClient> | undefined;
  const activities = createActivities({
    db,
    logger,
    tools,
    models: new ModelClients({
      defaultBaseUrl: config.llmBaseUrl,
      apiKey: options.modelApiKey ?? readModelApiKey(),
      ...(modelsFile ? { models: { config: modelsFile.config, keys: resolveDeploymentKeys(modelsFile.config) } } : {}),
    }),
    metrics,
    pipelines,
    client: () => (stageClient ??= createClient({ ...config, db })),
  });
  let worker: Worker;
  let toolWorker: Worker | undefined;
  try {
    worker = await Worker.create({
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
    toolWorker = toolQueue
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
    await publishPipelines(
      db,
      pipelines.all().map((p) => ({
        name: p.name,
        description: p.description,
        inputSchema: p.inputJsonSchema,
        stages: p.stageNames.map((stage) => ({ name: stage, after: [...(p.stages[stage]!.after ?? [])] })),
      })),
    );
  } catch (error) {
    // a listening metrics port would keep the process alive
    await metricsServer?.close();
    throw error;
  }

  let running: Promise<void> | undefined;
  const closeOwned = async (): Promise<void> => {
    await metricsServer?.close();
    if (stageClient) await (await stageClient).close();
    if (!options.db) await db.end();
    if (!options.connection) await connection.close();
  };
  return {
    worker,
    taskQueue: config.taskQueue,
    metricsServer: metricsServer ? { port: metricsServer.port, temporal: temporalMetrics } : null,
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
