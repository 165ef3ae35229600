/**
 * What a LiteLLM proxy says about one call beyond the completion: which deployment answered
 * (a fallback may have served another group than the one asked for), how many retries and
 * fallbacks it took, and what it cost. Read from the response headers (sent on streamed calls
 * too) and, for the cost of a stream, from the last chunk's `usage.cost`. A plain
 * OpenAI-compatible endpoint sends none of it: every field is then null.
 * @module
 */

/** LiteLLM's response headers memloom records. */
export const LiteLLMHeader = {
  ModelId: 'x-litellm-model-id',
  ModelGroup: 'x-litellm-model-group',
  ModelApiBase: 'x-litellm-model-api-base',
  AttemptedRetries: 'x-litellm-attempted-retries',
  AttemptedFallbacks: 'x-litellm-attempted-fallbacks',
  CallId: 'x-litellm-call-id',
  ResponseCost: 'x-litellm-response-cost',
} as const;
export type LiteLLMHeader = (typeof LiteLLMHeader)[keyof typeof LiteLLMHeader];

/** One call as the proxy reported it; null where it said nothing. */
export interface ProxyCallMeta {
  /** `x-litellm-model-id`: id (hash) of the deployment that answered. */
  modelId: string | null;
  /** `x-litellm-model-group`: the model group that answered, a fallback's when one served. */
  modelGroup: string | null;
  /** `x-litellm-model-api-base`: the upstream base URL the proxy called. */
  apiBase: string | null;
  /** `x-litellm-attempted-retries`. */
  attemptedRetries: number | null;
  /** `x-litellm-attempted-fallbacks`. */
  attemptedFallbacks: number | null;
  /** `x-litellm-call-id`: the proxy's id of the call, to find it in its logs and spend records. */
  callId: string | null;
  /** USD: the stream's `usage.cost`, else `x-litellm-response-cost`. */
  cost: number | null;
}

/** Headers as `fetch` (a `Response`) or the SDK's `APIError.headers` carry them. */
export type HeaderSource = Headers | Record<string, string | null | undefined> | undefined;

/** The value of `name` (case-insensitive for a `Headers`; lower-case keys for a record). */
export function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | null | undefined>;
  return record[name] ?? record[name.toLowerCase()] ?? undefined;
}

function text(headers: HeaderSource, name: LiteLLMHeader): string | null {
  const value = readHeader(headers, name)?.trim();
  // LiteLLM writes Python's None for values it does not know
  return value === undefined || value === '' || value === 'None' ? null : value;
}

function count(headers: HeaderSource, name: LiteLLMHeader): number | null {
  const value = Number(text(headers, name) ?? NaN);
  return Number.isInteger(value) && value >= 0 ? value : null;
}

/** A cost in USD; anything else (absent, `None`, negative, not a number) is unknown. */
export function parseCost(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/**
 * Reads the proxy's headers of one call. `streamCost` is the stream's `usage.cost`, which wins
 * over the header (LiteLLM sends headers before a stream's cost is known).
 *
 * @example
 * ```ts
 * const { data: stream, response } = await client.chat.completions.create(body).withResponse();
 * // ... read the stream, keeping the last usage chunk's `cost`
 * const meta = readProxyMeta(response.headers, lastUsage?.cost);
 * // meta.modelId === 'dep-b' when the proxy's deployment dep-b answered
 * ```
 */
export function readProxyMeta(headers: HeaderSource, streamCost?: unknown): ProxyCallMeta {
  return {
    modelId: text(headers, LiteLLMHeader.ModelId),
    modelGroup: text(headers, LiteLLMHeader.ModelGroup),
    apiBase: text(headers, LiteLLMHeader.ModelApiBase),
    attemptedRetries: count(headers, LiteLLMHeader.AttemptedRetries),
    attemptedFallbacks: count(headers, LiteLLMHeader.AttemptedFallbacks),
    callId: text(headers, LiteLLMHeader.CallId),
    cost: parseCost(streamCost) ?? parseCost(text(headers, LiteLLMHeader.ResponseCost)),
  };
}

/** The proxy's headers on a failed call (the SDK's `APIError.headers`), else null. */
export function proxyMetaOfError(error: unknown): ProxyCallMeta | null {
  if (error === null || typeof error !== 'object' || !('headers' in error)) return null;
  const headers = (error as { headers?: unknown }).headers;
  if (headers === undefined || headers === null || typeof headers !== 'object') return null;
  return readProxyMeta(headers as HeaderSource);
}
