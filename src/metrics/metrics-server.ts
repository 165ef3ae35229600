/**
 * The worker's one metrics port: `GET /metrics` answers memloom's registry followed by the
 * Temporal SDK's own metrics, which the SDK serves on a loopback port of its own.
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError } from '../domain/errors.ts';
import type { PrometheusMetrics } from './prometheus.ts';

export interface MetricsServerOptions {
  /** The port to listen on (`--metrics-port`). */
  port: number;
  /**
   * The interface to listen on; a Prometheus server in another container or host has to reach it.
   * @default every interface
   */
  host?: string;
  metrics: PrometheusMetrics;
  /**
   * The Temporal SDK's metrics endpoint (`http://127.0.0.1:PORT/metrics`), or why there is none:
   * its text is written in place of the SDK's metrics as a `#` comment.
   */
  temporal: { url: string } | { unavailable: string };
  logger: Logger;
  /**
   * How long a scrape waits for the SDK's metrics before answering without them.
   * @default 5000
   */
  temporalTimeoutMs?: number;
}

export interface MetricsServer {
  /** The port listened on. */
  readonly port: number;
  close(): Promise<void>;
}

/** The Prometheus text format, version 0.0.4: what both parts are written in. */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Starts listening; a port in use or not allowed is a ConfigError naming `--metrics-port`. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { metrics, temporal, logger } = options;
  const timeoutMs = options.temporalTimeoutMs ?? 5000;

  const body = async (): Promise<string> => {
    const [own, sdk] = await Promise.all([metrics.scrape(), temporalText(temporal, timeoutMs, logger)]);
    return `${own.endsWith('\n') ? own : `${own}\n`}${sdk}`;
  };

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('memloom worker metrics are at /metrics\n');
      return;
    }
    body().then(
      (text) => res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : text),
      (error: unknown) => {
        logger.error({ err: error }, 'metrics: scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('scrape failed; see the worker log\n');
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE' ? 'is in use by another process' : error.code === 'EACCES' ? 'is not allowed for this user' : error.message;
      reject(new ConfigError(`--metrics-port: cannot listen on port ${options.port}: it ${why}`, { cause: error }));
    });
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // a scraper keeps its connection open between scrapes
        server.closeAllConnections();
      }),
  };
}

/** The SDK's metrics text, or a comment saying why it is missing. Never throws. */
async function temporalText(temporal: MetricsServerOptions['temporal'], timeoutMs: number, logger: Logger): Promise<string> {
  if ('unavailable' in temporal) return `# Temporal SDK metrics: ${temporal.unavailable}\n`;
  try {
    const res = await fetch(temporal.url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const text = await res.text();
    return text.endsWith('\n') || text === '' ? text : `${text}\n`;
  } catch (error) {
    logger.warn({ err: error }, 'metrics: cannot read the Temporal SDK metrics; scrape answered without them');
    return `# Temporal SDK metrics: unavailable this scrape (${(error as Error).message})\n`;
  }
}
