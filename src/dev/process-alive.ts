/**
 * Looking at and stopping processes by pid: how the dev stack recognises a server it started
 * in an earlier life and stops it.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * True when a process with this pid runs (EPERM: it exists but is not ours). A zombie — exited,
 * not yet reaped, as orphans are in containers whose pid 1 does not reap — is not running.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !zombie(pid);
}

function zombie(pid: number): boolean {
  try {
    // `pid (comm) S ...`: the state follows the last parenthesis
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** The command line of a live process (arguments joined by spaces), or null when unknown. */
export function processCommandLine(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    // no procfs (macOS): ask ps
  }
  try {
    return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

/** Sends SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function terminateProcess(pid: number, graceMs = 8000): Promise<void> {
  const signal = (s: NodeJS.Signals): void => {
    try {
      process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) signal('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
  }
}
