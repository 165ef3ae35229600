/**
 * One streamed chat completion, accumulated into a single result. Streaming lets the activity
 * heartbeat on progress, tells a finished answer from a cut stream, and lets an idle watchdog
 * abort a stream that has gone silent.
 * @module
 */
import type OpenAI from 'openai';
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from 'openai/resources/chat/completions';
import type { Usage } from '../domain/letta-message.ts';
import type { StoredToolCall } from '../domain/stored-message.ts';
import { DEFAULT_STREAM_IDLE_TIMEOUT_MS } from '../domain/timeouts.ts';
import { StreamIdleTimeoutError, StreamIncompleteError } from './error-classification.ts';
import { readProxyMeta, type ProxyCallMeta } from './litellm-metadata.ts';

export interface ChatCallParams {
  model: string;
  messages: ChatCompletionMessageParam[];
  tools: ChatCompletionTool[];
  temperature?: number | undefined;
  maxTokens?: number | undefined;
  /**
   * Sent as the request's `user`: a LiteLLM proxy with a database attributes spend (and end-user
   * budgets) to it. memloom sends the agent id.
   */
  user?: string | undefined;
}

export interface ChatCallResult {
  content: string | null;
  reasoning: string | null;
  toolCalls: StoredToolCall[];
  finishReason: 'stop' | 'tool_calls' | 'length' | 'content_filter' | 'unknown';
  /** As reported by the endpoint; null if it sent none. */
  usage: Usage | null;
  /**
   * What a LiteLLM proxy reported about the call (deployment, served group, retries, cost); all
   * null from a plain endpoint. Optional for results built elsewhere.
   */
  meta?: ProxyCallMeta | undefined;
}

interface ToolCallAccumulator {
  id: string;
  name: string;
  arguments: string;
}

/** Progress of a stream, as the activity reports it in its heartbeats. */
export interface StreamProgress {
  /** Chunks received so far. */
  chunks: number;
}

/** What one chunk of the stream added: text, reasoning, and pieces of tool calls (by position). */
export interface StreamDelta {
  content?: string;
  reasoning?: string;
  toolCalls?: { index: number; id?: string; name?: string; arguments?: string }[];
}

/** Options of {@link streamChatCompletion}. */
export interface StreamChatOptions {
  /** Aborts the request (activity cancellation). The call then fails; the caller knows why. */
  signal?: AbortSignal | undefined;
  /** Called on every chunk, e.g. to heartbeat with `progress` as details. */
  onProgress?: ((progress: StreamProgress) => void) | undefined;
  /** Called with what each chunk added, e.g. to publish it to listeners. Must not throw. */
  onDelta?: ((delta: StreamDelta) => void) | undefined;
  /**
   * Abort with a {@link StreamIdleTimeoutError} when no chunk arrives for this long, the wait for
   * the first chunk included. @default DEFAULT_STREAM_IDLE_TIMEOUT_MS (60 s)
   */
  idleTimeoutMs?: number | undefined;
}

/**
 * A timer that aborts its signal once it has not been `touch`ed for `ms`; `fired` tells an abort
 * of its own from the caller's.
 */
function idleWatchdog(ms: number, outer: AbortSignal | undefined) {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const watchdog = {
    fired: false,
    signal: outer ? AbortSignal.any([outer, controller.signal]) : controller.signal,
    touch(): void {
      clearTimeout(timer);
      timer = setTimeout(() => {
        watchdog.fired = true;
        controller.abort();
      }, ms);
    },
    stop: (): void => clearTimeout(timer),
  };
  return watchdog;
}

/**
 * Streams one chat completion and accumulates it. Fails with {@link StreamIdleTimeoutError} when
 * the stream stays silent for `idleTimeoutMs`, with {@link StreamIncompleteError} when it ends
 * without a `finish_reason`, and with the SDK's errors otherwise.
 */
export async function streamChatCompletion(client: OpenAI, params: ChatCallParams, options: StreamChatOptions = {}): Promise<ChatCallResult> {
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS;
  const body: ChatCompletionCreateParamsStreaming = {
    model: params.model,
    messages: params.messages,
    stream: true,
    stream_options: { include_usage: true },
    ...(params.tools.length > 0 ? { tools: params.tools, tool_choice: 'auto' as const } : {}),
    ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
    ...(params.maxTokens !== undefined ? { max_tokens: params.maxTokens } : {}),
    ...(params.user !== undefined ? { user: params.user } : {}),
  };
  const watchdog = idleWatchdog(idleTimeoutMs, options.signal);
  const acc = new CompletionAccumulator();
  watchdog.touch();
  let headers: Headers | undefined;
  try {
    // withResponse: the proxy's headers (LiteLLM sends them on streams too) along with the stream
    const { data: stream, response } = await client.chat.completions.create(body, { signal: watchdog.signal }).withResponse();
    headers = response.headers;
    // an abort mid-stream ends this loop quietly (the SDK's choice): `fired` tells it apart
    for await (const chunk of stream) {
      watchdog.touch();
      const delta = acc.add(chunk);
      options.onProgress?.({ chunks: acc.chunks });
      if (delta) options.onDelta?.(delta);
    }
  } catch (error) {
    if (watchdog.fired) throw new StreamIdleTimeoutError(idleTimeoutMs, acc.chunks);
    throw error;
  } finally {
    watchdog.stop();
  }
  if (watchdog.fired) throw new StreamIdleTimeoutError(idleTimeoutMs, acc.chunks);
  return { ...acc.result(), meta: readProxyMeta(headers, acc.cost) };
}

/** Accumulates the chunks of one streamed completion into a {@link ChatCallResult}. */
class CompletionAccumulator {
  chunks = 0;
  #content = '';
  #reasoning = '';
  #finishReason: string | null = null;
  #usage: Usage | null = null;
  /** LiteLLM's `usage.cost` of the last usage chunk (not part of OpenAI's type). */
  cost: unknown = undefined;
  readonly #calls = new Map<number, ToolCallAccumulator>();

  /** Takes a chunk; returns what it added to the answer, if anything. */
  add(chunk: ChatCompletionChunk): StreamDelta | null {
    this.chunks += 1;
    if (chunk.usage) {
      this.#usage = {
        prompt_tokens: chunk.usage.prompt_tokens,
        completion_tokens: chunk.usage.completion_tokens,
        total_tokens: chunk.usage.total_tokens,
      };
      const { cost } = chunk.usage as typeof chunk.usage & { cost?: unknown };
      if (cost !== undefined) this.cost = cost;
    }
    const choice = chunk.choices[0];
    if (!choice) return null;
    const delta = choice.delta as typeof choice.delta & { reasoning_content?: string | null; reasoning?: string | null };
    const added: StreamDelta = {};
    if (delta.content) {
      this.#content += delta.content;
      added.content = delta.content;
    }
    const thought = delta.reasoning_content ?? delta.reasoning;
    if (thought) {
      this.#reasoning += thought;
      added.reasoning = thought;
    }
    for (const tc of delta.tool_calls ?? []) {
      const call = this.#calls.get(tc.index) ?? { id: '', name: '', arguments: '' };
      if (tc.id) call.id = tc.id;
      if (tc.function?.name) call.name += tc.function.name;
      if (tc.function?.arguments) call.arguments += tc.function.arguments;
      this.#calls.set(tc.index, call);
      (added.toolCalls ??= []).push({
        index: tc.index,
        ...(tc.id ? { id: tc.id } : {}),
        ...(tc.function?.name ? { name: tc.function.name } : {}),
        ...(tc.function?.arguments ? { arguments: tc.function.arguments } : {}),
      });
    }
    if (choice.finish_reason) this.#finishReason = choice.finish_reason;
    return added.content !== undefined || added.reasoning !== undefined || added.toolCalls !== undefined ? added : null;
  }

  /** The completion; a stream that ended without a `finish_reason` was cut. */
  result(): ChatCallResult {
    if (this.#finishReason === null) throw new StreamIncompleteError();
    const toolCalls = [...this.#calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, c]) => ({ id: c.id || `call_${index}`, name: c.name, arguments: c.arguments || '{}' }));
    return {
      content: this.#content === '' ? null : this.#content,
      reasoning: this.#reasoning === '' ? null : this.#reasoning,
      toolCalls,
      finishReason: normalizeFinish(this.#finishReason, toolCalls.length),
      usage: this.#usage,
    };
  }
}

function normalizeFinish(reason: string, toolCalls: number): ChatCallResult['finishReason'] {
  if (toolCalls > 0) return 'tool_calls';
  if (reason === 'stop' || reason === 'length' || reason === 'content_filter' || reason === 'tool_calls') return reason;
  return reason === 'function_call' ? 'tool_calls' : 'unknown';
}
