/**
 * Turns low-level failures (Postgres, Temporal) into errors that say what to do.
 * @module
 */
import { isTransientDbError } from '../db/db-errors.ts';
import { ConfigError, DatabaseUnavailableError } from '../domain/errors.ts';

/** Socket errors of a server that is not there (refused, unknown host, no route, timed out). */
const UNREACHABLE_ERRNO_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** gRPC status codes read here (the values of `@grpc/grpc-js`'s `status`). */
export const GrpcStatus = { DEADLINE_EXCEEDED: 4, UNIMPLEMENTED: 12, UNAVAILABLE: 14 } as const;

/**
 * True for a host name that is this machine: where `memloom dev` would run the server.
 * An empty host (a Unix socket of a PostgreSQL URL) counts as local.
 */
export function isLocalHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === '' || h === 'localhost' || h.endsWith('.localhost') || /^127\./.test(h) || h === '::1' || h === '0.0.0.0' || h === '::';
}

/** What to do about an unreachable server at `host`, named by its setting. */
function reachHint(host: string, setting: string, flag: string): string {
  return isLocalHost(host)
    ? `nothing answers there; start the local stack with \`memloom dev\`, or set ${setting} (${flag}) to your server`
    : `check ${setting} (${flag}) and that the server is up and reachable from here`;
}

/**
 * Postgres unreachable, not migrated, or failing transiently even after retries: say so, and how
 * to fix it. The address is named without its password.
 */
export function describeDbError(error: unknown, databaseUrl: string): unknown {
  const code = (error as { code?: string } | null | undefined)?.code;
  const where = redactUrl(databaseUrl);
  if (code !== undefined && UNREACHABLE_ERRNO_CODES.has(code)) {
    return new ConfigError(`cannot reach PostgreSQL at ${where} (DATABASE_URL): ${reachHint(hostOfUrl(databaseUrl), 'DATABASE_URL', '--database-url')}`, {
      cause: error,
    });
  }
  if (code === '3D000') {
    return new ConfigError(`database of ${where} does not exist: run \`memloom migrate\` (or \`memloom dev\` for a local stack)`, { cause: error });
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

/**
 * Temporal could not be reached or refused the connection check: a {@link ConfigError} naming
 * the address tried, with `memloom dev` suggested when the address is this machine.
 */
export function describeTemporalError(error: unknown, address: string): ConfigError {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  const unreachable =
    code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED || (typeof code === 'string' && UNREACHABLE_ERRNO_CODES.has(code));
  if (unreachable || error instanceof AggregateError) return temporalUnreachable(address, error);
  if (code === GrpcStatus.UNIMPLEMENTED) {
    return new ConfigError(`${address} (TEMPORAL_ADDRESS) answers, but not as a Temporal frontend (${reasonOf(error)}): check the host and port`, {
      cause: error,
    });
  }
  return new ConfigError(`Temporal at ${address} (TEMPORAL_ADDRESS) failed the connection check: ${reasonOf(error)}`, { cause: error });
}

/** Nothing usable answers at the Temporal `address`: say which, why, and what to do. */
export function temporalUnreachable(address: string, cause: unknown): ConfigError {
  const hint = reachHint(parseTemporalAddress(address).host, 'TEMPORAL_ADDRESS', '--temporal-address');
  return new ConfigError(`cannot reach Temporal at ${address} (TEMPORAL_ADDRESS): ${hint} (${reasonOf(cause)})`, { cause });
}

function reasonOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(reasonOf).join('; ');
  return error instanceof Error ? error.message : String(error);
}

/** Host and port of a Temporal address (`host:port`, `[::1]:7233`); the port defaults to 7233. */
export function parseTemporalAddress(address: string): { host: string; port: number } {
  try {
    const url = new URL(`grpc://${address}`);
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? 7233 : Number(url.port) };
  } catch {
    return { host: address, port: 7233 };
  }
}

function hostOfUrl(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '(unparseable)';
  }
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
