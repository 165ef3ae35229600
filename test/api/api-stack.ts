/**
 * `memloom serve` in-process on a free port, over a real stack (test/helpers/stack.ts), with its
 * log lines captured, and Letta's official client pointed at it.
 */
import { after } from 'node:test';
import Letta from '@letta-ai/letta-client';
import { pino } from 'pino';
import { startServer, type RunningServer, type StreamingOptions } from '../../src/api/index.ts';
import type { TestStack } from '../helpers/stack.ts';

export interface ApiServer {
  server: RunningServer;
  /** Every log line of the server, parsed. */
  logs: Record<string, unknown>[];
  /** The raw log text, to look for what must never be in it. */
  logText(): string;
  /** Letta's client for this server (with the server's key, when it has one). */
  letta(options?: { apiKey?: string | null; timeout?: number; maxRetries?: number }): Letta;
}

export async function startApiServer(stack: TestStack, options: { apiKey?: string; maxBodyBytes?: number; streaming?: StreamingOptions } = {}): Promise<ApiServer> {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const server = await startServer({ client: stack.client, logger, port: 0, ...options });
  after(() => server.close());
  return {
    server,
    get logs() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => lines.join(''),
    letta: (o = {}) =>
      new Letta({
        baseURL: server.url,
        apiKey: 'apiKey' in o ? o.apiKey : (options.apiKey ?? null),
        maxRetries: o.maxRetries ?? 0,
        ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
      }),
  };
}
