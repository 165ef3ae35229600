/**
 * `memloom serve`: Letta's REST API (src/api) on `--host`/`--port` (127.0.0.1:8283, Letta's
 * port) until SIGINT or SIGTERM, over the same SDK and environment as every other command. With
 * MEMLOOM_API_KEY every request needs `Authorization: Bearer <key>`; without it the server
 * listens on a loopback address only, and says so.
 * @module
 */
import { Command } from 'commander';
import { z } from 'zod';
import { redactUrl } from '../client/errors.ts';
import { loadConfig, readLogFormat, readServerApiKey } from '../config/env.ts';
import { createLogger, LOG_FORMATS } from '../config/logger.ts';
import { DEFAULT_HOST, DEFAULT_PORT, MAX_BODY_BYTES, startServer } from '../api/index.ts';
import { setAction } from './command-context.ts';
import { addJsonOption, intFlag, parseFlags } from './options.ts';
import { printResult, writeErr } from './output.ts';

const ServeFlags = z.object({
  port: intFlag.pipe(z.number().int().min(0, 'must be a port, 0-65535 (0: any free port)').max(65_535, 'must be a port, 0-65535 (0: any free port)')).optional(),
  host: z.string().trim().min(1, 'must not be empty').optional(),
  logFormat: z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }).optional(),
});

/** What the server serves, as printed at start. Never contains the API key. */
export interface ServeInfo {
  url: string;
  openapi: string;
  authenticated: boolean;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  database: string;
  maxBodyBytes: number;
}

function formatServeInfo(info: ServeInfo): string {
  return [
    `memloom serve: the Letta REST API at ${info.url}/v1 (OpenAPI: ${info.openapi})`,
    `  auth:       ${info.authenticated ? 'Authorization: Bearer <MEMLOOM_API_KEY> required' : 'none: MEMLOOM_API_KEY is not set, so only this machine can connect (loopback address)'}`,
    `  temporal:   ${info.temporalAddress} (namespace ${info.namespace}, task queue "${info.taskQueue}"; a worker must run there)`,
    `  database:   ${info.database}`,
    `  body limit: ${info.maxBodyBytes} bytes`,
    `Letta clients: new Letta({ baseURL: '${info.url}'${info.authenticated ? ", apiKey: process.env.MEMLOOM_API_KEY" : ''} })`,
    'Stop with Ctrl-C (SIGINT) or SIGTERM.',
  ].join('\n');
}

export function serveCommand(): Command {
  const command = new Command('serve')
    .summary("serve Letta's REST API (official Letta clients work unchanged)")
    .description(
      "Serve the part of Letta's REST API that its official clients use (agents, messages, core memory, archival memory, tools, models, health) " +
        'over the memloom SDK, until SIGINT or SIGTERM, with openapi.json at /openapi.json. Agent turns run on the workers of the task queue ' +
        '(`memloom worker`). Turns stream as Letta’s SSE (streaming: true), run in the background (/messages/async, /v1/runs/{id}) and can be cancelled. With MEMLOOM_API_KEY set every request needs ' +
        '"Authorization: Bearer <key>"; without it the server refuses any --host but a loopback address (127.0.0.1, ::1, localhost).',
    )
    .option('--port <port>', `port to listen on (default ${DEFAULT_PORT}, Letta's; 0: any free port)`)
    .option('--host <host>', `address to listen on (default ${DEFAULT_HOST}; any other than loopback needs MEMLOOM_API_KEY)`)
    .option('--log-format <format>', 'request logs on stderr: pretty (default in a terminal) or json (default otherwise; MEMLOOM_LOG_FORMAT)');
  addJsonOption(command);
  command.addHelpText(
    'after',
    `
Environment:
  MEMLOOM_API_KEY     the key clients must send as "Authorization: Bearer <key>" (Letta clients: apiKey / LETTA_API_KEY)
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, MEMLOOM_TASK_QUEUE, DATABASE_URL, MEMLOOM_MODELS   as for every command
  MEMLOOM_LOG_LEVEL, MEMLOOM_LOG_FORMAT   one log line per request: id, method, path, status, duration

Examples:
  $ memloom serve                                        # http://127.0.0.1:8283, this machine only
  $ MEMLOOM_API_KEY=$(openssl rand -hex 24) memloom serve --host 0.0.0.0
  $ curl -s localhost:8283/v1/agents/ | jq '.[].name'`,
  );
  return setAction(command, async (ctx, _args, options) => {
    const flags = parseFlags(ServeFlags, options);
    const config = loadConfig(ctx.overrides);
    const apiKey = readServerApiKey();
    const format = flags.logFormat ?? readLogFormat();
    const logger = createLogger(config.logLevel, 'memloom-serve', format ? { format } : {});
    const client = await ctx.client();
    const server = await startServer({
      client,
      logger,
      apiKey,
      host: flags.host ?? DEFAULT_HOST,
      port: flags.port ?? DEFAULT_PORT,
    });
    const info: ServeInfo = {
      url: server.url,
      openapi: `${server.url}/openapi.json`,
      authenticated: server.authenticated,
      temporalAddress: config.temporalAddress,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      database: redactUrl(config.databaseUrl),
      maxBodyBytes: MAX_BODY_BYTES,
    };
    // the result document goes to stdout with --json; people read the banner on stderr
    if (ctx.mode.json) printResult(ctx.mode, info, formatServeInfo);
    else writeErr(formatServeInfo(info));
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    if (!ctx.mode.json) writeErr('memloom serve stopped');
  });
}
