/**
 * Request bodies over a limit get a 413 before anything reads them: by `Content-Length` when
 * the client sends one, else while the chunked body is read (it is then kept in memory, at most
 * the limit, and handed on). Hono's own `bodyLimit` re-creates the request from the one
 * `@hono/node-server` built, which fails without that server's global Request; this one builds
 * a plain `Request`.
 * @module
 */
import type { MiddlewareHandler } from 'hono';
import type { ServerEnv } from './env.ts';
import { HttpError } from './http-errors.ts';

export function bodyLimit(maxBytes: number): MiddlewareHandler<ServerEnv> {
  const tooLarge = (): HttpError => new HttpError(413, `the request body is over ${maxBytes} bytes`);
  return async (c, next) => {
    const body = c.req.raw.body;
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || body === null) return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number(length) > maxBytes) throw tooLarge();
      return next();
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await reader.cancel();
        throw tooLarge();
      }
      chunks.push(value);
    }
    c.req.raw = new Request(c.req.url, { method: c.req.method, headers: c.req.raw.headers, body: Buffer.concat(chunks) });
    return next();
  };
}
