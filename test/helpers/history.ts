/** Reading agent workflow histories in tests, and the saved histories of test/histories/. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { temporal } from '@temporalio/proto';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { agentWorkflowId } from '../../src/domain/ids.ts';
import type { MemloomClient } from '../../src/client/memloom-client.ts';

export async function agentHistory(client: MemloomClient, agentId: string) {
  return client.temporal.workflow.getHandle(agentWorkflowId(agentId)).fetchHistory();
}

/** The whole history as JSON text, for "this never appears in history" checks. */
export async function agentHistoryText(client: MemloomClient, agentId: string): Promise<string> {
  const history = await agentHistory(client, agentId);
  return JSON.stringify(history, (_k, v: unknown) =>
    v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : typeof v === 'bigint' ? v.toString() : v,
  );
}

export async function usageOutcomes(db: { query: (sql: string, params: unknown[]) => Promise<{ rows: { outcome: string; created_at: Date }[] }> }, agentId: string) {
  const { rows } = await db.query('SELECT outcome, created_at FROM usage WHERE agent_id = $1 ORDER BY id', [agentId]);
  return rows;
}

/** test/histories/: saved histories, in the Temporal CLI's JSON (`temporal workflow show -o json`). */
export const HISTORIES_DIR = fileURLToPath(new URL('../histories/', import.meta.url));

/** Every saved history under {@link HISTORIES_DIR}, subfolders included, as paths relative to it. */
export function savedHistoryFiles(dir = HISTORIES_DIR): string[] {
  const walk = (d: string): string[] =>
    readdirSync(d)
      .sort()
      .flatMap((name) => {
        const path = join(d, name);
        if (statSync(path).isDirectory()) return walk(path);
        return name.endsWith('.json') ? [relative(dir, path)] : [];
      });
  return walk(dir);
}

export function loadSavedHistory(file: string): temporal.api.history.v1.IHistory {
  return historyFromJSON(JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8')));
}

/**
 * The workflow id to replay a saved history under: `agent/<agentId>` when the workflow's input
 * names an agent (workflow code may read its own id), else `replay/<file>`.
 */
export function savedHistoryWorkflowId(history: temporal.api.history.v1.IHistory, file: string): string {
  const input = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  try {
    const agentId = (JSON.parse(Buffer.from(input ?? new Uint8Array()).toString('utf8')) as { agentId?: unknown }).agentId;
    if (typeof agentId === 'string') return agentWorkflowId(agentId);
  } catch {
    // not JSON: fall through
  }
  return `replay/${file}`;
}

const JSON_ENCODING = Buffer.from('json/plain').toString('base64');
const MACHINE_PATH = /(?:^|[\s"'(=])\/(?:work|root|tmp|home|Users|var|opt)\//;

/**
 * Makes a history in the CLI's JSON fit to commit: stack traces (they name the recording
 * machine's files) and worker identities (pid@host) go; `rename` maps every string, inside
 * JSON payloads too, e.g. random ids to stable ones so a re-recording diffs small. Throws
 * when an absolute path is left.
 */
export function sanitizeHistoryJson(cliJson: string, rename: (text: string) => string): string {
  const clean = (key: string, value: unknown, parent: Record<string, unknown>): unknown => {
    if (key === 'stackTrace') return '';
    if (key === 'identity') return 'memloom-history-recorder';
    if (typeof value !== 'string') return value;
    const encoding = (parent.metadata as { encoding?: unknown } | undefined)?.encoding;
    if (key === 'data' && encoding === JSON_ENCODING) {
      return Buffer.from(rename(Buffer.from(value, 'base64').toString('utf8')), 'utf8').toString('base64');
    }
    return rename(value);
  };
  const parsed: unknown = JSON.parse(cliJson, function (this: Record<string, unknown>, key, value: unknown) {
    return clean(key, value, this);
  });
  const decoded = JSON.stringify(parsed, function (this: Record<string, unknown>, key, value: unknown) {
    const encoding = (this.metadata as { encoding?: unknown } | undefined)?.encoding;
    return key === 'data' && typeof value === 'string' && encoding === JSON_ENCODING ? Buffer.from(value, 'base64').toString('utf8') : value;
  });
  const path = MACHINE_PATH.exec(decoded);
  if (path) throw new Error(`history still names a machine path near "${decoded.slice(Math.max(0, path.index - 60), path.index + 60)}"`);
  return `${JSON.stringify(parsed, null, 1)}\n`;
}
