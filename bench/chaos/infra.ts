/**
 * What the chaos run stands on: its own Temporal dev server (persisted to SQLite, so it can be
 * stopped and started again on the same port), its own Postgres database, and the workflow
 * bundle the worker processes load.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { freePort, startDevServer, type DevServer } from '../../src/dev/temporal-cli.ts';
import { workflowsPath } from '../../workers/agent-worker.ts';
import { withAdmin } from '../../test/helpers/scratch-database.ts';

/** A scratch folder removed by {@link ScratchDir.remove}. */
export interface ScratchDir {
  readonly path: string;
  remove(): void;
}

export function scratchDir(prefix: string): ScratchDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Bundles the workflows once into `dir`; worker processes load it instead of bundling each. */
export async function buildWorkflowBundle(dir: string): Promise<string> {
  const silent = (): void => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    logger: { trace: silent, debug: silent, info: silent, warn: silent, error: silent, log: silent },
  });
  const path = join(dir, 'workflow-bundle.js');
  writeFileSync(path, code);
  return path;
}

/** A Temporal dev server that can be stopped and started again with its state (SQLite file). */
export class RestartableTemporal {
  #server: DevServer;

  private constructor(
    server: DevServer,
    private readonly options: { cliPath: string; port: number; dbFilename: string; dynamicConfig: Record<string, number> },
  ) {
    this.#server = server;
  }

  static async start(options: { cliPath: string; dir: string; dynamicConfig?: Record<string, number> }): Promise<RestartableTemporal> {
    const resolved = {
      cliPath: options.cliPath,
      port: await freePort(),
      dbFilename: join(options.dir, 'temporal.sqlite'),
      dynamicConfig: options.dynamicConfig ?? {},
    };
    return new RestartableTemporal(await RestartableTemporal.#launch(resolved), resolved);
  }

  static #launch(o: RestartableTemporal['options']): Promise<DevServer> {
    return startDevServer({ cliPath: o.cliPath, port: o.port, uiPort: null, dbFilename: o.dbFilename, dynamicConfig: o.dynamicConfig });
  }

  get address(): string {
    return this.#server.address;
  }

  /** Stops the server (SIGTERM) and starts it again on the same port with the same SQLite file. */
  async restart(): Promise<void> {
    await this.#server.stop();
    for (let attempt = 1; ; attempt++) {
      try {
        this.#server = await RestartableTemporal.#launch(this.options);
        return;
      } catch (error) {
        // the port may linger for a moment after the old process exits
        if (attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  stop(): Promise<void> {
    return this.#server.stop();
  }
}

export { createScratchDatabase } from '../../test/helpers/scratch-database.ts';

/**
 * Terminates every session of database `name` (the workers' pools, the client's pool), as a
 * failover or an administrator would. Returns how many sessions ended.
 */
export function terminateSessions(adminUrl: string, name: string): Promise<number> {
  return withAdmin(adminUrl, async (admin) => {
    const { rows } = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()) t',
      [name],
    );
    return rows[0]?.n ?? 0;
  });
}

