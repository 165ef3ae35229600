/**
 * Errors as Letta's server (FastAPI) answers them, decided in this one place: every failure is
 * `{"detail": "..."}` with its status, and invalid input is a 422 whose `detail` lists each
 * field as `{loc, msg, type}`. A memloom error maps to a status by its class, never by its text.
 *
 * `x-should-retry: false` tells Letta's clients (which retry 408, 409, 429 and 5xx by default)
 * not to send a request again: on every client error but 408 and 429 (memloom's 409s are
 * conflicts of ids, which a resend cannot fix), on a turn that failed (a resend answers the same
 * failure), and on a 5xx of a request that is not safe to resend (see {@link shouldRetryHeader}).
 * @module
 */
import type { ZodError } from 'zod';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  ArchivalJobFailedError,
  BudgetExceededError,
  ConfigError,
  ConflictError,
  DatabaseUnavailableError,
  ModelErrorType,
  NotFoundError,
  TurnFailedError,
  ValidationError,
} from '../domain/errors.ts';
import { EmbeddingError } from '../llm/embeddings.ts';

/** One invalid field, as FastAPI reports it. `loc` starts with where: `body`, `query`, `path`, `header`. */
export interface FieldProblem {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** What a failed request answers. */
export interface ErrorAnswer {
  status: ContentfulStatusCode;
  body: { detail: string | FieldProblem[]; [extra: string]: unknown };
  headers: Record<string, string>;
  /** A resend cannot succeed: `x-should-retry: false` whatever the request. */
  permanent: boolean;
  /** Not an error of the request: logged with its stack. */
  unexpected: boolean;
}

/** An answer with its own status, for what only the HTTP layer knows (auth, body size, not implemented). */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Invalid input found by the HTTP layer itself, already located. */
export class RequestValidationError extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => `${p.loc.join('.')}: ${p.msg}`).join('; '));
    this.name = 'RequestValidationError';
  }
}

/** Where the fields of a validation error are: a zod path becomes `[where, ...path]`. */
export type FieldOrigin = 'body' | 'query' | 'path' | 'header';

/** Hono's validator targets, as FastAPI names them. */
const ORIGIN_OF_TARGET: Record<string, FieldOrigin> = { json: 'body', query: 'query', param: 'path', header: 'header' };

export function originOfTarget(target: string): FieldOrigin {
  return ORIGIN_OF_TARGET[target] ?? 'body';
}

/** The problems of a zod error of input from `origin`. */
export function zodProblems(error: ZodError, origin: FieldOrigin): FieldProblem[] {
  return error.issues.map((issue) => ({
    loc: [origin, ...issue.path.map((p) => (typeof p === 'number' ? p : String(p)))],
    msg: issue.message,
    type: issue.code,
  }));
}

/** A dotted SDK path (`memory_blocks.0.value`) as a `loc`. */
function locOf(path: string, origin: FieldOrigin): (string | number)[] {
  return [origin, ...(path === '' ? [] : path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)))];
}

/**
 * A ValidationError of the SDK with its field paths renamed to the request's: `rename` maps an
 * SDK path (or its prefix) to the `loc` it came from (e.g. `text` → `['body', 'input']`).
 * Other paths are taken as body fields.
 */
export function locateIssues(error: ValidationError, rename: Record<string, (string | number)[]> = {}): RequestValidationError {
  return new RequestValidationError(
    error.issues.map((issue) => {
      // the longest prefix names the field best
      const prefix = Object.keys(rename)
        .sort((x, y) => y.length - x.length)
        .find((p) => issue.path === p || issue.path.startsWith(`${p}.`));
      const loc = prefix === undefined ? locOf(issue.path, 'body') : [...rename[prefix]!, ...locOf(issue.path.slice(prefix.length + 1), 'body').slice(1)];
      return { loc, msg: issue.message, type: 'value_error' };
    }),
  );
}

/** Runs `fn`, renaming the fields of a ValidationError it throws (see {@link locateIssues}). */
export async function withFieldNames<T>(rename: Record<string, (string | number)[]>, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw error instanceof ValidationError ? locateIssues(error, rename) : error;
  }
}

/** Model failures of a turn: the upstream failed, not memloom. */
const MODEL_FAILURES: ReadonlySet<string> = new Set(Object.values(ModelErrorType));

/** Statuses a resend cannot change: client errors but a timeout or a rate limit, and "not implemented". */
function isPermanentStatus(status: number): boolean {
  return (status < 500 && status !== 408 && status !== 429) || status === 501;
}

function answer(status: ContentfulStatusCode, detail: ErrorAnswer['body']['detail'], extra: Record<string, unknown> = {}, permanent = isPermanentStatus(status)): ErrorAnswer {
  return { status, body: { detail, ...extra }, headers: {}, permanent, unexpected: false };
}

/** What a request that failed with `error` answers. */
export function errorAnswer(error: unknown): ErrorAnswer {
  if (error instanceof RequestValidationError) return answer(422, error.problems);
  if (error instanceof ValidationError) return answer(422, locateIssues(error).problems);
  if (error instanceof HttpError) return { ...answer(error.status, error.message), headers: error.headers };
  if (error instanceof NotFoundError) return answer(404, error.message);
  if (error instanceof ConflictError) return answer(409, error.message, {}, true);
  // Payment Required: the agent's own max_budget, not the endpoint's rate limit (429 would be retried)
  if (error instanceof BudgetExceededError) return answer(402, error.message);
  if (error instanceof TurnFailedError) {
    const status = MODEL_FAILURES.has(error.type) ? 502 : 500;
    return answer(status, error.message, { error_type: error.type, message_id: error.messageId }, true);
  }
  if (error instanceof EmbeddingError) return answer(502, error.message, { error_type: error.type }, !error.retryable);
  if (error instanceof ArchivalJobFailedError) return answer(502, error.message, { error_type: error.type }, true);
  // Postgres or Temporal unreachable, or memloom configured wrongly: the service cannot answer now
  if (error instanceof DatabaseUnavailableError || error instanceof ConfigError) return answer(503, error.message);
  if (error instanceof HTTPException) return httpExceptionAnswer(error);
  return { status: 500, body: { detail: 'internal server error' }, headers: {}, permanent: false, unexpected: true };
}

/** Hono's own exceptions: a body that is not JSON is a 422 as in FastAPI; the rest keep their status. */
function httpExceptionAnswer(error: HTTPException): ErrorAnswer {
  if (error.status === 400 && /JSON/i.test(error.message)) {
    return answer(422, [{ loc: ['body'], msg: 'the body is not valid JSON', type: 'json_invalid' }]);
  }
  const status = (error.status >= 400 ? error.status : 500) as ContentfulStatusCode;
  return answer(status, error.message || 'request failed');
}

/**
 * The `x-should-retry` header of a failed request: `false` when the failure is permanent, and
 * when a server error hit a POST that is not safe to resend (a message without `otid` or
 * `Idempotency-Key` may have started its turn); otherwise none, so the client decides.
 */
export function shouldRetryHeader(failure: ErrorAnswer, request: { method: string; replaySafe: boolean }): 'false' | undefined {
  if (failure.permanent) return 'false';
  if (failure.status >= 500 && request.method === 'POST' && !request.replaySafe) return 'false';
  return undefined;
}
