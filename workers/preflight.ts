/**
 * What a worker checks before it serves: PostgreSQL answers and is migrated, Temporal answers.
 * A worker that cannot run turns fails at start with an error naming the address, instead of
 * announcing that it serves and failing every turn.
 * @module
 */
import { NativeConnection } from '@temporalio/worker';
import { describeDbError, redactUrl, temporalUnreachable } from '../src/client/errors.ts';
import { refuseLocalTemporalFast } from '../src/client/temporal-connection.ts';
import { listMigrations } from '../src/db/migrate.ts';
import type { Db } from '../src/db/pool.ts';
import { ConfigError } from '../src/domain/errors.ts';

/**
 * Fails unless PostgreSQL answers and every migration is applied; the error names the database
 * (without its password) and says to run `memloom migrate`, or `memloom dev` for a local one.
 */
export async function checkDatabase(db: Db, databaseUrl: string): Promise<void> {
  let applied: Set<string>;
  try {
    await db.query('SELECT 1');
    // no schema_migrations table (42P01) becomes "run `memloom migrate`"
    applied = new Set((await db.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
  } catch (error) {
    throw describeDbError(error, databaseUrl);
  }
  const pending = (await listMigrations()).filter((name) => !applied.has(name));
  if (pending.length > 0) {
    throw new ConfigError(`PostgreSQL at ${redactUrl(databaseUrl)} lacks migrations ${pending.join(', ')}: run \`memloom migrate\``);
  }
}

/** A worker connection to Temporal; an unreachable server is a ConfigError naming the address. */
export async function connectTemporal(address: string): Promise<NativeConnection> {
  await refuseLocalTemporalFast(address);
  try {
    return await NativeConnection.connect({ address });
  } catch (error) {
    throw temporalUnreachable(address, error);
  }
}
