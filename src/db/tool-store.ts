/**
 * The `tools` table: user tools as the workers that run them published them.
 * @module
 */
import type { Queryable } from './pool.ts';

export interface PublishedTool {
  name: string;
  description: string;
  /** JSON schema of the arguments. */
  parameters: Record<string, unknown>;
  timeoutMs: number;
  /** Task queue polled by the workers that have this tool. */
  taskQueue: string;
}

/** Publishes (or refreshes) tools a worker runs; the last worker to start wins a name. */
export async function publishTools(db: Queryable, tools: readonly PublishedTool[]): Promise<void> {
  if (tools.length === 0) return;
  await db.query(
    `INSERT INTO tools (name, description, parameters, timeout_ms, task_queue)
     SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(name text, description text, parameters jsonb, timeout_ms integer, task_queue text)
     ON CONFLICT (name) DO UPDATE SET description = excluded.description, parameters = excluded.parameters,
       timeout_ms = excluded.timeout_ms, task_queue = excluded.task_queue, updated_at = now()`,
    [
      JSON.stringify(
        tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters, timeout_ms: t.timeoutMs, task_queue: t.taskQueue })),
      ),
    ],
  );
}

/** The published tools among `names` (unknown names are left out). */
export async function findPublishedTools(db: Queryable, names: readonly string[]): Promise<PublishedTool[]> {
  if (names.length === 0) return [];
  const { rows } = await db.query<{ name: string; description: string; parameters: Record<string, unknown>; timeout_ms: number; task_queue: string }>(
    'SELECT name, description, parameters, timeout_ms, task_queue FROM tools WHERE name = ANY($1) ORDER BY name',
    [names],
  );
  return rows.map((r) => ({ name: r.name, description: r.description, parameters: r.parameters, timeoutMs: r.timeout_ms, taskQueue: r.task_queue }));
}

/** Every published tool, by name. */
export async function listPublishedTools(db: Queryable): Promise<PublishedTool[]> {
  const { rows } = await db.query<{ name: string; description: string; parameters: Record<string, unknown>; timeout_ms: number; task_queue: string }>(
    'SELECT name, description, parameters, timeout_ms, task_queue FROM tools ORDER BY name',
  );
  return rows.map((r) => ({ name: r.name, description: r.description, parameters: r.parameters, timeoutMs: r.timeout_ms, taskQueue: r.task_queue }));
}
