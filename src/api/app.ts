/**
 * The Hono app of `memloom serve`: request id → log line → auth → body limit → Letta's routes,
 * with every failure answered by src/api/http-errors.ts and openapi.json generated from the
 * zod schemas the routes validate with.
 * @module
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import type { Logger } from 'pino';
import type { MemloomClient } from '../client/memloom-client.ts';
import { TurnFailedError } from '../domain/errors.ts';
import { bearerAuth } from './auth.ts';
import { bodyLimit } from './body-limit.ts';
import type { ServerApp, ServerEnv } from './env.ts';
import { errorAnswer, originOfTarget, RequestValidationError, shouldRetryHeader, zodProblems } from './http-errors.ts';
import { requestLog } from './request-log.ts';
import { agentRoutes } from './routes/agents.ts';
import { archivalRoutes } from './routes/archival.ts';
import { coreMemoryRoutes } from './routes/core-memory.ts';
import { messageRoutes } from './routes/messages.ts';
import { messageStreamingRoutes } from './routes/message-streaming.ts';
import { runRoutes } from './routes/runs.ts';
import { systemRoutes } from './routes/system.ts';
import { toolRoutes } from './routes/tools.ts';
import { DEFAULT_KEEPALIVE_MS, type StreamingOptions } from './streaming/turn-stream.ts';
import { TurnEventListener } from '../db/turn-event-listener.ts';
import { serverVersion } from './version.ts';

/** The largest request body: a message may be long (the SDK caps it by the agent's window), a megabyte-sized one is a mistake. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface AppOptions {
  client: MemloomClient;
  logger: Logger;
  /** Every request must send `Authorization: Bearer <apiKey>`. @default none: no authentication */
  apiKey?: string | undefined;
  /** @default {@link MAX_BODY_BYTES} */
  maxBodyBytes?: number;
  /** How turns stream (SSE). */
  streaming?: StreamingOptions;
  /**
   * Where streams hear their turns' events: a dedicated PostgreSQL connection, opened at the first
   * stream. Whoever gives it closes it ({@link startServer} does). @default one on the client's database
   */
  events?: TurnEventListener;
}

const OPENAPI_INFO = {
  title: 'memloom: the Letta REST API',
  description:
    'The part of Letta’s REST API that its official clients use, over memloom’s durable agents (Temporal + PostgreSQL). ' +
    'Errors are FastAPI’s `{"detail": ...}`; lists are bare JSON arrays paged with `after=<last id>`.',
};

export function createApp(options: AppOptions): ServerApp {
  const { client, logger } = options;
  const app: ServerApp = new OpenAPIHono<ServerEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new RequestValidationError(zodProblems(result.error, originOfTarget(result.target)));
    },
  });
  app.use(requestId());
  app.use(async (c, next) => {
    c.set('replaySafe', false);
    await next();
  });
  app.use(requestLog(logger));
  if (options.apiKey !== undefined) app.use(bearerAuth(options.apiKey));
  app.use(bodyLimit(options.maxBodyBytes ?? MAX_BODY_BYTES));

  const deps = { client, logger };
  const events = options.events ?? new TurnEventListener({ connectionString: client.config.databaseUrl, logger });
  const streaming = { ...deps, events, keepaliveMs: options.streaming?.keepaliveMs ?? DEFAULT_KEEPALIVE_MS };
  agentRoutes(app, deps);
  messageRoutes(app, deps, streaming);
  messageStreamingRoutes(app, deps, streaming);
  runRoutes(app, deps);
  coreMemoryRoutes(app, deps);
  archivalRoutes(app, deps);
  toolRoutes(app, deps);
  systemRoutes(app, deps);
  app.doc31('/openapi.json', { openapi: '3.1.0', info: { ...OPENAPI_INFO, version: serverVersion() }, security: [{ bearer: [] }] });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'MEMLOOM_API_KEY, when the server has one' });

  app.notFound((c) => {
    c.header('x-should-retry', 'false');
    return c.json({ detail: `not found: ${c.req.method} ${c.req.path}` }, 404);
  });
  app.onError((error, c) => {
    const failure = errorAnswer(error);
    const reqId = c.get('requestId');
    if (failure.unexpected) logger.error({ req_id: reqId, err: error }, 'unexpected error');
    // a failed turn's text may quote the endpoint: its type and message id say enough here
    else if (error instanceof TurnFailedError) logger.warn({ req_id: reqId, error_type: error.type, message_id: error.messageId }, 'turn failed');
    else if (failure.status >= 500) logger.warn({ req_id: reqId, status: failure.status, error_type: error.name }, 'server error');
    const retry = shouldRetryHeader(failure, { method: c.req.method, replaySafe: c.get('replaySafe') });
    for (const [name, value] of Object.entries(failure.headers)) c.header(name, value);
    if (retry !== undefined) c.header('x-should-retry', retry);
    return c.json(failure.body, failure.status);
  });
  return app;
}
