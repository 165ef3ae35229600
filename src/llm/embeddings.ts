/**
 * Embeddings through `/v1/embeddings` of an OpenAI-compatible endpoint (a LiteLLM proxy, OpenAI,
 * vLLM, Ollama), with the clients of {@link ModelClients}: the worker's API key, never logged or
 * stored. An agent's `embedding_config` says where: its `embedding_endpoint`, else a model group
 * of the models file (MEMLOOM_MODELS) named `embedding_model`, else the worker's LLM_BASE_URL.
 *
 * Texts go in batches (at most {@link EmbedOptions.maxInputsPerRequest} texts and about
 * {@link EmbedOptions.maxTokensPerRequest} tokens a request). Unlike chat calls, one request is
 * retried by the SDK (with its backoff, honouring Retry-After): an embedding activity sends many
 * requests, and a Temporal retry of the activity would send the ones that succeeded again. What
 * still fails is an {@link EmbeddingError}, classified as chat errors are (`RateLimited`,
 * `Connection`, `AuthFailed`, ...), so the activity retries the transient ones and fails at once,
 * clearly, on the rest.
 * @module
 */
import type OpenAI from 'openai';
import { ActivityFailureType, ConfigError, ModelErrorType, ValidationError } from '../domain/errors.ts';
import type { EmbeddingConfig } from '../domain/llm-config.ts';
import { classifyModelError, type ModelFailureType } from './error-classification.ts';
import type { ModelClients } from './model-client.ts';

/** Options of {@link embedTexts}; every field is optional. */
export interface EmbedOptions {
  /** At most this many texts in one request (OpenAI allows 2048). @default 128 */
  maxInputsPerRequest?: number;
  /**
   * At most about this many tokens in one request (OpenAI allows 300,000), estimated high at a
   * token per 3 bytes of UTF-8; a single longer text goes alone. @default 100_000
   */
  maxTokensPerRequest?: number;
  /** Retries of one request by the SDK on a 408, 409, 429, 5xx or connection error. @default 2 */
  maxRetries?: number;
  /** Timeout of one request attempt. @default 60_000 */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called after each request with the number of texts embedded so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link embedTexts} returns: a vector per text, in order. */
export interface EmbeddingResult {
  /** Unit-length or not, as the endpoint returns them; each has `embedding_dim` numbers. */
  vectors: number[][];
  /** `usage.prompt_tokens`, summed over the requests (0 when the endpoint reports none). */
  promptTokens: number;
  /** Requests that succeeded. */
  requests: number;
}

/** An embedding request that failed; `type` is the `ApplicationFailure` type an activity throws. */
export class EmbeddingError extends Error {
  constructor(
    readonly type: ModelFailureType,
    message: string,
    /** Whether a later attempt may succeed (the activity's retry policy decides). */
    readonly retryable: boolean,
    readonly status: number | undefined = undefined,
    /** From Retry-After, when the endpoint sent one. */
    readonly retryAfterMs: number | undefined = undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EmbeddingError';
  }
}

type Limits = Required<Pick<EmbedOptions, 'maxInputsPerRequest' | 'maxTokensPerRequest' | 'maxRetries' | 'timeoutMs'>>;
const DEFAULTS: Limits = { maxInputsPerRequest: 128, maxTokensPerRequest: 100_000, maxRetries: 2, timeoutMs: 60_000 };

/** Where a request goes: a client, the model name sent, and what error messages need. */
interface EmbeddingTarget {
  client: OpenAI;
  model: string;
  baseUrl: string;
  hasApiKey: boolean;
}

/** OpenAI's `text-embedding-3-*` models take a `dimensions` parameter; others refuse it. */
export function acceptsDimensions(model: string): boolean {
  return /(^|\/)text-embedding-3-/.test(model);
}

/** A high estimate of a text's tokens: one per 3 bytes of UTF-8 (English runs ~4 characters a token, CJK ~1). */
export function estimateEmbeddingTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 3);
}

/**
 * Splits `texts` into batches of at most `maxInputs` texts and about `maxTokens` tokens each,
 * in order; a text over `maxTokens` alone is a batch of one.
 */
export function embeddingBatches(texts: readonly string[], maxInputs: number, maxTokens: number): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let tokens = 0;
  for (const text of texts) {
    const t = estimateEmbeddingTokens(text);
    if (current.length > 0 && (current.length >= maxInputs || tokens + t > maxTokens)) {
      batches.push(current);
      current = [];
      tokens = 0;
    }
    current.push(text);
    tokens += t;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * The endpoints an embedding config goes to, in order: the deployments of the models file's group
 * named `embedding_model` (when the config names no endpoint), else the one endpoint.
 */
function targetsOf(clients: ModelClients, config: EmbeddingConfig): EmbeddingTarget[] {
  const group = config.embedding_endpoint === undefined ? clients.config?.groups.find((g) => g.name === config.embedding_model) : undefined;
  if (group) {
    return group.deployments.map((d) => {
      const routed = clients.deployment(d.id);
      return { client: routed.client, model: d.upstreamModel, baseUrl: routed.baseUrl, hasApiKey: routed.hasApiKey };
    });
  }
  let baseUrl: string;
  try {
    baseUrl = clients.resolveBaseUrl(config.embedding_endpoint);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new EmbeddingError(
      ActivityFailureType.ConfigError,
      'no embedding endpoint: set embedding_config.embedding_endpoint on the agent (memloom agent update AGENT --embedding-endpoint URL), or LLM_BASE_URL on the worker',
      false,
    );
  }
  return [{ client: clients.get(config.embedding_endpoint), model: config.embedding_model, baseUrl, hasApiKey: clients.hasApiKey }];
}

/**
 * Embeds `texts` with the agent's `embedding_config`: a vector of `embedding_dim` numbers per
 * text, in order. Throws a ValidationError naming an empty text before any request, and an
 * {@link EmbeddingError} when the endpoint fails or answers with vectors of another dimension.
 *
 * @example
 * ```ts
 * const clients = new ModelClients({ defaultBaseUrl: config.llmBaseUrl, apiKey: config.llmApiKey });
 * const { vectors } = await embedTexts(clients, agent.embedding_config, ['boat trip on the river', 'tax return deadline']);
 * ```
 */
export async function embedTexts(
  clients: ModelClients,
  config: EmbeddingConfig,
  texts: readonly string[],
  options: EmbedOptions = {},
): Promise<EmbeddingResult> {
  const empty = texts.flatMap((text, i) => (text.trim() === '' ? [{ path: `texts.${i}`, message: 'must not be empty: embedding endpoints refuse empty input' }] : []));
  if (empty.length > 0) throw new ValidationError(empty, 'texts to embed');
  const o = { ...DEFAULTS, ...options } satisfies EmbedOptions;
  const result: EmbeddingResult = { vectors: [], promptTokens: 0, requests: 0 };
  if (texts.length === 0) return result;
  const targets = targetsOf(clients, config);
  // after a deployment of a group failed, the next batches start at the next one
  let first = 0;
  for (const batch of embeddingBatches(texts, o.maxInputsPerRequest, o.maxTokensPerRequest)) {
    for (let i = 0; ; i++) {
      const index = (first + i) % targets.length;
      try {
        const answer = await requestBatch(targets[index]!, config, batch, o);
        result.vectors.push(...answer.vectors);
        result.promptTokens += answer.promptTokens;
        result.requests++;
        first = index;
        break;
      } catch (error) {
        if (!(error instanceof EmbeddingError) || !error.retryable || i + 1 >= targets.length || o.signal?.aborted) throw error;
      }
    }
    o.onProgress?.(result.vectors.length, texts.length);
  }
  return result;
}

async function requestBatch(
  target: EmbeddingTarget,
  config: EmbeddingConfig,
  batch: string[],
  o: EmbedOptions & Limits,
): Promise<{ vectors: number[][]; promptTokens: number }> {
  let response: OpenAI.CreateEmbeddingResponse;
  try {
    response = await target.client.embeddings.create(
      {
        model: target.model,
        input: batch,
        // float, not the SDK's default base64: not every OpenAI-compatible server speaks base64
        encoding_format: 'float',
        ...(acceptsDimensions(target.model) ? { dimensions: config.embedding_dim } : {}),
      },
      { maxRetries: o.maxRetries, timeout: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}) },
    );
  } catch (error) {
    const failure = classifyModelError(error, { hasApiKey: target.hasApiKey, baseUrl: target.baseUrl, modelGroup: target.model });
    throw new EmbeddingError(failure.type, `embedding with ${target.model} failed: ${failure.message}`, failure.retryable, failure.status, failure.retryAfterMs, {
      cause: error,
    });
  }
  return { vectors: checkedVectors(response, target, config, batch.length), promptTokens: response.usage?.prompt_tokens ?? 0 };
}

/** The answer's vectors in input order, each checked: as many as asked, `embedding_dim` finite numbers. */
function checkedVectors(response: OpenAI.CreateEmbeddingResponse, target: EmbeddingTarget, config: EmbeddingConfig, count: number): number[][] {
  const where = `${target.model} at ${target.baseUrl}`;
  const malformed = (why: string): EmbeddingError =>
    new EmbeddingError(ModelErrorType.Upstream5xx, `embedding with ${target.model} failed: ${where} sent a malformed response: ${why}`, true);
  const data: unknown = response.data;
  if (!Array.isArray(data) || data.length !== count) {
    throw malformed(`${Array.isArray(data) ? data.length : 'no'} embeddings for ${count} inputs`);
  }
  const vectors: number[][] = new Array<number[]>(count);
  data.forEach((item: OpenAI.Embedding, position) => {
    const index = typeof item.index === 'number' ? item.index : position;
    const vector: unknown = item.embedding;
    if (!Array.isArray(vector) || !vector.every((x) => typeof x === 'number' && Number.isFinite(x))) throw malformed(`embedding ${index} is not a list of numbers`);
    if (vector.length !== config.embedding_dim) {
      throw new EmbeddingError(
        ActivityFailureType.ConfigError,
        `${where} returned ${vector.length}-dimensional vectors, but embedding_config.embedding_dim is ${config.embedding_dim}: ` +
          `set the dimension the model returns (memloom agent update AGENT --embedding ${config.embedding_model} --embedding-dim ${vector.length})`,
        false,
      );
    }
    if (index < 0 || index >= count || vectors[index] !== undefined) throw malformed(`embedding index ${index} is out of place`);
    vectors[index] = vector as number[];
  });
  return vectors;
}
