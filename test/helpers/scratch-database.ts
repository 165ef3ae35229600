/**
 * Throw-away databases for tests, benchmarks, the chaos run and the history recorder: created
 * on the server of an admin URL, migrated, and dropped (sessions and all) when done.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.ts';
import { createDb } from '../../src/db/pool.ts';

export interface ScratchDatabase {
  url: string;
  name: string;
  /** Drops the database, ending its sessions. */
  drop(): Promise<void>;
}

/** Runs `fn` with a connection to the admin database, closed afterwards. */
export async function withAdmin<T>(adminUrl: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** A fresh migrated database `<prefix>_<random>` on the server of `adminUrl`. */
export async function createScratchDatabase(adminUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = createDb({ connectionString: url.toString() });
  try {
    await migrate(db);
  } finally {
    await db.end();
  }
  return {
    url: url.toString(),
    name,
    drop: () => withAdmin(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
