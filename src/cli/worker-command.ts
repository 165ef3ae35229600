/**
 * `memloom worker`: runs agent workflows and activities (model calls, memory, tools) until
 * SIGINT or SIGTERM, with the user tools of a module given by `--tools`. A models file
 * (`--models` or MEMLOOM_MODELS) is validated at start, its keys resolved, and the agents whose
 * model is one of its groups are routed by it. `--pipelines` adds the user pipelines of a module to the built-ins. `--metrics-port` (or MEMLOOM_METRICS_PORT) serves Prometheus metrics at `/metrics`.
 * @module
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { z } from 'zod';
import { redactUrl } from '../client/errors.ts';
import { loadConfig, readModelApiKey } from '../config/env.ts';
import { loadModelsFile, resolveDeploymentKeys, type CheckedModels } from '../config/models-file.ts';
import { ConfigError } from '../domain/errors.ts';
import type { PipelineDefinition } from '../pipelines/define-pipeline.ts';
import { BUILT_IN_PIPELINES } from '../pipelines/registry.ts';
import type { ToolDefinition } from '../tools/define-tool.ts';
import { setAction } from './command-context.ts';
import { addJsonOption, intFlag, parseFlags } from './options.ts';
import { printResult, writeErr } from './output.ts';

/** True for what `defineTool` returns. */
export function isToolDefinition(value: unknown): value is ToolDefinition {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.name === 'string' &&
    typeof v.description === 'string' &&
    typeof v.parameters === 'object' &&
    v.parameters !== null &&
    typeof v.execute === 'function' &&
    typeof v.jsonSchema === 'object' &&
    v.jsonSchema !== null
  );
}

/**
 * The tools a module exports: every export that is a `defineTool` result, and the items of a
 * default export that is an array of them. Two different tools with one name are an error.
 */
export async function loadToolsModule(path: string, cwd: string): Promise<ToolDefinition[]> {
  const file = resolve(cwd, path);
  if (!existsSync(file)) throw new ConfigError(`--tools: no such file: ${file}`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`--tools: cannot import ${file}: ${(error as Error).message}`, { cause: error });
  }
  const found = Object.entries(mod).flatMap(([key, value]) =>
    key === 'default' && Array.isArray(value) ? value.filter(isToolDefinition) : isToolDefinition(value) ? [value] : [],
  );
  const byName = new Map<string, ToolDefinition>();
  for (const tool of found) {
    const seen = byName.get(tool.name);
    if (seen && seen !== tool) throw new ConfigError(`--tools: ${file} exports two different tools named "${tool.name}"`);
    byName.set(tool.name, tool);
  }
  if (byName.size === 0) {
    throw new ConfigError(`--tools: ${file} exports no tools (export the results of defineTool, or a default array of them)`);
  }
  return [...byName.values()];
}

/** True for what `definePipeline` returns. */
export function isPipelineDefinition(value: unknown): value is PipelineDefinition {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.name === 'string' &&
    typeof v.description === 'string' &&
    typeof v.stages === 'object' &&
    v.stages !== null &&
    Array.isArray(v.stageNames) &&
    typeof v.inputJsonSchema === 'object' &&
    typeof (v.input as { safeParse?: unknown } | undefined)?.safeParse === 'function'
  );
}

/**
 * The pipelines a module exports: every export that is a `definePipeline` result, and the items
 * of a default export that is an array of them. Two different pipelines with one name are an error.
 */
export async function loadPipelinesModule(path: string, cwd: string): Promise<PipelineDefinition[]> {
  const file = resolve(cwd, path);
  if (!existsSync(file)) throw new ConfigError(`--pipelines: no such file: ${file}`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`--pipelines: cannot import ${file}: ${(error as Error).message}`, { cause: error });
  }
  const found = Object.entries(mod).flatMap(([key, value]) =>
    key === 'default' && Array.isArray(value) ? value.filter(isPipelineDefinition) : isPipelineDefinition(value) ? [value] : [],
  );
  const byName = new Map<string, PipelineDefinition>();
  for (const pipeline of found) {
    const seen = byName.get(pipeline.name);
    if (seen && seen !== pipeline) throw new ConfigError(`--pipelines: ${file} exports two different pipelines named "${pipeline.name}"`);
    byName.set(pipeline.name, pipeline);
  }
  if (byName.size === 0) {
    throw new ConfigError(`--pipelines: ${file} exports no pipelines (export the results of definePipeline, or a default array of them)`);
  }
  return [...byName.values()];
}

/** What the worker serves, as printed at startup. Never contains the API key. */
export interface WorkerInfo {
  taskQueue: string;
  temporalAddress: string;
  namespace: string;
  database: string;
  modelEndpoint: string | null;
  modelApiKeySet: boolean;
  tools: string[];
  /** The pipelines it runs: the built-ins and those of `--pipelines`. */
  pipelines: string[];
  /** The models file validated at start, with its groups and their deployment ids. */
  models: { file: string; groups: { name: string; deployments: string[] }[] } | null;
  /** The Prometheus endpoint, and whether the Temporal SDK's metrics are part of it (and why not). */
  metrics: { port: number; path: '/metrics'; temporalSdk: boolean; note: string | null } | null;
}

const WorkerFlags = z.object({
  metricsPort: intFlag.pipe(z.number().min(1, 'must be a port number from 1 to 65535').max(65_535, 'must be a port number from 1 to 65535')).optional(),
});

function formatMetrics(metrics: WorkerInfo['metrics']): string {
  if (!metrics) return 'none (--metrics-port or MEMLOOM_METRICS_PORT)';
  const where = `http://localhost:${metrics.port}${metrics.path}`;
  return metrics.temporalSdk ? `${where} (memloom and Temporal SDK)` : `${where} (memloom only; Temporal SDK metrics: ${metrics.note})`;
}

function formatWorkerInfo(info: WorkerInfo): string {
  return [
    `memloom worker serving task queue "${info.taskQueue}" on Temporal ${info.temporalAddress} (namespace ${info.namespace})`,
    `  database:       ${info.database}`,
    `  model endpoint: ${info.modelEndpoint ?? "none by default (agents' llm_config.model_endpoint)"}`,
    `  model API key:  ${info.modelApiKeySet ? 'set' : 'not set (LLM_API_KEY or OPENAI_API_KEY)'}`,
    `  user tools:     ${info.tools.length > 0 ? info.tools.join(', ') : 'none (pass --tools ./tools.ts)'}`,
    `  pipelines:      ${info.pipelines.join(', ')} (add yours with --pipelines ./pipelines.ts)`,
    `  models file:    ${info.models ? `${info.models.file} (routing its groups)` : 'none (--models or MEMLOOM_MODELS)'}`,
    `  metrics:        ${formatMetrics(info.metrics)}`,
    ...(info.models ? [`  model groups:   ${info.models.groups.map((g) => `${g.name} (${g.deployments.join(', ')})`).join('; ')}`] : []),
    'Stop with Ctrl-C (SIGINT) or SIGTERM.',
  ].join('\n');
}

export function workerCommand(): Command {
  const command = new Command('worker')
    .summary('run a worker: agent workflows, model calls, memory and tools')
    .description(
      'Run a memloom worker: it executes agent workflows and their activities (model calls, memory edits, tools) ' +
        'on the task queue until SIGINT or SIGTERM. Model keys come from LLM_API_KEY / OPENAI_API_KEY of this process.',
    )
    .option('--tools <module>', 'an ES/TypeScript module whose exports are defineTool(...) results (or a default array of them)')
    .option('--pipelines <module>', 'an ES/TypeScript module whose exports are definePipeline(...) results (or a default array of them); every worker of the task queue needs it')
    .option('--workflow-bundle <file>', 'a prebuilt workflow bundle (bundleWorkflowCode) for a faster start')
    .option(
      '--models <file>',
      'a LiteLLM config.yaml of model groups (env MEMLOOM_MODELS): validated at start, with its os.environ/ keys; agents whose model is one of its groups are routed by it',
    )
    .option('--metrics-port <port>', 'serve Prometheus metrics (memloom and Temporal SDK) at /metrics on this port (env MEMLOOM_METRICS_PORT)');
  addJsonOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ LLM_BASE_URL=http://localhost:4000 LLM_API_KEY=sk-... memloom worker
  $ memloom worker --tools ./my-tools.ts --task-queue memloom-prod
  $ memloom worker --pipelines ./my-pipelines.ts  # then: memloom pipeline list
  $ memloom worker --models ./config.yaml        # check it first: memloom models check ./config.yaml
  $ memloom worker --metrics-port 9464           # scrape http://HOST:9464/metrics`,
  );
  return setAction(command, async (ctx, _args, options) => {
    const flags = parseFlags(WorkerFlags, { metricsPort: options.metricsPort });
    const cwd = process.cwd();
    const tools = typeof options.tools === 'string' ? await loadToolsModule(options.tools, cwd) : [];
    const pipelines = typeof options.pipelines === 'string' ? await loadPipelinesModule(options.pipelines, cwd) : [];
    const bundle = typeof options.workflowBundle === 'string' ? resolve(cwd, options.workflowBundle) : undefined;
    if (bundle !== undefined && !existsSync(bundle)) throw new ConfigError(`--workflow-bundle: no such file: ${bundle}`);
    const overrides = { ...ctx.overrides, ...(flags.metricsPort !== undefined ? { metricsPort: flags.metricsPort } : {}) };
    const config = loadConfig(overrides);
    const modelsFile = typeof options.models === 'string' ? options.models : config.modelsFile;
    const models = modelsFile !== undefined ? await checkModelsAtStart(modelsFile) : null;
    // loaded on use: the worker SDK and its native runtime are only needed by this command
    const { createMemloomWorker } = await import('../../workers/agent-worker.ts');
    const worker = await createMemloomWorker({
      config: overrides,
      tools,
      pipelines,
      // --models wins over MEMLOOM_MODELS: the worker routes by the file checked above
      ...(models ? { models } : {}),
      ...(bundle !== undefined ? { workflowBundle: { codePath: bundle } } : {}),
    });
    const info: WorkerInfo = {
      taskQueue: worker.taskQueue,
      temporalAddress: config.temporalAddress,
      namespace: config.temporalNamespace,
      database: redactUrl(config.databaseUrl),
      modelEndpoint: config.llmBaseUrl ? redactUrl(config.llmBaseUrl) : null,
      modelApiKeySet: readModelApiKey() !== undefined,
      tools: tools.map((t) => t.name),
      pipelines: [...BUILT_IN_PIPELINES, ...pipelines].map((p) => p.name),
      models: models && {
        file: models.source,
        groups: models.config.groups.map((g) => ({ name: g.name, deployments: g.deployments.map((d) => d.id) })),
      },
      metrics: worker.metricsServer && {
        port: worker.metricsServer.port,
        path: '/metrics',
        temporalSdk: 'url' in worker.metricsServer.temporal,
        note: 'unavailable' in worker.metricsServer.temporal ? worker.metricsServer.temporal.unavailable : null,
      },
    };
    // the result document goes to stdout with --json; people read the banner on stderr
    if (ctx.mode.json) printResult(ctx.mode, info, formatWorkerInfo);
    else writeErr(formatWorkerInfo(info));
    const stop = (): void => {
      void worker.shutdown().catch(() => undefined);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await worker.run();
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    if (!ctx.mode.json) writeErr('memloom worker stopped');
  });
}

/**
 * Loads the models file and resolves its keys, so that a bad file or a missing os.environ/
 * variable fails the worker at start. The keys are not kept: routing by the file is not wired yet.
 */
async function checkModelsAtStart(file: string): Promise<CheckedModels> {
  const models = await loadModelsFile(file);
  resolveDeploymentKeys(models.config);
  return models;
}
