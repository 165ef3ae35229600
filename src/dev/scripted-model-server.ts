/**
 * The scripted OpenAI-compatible model server: the one stand-in for a real model (or a LiteLLM
 * proxy) in tests and in the demo. Serves chat completions (JSON and SSE), `/models` and
 * `/embeddings`, with and without the `/v1` prefix, as LiteLLM does.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { z } from 'zod';
import { chatRequestTokens, countTokens, encodingForModel } from '../llm/token-count.ts';
import { scriptedEmbedding } from './scripted-embeddings.ts';
import {
  completionChunks,
  cutChunks,
  startEventStream,
  writeEvent,
  type CompletionIdentity,
  type CompletionReply,
} from './sse.ts';
import type {
  ChatRequest,
  RecordedRequest,
  Responder,
  ScriptedModelServer,
  ScriptedErrorStep,
  ScriptedModelServerOptions,
  ScriptedStep,
} from './scripted-model-types.ts';

export type * from './scripted-model-types.ts';

/** LiteLLM's message for a context overflow, with the window and the request's size. */
function contextOverflowMessage(window: number, tokens: number): string {
  return `litellm.ContextWindowExceededError: litellm.BadRequestError: ContextWindowExceededError: This model's maximum context length is ${window} tokens. However, your messages resulted in ${tokens} tokens. Please reduce the length of the messages.`;
}

const CONTEXT_OVERFLOW_MESSAGE = contextOverflowMessage(8192, 9000);

/** LiteLLM-style default message and type per status, for `error` steps that give none. */
const ERROR_DEFAULTS: Record<number, { message: string; type: string }> = {
  400: { message: 'litellm.BadRequestError: scripted bad request', type: 'invalid_request_error' },
  401: { message: 'Authentication Error, Invalid proxy server token passed.', type: 'auth_error' },
  403: { message: 'litellm.PermissionDeniedError: scripted permission denied', type: 'permission_error' },
  404: { message: 'litellm.NotFoundError: scripted model not found', type: 'not_found_error' },
  408: { message: 'litellm.Timeout: scripted request timed out', type: 'timeout_error' },
  422: { message: 'litellm.UnprocessableEntityError: scripted unprocessable entity', type: 'invalid_request_error' },
  429: { message: 'litellm.RateLimitError: RateLimitError: scripted rate limit', type: 'rate_limit_error' },
  500: { message: 'litellm.InternalServerError: scripted upstream failure', type: 'internal_server_error' },
  502: { message: 'litellm.BadGatewayError: scripted bad gateway', type: 'internal_server_error' },
  503: { message: 'litellm.ServiceUnavailableError: scripted service unavailable', type: 'internal_server_error' },
  504: { message: 'litellm.Timeout: scripted gateway timeout', type: 'timeout_error' },
};

const chatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(z.looseObject({ role: z.string() })),
  tools: z.array(z.record(z.string(), z.unknown())).optional(),
  stream: z.boolean().optional(),
});

const embeddingsRequestSchema = z.looseObject({
  model: z.string().optional(),
  input: z.union([z.string(), z.array(z.string()).min(1)]),
  dimensions: z.number().int().positive().max(65_536).optional(),
  encoding_format: z.enum(['float', 'base64']).optional(),
});

type ErrorFields = { message?: string | undefined; type?: string | undefined; code?: string | undefined };

/** Text of the last user message; text parts of a multi-part content are joined. */
function lastUserText(messages: ChatRequest['messages']): string {
  const content = messages.findLast((message) => message['role'] === 'user')?.['content'];
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => (part !== null && typeof part === 'object' && 'text' in part ? String(part.text) : ''))
    .join('');
}

const echoResponder: Responder = (request) => ({ kind: 'reply', content: `OK: ${lastUserText(request.messages)}` });

const estimateTokens = (chars: number): number => Math.ceil(chars / 4);

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Sends OpenAI's (and LiteLLM's) error shape: `{ error: { message, type, param, code } }`. */
function sendError(res: ServerResponse, status: number, fields: ErrorFields = {}, headers?: Record<string, string>): void {
  const defaults = ERROR_DEFAULTS[status] ?? { message: `litellm.APIError: scripted error ${status}`, type: 'api_error' };
  const error = {
    message: fields.message ?? defaults.message,
    type: fields.type ?? defaults.type,
    param: null,
    code: fields.code ?? String(status),
  };
  sendJson(res, status, { error }, headers);
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
}

/** Waits `ms`; resolves `false` early when the client goes away (the answer is then dropped). */
function waitUnlessClosed(ms: number, res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onClose = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(!res.destroyed);
    }, ms);
    res.once('close', onClose);
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    // A client gone before the body ended: 'close' without 'end' (after 'end', this is a no-op).
    req.on('close', () => reject(new Error('request closed before its body ended')));
  });
}

function parseBody(text: string): { ok: true; value: unknown } | { ok: false; raw: string | undefined } {
  if (text.length === 0) return { ok: false, raw: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, raw: text };
  }
}

/**
 * The OpenAI route a path asks for: `/v1/chat/completions` and `/chat/completions` alike, and
 * Azure OpenAI's `/openai/deployments/<deployment>/chat/completions`.
 */
const openaiRoute = (path: string): string =>
  path.startsWith('/v1/') ? path.slice(3) : path.replace(/^\/openai\/deployments\/[^/]+(?=\/)/, '');

type ReplyStep = Extract<ScriptedStep, { kind: 'reply' }>;

function completionIdentity(request: ChatRequest): CompletionIdentity {
  return { id: `chatcmpl-${randomBytes(12).toString('hex')}`, created: Math.floor(Date.now() / 1000), model: request.model };
}

/** Fills in the defaults of a reply step: tool call ids, `null` content, finish reason, usage counts. */
function resolveReply(step: ReplyStep, request: ChatRequest, nextToolCallId: () => string): CompletionReply {
  const toolCalls = (step.toolCalls ?? []).map((call) => ({
    id: call.id ?? nextToolCallId(),
    name: call.name,
    arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
  }));
  const content = step.content ?? (toolCalls.length > 0 ? null : '');
  return {
    ...completionIdentity(request),
    content,
    reasoning: step.reasoning,
    toolCalls,
    finishReason: step.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    usage: step.usage === null ? null : replyUsage(step.usage, request, content, toolCalls),
  };
}

/** The usage a reply reports: the step's numbers, else counts with the tokenizer of the request's model. */
function replyUsage(
  given: { prompt_tokens?: number; completion_tokens?: number } | undefined,
  request: ChatRequest,
  content: string | null,
  toolCalls: ReadonlyArray<{ name: string; arguments: string }>,
): NonNullable<CompletionReply['usage']> {
  const encoding = encodingForModel(request.model);
  const promptTokens = given?.prompt_tokens ?? chatRequestTokens(request, encoding);
  const completionTokens =
    given?.completion_tokens ??
    Math.max(1, toolCalls.reduce((sum, call) => sum + countTokens(call.name, encoding) + countTokens(call.arguments, encoding), countTokens(content ?? '', encoding)));
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/** What a reply step adds as a LiteLLM proxy would: its headers, and its cost in the usage. */
type ProxyExtras = { headers: Record<string, string>; cost: number | undefined };

function sendReply(res: ServerResponse, request: ChatRequest, reply: CompletionReply, extras: ProxyExtras): void {
  const costed = <T extends object>(usage: T): T => (extras.cost === undefined ? usage : { ...usage, cost: extras.cost });
  if (request.stream !== true) {
    const toolCalls = reply.toolCalls.map(({ id, name, arguments: args }) => ({ id, type: 'function', function: { name, arguments: args } }));
    const message = {
      role: 'assistant',
      content: reply.content,
      ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
      ...(reply.reasoning !== undefined && { reasoning_content: reply.reasoning }),
    };
    const { id, created, model, usage } = reply;
    const choices = [{ index: 0, message, finish_reason: reply.finishReason, logprobs: null }];
    const headers = extras.cost === undefined ? extras.headers : { ...extras.headers, 'x-litellm-response-cost': String(extras.cost) };
    return sendJson(res, 200, { id, object: 'chat.completion', created, model, choices, ...(usage !== null && { usage: costed(usage) }) }, headers);
  }
  const streamOptions = request['stream_options'] as { include_usage?: unknown } | undefined;
  // writeHead (in startEventStream) merges these in
  for (const [name, value] of Object.entries(extras.headers)) res.setHeader(name, value);
  startEventStream(res);
  for (const chunk of completionChunks(reply, streamOptions?.include_usage === true)) {
    // the usage chunk is the last one: LiteLLM puts the call's cost there
    writeEvent(res, 'usage' in chunk && chunk['usage'] !== undefined ? { ...chunk, usage: costed(chunk['usage'] as object) } : chunk);
  }
  writeEvent(res, '[DONE]');
  res.end();
}

/** Streaming: the role chunk and a few content chunks, then the socket dies. Otherwise: no answer at all. */
function sendCut(res: ServerResponse, request: ChatRequest, step: Extract<ScriptedStep, { kind: 'cut_stream' }>): void {
  if (request.stream !== true) {
    res.destroy();
    return;
  }
  startEventStream(res);
  const content = step.content ?? 'This answer is cut off before it ends';
  const chunks = cutChunks(completionIdentity(request), content, step.afterChunks ?? 2);
  // Destroy only once the last chunk has reached the socket, so the client does see the chunks.
  chunks.forEach((chunk, index) => writeEvent(res, chunk, index === chunks.length - 1 ? () => res.destroy() : undefined));
}

/**
 * Streaming: the role chunk and a few content chunks, then silence with the socket left open.
 * Otherwise: silence. Either way the response ends only when the client goes away or `close()`
 * destroys the socket.
 */
function sendStall(res: ServerResponse, request: ChatRequest, step: Extract<ScriptedStep, { kind: 'stall' }>): void {
  if (request.stream !== true) return;
  startEventStream(res);
  const content = step.content ?? 'This answer stalls before it ends';
  for (const chunk of cutChunks(completionIdentity(request), content, step.afterChunks ?? 1)) writeEvent(res, chunk);
}

function sendErrorStep(res: ServerResponse, step: ScriptedErrorStep): void {
  const headers: Record<string, string> = { ...step.headers };
  if (step.retryAfter !== undefined) headers['Retry-After'] = String(step.retryAfter);
  if (step.retryAfterMs !== undefined) headers['retry-after-ms'] = String(step.retryAfterMs);
  sendError(res, step.status, step, headers);
}

function sendStep(res: ServerResponse, request: ChatRequest, step: ScriptedStep, nextToolCallId: () => string): void {
  switch (step.kind) {
    case 'reply':
      return sendReply(res, request, resolveReply(step, request, nextToolCallId), { headers: step.headers ?? {}, cost: step.cost });
    case 'error':
      return sendErrorStep(res, step);
    case 'context_overflow':
      return sendError(res, 400, { message: CONTEXT_OVERFLOW_MESSAGE, type: 'invalid_request_error' });
    case 'cut_stream':
      return sendCut(res, request, step);
    case 'stall':
      return sendStall(res, request, step);
  }
}

function sendEmbeddings(res: ServerResponse, body: unknown, defaultDimension: number): void {
  const parsed = embeddingsRequestSchema.safeParse(body);
  if (!parsed.success) return sendError(res, 400, { message: `Invalid embeddings request: ${describeIssues(parsed.error)}` });
  const { input, dimensions = defaultDimension, encoding_format: format = 'float' } = parsed.data;
  const texts = typeof input === 'string' ? [input] : input;
  const data = texts.map((text, index) => {
    const vector = scriptedEmbedding(text, dimensions);
    // The openai SDK asks for base64 (little-endian float32) unless the caller picks a format.
    const embedding = format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    return { object: 'embedding', index, embedding };
  });
  const tokens = texts.reduce((sum, text) => sum + estimateTokens(text.length), 0);
  const model = parsed.data.model ?? 'scripted-embedding';
  sendJson(res, 200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
}

/**
 * Starts a scripted OpenAI-compatible model server. Chat requests take the next queued step, else
 * ask the responder (by default one that answers `OK: <last user message>`).
 *
 * @example
 * ```ts
 * const server = await startScriptedModelServer();
 * server.enqueue(
 *   { kind: 'reply', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Likes tea' } }] },
 *   { kind: 'reply', content: 'Noted, you like tea.' },
 * );
 * const openai = new OpenAI({ baseURL: server.url, apiKey: 'test', maxRetries: 0 });
 * const first = await openai.chat.completions.create({ model: 'scripted-model', messages: [{ role: 'user', content: 'I like tea' }] });
 * // first.choices[0].message.tool_calls[0].function.name === 'core_memory_append'
 * const second = await openai.chat.completions.create({ model: 'scripted-model', messages: [...] });
 * // second.choices[0].message.content === 'Noted, you like tea.'
 * assert.equal(server.chatRequests().length, 2);
 * await server.close();
 * ```
 */
export async function startScriptedModelServer(options: ScriptedModelServerOptions = {}): Promise<ScriptedModelServer> {
  const config = {
    port: 0,
    host: '127.0.0.1',
    apiKey: undefined,
    responder: echoResponder,
    models: ['scripted-model'],
    embeddingDim: 16,
    ...options,
  } satisfies ScriptedModelServerOptions;
  const createdAt = Math.floor(Date.now() / 1000);
  const queue: ScriptedStep[] = [];
  const embeddingErrors: ScriptedErrorStep[] = [];
  const requests: RecordedRequest[] = [];
  let chats: ChatRequest[] = [];
  let responderOverride: Responder | undefined;
  let toolCallCount = 0;
  const nextToolCallId = (): string => `call_${++toolCallCount}`;
  const waiters = new Set<{ count: number; resolve: () => void; reject: (error: Error) => void }>();
  const sockets = new Set<Socket>();

  async function answerChat(res: ServerResponse, request: ChatRequest, headers: RecordedRequest['headers']): Promise<void> {
    // refused before it counts as a chat request: a real endpoint would not answer it either
    if (config.contextWindow !== undefined) {
      const reply = typeof request['max_tokens'] === 'number' ? request['max_tokens'] : typeof request['max_completion_tokens'] === 'number' ? request['max_completion_tokens'] : 0;
      const tokens = chatRequestTokens(request, encodingForModel(request.model)) + reply;
      if (tokens > config.contextWindow) {
        return sendError(res, 400, { message: contextOverflowMessage(config.contextWindow, tokens), type: 'invalid_request_error' });
      }
    }
    const callIndex = chats.length;
    chats.push(request);
    for (const waiter of waiters) if (chats.length >= waiter.count) waiter.resolve();
    // Taken synchronously on arrival, so overlapping requests consume the queue in arrival order.
    const queued = queue.shift();
    let step: ScriptedStep;
    try {
      step = queued ?? (await (responderOverride ?? config.responder)(request, { callIndex, headers }));
    } catch (error) {
      return sendError(res, 500, { message: `scripted responder failed: ${error instanceof Error ? error.message : String(error)}` });
    }
    if (await waitUnlessClosed(step.delayMs ?? 0, res)) sendStep(res, request, step, nextToolCallId);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/(.)\/+$/, '$1');
    const method = req.method ?? 'GET';
    const body = parseBody(text);
    requests.push({ path, query: Object.fromEntries(url.searchParams), method, headers: { ...req.headers }, body: body.ok ? body.value : body.raw, receivedAt: Date.now() });
    // a Bearer token, or Azure OpenAI's `api-key` header
    if (config.apiKey !== undefined && req.headers.authorization !== `Bearer ${config.apiKey}` && req.headers['api-key'] !== config.apiKey) {
      return sendError(res, 401);
    }
    const route = `${method} ${openaiRoute(path)}`;
    if (route === 'GET /models') {
      const data = config.models.map((id) => ({ id, object: 'model', created: createdAt, owned_by: 'memloom-scripted' }));
      return sendJson(res, 200, { object: 'list', data });
    }
    if (route !== 'POST /chat/completions' && route !== 'POST /embeddings') {
      return sendError(res, 404, { message: `Not found: ${method} ${path}`, type: 'not_found_error' });
    }
    if (!body.ok) return sendError(res, 400, { message: 'Request body is not valid JSON', type: 'invalid_request_error' });
    if (route === 'POST /embeddings') {
      const failure = embeddingErrors.shift();
      if (failure && (await waitUnlessClosed(failure.delayMs ?? 0, res))) return sendErrorStep(res, failure);
      if (failure) return;
      return sendEmbeddings(res, body.value, config.embeddingDim);
    }
    const parsed = chatRequestSchema.safeParse(body.value);
    if (!parsed.success) {
      return sendError(res, 400, { message: `Invalid chat request: ${describeIssues(parsed.error)}`, type: 'invalid_request_error' });
    }
    return answerChat(res, parsed.data as ChatRequest, { ...req.headers });
  }

  const server = createServer((req, res) => {
    // A client that goes away mid-answer (EPIPE, ECONNRESET) is expected, never fatal.
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    handle(req, res).catch(() => {
      if (!res.headersSent) sendError(res, 500, { message: 'scripted model server failed' });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${urlHost}:${port}/v1`,
    port,
    requests,
    enqueue(...steps) {
      queue.push(...steps);
    },
    failEmbeddings(...errors) {
      embeddingErrors.push(...errors);
    },
    setResponder(responder) {
      responderOverride = responder;
    },
    chatRequests: () => [...chats],
    waitForChatRequests(count, timeoutMs = 5000) {
      if (chats.length >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const settle = (error?: Error): void => {
          clearTimeout(timer);
          waiters.delete(waiter);
          if (error) reject(error);
          else resolve();
        };
        const waiter = { count, resolve: () => settle(), reject: settle };
        const timer = setTimeout(() => settle(new Error(`expected ${count} chat requests within ${timeoutMs} ms, got ${chats.length}`)), timeoutMs);
        waiters.add(waiter);
      });
    },
    reset() {
      queue.length = 0;
      embeddingErrors.length = 0;
      requests.length = 0;
      chats = [];
      responderOverride = undefined;
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const waiter of waiters) waiter.reject(new Error('scripted model server closed'));
        server.close((error) => (error ? reject(error) : resolve()));
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}
