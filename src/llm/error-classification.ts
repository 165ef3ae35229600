/**
 * Maps whatever a model call threw to one {@link ModelErrorType} (or a ConfigError / InternalError
 * that no retry can fix). This is the only place that looks at status codes and error text:
 * LiteLLM reports a context overflow as a 400 whose message names `ContextWindowExceededError`,
 * a wrong key on a proxy without a database as a 400 `no_db_connection`, and a provider key it
 * holds that the provider rejected as a 401 `AuthenticationError` naming the model group, so both
 * status and text are read. Errors without an HTTP status are told apart by their cause codes.
 * @module
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { ActivityFailureType, ConfigError, ModelErrorType, RETRYABLE_MODEL_ERRORS } from '../domain/errors.ts';

/** What a model call can fail with: a model failure, or memloom's own configuration or code. */
export type ModelFailureType = ModelErrorType | typeof ActivityFailureType.ConfigError | typeof ActivityFailureType.InternalError;

export interface ClassifiedModelError {
  type: ModelFailureType;
  /** One line for the user: what failed, where, with the endpoint's own words. */
  message: string;
  status: number | undefined;
  /** From Retry-After / retry-after-ms, or LiteLLM's "Try again in N seconds". */
  retryAfterMs: number | undefined;
  /** Whether another attempt of the same call may succeed. */
  retryable: boolean;
}

/** What the caller knows about the request that failed; every field makes the verdict sharper. */
export interface ModelCallContext {
  /** Whether the request carried an API key. @default true (assume one was sent) */
  hasApiKey?: boolean;
  /** Base URL the request went to, named in messages. */
  baseUrl?: string;
  /** Model group the request asked for, when the endpoint's message does not name it. */
  modelGroup?: string;
}

/** A stream that ended before the model finished (no finish_reason, no [DONE]). */
export class StreamIncompleteError extends Error {
  constructor(message = 'the model stream ended before the response was complete') {
    super(message);
    this.name = 'StreamIncompleteError';
  }
}

/** A stream that sent no chunk for its idle timeout (`llm_config.stream_idle_timeout`) and was aborted. */
export class StreamIdleTimeoutError extends Error {
  constructor(
    readonly idleTimeoutMs: number,
    /** Chunks received before the silence; 0 means the model never started answering. */
    readonly chunks: number,
  ) {
    super(`no data from the model for ${idleTimeoutMs / 1000} s (stream_idle_timeout)`);
    this.name = 'StreamIdleTimeoutError';
  }
}

const CONTEXT_OVERFLOW =
  /ContextWindowExceeded|context_length_exceeded|maximum context length|context length|prompt is too long|too many tokens|Context Window exceeded/i;
const BUDGET = /budget_exceeded|budget has been exceeded|ExceededBudget|ExceededTokenBudget/i;
const CONTENT_POLICY = /ContentPolicyViolation|content_policy|content management policy|content_filter/i;
const UNKNOWN_MODEL = /Invalid model name|There is no 'model_name'|model_not_found|does not exist/i;
const TRY_AGAIN = /try again in (\d+(?:\.\d+)?)\s*(ms|milliseconds|s|sec|seconds)?/i;
/**
 * A provider rejected the key in the LiteLLM proxy's config: `litellm.AuthenticationError:
 * AuthenticationError: OpenAIException - Incorrect API key provided ...`. The proxy's own refusals
 * say "Authentication Error," (with a space) and have type `auth_error`, so they never match.
 */
const PROVIDER_AUTH = /authentication_error|AuthenticationError/;
/** The group a LiteLLM error names: `Received Model Group=smart` (older), `model group 'smart' failed` (1.108). */
const MODEL_GROUP = /Received Model Group=([^\s,]+)|model group '([^']+)'/;
/** `error.type`s of LiteLLM refusing the caller's (the worker's) key. */
const PROXY_KEY_REFUSED: ReadonlySet<string> = new Set(['auth_error', 'token_not_found_in_db', 'expired_key']);

/** Socket-level failures (Node errno and undici codes) of a request or a stream mid-body. */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** undici's own timeouts waiting for headers or the next body bytes. */
const TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * @example
 * ```ts
 * const failure = classifyModelError(error, { hasApiKey: models.hasApiKey, baseUrl, modelGroup: 'gpt-4o' });
 * if (!failure.retryable) throw ApplicationFailure.nonRetryable(failure.message, failure.type);
 * ```
 */
export function classifyModelError(error: unknown, context: ModelCallContext = {}): ClassifiedModelError {
  const endpoint = context.baseUrl ? `the model endpoint ${context.baseUrl}` : 'the model endpoint';
  if (error instanceof ConfigError) return result(ActivityFailureType.ConfigError, error.message, undefined);
  if (error instanceof APIConnectionTimeoutError) {
    return result(ModelErrorType.Timeout, `the request to ${endpoint} timed out`, undefined);
  }
  if (error instanceof APIConnectionError) {
    return result(ModelErrorType.Connection, `cannot reach ${endpoint}: ${causeText(error)}`, undefined);
  }
  if (error instanceof APIUserAbortError) {
    return result(ModelErrorType.Connection, `the request to ${endpoint} was aborted`, undefined);
  }
  if (error instanceof StreamIdleTimeoutError) return result(ModelErrorType.Timeout, `${error.message} at ${endpoint}`, undefined);
  if (error instanceof StreamIncompleteError) return result(ModelErrorType.Connection, `${error.message} (${endpoint})`, undefined);
  if (error instanceof APIError) return classifyApiError(error, context, endpoint);

  // no HTTP status: undici reports a socket dropped mid-body as `TypeError: terminated` and a
  // failed request as `TypeError: fetch failed`, each with the socket error as its cause
  const code = socketCode(error);
  if (code !== undefined && TIMEOUT_CODES.has(code)) {
    return result(ModelErrorType.Timeout, `the request to ${endpoint} timed out (${code})`, undefined);
  }
  if (code !== undefined) {
    return result(ModelErrorType.Connection, `the connection to ${endpoint} failed: ${describe(error)} (${code})`, undefined);
  }
  if (error instanceof SyntaxError) {
    // the SDK parses each SSE event as JSON: a garbled event is the endpoint's fault
    return result(ModelErrorType.Upstream5xx, `${endpoint} sent a malformed response: ${error.message}`, undefined);
  }
  return result(ActivityFailureType.InternalError, `internal error in the model call: ${describe(error)}`, undefined);
}

function classifyApiError(error: APIError, context: ModelCallContext, endpoint: string): ClassifiedModelError {
  // in-band stream errors have no HTTP status; LiteLLM puts it in `code`
  const status = error.status ?? statusFromCode(error.code);
  const body = error.error as { type?: unknown; message?: unknown } | undefined;
  const errType = typeof body?.type === 'string' ? body.type : typeof error.type === 'string' ? error.type : '';
  const text = `${errType} ${error.message}`;
  const words = cleanMessage(error.message);
  const message = `${endpoint} returned ${status ?? 'an error'}: ${words}`;
  const retryAfterMs = readRetryAfter(error.headers, error.message);
  const auth = (why: string): ClassifiedModelError => result(ModelErrorType.AuthFailed, why, status);

  if (CONTEXT_OVERFLOW.test(text)) return result(ModelErrorType.ContextWindowExceeded, message, status);
  if (BUDGET.test(text)) return result(ModelErrorType.BudgetExceeded, message, status);
  if (CONTENT_POLICY.test(text)) return result(ModelErrorType.ContentPolicy, message, status);
  const authStatus = status === 401 || status === 403;
  const proxyKeyRefused = (status === 400 && errType === 'no_db_connection') || (authStatus && PROXY_KEY_REFUSED.has(errType));
  // a 5xx over HTTP (not an in-band stream error: that request was accepted) to a keyless request
  const keylessRefusal = authStatus || proxyKeyRefused || (error.status !== undefined && error.status >= 500);
  if (context.hasApiKey === false && keylessRefusal) {
    return auth(
      `missing credentials: ${endpoint} answered ${status} to a request without an API key; set LLM_API_KEY (or OPENAI_API_KEY) on the worker (${words})`,
    );
  }
  if (authStatus && PROVIDER_AUTH.test(text)) {
    const named = MODEL_GROUP.exec(error.message);
    const group = named?.[1] ?? named?.[2] ?? context.modelGroup ?? 'unknown';
    return auth(
      `the provider rejected the key configured for model group ${group} in the LiteLLM proxy's config (not the worker's key): ${words}`,
    );
  }
  if (proxyKeyRefused) {
    const proxy = context.baseUrl ? `the LiteLLM proxy at ${context.baseUrl}` : 'the LiteLLM proxy';
    return auth(`${proxy} refused the worker's key: check LLM_API_KEY (${status}: ${words})`);
  }
  if (authStatus) return auth(`${message} (check LLM_API_KEY / OPENAI_API_KEY on the worker)`);
  if (status === 404 || (status === 400 && UNKNOWN_MODEL.test(text))) {
    return result(ModelErrorType.ModelNotFound, message, status);
  }
  if (status === 408) return result(ModelErrorType.Timeout, message, status, retryAfterMs);
  if (status === 429) return result(ModelErrorType.RateLimited, message, status, retryAfterMs);
  if (status !== undefined && status >= 400 && status < 500) return result(ModelErrorType.BadRequest, message, status);
  return result(ModelErrorType.Upstream5xx, message, status, retryAfterMs);
}

function result(type: ModelFailureType, message: string, status: number | undefined, retryAfterMs?: number): ClassifiedModelError {
  return { type, message, status, retryAfterMs, retryable: RETRYABLE_MODEL_ERRORS.includes(type) };
}

/** The first socket error code on `error` or its chain of causes. */
function socketCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && (CONNECTION_CODES.has(code) || TIMEOUT_CODES.has(code))) return code;
    current = current.cause;
  }
  return undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function statusFromCode(code: unknown): number | undefined {
  const n = typeof code === 'string' || typeof code === 'number' ? Number(code) : NaN;
  return Number.isInteger(n) && n >= 100 && n < 600 ? n : undefined;
}

/** The first error code along the chain of causes (`ECONNREFUSED`), else the innermost message. */
function causeText(error: Error): string {
  let current: unknown = error;
  let message = error.message;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code !== '') return code;
    message = current.message;
    current = current.cause;
  }
  return message;
}

/** The SDK prefixes "400 " to messages; keep the endpoint's own words on one line. */
function cleanMessage(text: string): string {
  return text.replace(/^\d{3}\s+/, '').replace(/\s+/g, ' ').trim().slice(0, 500);
}

type HeaderBag = Headers | Record<string, string | null | undefined> | undefined;

function header(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | null | undefined>;
  return record[name] ?? record[name.toLowerCase()] ?? undefined;
}

/**
 * Retry-After headers, most precise first. A LiteLLM proxy passes the provider's own headers on
 * renamed with an `llm_provider-` prefix; its own (`retry-after`, e.g. on a per-key rate limit)
 * keep their names and win.
 */
const RETRY_AFTER_HEADERS = [
  { name: 'retry-after-ms', unit: 'ms' },
  { name: 'retry-after', unit: 's' },
  { name: 'llm_provider-retry-after-ms', unit: 'ms' },
  { name: 'llm_provider-retry-after', unit: 's' },
] as const;

/**
 * Retry-After in ms: `retry-after-ms`, `retry-after` (seconds or HTTP date), the same two with
 * LiteLLM's `llm_provider-` prefix, then the message text ("try again in N seconds").
 */
export function readRetryAfter(headers: HeaderBag, message = '', now = Date.now()): number | undefined {
  for (const { name, unit } of RETRY_AFTER_HEADERS) {
    const raw = header(headers, name)?.trim();
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (unit === 'ms' && Number.isFinite(value) && value > 0) return value;
    if (unit === 's' && Number.isFinite(value) && value >= 0) return value * 1000;
    if (unit === 's') {
      const date = Date.parse(raw);
      if (!Number.isNaN(date)) return Math.max(0, date - now);
    }
  }
  const match = TRY_AGAIN.exec(message);
  if (match?.[1]) {
    const value = Number(match[1]);
    return /^m/i.test(match[2] ?? '') ? value : value * 1000;
  }
  return undefined;
}
