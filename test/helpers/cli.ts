/**
 * Runs the `memloom` command in tests: as a real subprocess (`bin/memloom.js`), as a user would,
 * or in this process (the same program, `runCli` of src/cli/program.ts) where a test is not about
 * the process boundary: a process start costs ~2 s of CPU, and dozens of them starve 2 cores.
 */
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { after } from 'node:test';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../bin/memloom.js', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time of the run. */
  ms: number;
}

/** `memloom ...args` with `env` and `stdin` (empty when not given); resolves whatever the exit code. */
export function runCli(env: NodeJS.ProcessEnv, args: readonly string[], stdin = ''): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin?.end(stdin);
  });
}

/** What an in-process run printed so far; set only inside the run's own async context. */
interface Captured {
  stdout: string;
  stderr: string;
}

const capturing = new AsyncLocalStorage<Captured>();
/** In-process runs take turns: each one owns `process.env` and the standard streams while it runs. */
let previous: Promise<unknown> = Promise.resolve();

/**
 * `memloom ...args` run in this process, as {@link runCli} runs it in a subprocess: `env` is the
 * whole environment while it runs, `stdin` its standard input (empty when not given), and what
 * the command writes to stdout and stderr is captured. Writes from anything else (the test
 * runner, the stack's worker) pass through. Runs one at a time, in call order.
 *
 * Not for commands that keep running (`worker`, `dev`: they wait for signals) nor for what only
 * a process shows (the exit of a stray handle, the pipes); logger lines (pino, written to fd 2
 * directly) are not captured.
 */
export function runCliInProcess(env: NodeJS.ProcessEnv, args: readonly string[], stdin = ''): Promise<CliRun> {
  const run = previous.then(() => runInProcessNow(env, args, stdin));
  previous = run.catch(() => undefined);
  return run;
}

async function runInProcessNow(env: NodeJS.ProcessEnv, args: readonly string[], stdin: string): Promise<CliRun> {
  const { runCli: runProgram } = await import('../../src/cli/program.ts');
  const started = Date.now();
  const captured: Captured = { stdout: '', stderr: '' };
  const restoreEnv = replaceEnv(env);
  const restoreStdin = replaceStdin(stdin);
  const restoreStreams = [captureWrites(process.stdout, 'stdout'), captureWrites(process.stderr, 'stderr')];
  try {
    const code = await capturing.run(captured, () => runProgram([process.execPath, CLI, ...args]));
    return { code, ...captured, ms: Date.now() - started };
  } finally {
    for (const restore of restoreStreams) restore();
    restoreStdin();
    restoreEnv();
  }
}

/** Makes `env` the whole of `process.env`; returns what puts the old one back. */
function replaceEnv(env: NodeJS.ProcessEnv): () => void {
  const saved = { ...process.env };
  const assign = (next: NodeJS.ProcessEnv): void => {
    for (const key of Object.keys(process.env)) if (next[key] === undefined) delete process.env[key];
    for (const [key, value] of Object.entries(next)) if (value !== undefined) process.env[key] = value;
  };
  assign(env);
  return () => assign(saved);
}

/** `process.stdin` reads `text`, as a subprocess reads a pipe that was written and closed. */
function replaceStdin(text: string): () => void {
  const descriptor = Object.getOwnPropertyDescriptor(process, 'stdin');
  Object.defineProperty(process, 'stdin', { configurable: true, enumerable: true, value: Readable.from(text === '' ? [] : [Buffer.from(text)]) });
  return () => {
    if (descriptor) Object.defineProperty(process, 'stdin', descriptor);
  };
}

/** Inside an in-process run's async context, writes to `stream` are kept instead of printed. */
function captureWrites(stream: NodeJS.WriteStream, into: keyof Captured): () => void {
  const write = stream.write;
  stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
    const captured = capturing.getStore();
    if (captured === undefined) return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    captured[into] += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    const done = rest.find((r): r is () => void => typeof r === 'function');
    if (done) process.nextTick(done);
    return true;
  } as typeof stream.write;
  return () => {
    stream.write = write;
  };
}

/** The error document a failed `--json` run prints on stderr. */
/** A long-running `memloom` process (worker, serve) started by {@link startCliProcess}. */
export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  /** Its stderr and stdout so far. */
  readonly stderr: string;
  readonly stdout: string;
  /** Resolves with the exit code when it exits. */
  exited: Promise<number | null>;
}

/**
 * Spawns `memloom <args>` and resolves once it says `Stop with Ctrl-C` on stderr (it is ready);
 * rejects if it exits first or takes 60 s. Killed when the test file ends.
 */
export async function startCliProcess(args: readonly string[], env: NodeJS.ProcessEnv): Promise<CliProcess> {
  const child = spawn(process.execPath, [CLI, ...args], { env });
  const out = { stderr: '', stdout: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`memloom ${args[0] ?? ''} did not start: ${out.stderr}`)), 60_000);
    child.stderr.on('data', (d: Buffer) => {
      out.stderr += d.toString();
      if (/Stop with Ctrl-C/.test(out.stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => reject(new Error(`memloom ${args[0] ?? ''} exited with ${code}: ${out.stderr}`)));
  });
  return {
    child,
    exited,
    get stderr() {
      return out.stderr;
    },
    get stdout() {
      return out.stdout;
    },
  };
}

export interface CliErrorDocument {
  code: string;
  message: string;
  issues?: { path: string; message: string }[];
}

/** The JSON document a successful `--json` run printed. */
export function parsed<T>(run: CliRun): T {
  assert.equal(run.code, 0, `exit ${run.code}; stderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** The JSON error a failed `--json` run printed on stderr (exit 1, nothing on stdout). */
export function errorOf(run: CliRun): CliErrorDocument {
  assert.equal(run.code, 1, `stdout: ${run.stdout}`);
  assert.equal(run.stdout, '');
  return (JSON.parse(run.stderr) as { error: CliErrorDocument }).error;
}
