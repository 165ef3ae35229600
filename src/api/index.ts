/**
 * `memloom serve`: Letta's REST API (the part its official clients use) over the SDK — routes,
 * Letta's shapes and errors, bearer auth, request logs, and openapi.json. No agent logic lives
 * here: every route is a call of `MemloomClient`.
 *
 * The framework is Hono with `@hono/zod-openapi` on `@hono/node-server`, chosen over Fastify
 * (+ fastify-type-provider-zod + @fastify/swagger), though both work with the zod 4 memloom uses:
 * - one route definition is both the validator and the OpenAPI 3.1 document (`doc31`), built
 *   from the zod schemas memloom already validates with (src/domain, src/client), where Fastify
 *   goes from zod to JSON Schema to Ajv and to swagger, two validations and two plugins;
 * - validation failures come to one hook as zod issues, so a 422 names each field in FastAPI's
 *   `{loc, msg, type}` exactly as the SDK names them;
 * - web-standard Request/Response and `streamSSE` make the SSE endpoints (./streaming) a stream
 *   the route returns, with no framework reply lifecycle in between;
 * - small (no dependency besides zod-to-openapi), and built-ins for what the API needs:
 *   request ids, body limits.
 * Fastify's own pino logger and its speed are no reason here: the log line is ours (a request
 * id, never a body) and the model call is the slow part of every turn.
 * @module
 */
export { createApp, MAX_BODY_BYTES, type AppOptions } from './app.ts';
export { DEFAULT_KEEPALIVE_MS, type StreamingOptions } from './streaming/index.ts';
export { DEFAULT_HOST, DEFAULT_PORT, isLoopbackHost, startServer, type RunningServer, type ServeOptions } from './listen.ts';
