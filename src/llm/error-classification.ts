/**
 * Maps whatever a model call threw to one {@link ModelErrorType}. This is the only place that
 * looks at status codes and error text; LiteLLM reports a context overflow as a 400 whose message
 * names `ContextWindowExceededError`, and a wrong key on a proxy without a database as a 400
 * `no_db_connection`, so both status and text are read.
 * @module
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { ModelErrorType } from '../domain/errors.ts';

export interface ClassifiedModelError {
  type: ModelErrorType;
  /** One line for the user: what failed, with the endpoint's own words. */
  message: string;
  status: number | undefined;
  /** From Retry-After / retry-after-ms, or LiteLLM's "Try again in N seconds". */
  retryAfterMs: number | undefined;
}

/** A stream that ended before the model finished (no finish_reason, no [DONE]). */
export class StreamIncompleteError extends Error {
  constructor(message = 'the model stream ended before the response was complete') {
    super(message);
    this.name = 'StreamIncompleteError';
  }
}

const CONTEXT_OVERFLOW =
  /ContextWindowExceeded|context_length_exceeded|maximum context length|context length|prompt is too long|too many tokens|Context Window exceeded/i;
const BUDGET = /budget_exceeded|budget has been exceeded|ExceededBudget|ExceededTokenBudget/i;
const CONTENT_POLICY = /ContentPolicyViolation|content_policy|content management policy|content_filter/i;
const UNKNOWN_MODEL = /Invalid model name|There is no 'model_name'|model_not_found|does not exist/i;
const TRY_AGAIN = /try again in (\d+(?:\.\d+)?)\s*(ms|milliseconds|s|sec|seconds)?/i;

export function classifyModelError(error: unknown): ClassifiedModelError {
  if (error instanceof APIConnectionTimeoutError) {
    return result(ModelErrorType.Timeout, 'model request timed out', undefined);
  }
  if (error instanceof APIConnectionError) {
    return result(ModelErrorType.Connection, `cannot reach the model endpoint: ${causeText(error)}`, undefined);
  }
  if (error instanceof StreamIncompleteError) {
    return result(ModelErrorType.Connection, error.message, undefined);
  }
  if (error instanceof APIError) return classifyApiError(error);
  const text = error instanceof Error ? error.message : String(error);
  return result(ModelErrorType.Connection, text, undefined);
}

function classifyApiError(error: APIError): ClassifiedModelError {
  // in-band stream errors have no HTTP status; LiteLLM puts it in `code`
  const status = error.status ?? statusFromCode(error.code);
  const body = error.error as { type?: unknown; message?: unknown } | undefined;
  const errType = typeof body?.type === 'string' ? body.type : typeof error.type === 'string' ? error.type : '';
  const text = `${errType} ${error.message}`;
  const message = `model endpoint returned ${status ?? 'an error'}: ${cleanMessage(error.message)}`;
  const retryAfterMs = readRetryAfter(error.headers, error.message);

  if (CONTEXT_OVERFLOW.test(text)) return result(ModelErrorType.ContextWindowExceeded, message, status);
  if (BUDGET.test(text)) return result(ModelErrorType.BudgetExceeded, message, status);
  if (CONTENT_POLICY.test(text)) return result(ModelErrorType.ContentPolicy, message, status);
  if (status === 401 || status === 403 || errType === 'no_db_connection' && status === 400) {
    return result(ModelErrorType.AuthFailed, `${message} (check LLM_API_KEY / OPENAI_API_KEY on the worker)`, status);
  }
  if (status === 404 || (status === 400 && UNKNOWN_MODEL.test(text))) {
    return result(ModelErrorType.ModelNotFound, message, status);
  }
  if (status === 408) return result(ModelErrorType.Timeout, message, status, retryAfterMs);
  if (status === 429) return result(ModelErrorType.RateLimited, message, status, retryAfterMs);
  if (status !== undefined && status >= 400 && status < 500) return result(ModelErrorType.BadRequest, message, status);
  return result(ModelErrorType.Upstream5xx, message, status, retryAfterMs);
}

function result(type: ModelErrorType, message: string, status: number | undefined, retryAfterMs?: number): ClassifiedModelError {
  return { type, message, status, retryAfterMs };
}

function statusFromCode(code: unknown): number | undefined {
  const n = typeof code === 'string' || typeof code === 'number' ? Number(code) : NaN;
  return Number.isInteger(n) && n >= 100 && n < 600 ? n : undefined;
}

function causeText(error: Error): string {
  const cause = error.cause;
  if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
  return error.message;
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

/** Retry-After in ms: `retry-after-ms`, then `retry-after` (seconds or HTTP date), then message text. */
export function readRetryAfter(headers: HeaderBag, message = '', now = Date.now()): number | undefined {
  const ms = Number(header(headers, 'retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const raw = header(headers, 'retry-after');
  if (raw !== undefined) {
    const seconds = Number(raw);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(raw);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const match = TRY_AGAIN.exec(message);
  if (match?.[1]) {
    const value = Number(match[1]);
    return /^m/i.test(match[2] ?? '') ? value : value * 1000;
  }
  return undefined;
}
