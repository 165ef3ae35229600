/**
 * The parts of Letta's message API that stream or run in the background: `POST .../messages/stream`
 * (SSE, src/api/streaming), `POST .../messages/async` (a `Run` at once; the turn is durable in
 * the agent's workflow before the answer) and `POST .../messages/cancel`. A run is a turn:
 * `run-<uuid>` of its `message-<uuid>` (./runs.ts reads it).
 * @module
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import { NotFoundError } from '../../domain/errors.ts';
import type { RouteDeps, ServerApp } from '../env.ts';
import { RequestValidationError, withFieldNames } from '../http-errors.ts';
import { AgentPathSchema, errorResponses, jsonBody, jsonResponse } from '../schemas/common.ts';
import { IdempotencyHeaderSchema, SendMessageBodySchema, StreamMessageBodySchema, type SendMessageRequest } from '../schemas/message-schemas.ts';
import { messageIdForKey } from '../stable-ids.ts';
import { lettaRun, messageIdOfRun, runIdOf, RunSchema } from '../streaming/letta-run.ts';
import { streamTurn, type StreamDeps } from '../streaming/turn-stream.ts';

const tags = ['messages'];

/** The SSE answer, as openapi.json describes it. */
export const sseResponse = {
  description:
    'Server-sent events, Letta’s: `data: <LettaMessage or ping JSON>` chunks, then `stop_reason`, `usage_statistics` and `data: [DONE]`; a failed turn ends with `event: error`',
  content: { 'text/event-stream': { schema: z.string() } },
} as const;

const streamMessage = createRoute({
  method: 'post',
  path: '/v1/agents/{agent_id}/messages/stream',
  tags,
  summary: 'Send a message and stream the turn',
  description:
    'The same as `POST /v1/agents/{agent_id}/messages` with `streaming: true` (Letta deprecates this path). `stream_tokens: true` streams the text as the model writes it; ' +
    'otherwise each step’s messages once stored. Closing the stream does not stop the turn.',
  request: { params: AgentPathSchema, headers: IdempotencyHeaderSchema, body: jsonBody(StreamMessageBodySchema) },
  responses: { 200: sseResponse, 402: jsonResponse(z.object({ detail: z.string() }), 'The agent has spent its max_budget: nothing was sent'), ...errorResponses },
});

const sendAsync = createRoute({
  method: 'post',
  path: '/v1/agents/{agent_id}/messages/async',
  tags,
  summary: 'Send a message without waiting',
  description:
    'Answers with the `Run` of the message’s turn as soon as the agent’s workflow has accepted it (`status: "created"` while it waits behind earlier turns); ' +
    'poll `GET /v1/runs/{run_id}`. `callback_url` is not supported.',
  request: { params: AgentPathSchema, headers: IdempotencyHeaderSchema, body: jsonBody(SendMessageBodySchema) },
  responses: {
    200: jsonResponse(RunSchema, 'The run (the turn) just sent'),
    402: jsonResponse(z.object({ detail: z.string() }), 'The agent has spent its max_budget: nothing was sent'),
    409: jsonResponse(z.object({ detail: z.string() }), 'The otid is already used by another message'),
    ...errorResponses,
  },
});

const CancelBodySchema = z
  .object({ run_ids: z.array(z.string({ error: 'must be a run id: run-<uuid>' }), { error: 'must be a list of run ids' }).nullish() })
  .meta({ id: 'CancelAgentRunRequest' });

const cancelRuns = createRoute({
  method: 'post',
  path: '/v1/agents/{agent_id}/messages/cancel',
  tags,
  summary: 'Cancel the agent’s runs',
  description:
    'Stops the given runs of the agent, or all its queued and running ones: a queued turn before its first step, a running one at its next step boundary ' +
    '(a model call in flight is abandoned; a tool already called finishes). Each run id maps to `cancelled` (asked to stop: it ends `cancelled`, or `completed` ' +
    'when it finished first), to its status when it had already finished, or to `not_found`.',
  request: { params: AgentPathSchema, body: { content: { 'application/json': { schema: CancelBodySchema } }, required: false } },
  responses: { 200: jsonResponse(z.record(z.string(), z.string()), 'What became of each run'), ...errorResponses },
});

/** The message id a request names (`otid`, `Idempotency-Key`), marking the request safe to resend. */
function keyedMessageId(agentRef: string, request: SendMessageRequest, header: string | undefined): string | undefined {
  const key = request.otid ?? header;
  return key === undefined ? undefined : messageIdForKey(agentRef, key);
}

/** Answers `request` with the turn's SSE (`streaming: true`, `/messages/stream`). */
export function answerWithStream(
  c: Parameters<typeof streamTurn>[0],
  deps: StreamDeps,
  agentRef: string,
  request: SendMessageRequest,
  idempotencyKey: string | undefined,
): Promise<Response> {
  const messageId = keyedMessageId(agentRef, request, idempotencyKey);
  c.set('replaySafe', messageId !== undefined);
  return streamTurn(c, deps, {
    agentRef,
    text: request.text,
    messageId,
    maxSteps: request.maxSteps,
    streamTokens: request.streamTokens,
    includePings: request.includePings,
    types: request.types,
    textLoc: request.textLoc,
  });
}

export function messageStreamingRoutes(app: ServerApp, { client }: RouteDeps, streaming: StreamDeps): void {
  app.openapi(streamMessage, async (c) => {
    const response = await answerWithStream(c, streaming, c.req.valid('param').agent_id, c.req.valid('json'), c.req.valid('header')['idempotency-key']);
    // an SSE answer: openapi.json describes it, the typed responses are JSON ones
    return response as never;
  });

  app.openapi(sendAsync, async (c) => {
    const { agent_id } = c.req.valid('param');
    const request = c.req.valid('json');
    const messageId = keyedMessageId(agent_id, request, c.req.valid('header')['idempotency-key']);
    c.set('replaySafe', messageId !== undefined);
    const { turn } = await withFieldNames({ text: request.textLoc, maxSteps: ['body', 'max_steps'] }, () =>
      client.startMessage(agent_id, request.text, {
        ...(messageId !== undefined ? { messageId } : {}),
        ...(request.maxSteps !== undefined ? { maxSteps: request.maxSteps } : {}),
      }),
    );
    return c.json(lettaRun(turn), 200);
  });

  app.openapi(cancelRuns, async (c) => {
    const { agent_id } = c.req.valid('param');
    const body = c.req.valid('json') as z.output<typeof CancelBodySchema> | undefined;
    const agent = await client.getAgent(agent_id);
    if (body?.run_ids == null) {
      const open = await client.cancelOpenTurns(agent.id);
      return c.json(Object.fromEntries(open.map((t) => [runIdOf(t.messageId), 'cancelled'])), 200);
    }
    const ids = body.run_ids.map((runId, i) => {
      const messageId = messageIdOfRun(runId);
      if (messageId === null) throw new RequestValidationError([{ loc: ['body', 'run_ids', i], msg: 'must be a run id: run-<uuid>', type: 'value_error' }]);
      return { runId, messageId };
    });
    const answers: Record<string, string> = {};
    for (const { runId, messageId } of ids) answers[runId] = await cancelOne(client, agent.id, messageId);
    return c.json(answers, 200);
  });
}

/** What became of one run asked to stop. */
async function cancelOne(client: RouteDeps['client'], agentId: string, messageId: string): Promise<string> {
  const state = await client.turnState(messageId).catch((error: unknown) => {
    if (error instanceof NotFoundError) return null;
    throw error;
  });
  if (!state || state.turn.agentId !== agentId) return 'not_found';
  const turn = await client.cancelTurn(messageId);
  return turn.status === 'queued' || turn.status === 'running' ? 'cancelled' : turn.status;
}
