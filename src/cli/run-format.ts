/**
 * Text helpers of the commands that follow workflow runs (`pipeline`, `batch`): Temporal's
 * execution status as people read it, one-line previews, and plain tables.
 * @module
 */

const STATUS_TEXT: Record<string, string> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed out',
  CONTINUED_AS_NEW: 'continued as new',
};

/** `CANCELLED` → `cancelled`, `TIMED_OUT` → `timed out`. */
export function statusText(status: string): string {
  return STATUS_TEXT[status] ?? status.toLowerCase();
}

/** `text` on one line, cut to `max` characters with an ellipsis. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** Rows as columns: every cell padded to its column's width, the last left ragged. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  ').trimEnd());
}
