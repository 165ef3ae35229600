/**
 * One log line per request: its id (also the `X-Request-Id` response header), method, path
 * (without the query string, which may carry search text), status and duration. Never a header,
 * a key or a body: what people send their agents is theirs, not the log's.
 * @module
 */
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { ServerEnv } from './env.ts';

export function requestLog(logger: Logger): MiddlewareHandler<ServerEnv> {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const status = c.res.status;
      const entry = {
        req_id: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
        status,
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
      };
      if (status >= 500) logger.warn(entry, 'request failed');
      else logger.info(entry, 'request');
    }
  };
}
