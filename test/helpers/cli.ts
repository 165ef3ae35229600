/** Runs the real `memloom` command (`bin/memloom.js`) as a subprocess, as a user would. */
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
