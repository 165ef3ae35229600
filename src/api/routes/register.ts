/**
 * Registering a route of Letta's API. Letta's collection paths end in a slash (`/v1/agents/`);
 * people and other clients leave it out, and Hono's router tells the two apart: such a route is
 * registered under both, documented once.
 * @module
 */
import type { RouteConfig, RouteHandler } from '@hono/zod-openapi';
import type { ServerApp, ServerEnv } from '../env.ts';

export function openapiRoute<R extends RouteConfig>(app: ServerApp, route: R, handler: RouteHandler<R, ServerEnv>): void {
  app.openapi(route, handler as never);
  if (route.path.length > 1 && route.path.endsWith('/')) {
    app.openapi({ ...route, path: route.path.slice(0, -1), hide: true }, handler as never);
  }
}
