/**
 * PostgreSQL access: one `pg` pool per process and a transaction helper.
 * @module
 */
import pg from 'pg';

export type Db = pg.Pool;
export type DbClient = pg.PoolClient;
/** Anything that can run a query: the pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface DbOptions {
  connectionString: string;
  /** @default 10 */
  max?: number;
}

// bigint columns (seq, counts) fit in a JS number for any realistic history
pg.types.setTypeParser(20, (v) => Number(v));

export function createDb(options: DbOptions): Db {
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.max ?? 10 });
  // an idle client losing its connection must not crash the process
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `fn` in a transaction; commits if it resolves, rolls back if it throws. */
export async function withTransaction<T>(db: Db, fn: (client: DbClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
