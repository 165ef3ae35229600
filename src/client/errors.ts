/**
 * Turns low-level failures (Postgres, Temporal) into errors that say what to do.
 * @module
 */
import { isTransientDbError } from '../db/db-errors.ts';
import { ConfigError, DatabaseUnavailableError } from '../domain/errors.ts';

/**
 * Postgres unreachable, not migrated, or failing transiently even after retries: say so, and how
 * to fix it.
 */
export function describeDbError(error: unknown, databaseUrl: string): unknown {
  const code = (error as { code?: string } | null | undefined)?.code;
  const where = redactUrl(databaseUrl);
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') {
    return new ConfigError(`cannot reach PostgreSQL at ${where} (DATABASE_URL)`, { cause: error });
  }
  if (code === '3D000') {
    return new ConfigError(`database of ${where} does not exist: run \`memloom migrate\``, { cause: error });
  }
  if (code === '42P01') {
    return new ConfigError(`memloom's tables are missing in ${where}: run \`memloom migrate\``, { cause: error });
  }
  if (isTransientDbError(error)) {
    const reason = error instanceof Error ? error.message : String(error);
    return new DatabaseUnavailableError(`PostgreSQL at ${where} kept failing, retries exhausted: ${reason}; try again`, { cause: error });
  }
  return error;
}

/** A connection string without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
