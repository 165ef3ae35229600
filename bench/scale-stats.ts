/**
 * Small measuring helpers for `bench/agent-scale.ts`: quantiles, a bounded-concurrency runner,
 * and a process's memory as Linux reports it in `/proc/<pid>/status`.
 */
import { readFileSync } from 'node:fs';

/** The `q` quantile (nearest rank) of `xs`; NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

/** Resident memory of a process in MiB: current (`VmRSS`) and peak since it started (`VmHWM`). */
export interface ProcMemory {
  rssMiB: number;
  peakRssMiB: number;
}

/** Reads `/proc/<pid>/status`; `null` when the process is gone or the platform has no procfs. */
export function readProcMemory(pid: number): ProcMemory | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

/**
 * CPU time (user + system) a process has used, in seconds; NaN when it is gone. Assumes the
 * usual 100 clock ticks per second of Linux.
 */
export function readProcCpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return NaN;
  }
  // fields after the parenthesised command name: state is field 3, utime 14, stime 15
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** What one call of {@link runBounded}'s task produced. */
export interface Timed {
  ms: number;
  error?: string;
}

/**
 * Runs `task(item)` for every item with at most `concurrency` in flight; each task is timed and
 * its failure recorded (never thrown), so one refused turn does not hide the rest of the figures.
 */
export async function runBounded<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<unknown>,
  onDone: (result: Timed) => void,
): Promise<Timed[]> {
  const results: Timed[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      const t = performance.now();
      let result: Timed;
      try {
        await task(items[i] as T);
        result = { ms: performance.now() - t };
      } catch (error) {
        result = { ms: performance.now() - t, error: describeError(error) };
      }
      results.push(result);
      onDone(result);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  return results;
}

/** One line naming an error and its causes, e.g. `TurnFailedError: ... <- ServiceError: 8 RESOURCE_EXHAUSTED ...`. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e && depth < 4; depth++) {
    const err = e as { name?: unknown; message?: unknown; cause?: unknown };
    parts.push(`${String(err.name ?? 'Error')}: ${String(err.message ?? e)}`.slice(0, 300));
    e = err.cause;
  }
  return parts.join(' <- ');
}
