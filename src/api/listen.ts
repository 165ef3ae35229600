/**
 * Starting the server: the app of ./app.ts on a Node HTTP server (@hono/node-server, without
 * replacing the process's global `Request`/`Response`). Without an API key the server listens
 * on a loopback address only and refuses any other host: a memloom whose agents anyone on the
 * network could read and spend is never one flag away.
 * @module
 */
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Server } from 'node:http';
import { ConfigError } from '../domain/errors.ts';
import { TurnEventListener } from '../db/turn-event-listener.ts';
import { createApp, type AppOptions } from './app.ts';

/** Letta's port. */
export const DEFAULT_PORT = 8283;
export const DEFAULT_HOST = '127.0.0.1';

export interface ServeOptions extends AppOptions {
  /** @default {@link DEFAULT_HOST} */
  host?: string;
  /** 0 picks a free port. @default {@link DEFAULT_PORT} */
  port?: number;
}

export interface RunningServer {
  /** `http://host:port`, what clients use as their base URL. */
  url: string;
  host: string;
  port: number;
  /** Whether requests need the API key. */
  authenticated: boolean;
  /** Stops accepting requests, ends idle connections and waits for the open ones. */
  close(): Promise<void>;
}

/** True for a host name only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::1';
}

/** Listens, or fails with a ConfigError naming the host and port. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  if (options.apiKey === undefined && !isLoopbackHost(host)) {
    throw new ConfigError(
      `refusing to listen on ${host} without an API key: anyone who reaches it could read and use every agent. ` +
        `Set MEMLOOM_API_KEY (clients then send "Authorization: Bearer <key>"), or keep the default --host ${DEFAULT_HOST}`,
    );
  }
  const events = options.events ?? new TurnEventListener({ connectionString: options.client.config.databaseUrl, logger: options.logger });
  const app = createApp({ ...options, events });
  const server = createAdaptorServer({ fetch: app.fetch, overrideGlobalObjects: false }) as Server;
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException): void => {
      const why = error.code === 'EADDRINUSE' ? 'the port is in use (pass --port)' : error.code === 'EADDRNOTAVAIL' ? 'no such address here (pass --host)' : error.message;
      reject(new ConfigError(`cannot listen on ${host}:${port}: ${why}`, { cause: error }));
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const closeEvents = (): Promise<void> => (options.events ? Promise.resolve() : events.close());
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}`,
    host,
    port: bound,
    authenticated: options.apiKey !== undefined,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }).finally(closeEvents),
  };
}
