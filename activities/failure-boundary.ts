/**
 * The activity failure boundary: every error leaving an activity becomes a typed
 * `ApplicationFailure`, so the workflow's retry policy decides on a type and never on an
 * untyped error (which Temporal would retry as if it were transient).
 *
 * - an `ApplicationFailure` (already classified, e.g. a model failure) passes through unchanged;
 * - a cancellation passes through, so Temporal records the activity as cancelled;
 * - a transient PostgreSQL failure → retryable `DatabaseUnavailable`;
 * - a memloom `ConfigError` → non-retryable `ConfigError`, its message saying what to set;
 * - a `ValidationError` or zod error on an input → non-retryable `InvalidPayload`;
 * - a `NotFoundError` → non-retryable `AgentNotFound` (for an agent) or `InvalidPayload`;
 * - anything else is a bug in memloom → non-retryable `InternalError`, logged once with its stack.
 * @module
 */
import { CompleteAsyncError, Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { isTransientDbError } from '../src/db/db-errors.ts';
import { ActivityFailureType, ConfigError, NotFoundError, ValidationError } from '../src/domain/errors.ts';
import type { EmbeddingError } from '../src/llm/embeddings.ts';

/**
 * An embedding that failed, as an activity fails: its type (`Connection`, `RateLimited`,
 * `AuthFailed`, ...), retried by Temporal when another attempt may succeed.
 */
export function embeddingFailure(error: EmbeddingError): ApplicationFailure {
  return ApplicationFailure.create({
    type: error.type,
    message: error.message,
    nonRetryable: !error.retryable,
    ...(error.retryAfterMs !== undefined ? { nextRetryDelay: error.retryAfterMs } : {}),
  });
}

/** An activity function as `createActivities` returns it. */
type ActivityFunction = (...args: never[]) => Promise<unknown>;

/** The failure `error` becomes when it leaves the activity `activityName`. */
export function toActivityFailure(error: unknown, activityName: string, logger: Logger): unknown {
  if (error instanceof ApplicationFailure || error instanceof CompleteAsyncError) return error;
  if (error instanceof CancelledFailure || cancelled()) return error;
  if (isTransientDbError(error)) {
    return ApplicationFailure.create({
      type: ActivityFailureType.DatabaseUnavailable,
      message: `PostgreSQL unavailable in ${activityName}: ${describe(error)}`,
      nonRetryable: false,
      cause: asError(error),
    });
  }
  if (error instanceof ConfigError) {
    return ApplicationFailure.create({ type: ActivityFailureType.ConfigError, message: error.message, nonRetryable: true });
  }
  if (error instanceof ValidationError) {
    return ApplicationFailure.create({ type: ActivityFailureType.InvalidPayload, message: error.message, nonRetryable: true });
  }
  if (error instanceof ZodError) {
    const message = ValidationError.fromZod(error, `input of ${activityName}`).message;
    return ApplicationFailure.create({ type: ActivityFailureType.InvalidPayload, message, nonRetryable: true });
  }
  if (error instanceof NotFoundError) {
    const type = error.resource === 'agent' ? ActivityFailureType.AgentNotFound : ActivityFailureType.InvalidPayload;
    return ApplicationFailure.create({ type, message: error.message, nonRetryable: true });
  }
  const message = `internal error in ${activityName}: ${describe(error)}`;
  logger.error({ err: asError(error), activity: activityName }, message);
  return ApplicationFailure.create({ type: ActivityFailureType.InternalError, message, nonRetryable: true });
}

/**
 * Wraps every activity of `activities` in the failure boundary; names and types are kept.
 *
 * @example
 * ```ts
 * const activities = withFailureBoundary({ callModel, runTool }, logger);
 * ```
 */
export function withFailureBoundary<T extends Record<string, ActivityFunction>>(activities: T, logger: Logger): T {
  const wrapped = Object.entries(activities).map(([name, fn]) => {
    const guarded = async (...args: never[]): Promise<unknown> => {
      try {
        return await fn(...args);
      } catch (error) {
        throw toActivityFailure(error, name, logger);
      }
    };
    // Temporal registers activities by key; the function name shows in stack traces
    Object.defineProperty(guarded, 'name', { value: name });
    return [name, guarded] as const;
  });
  return Object.fromEntries(wrapped) as T;
}

/** True inside an activity whose cancellation was requested (the error is its consequence). */
function cancelled(): boolean {
  try {
    return Context.current().cancellationSignal.aborted;
  } catch {
    return false; // not in an activity context
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
