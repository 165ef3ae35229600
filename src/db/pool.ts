/**
 * PostgreSQL access: one `pg` pool per process and a transaction helper.
 *
 * The pool's sessions have connect, statement, lock and idle-in-transaction timeouts, so a
 * stuck query or an abandoned transaction ends instead of holding a connection forever; a
 * connection that failed is destroyed, never handed to the next caller. Type parsing is set per
 * pool: an application embedding memloom keeps `pg`'s own defaults.
 * @module
 */
import pg from 'pg';
import type { Logger } from 'pino';

export type Db = pg.Pool;
export type DbClient = pg.PoolClient;
/** Anything that can run a query: the pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface DbOptions {
  connectionString: string;
  /** Most connections open at once. The worker passes `MEMLOOM_DB_POOL_SIZE`. @default 10 */
  max?: number;
  /** Give up opening a connection after this long. @default 10000 */
  connectTimeoutMs?: number;
  /** The server cancels a statement running longer than this (`statement_timeout`). @default 30000 */
  statementTimeoutMs?: number;
  /** The server cancels a statement waiting longer than this for a lock (`lock_timeout`). @default 10000 */
  lockTimeoutMs?: number;
  /**
   * The server ends a session idle inside a transaction for longer than this
   * (`idle_in_transaction_session_timeout`), releasing its locks. @default 60000
   */
  idleInTransactionTimeoutMs?: number;
  /** Where errors of idle connections are reported; without one, a process warning is emitted. */
  logger?: Logger;
}

export const DB_DEFAULTS = {
  max: 10,
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 30_000,
  lockTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 60_000,
} as const satisfies Omit<Required<DbOptions>, 'connectionString' | 'logger'>;

const INT8_OID = 20;

/**
 * memloom's type parsers: bigint (int8: `seq`, identity ids) as a JS number, which holds any
 * realistic history; every other type as `pg` parses it. Given to memloom's pools only, never
 * installed globally with `pg.types.setTypeParser`.
 */
const memloomTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

export function createDb(options: DbOptions): Db {
  const o = { ...DB_DEFAULTS, ...definedOnly(options) };
  const pool = new pg.Pool({
    connectionString: o.connectionString,
    max: o.max,
    connectionTimeoutMillis: o.connectTimeoutMs,
    statement_timeout: o.statementTimeoutMs,
    lock_timeout: o.lockTimeoutMs,
    idle_in_transaction_session_timeout: o.idleInTransactionTimeoutMs,
    types: memloomTypes,
  });
  // an idle client losing its connection (server restart, pg_terminate_backend) must not crash
  // the process; the pool has already dropped that client, so report and go on
  // (without a logger, once per pool: an SDK user learns of it without a warning per connection)
  let warned = false;
  pool.on('error', (error) => {
    if (options.logger) options.logger.warn({ err: error }, 'idle PostgreSQL connection lost');
    else if (!warned) {
      warned = true;
      process.emitWarning(`idle PostgreSQL connection lost (reported once per pool): ${error.message}`, { code: 'MEMLOOM_DB_POOL' });
    }
  });
  return pool;
}

function definedOnly<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Runs `fn` in a transaction; commits if it resolves, rolls back if it throws. A connection whose
 * ROLLBACK failed is in an unknown state: it is destroyed, not returned to the pool.
 */
export async function withTransaction<T>(db: Db, fn: (client: DbClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  // a checked-out client has no listener of its own: without this one, a connection lost between
  // two statements (pg_terminate_backend, a failover) would be an uncaught 'error' event
  let broken: Error | undefined;
  const onError = (error: Error): void => {
    broken ??= error;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    if (!broken) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
    }
    throw error;
  } finally {
    client.off('error', onError);
    // release(error) destroys the connection instead of returning it to the pool
    client.release(broken);
  }
}
