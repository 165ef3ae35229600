/**
 * Bearer authentication with `MEMLOOM_API_KEY`, as Letta's clients send their key
 * (`Authorization: Bearer <key>`). Keys are compared as SHA-256 digests with
 * `timingSafeEqual`, so neither the comparison time nor the key length says how close a guess
 * was. The key is never logged; the 401 does not echo what was sent.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { ServerEnv } from './env.ts';
import { HttpError } from './http-errors.ts';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Refuses every request without `Authorization: Bearer <apiKey>` with a 401. */
export function bearerAuth(apiKey: string): MiddlewareHandler<ServerEnv> {
  const expected = digest(apiKey);
  return async (c, next) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(c.req.header('authorization') ?? '');
    if (!match || !timingSafeEqual(digest(match[1]!), expected)) {
      const why = match ? 'the API key is not valid' : 'missing API key';
      throw new HttpError(401, `${why}: send "Authorization: Bearer <key>" with the server's MEMLOOM_API_KEY`, { 'WWW-Authenticate': 'Bearer' });
    }
    await next();
  };
}
