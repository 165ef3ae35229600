/**
 * Batch jobs and one row per selected agent (migration 008). Agents are selected in pages
 * ordered by id; an agent's row, once written, keeps its message id, so a resumed or repeated
 * job asks each agent at most once.
 * @module
 */
import { createHash } from 'node:crypto';
import type { BatchCounts, BatchItemStatus, BatchJobDefinition, BatchJobKind, BatchJobStatus, BatchSelector } from '../domain/batch.ts';
import type { Queryable } from './pool.ts';

/** A stored job: its definition, its ids and its state. */
export interface BatchJobRecord extends BatchJobDefinition {
  batchId: string;
  workflowId: string;
  status: BatchJobStatus;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface BatchItemRecord {
  agentId: string;
  agentName: string | null;
  messageId: string;
  status: BatchItemStatus;
  errorType: string | null;
  errorMessage: string | null;
  queuedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** `message-<uuid>` from the batch and the agent: the same on every retry, resume and repeat. */
export function batchMessageId(batchId: string, agentId: string): string {
  const h = createHash('sha256').update(`batch\n${batchId}\n${agentId}`).digest('hex');
  return `message-${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

type JobRow = {
  batch_id: string;
  workflow_id: string;
  kind: BatchJobKind;
  prompt: string | null;
  pipeline: string | null;
  pipeline_input: Record<string, unknown> | null;
  selector: BatchSelector;
  concurrency: number;
  max_steps: number;
  status: BatchJobStatus;
  created_at: Date;
  finished_at: Date | null;
};

function toJob(r: JobRow): BatchJobRecord {
  return {
    batchId: r.batch_id,
    workflowId: r.workflow_id,
    kind: r.kind,
    prompt: r.prompt,
    pipeline: r.pipeline !== null ? { name: r.pipeline, input: r.pipeline_input ?? {} } : null,
    selector: r.selector,
    concurrency: r.concurrency,
    maxSteps: r.max_steps,
    status: r.status,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}

/**
 * Records a job, or marks an existing one running again (a repeated job keeps its prompt or
 * pipeline and agents; only a finished job's concurrency may change). Returns what is stored.
 * With `onlyIfAbsent`, an existing job is returned as it is (a schedule's run, continued as new).
 */
export async function upsertJob(
  db: Queryable,
  job: BatchJobDefinition & { batchId: string; workflowId: string },
  opts: { onlyIfAbsent?: boolean } = {},
): Promise<BatchJobRecord> {
  const onConflict = opts.onlyIfAbsent
    ? 'DO UPDATE SET batch_id = batch_jobs.batch_id'
    : `DO UPDATE
       SET concurrency = CASE WHEN batch_jobs.status = 'running' THEN batch_jobs.concurrency ELSE $5 END, status = 'running', finished_at = NULL`;
  const { rows } = await db.query<JobRow>(
    `INSERT INTO batch_jobs (batch_id, workflow_id, kind, prompt, pipeline, pipeline_input, selector, concurrency, max_steps)
     VALUES ($1, $2, $7, $3, $8, $9, $4, $5, $6)
     ON CONFLICT (batch_id) ${onConflict}
     RETURNING *`,
    [
      job.batchId,
      job.workflowId,
      job.prompt,
      JSON.stringify(job.selector),
      job.concurrency,
      job.maxSteps,
      job.kind,
      job.pipeline?.name ?? null,
      job.pipeline ? JSON.stringify(job.pipeline.input) : null,
    ],
  );
  return toJob(rows[0]!);
}

export async function findJob(db: Queryable, batchId: string): Promise<BatchJobRecord | null> {
  const { rows } = await db.query<JobRow>('SELECT * FROM batch_jobs WHERE batch_id = $1', [batchId]);
  return rows[0] ? toJob(rows[0]) : null;
}

/** The SQL condition on `agents a` for a selector, its parameter at `$n`. */
function selectorCondition(selector: BatchSelector, n: number): { sql: string; param: unknown } {
  if ('agentIds' in selector) return { sql: `a.id = ANY($${n}::text[])`, param: selector.agentIds };
  if ('tag' in selector) return { sql: `a.tags @> ARRAY[$${n}::text]`, param: selector.tag };
  return { sql: `$${n}::boolean`, param: true };
}

/** Whether any agent matches the selector. */
export async function anyAgentSelected(db: Queryable, selector: BatchSelector): Promise<boolean> {
  const cond = selectorCondition(selector, 1);
  const { rows } = await db.query(`SELECT 1 FROM agents a WHERE ${cond.sql} LIMIT 1`, [cond.param]);
  return rows.length > 0;
}

/**
 * The next page of the job's agents after `after` (by id), each written as an item (queued)
 * unless it is already there; returns each with its stored status.
 */
export async function selectPage(
  db: Queryable,
  job: Pick<BatchJobRecord, 'batchId' | 'selector'>,
  after: string | null,
  limit: number,
): Promise<{ agentId: string; agentName: string; status: BatchItemStatus }[]> {
  const cond = selectorCondition(job.selector, 2);
  const { rows: agents } = await db.query<{ id: string; name: string }>(
    `SELECT a.id, a.name FROM agents a WHERE ($1::text IS NULL OR a.id > $1) AND ${cond.sql} ORDER BY a.id LIMIT $3`,
    [after, cond.param, limit],
  );
  if (agents.length === 0) return [];
  const ids = agents.map((a) => a.id);
  await db.query(
    `INSERT INTO batch_items (batch_id, agent_id, message_id)
     SELECT $1, * FROM unnest($2::text[], $3::text[])
     ON CONFLICT (batch_id, agent_id) DO NOTHING`,
    [job.batchId, ids, ids.map((id) => batchMessageId(job.batchId, id))],
  );
  const { rows } = await db.query<{ agent_id: string; status: BatchItemStatus }>(
    'SELECT agent_id, status FROM batch_items WHERE batch_id = $1 AND agent_id = ANY($2::text[])',
    [job.batchId, ids],
  );
  const status = new Map(rows.map((r) => [r.agent_id, r.status]));
  return agents.map((a) => ({ agentId: a.id, agentName: a.name, status: status.get(a.id) ?? 'queued' }));
}

export async function findItem(db: Queryable, batchId: string, agentId: string): Promise<BatchItemRecord | null> {
  const { rows } = await db.query<ItemRow>(`${ITEM_SELECT} WHERE i.batch_id = $1 AND i.agent_id = $2`, [batchId, agentId]);
  return rows[0] ? toItem(rows[0]) : null;
}

/** An item's progress; an answered or failed item stays as it is. */
export async function markItem(
  db: Queryable,
  batchId: string,
  agentId: string,
  update: { status: 'running' } | { status: 'answered' } | { status: 'failed'; errorType: string; errorMessage: string },
): Promise<void> {
  await db.query(
    `UPDATE batch_items
     SET status = $3, error_type = $4, error_message = $5,
         started_at = coalesce(started_at, now()),
         finished_at = CASE WHEN $3 IN ('answered', 'failed') THEN now() END
     WHERE batch_id = $1 AND agent_id = $2 AND status NOT IN ('answered', 'failed')`,
    [batchId, agentId, update.status, update.status === 'failed' ? update.errorType : null, update.status === 'failed' ? update.errorMessage : null],
  );
}

export async function jobCounts(db: Queryable, batchId: string): Promise<BatchCounts & { queued: number; running: number }> {
  const { rows } = await db.query<{ status: BatchItemStatus; n: number }>(
    'SELECT status, count(*)::int AS n FROM batch_items WHERE batch_id = $1 GROUP BY status',
    [batchId],
  );
  const n = (s: BatchItemStatus): number => rows.find((r) => r.status === s)?.n ?? 0;
  return {
    selected: rows.reduce((sum, r) => sum + r.n, 0),
    answered: n('answered'),
    failed: n('failed'),
    queued: n('queued'),
    running: n('running'),
  };
}

export async function finishJob(db: Queryable, batchId: string, status: Exclude<BatchJobStatus, 'running'>): Promise<void> {
  await db.query(`UPDATE batch_jobs SET status = $2, finished_at = now() WHERE batch_id = $1 AND status = 'running'`, [batchId, status]);
}

type ItemRow = {
  agent_id: string;
  agent_name: string | null;
  message_id: string;
  status: BatchItemStatus;
  error_type: string | null;
  error_message: string | null;
  queued_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
};

const ITEM_SELECT = `SELECT i.agent_id, a.name AS agent_name, i.message_id, i.status, i.error_type, i.error_message, i.queued_at, i.started_at, i.finished_at
  FROM batch_items i LEFT JOIN agents a ON a.id = i.agent_id`;

function toItem(r: ItemRow): BatchItemRecord {
  return {
    agentId: r.agent_id,
    agentName: r.agent_name,
    messageId: r.message_id,
    status: r.status,
    errorType: r.error_type,
    errorMessage: r.error_message,
    queuedAt: r.queued_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** A job's items: failures first, then running, queued and answered ones, each by agent id; at most `limit`. */
export async function listItems(db: Queryable, batchId: string, limit: number): Promise<BatchItemRecord[]> {
  const { rows } = await db.query<ItemRow>(
    `${ITEM_SELECT} WHERE i.batch_id = $1
     ORDER BY CASE i.status WHEN 'failed' THEN 0 WHEN 'running' THEN 1 WHEN 'queued' THEN 2 ELSE 3 END, i.agent_id
     LIMIT $2`,
    [batchId, limit],
  );
  return rows.map(toItem);
}

/** The agents named by `refs` (ids or names), by ref; refs that name no agent are missing. */
export async function resolveAgentRefs(db: Queryable, refs: string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ id: string; name: string }>('SELECT id, name FROM agents WHERE id = ANY($1::text[]) OR name = ANY($1::text[])', [refs]);
  const out = new Map<string, string>();
  for (const r of rows) {
    out.set(r.id, r.id);
    out.set(r.name, r.id);
  }
  return out;
}
