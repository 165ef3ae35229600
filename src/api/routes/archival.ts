/**
 * `/v1/agents/{agent_id}/archival-memory`: insert, list, search and delete passages (Letta's
 * `Passage`). Insert and search go through the SDK, which embeds with the agent's
 * `embedding_config` (when it has one) and searches by meaning and by words.
 * @module
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import type { RouteDeps, ServerApp } from '../env.ts';
import { lettaPassage, lettaPassageSearch } from '../letta-shapes.ts';
import { AgentPathSchema, DeletedSchema, errorResponses, jsonBody, jsonResponse } from '../schemas/common.ts';
import { CreatePassageBodySchema, ListPassagesQuerySchema, PassagePathSchema, SearchPassagesQuerySchema } from '../schemas/memory-schemas.ts';
import { PassageSchema, PassageSearchResponseSchema } from '../schemas/shapes.ts';

/** Letta's default page of passages, and its default number of search results. */
const DEFAULT_PASSAGE_LIMIT = 100;
const DEFAULT_TOP_K = 10;

const tags = ['archival memory'];

const createPassage = createRoute({
  method: 'post',
  path: '/v1/agents/{agent_id}/archival-memory',
  tags,
  summary: 'Insert a passage',
  description: 'Embedded first when the agent has an `embedding_config`: when the embedding endpoint fails, nothing is inserted (502).',
  request: { params: AgentPathSchema, body: jsonBody(CreatePassageBodySchema) },
  responses: {
    200: jsonResponse(z.array(PassageSchema), 'The passage inserted'),
    502: jsonResponse(z.object({ detail: z.string() }), 'The embedding endpoint failed: nothing was inserted'),
    ...errorResponses,
  },
});

const listPassages = createRoute({
  method: 'get',
  path: '/v1/agents/{agent_id}/archival-memory',
  tags,
  summary: 'List passages',
  description: 'Oldest first unless `ascending=false`; the next page is `after=<last id>`.',
  request: { params: AgentPathSchema, query: ListPassagesQuerySchema },
  responses: { 200: jsonResponse(z.array(PassageSchema), 'A page of passages'), ...errorResponses },
});

const searchPassages = createRoute({
  method: 'get',
  path: '/v1/agents/{agent_id}/archival-memory/search',
  tags,
  summary: 'Search passages',
  description: 'Best first: by meaning and by words when the agent has an `embedding_config`, else by words.',
  request: { params: AgentPathSchema, query: SearchPassagesQuerySchema },
  responses: { 200: jsonResponse(PassageSearchResponseSchema, 'The passages found'), ...errorResponses },
});

const deletePassage = createRoute({
  method: 'delete',
  path: '/v1/agents/{agent_id}/archival-memory/{memory_id}',
  tags,
  summary: 'Delete a passage',
  request: { params: PassagePathSchema },
  responses: { 200: jsonResponse(DeletedSchema, 'Deleted'), ...errorResponses },
});

export function archivalRoutes(app: ServerApp, { client }: RouteDeps): void {
  app.openapi(createPassage, async (c) => {
    const body = c.req.valid('json');
    const passage = await client.insertArchivalMemory(c.req.valid('param').agent_id, body.text, body.tags ?? []);
    return c.json([lettaPassage(passage)], 200);
  });

  app.openapi(listPassages, async (c) => {
    const q = c.req.valid('query');
    const passages = await client.listArchivalMemory(c.req.valid('param').agent_id, {
      ...(q.after !== undefined ? { after: q.after } : {}),
      ...(q.before !== undefined ? { before: q.before } : {}),
      ...(q.search !== undefined ? { search: q.search } : {}),
      limit: q.limit ?? DEFAULT_PASSAGE_LIMIT,
      order: q.ascending === false ? 'desc' : 'asc',
    });
    return c.json(passages.map(lettaPassage), 200);
  });

  app.openapi(searchPassages, async (c) => {
    const q = c.req.valid('query');
    const found = await client.searchArchivalMemory(c.req.valid('param').agent_id, q.query, q.top_k ?? DEFAULT_TOP_K, {
      ...(q.tags !== undefined ? { tags: q.tags } : {}),
      ...(q.tag_match_mode !== undefined ? { tagMatchMode: q.tag_match_mode } : {}),
      ...(q.start_datetime !== undefined ? { start: q.start_datetime } : {}),
      ...(q.end_datetime !== undefined ? { end: q.end_datetime } : {}),
    });
    return c.json(lettaPassageSearch(found), 200);
  });

  app.openapi(deletePassage, async (c) => {
    const { agent_id, memory_id } = c.req.valid('param');
    await client.deleteArchivalMemory(agent_id, memory_id);
    return c.json({ message: `Memory id=${memory_id} successfully deleted` }, 200);
  });
}
