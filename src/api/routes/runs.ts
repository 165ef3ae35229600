/**
 * `/v1/runs/{run_id}`: a run is a turn (`run-<uuid>` of its `message-<uuid>`, see
 * src/api/streaming/letta-run.ts), read from its turn record — what polling a
 * `POST .../messages/async` answer needs — and its messages. Listing runs is not available.
 * @module
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import type { RouteDeps, ServerApp } from '../env.ts';
import { HttpError } from '../http-errors.ts';
import { lettaMessages } from '../letta-shapes.ts';
import { errorResponses, jsonResponse, LimitQuery, OrderQuery } from '../schemas/common.ts';
import { LettaMessageSchema } from '../schemas/shapes.ts';
import { lettaRun, messageIdOfRun, RunSchema } from '../streaming/letta-run.ts';
import { openapiRoute } from './register.ts';

const tags = ['runs'];

const RunPathSchema = z.object({
  run_id: z
    .string()
    .refine((id) => messageIdOfRun(id) !== null, 'must be a run id: run-<uuid>')
    .meta({ param: { name: 'run_id', in: 'path' }, description: '`run-<uuid>` (a turn’s `message-<uuid>` is taken too)', example: 'run-0f7c0e7a-3c55-4c1b-9d0e-2d4f5e6a7b8c' }),
});

const getRun = createRoute({
  method: 'get',
  path: '/v1/runs/{run_id}',
  tags,
  summary: 'Get a run',
  description: 'The turn of a message as Letta’s `Run`: `created` (queued), `running`, `completed`, `failed` or `cancelled`, with its stop reason and usage.',
  request: { params: RunPathSchema },
  responses: { 200: jsonResponse(RunSchema, 'The run'), ...errorResponses },
});

const runMessages = createRoute({
  method: 'get',
  path: '/v1/runs/{run_id}/messages',
  tags,
  summary: 'List a run’s messages',
  description: 'The user message and every message its turn stored, oldest first unless `order=desc`; `after`/`before` take message ids.',
  request: {
    params: RunPathSchema,
    query: z.object({ after: z.string().optional(), before: z.string().optional(), limit: LimitQuery.optional(), order: OrderQuery.optional() }),
  },
  responses: { 200: jsonResponse(z.array(LettaMessageSchema), 'The messages'), ...errorResponses },
});

const listRuns = createRoute({
  method: 'get',
  path: '/v1/runs/',
  tags,
  summary: 'List runs (not available)',
  description: 'Not available: get a run by id (`GET /v1/runs/{run_id}`), or an agent’s messages (`GET /v1/agents/{agent_id}/messages`).',
  hide: true,
  responses: { 501: jsonResponse(z.object({ detail: z.string() }), 'Not available'), ...errorResponses },
});

export function runRoutes(app: ServerApp, { client }: RouteDeps): void {
  app.openapi(getRun, async (c) => {
    const { turn } = await client.turnState(messageIdOfRun(c.req.valid('param').run_id)!);
    return c.json(lettaRun(turn), 200);
  });

  app.openapi(runMessages, async (c) => {
    const q = c.req.valid('query');
    const { messages } = await client.getTurn(messageIdOfRun(c.req.valid('param').run_id)!);
    const ordered = q.order === 'desc' ? [...messages].reverse() : messages;
    const from = q.after === undefined ? 0 : ordered.findLastIndex((m) => m.id === q.after) + 1;
    const to = q.before === undefined ? ordered.length : Math.max(0, ordered.findIndex((m) => m.id === q.before));
    return c.json(lettaMessages(ordered.slice(from, to).slice(0, q.limit ?? 100)), 200);
  });

  openapiRoute(app, listRuns, () => {
    throw new HttpError(501, 'listing runs is not available in memloom: get a run by its id (GET /v1/runs/{run_id}), or list an agent’s messages');
  });
}
