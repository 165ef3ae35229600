/**
 * What the server's middleware and routes share per request (Hono's `Variables`), and what every
 * route module is given.
 * @module
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from 'pino';
import type { MemloomClient } from '../client/memloom-client.ts';

export interface ServerEnv {
  Variables: {
    /** Sent back as `X-Request-Id` and on every log line of the request. */
    requestId: string;
    /**
     * The request carries a client's idempotency key (`otid`, `Idempotency-Key`): sent again, it
     * is answered from what the first one did, so a failure may be retried.
     */
    replaySafe: boolean;
  };
}

export type ServerApp = OpenAPIHono<ServerEnv>;

/** What the route modules work with: the SDK, and nothing else that holds state. */
export interface RouteDeps {
  client: MemloomClient;
  logger: Logger;
}
