/**
 * `/v1/agents/{agent_id}/messages`: send a message and wait for the turn's `LettaResponse` (or,
 * with `streaming: true`, its SSE: ./message-streaming.ts), and page through recall memory.
 *
 * A client's `otid` (or `Idempotency-Key` header) becomes the message id (src/api/stable-ids.ts):
 * a resend — Letta's client resends on a timeout or a 5xx — is answered from the turn the first
 * request started, never with a second turn.
 * @module
 */
import { createRoute } from '@hono/zod-openapi';
import { z } from 'zod';
import type { RouteDeps, ServerApp } from '../env.ts';
import { TurnFailedError } from '../../domain/errors.ts';
import { StopReason, type LettaResponse } from '../../domain/letta-message.ts';
import { TURN_CANCELLED_FAILURE } from '../../domain/turn.ts';
import { withFieldNames } from '../http-errors.ts';
import { lettaMessages, lettaResponse } from '../letta-shapes.ts';
import { AgentPathSchema, errorResponses, jsonBody, jsonResponse } from '../schemas/common.ts';
import { IdempotencyHeaderSchema, ListMessagesQuerySchema, SendMessageBodySchema } from '../schemas/message-schemas.ts';
import { LettaMessageSchema, LettaResponseSchema } from '../schemas/shapes.ts';
import { messageIdForKey } from '../stable-ids.ts';
import type { StreamDeps } from '../streaming/turn-stream.ts';
import { answerWithStream, sseResponse } from './message-streaming.ts';

/** Letta's default page of messages. */
const DEFAULT_MESSAGE_LIMIT = 100;

const tags = ['messages'];

const sendMessage = createRoute({
  method: 'post',
  path: '/v1/agents/{agent_id}/messages',
  tags,
  summary: 'Send a message and wait for the answer',
  description:
    'One user message (`messages` with one `role: "user"` message, or `input`) runs one durable turn of the agent; the answer is a `LettaResponse`. ' +
    'Give the message an `otid` (or the request an `Idempotency-Key`) and a resend returns the same turn. ' +
    'Accepted without effect: `use_assistant_message`, `assistant_message_tool_name`, `assistant_message_tool_kwarg`, `enable_thinking`, ' +
    '`include_compaction_messages`. With `streaming: true` the answer is Letta’s SSE (see `POST /v1/agents/{agent_id}/messages/stream`).',
  request: { params: AgentPathSchema, headers: IdempotencyHeaderSchema, body: jsonBody(SendMessageBodySchema) },
  responses: {
    200: { ...jsonResponse(LettaResponseSchema, 'What the turn added, why it stopped, and its usage; with `streaming: true`, the SSE'), content: { ...jsonResponse(LettaResponseSchema, '').content, ...sseResponse.content } },
    402: jsonResponse(z.object({ detail: z.string() }), 'The agent has spent its max_budget: nothing was sent'),
    409: jsonResponse(z.object({ detail: z.string() }), 'The otid is already used by another message'),
    502: jsonResponse(z.object({ detail: z.string(), error_type: z.string(), message_id: z.string() }), 'The turn failed at the model endpoint'),
    ...errorResponses,
  },
});

const listMessages = createRoute({
  method: 'get',
  path: '/v1/agents/{agent_id}/messages',
  tags,
  summary: 'List the agent’s messages',
  description: 'Recall memory, newest first unless `order=asc`; the next page is `after=<last id>`. `limit` counts stored messages.',
  request: { params: AgentPathSchema, query: ListMessagesQuerySchema },
  responses: { 200: jsonResponse(z.array(LettaMessageSchema), 'A page of messages'), ...errorResponses },
});

/**
 * A turn cancelled while its sender waited (`/messages/cancel`) is an answer, as in Letta: what
 * it stored before it stopped, with stop reason `cancelled`. Any other failure is rethrown.
 */
async function cancelledAnswer(client: RouteDeps['client'], error: unknown): Promise<LettaResponse> {
  if (!(error instanceof TurnFailedError) || error.type !== TURN_CANCELLED_FAILURE || error.messageId === undefined) throw error;
  const { turn, messages } = await client.turnState(error.messageId);
  return {
    messages,
    stop_reason: { message_type: 'stop_reason', stop_reason: StopReason.Cancelled },
    usage: { message_type: 'usage_statistics', ...turn.usage, step_count: turn.stepCount },
  };
}

export function messageRoutes(app: ServerApp, { client }: RouteDeps, streaming: StreamDeps): void {
  app.openapi(sendMessage, async (c) => {
    const { agent_id } = c.req.valid('param');
    const request = c.req.valid('json');
    if (request.streaming) return (await answerWithStream(c, streaming, agent_id, request, c.req.valid('header')['idempotency-key'])) as never;
    const key = request.otid ?? c.req.valid('header')['idempotency-key'];
    const messageId = key === undefined ? undefined : messageIdForKey(agent_id, key);
    c.set('replaySafe', messageId !== undefined);
    const options = { ...(messageId !== undefined ? { messageId } : {}), ...(request.maxSteps !== undefined ? { maxSteps: request.maxSteps } : {}) };
    const response = await withFieldNames({ text: request.textLoc, maxSteps: ['body', 'max_steps'] }, () =>
      client.userMessage(agent_id, request.text, options),
    ).catch((error: unknown) => cancelledAnswer(client, error));
    return c.json(lettaResponse(response, request.types), 200);
  });

  app.openapi(listMessages, async (c) => {
    const q = c.req.valid('query');
    const messages = await client.pageMessages(c.req.valid('param').agent_id, {
      ...(q.after !== undefined ? { after: q.after } : {}),
      ...(q.before !== undefined ? { before: q.before } : {}),
      limit: q.limit ?? DEFAULT_MESSAGE_LIMIT,
      order: q.order ?? 'desc',
    });
    return c.json(lettaMessages(messages, q.include_return_message_types), 200);
  });
}
