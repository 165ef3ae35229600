/**
 * Letta's REST API in the embedded stack: what `memloom serve` runs, started by `memloom dev` in
 * its own process beside the worker, on the stack's loopback address and Letta's port (8283).
 * A taken port is found before anything of the stack starts, and named with the flags that
 * avoid it; the stack does not move the API to another port behind the user's back.
 * @module
 */
import { DEFAULT_PORT, startServer, type RunningServer } from '../api/index.ts';
import { createClient, type ClientOptions } from '../client/memloom-client.ts';
import type { Logger } from '../config/logger.ts';
import { portOpen } from './temporal-cli.ts';

/** Letta's port, the API's default. */
export const DEFAULT_API_PORT = DEFAULT_PORT;

/** How long a stop waits for the API's open requests (a long turn, a stream) before going on. */
const CLOSE_WAIT_MS = 5000;

export interface DevApiOptions {
  /** @default 8283, Letta's port */
  port?: number;
  /** MEMLOOM_API_KEY: every request must then send `Authorization: Bearer <key>`. @default none */
  apiKey?: string | undefined;
  /** The request log. */
  logger: Logger;
}

/** Fails when `port` is taken: before the stack starts anything, so nothing is left to undo. */
export async function checkApiPort(host: string, port: number): Promise<void> {
  if (!(await portOpen(host, port))) return;
  const whose = port === DEFAULT_API_PORT ? " (Letta's port: a Letta server, or a `memloom serve`?)" : '';
  throw new Error(`port ${port} for the REST API is taken${whose}: pick another with --api-port, or run without the API with --no-api`);
}

/**
 * Serves the API over a client of the stack (its own pool, as `memloom serve` would have, and the
 * worker's models file). Its stop steps go on `cleanup`: the server first, then the client.
 */
export async function serveApi(
  api: DevApiOptions & { host: string; port: number },
  config: Pick<ClientOptions, 'temporalAddress' | 'temporalNamespace' | 'taskQueue' | 'databaseUrl' | 'modelsFile'>,
  cleanup: (() => Promise<void>)[],
): Promise<RunningServer> {
  const client = await createClient(config);
  cleanup.push(() => client.close());
  const server = await startServer({ client, logger: api.logger, apiKey: api.apiKey, host: api.host, port: api.port });
  cleanup.push(() => Promise.race([server.close(), new Promise<void>((resolve) => setTimeout(resolve, CLOSE_WAIT_MS).unref())]));
  return server;
}
