/**
 * `/v1/tools/`: the tools agents can name — the built-in memory tools and the user tools workers
 * registered (Letta's `Tool`, with an id derived from the name). memloom's tools are TypeScript
 * modules registered on a worker, so creating one from Python source is a 422 that says how.
 * @module
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { arrayPage } from '../array-page.ts';
import type { RouteDeps, ServerApp } from '../env.ts';
import { HttpError, RequestValidationError } from '../http-errors.ts';
import { lettaTool } from '../letta-shapes.ts';
import { errorResponses, jsonResponse, pageQuery, prefixedId, queryList } from '../schemas/common.ts';
import { ToolSchema } from '../schemas/shapes.ts';
import { openapiRoute } from './register.ts';

/** Letta's default page of tools. */
const DEFAULT_TOOL_LIMIT = 50;

const tags = ['tools'];


const listTools = createRoute({
  method: 'get',
  path: '/v1/tools/',
  tags,
  summary: 'List the registered tools',
  description: 'The built-in memory tools, then the user tools workers published (`memloom worker --tools ./tools.ts`), by name.',
  request: {
    query: z.object({
      name: z.string().optional(),
      names: queryList(z.string()).optional(),
      search: z.string().optional().meta({ description: 'Only tools whose name contains this' }),
      ...pageQuery(prefixedId('tool')),
    }),
  },
  responses: { 200: jsonResponse(z.array(ToolSchema), 'A page of tools'), ...errorResponses },
});

const getTool = createRoute({
  method: 'get',
  path: '/v1/tools/{tool_id}',
  tags,
  summary: 'Retrieve a tool',
  request: {
    params: z.object({
      tool_id: z.string().min(1).meta({ param: { name: 'tool_id', in: 'path' }, description: 'A `tool-<uuid>` id, or the tool’s name' }),
    }),
  },
  responses: { 200: jsonResponse(ToolSchema, 'The tool'), ...errorResponses },
});

const WORKER_TOOLS =
  'memloom runs tools as TypeScript modules registered on a worker, not from source sent here: export defineTool({ name, description, parameters: <zod schema>, execute }) ' +
  'from a module, start `memloom worker --tools ./tools.ts`, and the tool is listed at GET /v1/tools/ for agents to name in `tools`';

/** `POST` and `PUT /v1/tools/`: a 422 on `source_code` explaining how tools are registered. */
function createToolRoute(method: 'post' | 'put') {
  return createRoute({
    method,
    path: '/v1/tools/',
    tags,
    summary: method === 'post' ? 'Create a tool (not supported: 422)' : 'Upsert a tool (not supported: 422)',
    description: WORKER_TOOLS,
    request: { body: { content: { 'application/json': { schema: z.looseObject({ source_code: z.string().optional() }) } } } },
    responses: { ...errorResponses },
  });
}

export function toolRoutes(app: ServerApp, { client }: RouteDeps): void {
  openapiRoute(app, listTools, async (c) => {
    const q = c.req.valid('query');
    const names = q.names ?? (q.name !== undefined ? [q.name] : undefined);
    const tools = (await client.listTools())
      .filter((t) => (names === undefined || names.includes(t.name)) && (q.search === undefined || t.name.includes(q.search)))
      .map(lettaTool);
    return c.json(arrayPage(tools, { after: q.after, before: q.before, limit: q.limit ?? DEFAULT_TOOL_LIMIT, order: q.order ?? 'asc' }), 200);
  });

  app.openapi(getTool, async (c) => {
    const { tool_id } = c.req.valid('param');
    const tool = (await client.listTools()).map(lettaTool).find((t) => t.id === tool_id.toLowerCase() || t.name === tool_id);
    if (!tool) throw new HttpError(404, `tool not found: ${tool_id} (GET /v1/tools/ lists the registered tools)`);
    return c.json(tool, 200);
  });

  for (const method of ['post', 'put'] as const) {
    openapiRoute(app, createToolRoute(method), () => {
      throw new RequestValidationError([{ loc: ['body', 'source_code'], msg: WORKER_TOOLS, type: 'value_error' }]);
    });
  }
}
