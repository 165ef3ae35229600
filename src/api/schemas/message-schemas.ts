/**
 * Letta's send-message body (`LettaStreamingRequest`) and message listing query. memloom takes
 * one user message per request, in text: `messages: [{role: 'user', content}]` or `input`.
 * Letta's options that would change what a turn does and that memloom cannot honour are refused
 * by name; the rest are accepted and have no effect (listed in the OpenAPI description).
 * @module
 */
import { z } from 'zod';
import { MaxStepsSchema } from '../../domain/turn.ts';
import { pageQuery, prefixedId, queryList } from './common.ts';
import { MessageTypeSchema } from './shapes.ts';

/** The longest `otid` or `Idempotency-Key`. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const IdempotencyKeySchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(MAX_IDEMPOTENCY_KEY_LENGTH, `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);

/** A content part; only text is taken (checked by {@link ContentSchema}, which names the part). */
const ContentPartSchema = z.looseObject({ type: z.string({ error: 'must be a string' }), text: z.string({ error: 'must be a string' }).optional() });

const ContentSchema = z
  .union([z.string(), z.array(ContentPartSchema)], { error: 'must be a string or a list of {type: "text", text} parts' })
  .superRefine((content, ctx) => {
    if (typeof content === 'string') return;
    content.forEach((part, i) => {
      if (part.type !== 'text') ctx.addIssue({ code: 'custom', path: [i, 'type'], message: `is "${part.type}": memloom takes text parts only` });
      else if (part.text === undefined) ctx.addIssue({ code: 'custom', path: [i, 'text'], message: 'is required' });
    });
  });

/** The text of checked content: its text parts, one a line. */
function textOf(content: z.output<typeof ContentSchema>): string {
  return typeof content === 'string' ? content : content.map((p) => p.text ?? '').join('\n');
}

export const MessageCreateSchema = z
  .looseObject({
    role: z.enum(['user', 'system', 'assistant'], { error: 'must be "user"' }).superRefine((role, ctx) => {
      if (role !== 'user') ctx.addIssue({ code: 'custom', message: `is "${role}": memloom takes user messages` });
    }),
    content: ContentSchema,
    name: z.string().nullish(),
    otid: IdempotencyKeySchema.nullish().meta({
      description: 'The client’s id of this message: sent again, the request is answered from the first one’s turn (memloom derives the message id from it)',
    }),
    sender_id: z.string().nullish(),
    type: z.literal('message').nullish(),
  })
  .meta({ id: 'MessageCreate' });

/** A Letta option memloom cannot honour: refused when `given` says it would change the turn. */
function refused(given: (v: unknown) => boolean, why: string) {
  return z
    .unknown()
    .superRefine((v, ctx) => {
      if (given(v)) ctx.addIssue({ code: 'custom', message: `is not supported by memloom: ${why}` });
    })
    .optional()
    .meta({ description: `Not supported by memloom: ${why}` });
}

const nonEmptyList = (v: unknown): boolean => Array.isArray(v) && v.length > 0;

const sendMessageFields = z.looseObject({
  messages: z
    .array(MessageCreateSchema)
    .superRefine((list, ctx) => {
      if (list.length !== 1) ctx.addIssue({ code: 'custom', message: `has ${list.length} messages: memloom takes one user message per request (send them one after another)` });
    })
    .nullish(),
  input: ContentSchema.nullish().meta({ description: 'One user message: the same as `messages: [{role: "user", content: input}]`' }),
  max_steps: MaxStepsSchema.optional().meta({ description: 'At most this many model calls in the turn' }),
  streaming: z.boolean().optional().meta({ description: 'Answer with server-sent events (Letta’s SSE) as the turn runs' }),
  stream_tokens: z.boolean().optional().meta({ description: 'With streaming: the text as the model writes it, not each step’s messages once stored' }),
  include_pings: z.boolean().optional().meta({ description: 'With streaming: a first ping carrying the run id, then keepalive pings. @default true' }),
  background: z.boolean().optional().meta({ description: 'Accepted: every memloom turn runs durably whether or not its stream stays open' }),
  include_return_message_types: z.array(MessageTypeSchema).nullish().meta({ description: 'Only these types in `messages`' }),
  use_assistant_message: z.boolean().optional(),
  assistant_message_tool_name: z.string().optional(),
  assistant_message_tool_kwarg: z.string().optional(),
  enable_thinking: z.string().optional(),
  include_compaction_messages: z.boolean().optional(),
  override_model: refused((v) => v != null, 'change the agent’s model with PATCH /v1/agents/{agent_id}'),
  override_system: refused((v) => v != null, 'change the agent’s system prompt with PATCH /v1/agents/{agent_id}'),
  client_tools: refused(nonEmptyList, 'tools run on memloom workers (`memloom worker --tools`)'),
  client_skills: refused(nonEmptyList, 'memloom has no client skills'),
  return_logprobs: refused((v) => v === true, 'memloom does not return logprobs'),
  return_token_ids: refused((v) => v === true, 'memloom does not return token ids'),
  callback_url: refused((v) => v != null, 'memloom calls no URL back: poll GET /v1/runs/{run_id}'),
});

/** The checked request; `alwaysStreams` for `/messages/stream`, which answers with SSE whatever `streaming` says. */
function sendMessageRequest(alwaysStreams: boolean) {
  return (body: z.output<typeof sendMessageFields>, ctx: z.RefinementCtx) => {
    const streaming = alwaysStreams || body.streaming === true;
    if (!streaming) {
      for (const field of ['stream_tokens', 'background'] as const) {
        if (body[field] === true) ctx.addIssue({ code: 'custom', path: [field], message: 'needs streaming: true' });
      }
    }
    const given = (body.messages ? 1 : 0) + (body.input != null ? 1 : 0);
    if (given !== 1) {
      ctx.addIssue({ code: 'custom', path: [body.messages ? 'input' : 'messages'], message: given === 0 ? 'is required: give messages or input' : 'give messages or input, not both' });
      return z.NEVER;
    }
    const first = body.messages?.[0];
    return {
      text: textOf(first ? first.content : body.input!),
      otid: first?.otid ?? null,
      /** Where the text came from, to name it in an error. */
      textLoc: body.messages ? ['body', 'messages', 0, 'content'] : ['body', 'input'],
      maxSteps: body.max_steps,
      streaming,
      streamTokens: body.stream_tokens === true,
      includePings: body.include_pings !== false,
      types: body.include_return_message_types ?? undefined,
    };
  };
}

export const SendMessageBodySchema = sendMessageFields.transform(sendMessageRequest(false)).meta({ id: 'LettaRequest' });
export type SendMessageRequest = z.output<typeof SendMessageBodySchema>;

/** `/messages/stream`: the same body, always answered with SSE. */
export const StreamMessageBodySchema = sendMessageFields.transform(sendMessageRequest(true)).meta({ id: 'LettaStreamingRequest' });

export const IdempotencyHeaderSchema = z.object({
  'idempotency-key': IdempotencyKeySchema.optional().meta({
    description: 'Used as the message’s `otid` when it has none: a resent request is answered from the first one’s turn',
  }),
});

export const ListMessagesQuerySchema = z.object({
  ...pageQuery(prefixedId('message')),
  include_return_message_types: queryList(MessageTypeSchema).optional(),
  use_assistant_message: z.string().optional(),
  assistant_message_tool_name: z.string().optional(),
  assistant_message_tool_kwarg: z.string().optional(),
  include_err: z.string().optional(),
  conversation_id: z.string().optional().meta({ description: 'Accepted; a memloom agent has one conversation' }),
  group_id: z.string().optional(),
});
