/**
 * Types of the scripted OpenAI-compatible model server (see `scripted-model-server.ts`).
 *
 * A test scripts the model's behaviour as a queue of {@link ScriptedStep}s, one consumed per chat
 * completion request, and falls back to a {@link Responder} when the queue is empty.
 */

/** A tool call the scripted model makes. */
export type ScriptedToolCall = {
  /** Function name, e.g. `core_memory_append`. */
  name: string;
  /** Arguments as an object (serialized with `JSON.stringify`) or a raw string sent verbatim, e.g. malformed JSON. */
  arguments: Record<string, unknown> | string;
  /** @default `call_<n>`, unique per server */
  id?: string;
};

/** One scripted answer to one chat completion request. */
export type ScriptedStep =
  | {
      kind: 'reply';
      content?: string;
      /** Sent as `reasoning_content`, as LiteLLM does for reasoning models. */
      reasoning?: string;
      toolCalls?: ScriptedToolCall[];
      /** @default 'tool_calls' when there are tool calls, else 'stop' */
      finishReason?: 'stop' | 'tool_calls' | 'length';
      /**
       * @default counted with the tokenizer of the request's model (`src/llm/token-count.ts`), the
       * prompt with OpenAI's chat framing. `null`: the answer carries no usage at all, as from a
       * server that ignores `stream_options.include_usage`.
       */
      usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
      /**
       * Response headers, sent on streaming and non-streaming answers alike, e.g. LiteLLM's
       * `x-litellm-model-id` or `x-litellm-attempted-fallbacks` to act as a proxy. @default none
       */
      headers?: Record<string, string>;
      /**
       * Cost in USD, as a LiteLLM proxy reports it: `usage.cost` in the final usage chunk of a
       * stream (sent when the request asks for usage), `usage.cost` and the
       * `x-litellm-response-cost` header on a non-streaming answer. @default none
       */
      cost?: number;
      /** Wait before answering (for streaming: before the first byte). @default 0 */
      delayMs?: number;
    }
  | {
      kind: 'error';
      status: number;
      /** @default a LiteLLM-style message for the status */
      message?: string;
      /** @default a type for the status, e.g. 'auth_error' for 401 */
      type?: string;
      /** @default String(status) */
      code?: string;
      /** Sent as the `Retry-After` header (seconds or HTTP date). */
      retryAfter?: number | string;
      /** Sent as the `retry-after-ms` header. */
      retryAfterMs?: number;
      headers?: Record<string, string>;
      /** @default 0 */
      delayMs?: number;
    }
  | {
      /** HTTP 400 with LiteLLM's `ContextWindowExceededError` body. */
      kind: 'context_overflow';
      /** @default 0 */
      delayMs?: number;
    }
  | {
      /**
       * Streaming request: send `afterChunks` content chunks, then destroy the socket without a
       * `finish_reason` or `[DONE]`. Non-streaming request: destroy the socket without any response.
       */
      kind: 'cut_stream';
      /** @default 'This answer is cut off before it ends' */
      content?: string;
      /** @default 2 */
      afterChunks?: number;
      /** @default 0 */
      delayMs?: number;
    }
  | {
      /**
       * Streaming request: send the role chunk and `afterChunks` content chunks, then send nothing
       * more and keep the socket open until the client goes away or the server closes (a stalled
       * upstream). Non-streaming request: never answer, the socket stays open the same way.
       */
      kind: 'stall';
      /** @default 'This answer stalls before it ends' */
      content?: string;
      /** @default 1 */
      afterChunks?: number;
      /** @default 0 */
      delayMs?: number;
    };

/** An `error` step: an HTTP error in OpenAI's (and LiteLLM's) error shape. */
export type ScriptedErrorStep = Extract<ScriptedStep, { kind: 'error' }>;

/** The body of a chat completion request, as the server received it. */
export interface ChatRequest {
  model: string;
  messages: Array<Record<string, unknown>>;
  tools?: Array<Record<string, unknown>>;
  stream?: boolean;
  [k: string]: unknown;
}

/** Any request the server received (chat, models, embeddings, unknown routes). */
export interface RecordedRequest {
  path: string;
  /** The query string's parameters, e.g. Azure OpenAI's `api-version`. */
  query: Record<string, string>;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body; the raw text when it is not JSON; `undefined` when empty. */
  body: unknown;
  /** `Date.now()` when the body had been read. */
  receivedAt: number;
}

/**
 * Decides the step for a chat request when the queue is empty. `callIndex` is the 0-based index of
 * the request among the chat requests received since start or the last `reset()`.
 */
export type Responder = (
  request: ChatRequest,
  context: { callIndex: number; headers: RecordedRequest['headers'] },
) => ScriptedStep | Promise<ScriptedStep>;

/** Options of `startScriptedModelServer`; every field is optional. */
export interface ScriptedModelServerOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** When set, every request must carry `Authorization: Bearer <apiKey>`, else 401 in OpenAI's error shape. */
  apiKey?: string;
  /** Used when the queue is empty. @default a responder that replies `OK: <last user message text>` */
  responder?: Responder;
  /** Listed by `GET /v1/models`; requests for other models are still answered. @default ['scripted-model'] */
  models?: string[];
  /** Embedding dimension when the request gives no `dimensions`. @default 16 */
  embeddingDim?: number;
  /**
   * The model's context window in tokens, enforced as a real endpoint does: a chat request whose
   * prompt (counted with the model's tokenizer) plus its `max_tokens` is over it is answered with
   * LiteLLM's 400 `ContextWindowExceededError`, before the queue or the responder is asked
   * (and it is not one of `chatRequests()`).
   * @default no limit
   */
  contextWindow?: number;
}

/** A running scripted model server, as `startScriptedModelServer` returns it. */
export interface ScriptedModelServer {
  /** Base URL for the openai SDK: `http://<host>:<port>/v1`. */
  readonly url: string;
  readonly port: number;
  /** Queue steps (FIFO); each is consumed by one chat completion request before the responder is asked. */
  enqueue(...steps: ScriptedStep[]): void;
  /** Queue errors (FIFO) for embeddings requests: each answers one `/embeddings` request instead of its vectors. */
  failEmbeddings(...errors: ScriptedErrorStep[]): void;
  /** Override the responder given in the options; `undefined` restores it. */
  setResponder(responder: Responder | undefined): void;
  /** Every request received (chat, models, embeddings, unknown routes, rejected ones). */
  readonly requests: readonly RecordedRequest[];
  /** Bodies of the chat completion requests that were accepted (authorized, valid), in arrival order. */
  chatRequests(): ChatRequest[];
  /**
   * Resolves once `count` chat requests have arrived (before they are answered); rejects after
   * `timeoutMs` (@default 5000) or when the server closes.
   */
  waitForChatRequests(count: number, timeoutMs?: number): Promise<void>;
  /** Clears the queues (chat steps and embeddings errors), the responder override and the recorded requests. */
  reset(): void;
  /** Stops listening and destroys open sockets, so an in-flight delayed response does not hold it up. */
  close(): Promise<void>;
}
