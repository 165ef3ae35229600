/**
 * Embedded PostgreSQL for the dev stack: PGlite (with pgvector, and pg_trgm, btree_gin and
 * unaccent for recall search) persisted under MEMLOOM_HOME, served over the Postgres wire
 * protocol by pglite-socket, so `pg` and any Postgres client can use it. PGlite is a single
 * session: the socket server multiplexes connections onto it and runs one transaction at a time;
 * memloom's own pool uses one connection.
 *
 * PGlite does not lock its data folder, and two processes writing one folder lose data, so
 * {@link startEmbeddedPostgres} takes a lock file first.
 * @module
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { processAlive } from './process-alive.ts';

export interface EmbeddedPostgresOptions {
  /** Folder of the database files. */
  dataDir: string;
  /** @default '127.0.0.1' */
  host?: string;
  port: number;
  /** Client connections multiplexed onto PGlite's one session. @default 16 */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`${dataDir} is in use by process ${pid}; stop it first (PGlite cannot share its data folder)`);
    this.name = 'DataDirLockedError';
  }
}

/** An exclusive lock file holding our pid; a lock whose process is gone is taken over. */
function lockDataDir(dataDir: string): () => void {
  const path = `${dataDir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(path, 'utf8'));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) throw new DataDirLockedError(dataDir, pid);
      rmSync(path, { force: true });
    }
  }
  throw new Error(`cannot lock ${dataDir}`);
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  mkdirSync(join(options.dataDir, '..'), { recursive: true });
  const unlock = lockDataDir(options.dataDir);
  let db: PGlite | undefined;
  try {
    // the contrib extensions recall search uses (migration 012 creates them): PGlite loads an
    // extension's files only when it is named here
    db = await PGlite.create(options.dataDir, { extensions: { vector, pg_trgm, btree_gin, unaccent } });
    await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
    const host = options.host ?? '127.0.0.1';
    const server = new PGLiteSocketServer({ db, host, port: options.port, maxConnections: options.maxConnections ?? 16 });
    await server.start();
    const pglite = db;
    return {
      url: `postgresql://postgres@${host}:${options.port}/postgres`,
      async stop() {
        await server.stop();
        await pglite.close();
        unlock();
      },
    };
  } catch (error) {
    await db?.close().catch(() => undefined);
    unlock();
    throw error;
  }
}
