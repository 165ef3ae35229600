/** Runs the real `memloom` command (`bin/memloom.js`) as a subprocess, as a user would. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
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

/** The error document a failed `--json` run prints on stderr. */
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
