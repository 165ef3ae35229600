/**
 * Which PostgreSQL failures are transient, and a retry helper for steps that are safe to repeat.
 * Decided by SQLSTATE and errno codes, never by message text, with one exception: errors that
 * `pg` raises itself when a connection goes away (see {@link PG_CONNECTION_LOST_MESSAGES}).
 * @module
 */

/** SQLSTATEs of failures that may succeed when the step runs again on another connection. */
export const TRANSIENT_SQLSTATES: ReadonlySet<string> = new Set([
  '08000', // connection_exception
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08003', // connection_does_not_exist
  '08004', // sqlserver_rejected_establishment_of_sqlconnection
  '08006', // connection_failure
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '53300', // too_many_connections
  '55P03', // lock_not_available (lock_timeout)
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown (pg_terminate_backend, a fast shutdown, a failover)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (the server is starting up or shutting down)
]);

/** Socket errors (Node errno codes) of a connection that was refused, reset or timed out. */
export const TRANSIENT_ERRNO_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN', // a temporary DNS failure
]);

/**
 * `pg` and `pg-pool` raise these as plain `Error`s without a `code` when the socket closes, the
 * client is unusable after such an error, or no connection could be had in time. Nothing else
 * identifies them, so these exact messages (not substrings) are matched.
 */
export const PG_CONNECTION_LOST_MESSAGES: ReadonlySet<string> = new Set([
  'Connection terminated',
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'timeout exceeded when trying to connect',
]);

/**
 * True when `error` is a PostgreSQL failure that another attempt may not meet: the connection
 * was terminated, reset or refused, the server is shutting down or full, or the statement lost a
 * serialization, deadlock, lock or statement timeout race.
 */
export function isTransientDbError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return TRANSIENT_SQLSTATES.has(code) || TRANSIENT_ERRNO_CODES.has(code);
  // a dual-stack connect reports every refused address in one AggregateError
  if (error instanceof AggregateError) return error.errors.length > 0 && error.errors.every(isTransientDbError);
  return PG_CONNECTION_LOST_MESSAGES.has(error.message);
}

export interface RetryTransientOptions {
  /** Attempts in all, the first included. @default 5 */
  attempts?: number;
  /** Delay before the second attempt, doubled for each next one (before jitter). @default 100 */
  baseDelayMs?: number;
  /** Upper bound of one delay. @default 2000 */
  maxDelayMs?: number;
  /** Stops waiting and retrying; the signal's reason is thrown. */
  signal?: AbortSignal;
  /** Called before each retry, e.g. to log it. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export const RETRY_TRANSIENT_DEFAULTS = {
  attempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 2000,
} as const satisfies RetryTransientOptions;

/**
 * Runs `fn`, and runs it again after a jittered exponential backoff when it fails with a
 * {@link isTransientDbError transient database error}. Any other error is thrown at once. Only
 * for steps that are safe to repeat: idempotent writes, reads, whole transactions.
 *
 * @example
 * ```ts
 * const agent = await retryTransient(() => findAgent(db, agentId));
 * ```
 */
export async function retryTransient<T>(fn: () => Promise<T>, options: RetryTransientOptions = {}): Promise<T> {
  const o = { ...RETRY_TRANSIENT_DEFAULTS, ...options };
  const attempts = Math.max(1, Math.floor(o.attempts));
  for (let attempt = 1; ; attempt++) {
    o.signal?.throwIfAborted();
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts || !isTransientDbError(error)) throw error;
      const delayMs = backoffDelay(attempt, o.baseDelayMs, o.maxDelayMs);
      o.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, o.signal);
    }
  }
}

/** "Equal jitter": half of the exponential delay, plus a random part of the other half. */
function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
