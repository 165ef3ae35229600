/**
 * `memloom dev`: the embedded stack. The Temporal CLI dev server persisted to SQLite under
 * MEMLOOM_HOME, PostgreSQL from DATABASE_URL or embedded PGlite under MEMLOOM_HOME, migrations,
 * memloom's search attributes, a worker and Letta's REST API (`memloom serve`) in this process.
 * A stack that already runs from the same home is reused, not fought over; a Temporal server of
 * another home (or of nobody) is never attached to — see `temporal-ownership.ts`.
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
import { checkApiPort, DEFAULT_API_PORT, serveApi, type DevApiOptions } from './dev-api.ts';
import { DEV_DEFAULTS } from './dev-defaults.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.ts';
import { portOpen, type DevServer } from './temporal-cli.ts';
import { HOW_TO_GET_TEMPORAL, resolveTemporalCli, startTemporalServer } from './temporal-install.ts';
import { forgetServer, recordedServer, recordServer } from './temporal-ownership.ts';
import { processAlive, terminateProcess } from './process-alive.ts';
import { recordedDemoModelPort, startDemoModel } from './demo-model.ts';

export { DEV_DEFAULTS } from './dev-defaults.ts';
export type { DevApiOptions } from './dev-api.ts';

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
  /**
   * Run a worker in this process (`memloom dev`); the demo runs its own. `modelsFile`: the
   * LiteLLM config.yaml the caller validated (`--models` / MEMLOOM_MODELS), handed to the worker.
   */
  worker: false | { tools: ToolDefinition[]; logger: Logger; modelsFile?: string | undefined };
  /**
   * With `worker`: serve Letta's REST API from this process too, on the stack's loopback address
   * (`memloom dev` does, unless `--no-api`). A taken port stops the start before anything runs.
   * @default false
   */
  api?: false | DevApiOptions;
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
  /** The demo's scripted model, served again for `demo-assistant` when the demo ran on this home. */
  demoModelUrl: string | null;
  /** Letta's REST API (the base URL of Letta clients); null when the stack serves none. */
  apiUrl: string | null;
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
    // a stack started before memloom dev served the API has no apiUrl in its file
    if (info.pid !== process.pid && processAlive(info.pid) && (await portOpen(host ?? '127.0.0.1', Number(port)))) return { ...info, apiUrl: info.apiUrl ?? null };
  } catch {
    // unreadable: stale
  }
  rmSync(path, { force: true });
  return null;
}

/**
 * Starts this home's Temporal dev server. A server this home started before and left behind (its
 * memloom process was killed) is stopped first; a port held by anything else stops the start.
 */
async function startOwnTemporal(o: DevStackOptions, home: string, ip: string, port: number, uiPort: number): Promise<DevServer> {
  const left = recordedServer(home);
  if (left && left.ownerPid !== process.pid && processAlive(left.ownerPid)) {
    throw new Error(`the stack of MEMLOOM_HOME=${home} is in use by process ${left.ownerPid} (\`npm run demo\`?): stop it first, or use another MEMLOOM_HOME`);
  }
  if (left) {
    o.log(`stopping the Temporal dev server (pid ${left.serverPid}) that an earlier memloom dev of this home left running ...`);
    await terminateProcess(left.serverPid);
    forgetServer(home);
  }
  const address = `${ip}:${port}`;
  if (await portOpen(ip, port)) {
    const what = (await isTemporal(address))
      ? `a Temporal server that does not belong to MEMLOOM_HOME=${home} (another \`memloom dev\` with its own home, or a server started by hand)`
      : 'something that is not Temporal';
    throw new Error(`port ${port} is taken by ${what}: pick another with --port (and --ui-port), or run with the MEMLOOM_HOME of that stack`);
  }
  if (await portOpen(ip, uiPort)) throw new Error(`port ${uiPort} for the Temporal web UI is taken: pick another with --ui-port`);
  const cliPath = resolveTemporalCli({ explicitPath: o.temporalCliPath, pathEnv: o.pathEnv, log: o.log });
  if (!cliPath && o.temporalCliPath) throw new Error(`TEMPORAL_CLI_PATH=${o.temporalCliPath} is not an executable file. ${HOW_TO_GET_TEMPORAL}`);
  const dbFilename = join(home, 'temporal.db');
  o.log(`starting the Temporal dev server on ${address} (state in ${dbFilename}) ...`);
  const server = await startTemporalServer({ cliPath, ip, port, uiPort, dbFilename, log: o.log });
  if (server.serverPid !== null) {
    recordServer({ home, address: server.address, uiUrl: server.uiUrl, serverPid: server.serverPid, ownerPid: process.pid, dbFilename });
  }
  return server;
}

/** Serves the demo's scripted model where `demo-assistant` expects it, when the demo ran on this home. */
async function serveDemoModel(home: string, ip: string, log: (line: string) => void, cleanup: (() => Promise<void>)[]): Promise<string | null> {
  const port = recordedDemoModelPort(home);
  if (port === null) return null;
  if (await portOpen(ip, port)) {
    log(`port ${port} of the demo's scripted model is taken: demo-assistant will not answer until it is free`);
    return null;
  }
  const model = await startDemoModel(ip, port);
  cleanup.push(() => model.close());
  return model.url;
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
  const apiPort = o.worker && o.api ? (o.api.port ?? DEFAULT_API_PORT) : null;
  if (apiPort !== null) await checkApiPort(ip, apiPort);
  const cleanup: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    cleanup.length = 0;
  };

  try {
    // Temporal
    const server = await startOwnTemporal(o, home, ip, port, uiPort);
    cleanup.push(async () => {
      await server.stop();
      forgetServer(home);
    });
    const temporalAddress = server.address;
    const uiUrl = server.uiUrl;
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
      demoModelUrl: null,
      apiUrl: null,
    };

    if (o.worker) {
      info.demoModelUrl = await serveDemoModel(home, ip, o.log, cleanup);
      const worker: MemloomWorker = await createMemloomWorker({
        config: { temporalAddress, temporalNamespace: o.namespace, databaseUrl, taskQueue: o.taskQueue, modelsFile: o.worker.modelsFile },
        db,
        tools: o.worker.tools,
        logger: o.worker.logger,
      });
      const run = worker.run();
      cleanup.push(async () => {
        await worker.shutdown();
        await run;
      });
      if (o.api && apiPort !== null) {
        const config = { temporalAddress, temporalNamespace: o.namespace, taskQueue: o.taskQueue, databaseUrl, modelsFile: o.worker.modelsFile };
        info.apiUrl = (await serveApi({ ...o.api, host: ip, port: apiPort }, config, cleanup)).url;
      }
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
    ...(info.apiUrl ? [`  REST API        ${info.apiUrl} (Letta's API: the baseURL of Letta clients; ${info.apiUrl}/openapi.json)`] : []),
    ...(info.demoModelUrl ? [`  demo model      ${info.demoModelUrl} (scripted, for demo-assistant)`] : []),
    `  data            ${info.home}`,
  ];
}

/** Link to an agent's workflow in the Temporal UI. */
export function workflowUrl(info: DevStackInfo, workflowId: string): string | null {
  return info.uiUrl ? `${info.uiUrl}/namespaces/${info.namespace}/workflows/${encodeURIComponent(workflowId)}` : null;
}
