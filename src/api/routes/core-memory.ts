/**
 * `/v1/agents/{agent_id}/core-memory/blocks`: the agent's core memory blocks, listed, retrieved
 * and updated by label (Letta's `Block`). An update is checked against the block's limit and
 * the agent's context window by the SDK, and the next turn's prompt shows it.
 * @module
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { arrayPage } from '../array-page.ts';
import type { RouteDeps, ServerApp } from '../env.ts';
import { AgentPathSchema, errorResponses, jsonBody, jsonResponse } from '../schemas/common.ts';
import { BlockPathSchema, ListBlocksQuerySchema, UpdateBlockBodySchema } from '../schemas/memory-schemas.ts';
import { BlockSchema } from '../schemas/shapes.ts';

/** Letta's default page of blocks. */
const DEFAULT_BLOCK_LIMIT = 100;

const tags = ['core memory'];

const listBlocks = createRoute({
  method: 'get',
  path: '/v1/agents/{agent_id}/core-memory/blocks',
  tags,
  summary: 'List the agent’s core memory blocks',
  description: 'In the order of the agent’s prompt unless `order=desc`.',
  request: { params: AgentPathSchema, query: ListBlocksQuerySchema },
  responses: { 200: jsonResponse(z.array(BlockSchema), 'The blocks'), ...errorResponses },
});

const getBlock = createRoute({
  method: 'get',
  path: '/v1/agents/{agent_id}/core-memory/blocks/{block_label}',
  tags,
  summary: 'Retrieve a block by label',
  request: { params: BlockPathSchema },
  responses: { 200: jsonResponse(BlockSchema, 'The block'), ...errorResponses },
});

const updateBlock = createRoute({
  method: 'patch',
  path: '/v1/agents/{agent_id}/core-memory/blocks/{block_label}',
  tags,
  summary: 'Update a block by label',
  description: 'Changes what the body gives (`null` changes nothing); the value must fit the block’s limit.',
  request: { params: BlockPathSchema, body: jsonBody(UpdateBlockBodySchema) },
  responses: { 200: jsonResponse(BlockSchema, 'The block as it is now'), ...errorResponses },
});

/** The fields of a body that are given (Letta sends null for "no change"). */
function given<T extends Record<string, unknown>>(body: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null && v !== undefined)) as { [K in keyof T]?: Exclude<T[K], null> };
}

export function coreMemoryRoutes(app: ServerApp, { client }: RouteDeps): void {
  app.openapi(listBlocks, async (c) => {
    const q = c.req.valid('query');
    const blocks = await client.getMemory(c.req.valid('param').agent_id);
    return c.json(arrayPage(blocks, { after: q.after, before: q.before, limit: q.limit ?? DEFAULT_BLOCK_LIMIT, order: q.order ?? 'asc' }), 200);
  });

  app.openapi(getBlock, async (c) => {
    const { agent_id, block_label } = c.req.valid('param');
    return c.json(await client.getBlock(agent_id, block_label), 200);
  });

  app.openapi(updateBlock, async (c) => {
    const { agent_id, block_label } = c.req.valid('param');
    return c.json(await client.updateBlock(agent_id, block_label, given(c.req.valid('json'))), 200);
  });
}
