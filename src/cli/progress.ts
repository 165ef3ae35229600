/**
 * Progress of a long command on stderr: on a terminal, a bar redrawn in place
 * (`embedding [########............] 128/640 chunks 20%`); elsewhere (a pipe, a file, CI logs), a
 * line each time another tenth is done or the phase changes, and the last one. Silent with
 * `--json`, whose stdout is the result and whose stderr holds only errors.
 * @module
 */
import { printNote, redrawErr, stderrIsTerminal, type OutputMode } from './output.ts';

const BAR_WIDTH = 24;

export interface ProgressPrinter {
  /** `done` of `total` `unit` in `phase` (e.g. `embedding`, 128, 640). */
  update(phase: string, done: number, total: number): void;
  /** Ends the bar's line on a terminal; call it once the job ended (well or not). */
  end(): void;
}

/** `embedding [######..................] 128/640 chunks 20%` */
export function progressLine(phase: string, done: number, total: number, unit: string): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * BAR_WIDTH);
  return `${phase} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${done}/${total} ${unit} ${Math.floor(ratio * 100)}%`;
}

/**
 * A printer of the progress of `unit`s (`chunks`, `passages`).
 *
 * @example
 * ```ts
 * const progress = progressPrinter(ctx.mode, 'chunks');
 * try {
 *   await client.importArchivalFile(ref, { file, onProgress: (p) => progress.update(p.phase, p.done, p.total) });
 * } finally {
 *   progress.end();
 * }
 * ```
 */
export function progressPrinter(mode: OutputMode, unit: string, terminal = stderrIsTerminal()): ProgressPrinter {
  let last: { phase: string; tenth: number; line: string } | null = null;
  let shown = '';
  const show = (line: string): void => {
    if (terminal) redrawErr(line);
    else printNote(mode, line);
    shown = line;
  };
  return {
    update(phase, done, total) {
      if (mode.json) return;
      const line = progressLine(phase, done, total, unit);
      const tenth = total > 0 ? Math.floor((10 * done) / total) : 10;
      // a terminal redraws at every change; a log gets a line a tenth (and one per phase)
      if (terminal ? line !== shown : last === null || last.phase !== phase || tenth > last.tenth) show(line);
      last = { phase, tenth, line };
    },
    end() {
      if (mode.json || last === null) return;
      if (terminal) redrawErr(last.line, true);
      else if (last.line !== shown) printNote(mode, last.line);
      last = null;
    },
  };
}
