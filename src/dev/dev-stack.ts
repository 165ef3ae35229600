/**
 * `memloom dev`: the embedded stack. The Temporal CLI dev server persisted to SQLite under
 * MEMLOOM_HOME, PostgreSQL from DATABASE_URL or embedded PGlite under MEMLOOM_HOME, migrations,
 * memloom's search attributes, and a worker in this process. A stack that already runs is
 * reused, not fought over.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { redactUrl } from '../client/errors.ts';
import { registerSearchAttributes } from '../client/search-attributes.ts';
import type { Logger } from '../config/logger.ts';
import { ensureDatabase, migrate } from '../db/migrate.ts';
import { createDb, type Db } from '../db/pool.ts';
import type { ToolDefinition } from '../tools/define-tool.ts';
import { createMemloomWorker, type MemloomWorker } from '../../workers/agent-worker.ts';
import { DEV_DEFAULTS } from './dev-defaults.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.ts';
import { portOpen, type DevServer } from './temporal-cli.ts';
import { HOW_TO_GET_TEMPORAL, resolveTemporalCli, startTemporalServer } from './temporal-install.ts';
import { processAlive } from './process-alive.ts';

export { DEV_DEFAULTS } from './dev-defaults.ts';

export interface DevStackOptions {
  /** MEMLOOM_HOME: SQLite file of Temporal, PGlite's folder, the stack's state file. */
  home: string;
  /** External Postgres (DATABASE_URL); embedded PGlite when unset. */
  databaseUrl?: string | undefined;
  temporalCliPath?: string | undefined;
  pathEnv?: string | undefined;
  /** @default 7233 */
  port?: number;
  /** @default 8233 */
  uiPort?: number;
  /** Port of embedded Postgres. @default 55432 */
  pgPort?: number;
  namespace: string;
  taskQueue: string;
  /** Run a worker in this process (`memloom dev`); the demo runs its own. */
  worker: false | { tools: ToolDefinition[]; logger: Logger };
  /** Progress lines for the terminal. */
  log: (line: string) => void;
}

/** What runs where; also the content of `<home>/dev-stack.json` while `memloom dev` runs. */
export interface DevStackInfo {
  pid: number;
  temporalAddress: string;
  namespace: string;
  uiUrl: string | null;
  databaseUrl: string;
  embeddedPostgres: boolean;
  taskQueue: string;
  home: string;
}

export interface DevStack {
  readonly info: DevStackInfo;
  /** True when another process runs the stack and this one only connected to it. */
  readonly reused: boolean;
  /** A pool for this process (one connection: PGlite is a single session). */
  readonly db: Db;
  stop(): Promise<void>;
}

const stateFile = (home: string): string => join(home, 'dev-stack.json');

/** The stack a live `memloom dev` serves from this home, if any. */
export async function readRunningStack(home: string): Promise<DevStackInfo | null> {
  const path = stateFile(resolve(home));
  if (!existsSync(path)) return null;
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as DevStackInfo;
    const [host, port] = info.temporalAddress.split(':');
    if (info.pid !== process.pid && processAlive(info.pid) && (await portOpen(host ?? '127.0.0.1', Number(port)))) return info;
  } catch {
    // unreadable: stale
  }
  rmSync(path, { force: true });
  return null;
}

async function isTemporal(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 2000 });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

export async function startDevStack(o: DevStackOptions): Promise<DevStack> {
  const home = resolve(o.home);
  const running = await readRunningStack(home);
  if (running) {
    const db = createDb({ connectionString: running.databaseUrl, max: 1 });
    return { info: running, reused: true, db, stop: () => db.end() };
  }
  mkdirSync(home, { recursive: true });
  const ip = DEV_DEFAULTS.ip;
  const port = o.port ?? DEV_DEFAULTS.port;
  const uiPort = o.uiPort ?? DEV_DEFAULTS.uiPort;
  const cleanup: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    cleanup.length = 0;
  };

  try {
    // Temporal
    let temporalAddress = `${ip}:${port}`;
    let uiUrl: string | null = `http://localhost:${uiPort}`;
    if (await portOpen(ip, port)) {
      if (!(await isTemporal(temporalAddress))) {
        throw new Error(`port ${port} is taken by something that is not Temporal: pick another with --port`);
      }
      o.log(`Temporal is already running on ${temporalAddress}: using it`);
      uiUrl = (await portOpen(ip, uiPort)) ? uiUrl : null;
    } else {
      const cliPath = resolveTemporalCli({ explicitPath: o.temporalCliPath, pathEnv: o.pathEnv, log: o.log });
      if (!cliPath && o.temporalCliPath) throw new Error(`TEMPORAL_CLI_PATH=${o.temporalCliPath} is not an executable file. ${HOW_TO_GET_TEMPORAL}`);
      o.log(`starting the Temporal dev server on ${temporalAddress} (state in ${join(home, 'temporal.db')}) ...`);
      const server: DevServer = await startTemporalServer({ cliPath, ip, port, uiPort, dbFilename: join(home, 'temporal.db'), log: o.log });
      cleanup.push(() => server.stop());
      temporalAddress = server.address;
      uiUrl = server.uiUrl;
    }
    const connection = await Connection.connect({ address: temporalAddress });
    await registerSearchAttributes(connection, o.namespace).finally(() => connection.close());

    // Postgres
    let databaseUrl: string;
    let embedded: EmbeddedPostgres | null = null;
    if (o.databaseUrl) {
      databaseUrl = o.databaseUrl;
      await ensureDatabase(databaseUrl);
    } else {
      const pgPort = o.pgPort ?? DEV_DEFAULTS.pgPort;
      if (await portOpen(ip, pgPort)) throw new Error(`port ${pgPort} for embedded Postgres is taken: pick another with --pg-port`);
      o.log(`starting embedded PostgreSQL (PGlite + pgvector) on ${ip}:${pgPort} (data in ${join(home, 'pgdata')}) ...`);
      embedded = await startEmbeddedPostgres({ dataDir: join(home, 'pgdata'), host: ip, port: pgPort });
      cleanup.push(() => embedded!.stop());
      databaseUrl = embedded.url;
    }
    const db = createDb({ connectionString: databaseUrl, max: embedded ? 1 : 10 });
    cleanup.push(() => db.end());
    const { applied } = await migrate(db);
    if (applied.length > 0) o.log(`applied migrations: ${applied.join(', ')}`);

    const info: DevStackInfo = {
      pid: process.pid,
      temporalAddress,
      namespace: o.namespace,
      uiUrl,
      databaseUrl,
      embeddedPostgres: embedded !== null,
      taskQueue: o.taskQueue,
      home,
    };

    if (o.worker) {
      const worker: MemloomWorker = await createMemloomWorker({
        config: { temporalAddress, temporalNamespace: o.namespace, databaseUrl, taskQueue: o.taskQueue },
        db,
        tools: o.worker.tools,
        logger: o.worker.logger,
      });
      const run = worker.run();
      cleanup.push(async () => {
        await worker.shutdown();
        await run;
      });
      writeFileSync(stateFile(home), `${JSON.stringify(info, null, 2)}\n`);
      cleanup.push(async () => rmSync(stateFile(home), { force: true }));
    }
    return { info, reused: false, db, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The lines `memloom dev` and the demo print about a stack. */
export function describeStack(info: DevStackInfo): string[] {
  return [
    `  Temporal gRPC   ${info.temporalAddress} (namespace ${info.namespace})`,
    `  Temporal UI     ${info.uiUrl ?? '(not running)'}`,
    `  PostgreSQL      ${redactUrl(info.databaseUrl)}${info.embeddedPostgres ? ' (embedded PGlite)' : ''}`,
    `  task queue      ${info.taskQueue}`,
    `  data            ${info.home}`,
  ];
}

/** Link to an agent's workflow in the Temporal UI. */
export function workflowUrl(info: DevStackInfo, workflowId: string): string | null {
  return info.uiUrl ? `${info.uiUrl}/namespaces/${info.namespace}/workflows/${encodeURIComponent(workflowId)}` : null;
}
