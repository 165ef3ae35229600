/**
 * Pipeline runs and their stage items (migration 007). A stage's items are written once, when
 * the stage is expanded: a retried expansion reads them back, so the agents and message ids of a
 * stage never change, even when the pipeline's functions are not deterministic.
 * @module
 */
import type { Queryable } from './pool.ts';

export type PipelineRunStatus = 'running' | 'completed' | 'failed' | 'cancelled';
/** `cancelled`: the run stopped waiting for it (its turn goes on in its agent). */
export type StageItemStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface PipelineRunRecord {
  workflowId: string;
  name: string;
  input: unknown;
  status: PipelineRunStatus;
  maxBudget: number | null;
  output: unknown;
  errorType: string | null;
  errorMessage: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface StageItemRecord {
  stage: string;
  item: number;
  label: string | null;
  agentId: string | null;
  messageId: string;
  status: StageItemStatus;
  output: string | null;
  errorType: string | null;
  errorMessage: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** A stage item with what its turn cost (from the usage ledger). */
export interface StageItemWithUsage extends StageItemRecord {
  agentName: string | null;
  totalTokens: number;
  /** USD; null when no call reported a cost. */
  cost: number | null;
}

/** Records a run; a second call for the same workflow id changes nothing. */
export async function createRun(db: Queryable, run: { workflowId: string; name: string; input: unknown; maxBudget: number | null }): Promise<void> {
  await db.query(
    `INSERT INTO pipeline_runs (workflow_id, name, input, max_budget) VALUES ($1, $2, $3, $4) ON CONFLICT (workflow_id) DO NOTHING`,
    [run.workflowId, run.name, JSON.stringify(run.input), run.maxBudget],
  );
}

export async function findRun(db: Queryable, workflowId: string): Promise<PipelineRunRecord | null> {
  const { rows } = await db.query<{
    workflow_id: string;
    name: string;
    input: unknown;
    status: PipelineRunStatus;
    max_budget: number | null;
    output: unknown;
    error_type: string | null;
    error_message: string | null;
    created_at: Date;
    finished_at: Date | null;
  }>(
    `SELECT workflow_id, name, input, status, max_budget::float8 AS max_budget, output, error_type, error_message, created_at, finished_at
     FROM pipeline_runs WHERE workflow_id = $1`,
    [workflowId],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    workflowId: r.workflow_id,
    name: r.name,
    input: r.input,
    status: r.status,
    maxBudget: r.max_budget,
    output: r.output,
    errorType: r.error_type,
    errorMessage: r.error_message,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}

/** The run's outcome; the first recorded end stands. */
export async function finishRun(
  db: Queryable,
  workflowId: string,
  end: { status: Exclude<PipelineRunStatus, 'running'>; output?: unknown; errorType?: string | null; errorMessage?: string | null },
): Promise<void> {
  await db.query(
    `UPDATE pipeline_runs SET status = $2, output = $3, error_type = $4, error_message = $5, finished_at = now()
     WHERE workflow_id = $1 AND status = 'running'`,
    [workflowId, end.status, end.output === undefined ? null : JSON.stringify(end.output), end.errorType ?? null, end.errorMessage ?? null],
  );
}

/**
 * The items of a stage: those given, unless the stage was expanded before, in which case the
 * stored ones. Returns what is stored.
 */
export async function expandStageOnce(
  db: Queryable,
  workflowId: string,
  stage: string,
  items: { item: number; label: string | null; agentId: string; messageId: string }[],
): Promise<StageItemRecord[]> {
  if (items.length > 0) {
    await db.query(
      `INSERT INTO pipeline_stage_items (workflow_id, stage, item, label, agent_id, message_id)
       SELECT $1, $2, * FROM unnest($3::int[], $4::text[], $5::text[], $6::text[])
       ON CONFLICT (workflow_id, stage, item) DO NOTHING`,
      [workflowId, stage, items.map((i) => i.item), items.map((i) => i.label), items.map((i) => i.agentId), items.map((i) => i.messageId)],
    );
  }
  return stageItems(db, workflowId, stage);
}

const ITEM_COLUMNS = `stage, item, label, agent_id, message_id, status, output, error_type, error_message, started_at, finished_at`;

type ItemRow = {
  stage: string;
  item: number;
  label: string | null;
  agent_id: string | null;
  message_id: string;
  status: StageItemStatus;
  output: string | null;
  error_type: string | null;
  error_message: string | null;
  started_at: Date | null;
  finished_at: Date | null;
};

function toItem(r: ItemRow): StageItemRecord {
  return {
    stage: r.stage,
    item: r.item,
    label: r.label,
    agentId: r.agent_id,
    messageId: r.message_id,
    status: r.status,
    output: r.output,
    errorType: r.error_type,
    errorMessage: r.error_message,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** A stage's items (all stages when `stage` is null), in item order. */
export async function stageItems(db: Queryable, workflowId: string, stage: string | null): Promise<StageItemRecord[]> {
  const { rows } = await db.query<ItemRow>(
    `SELECT ${ITEM_COLUMNS} FROM pipeline_stage_items WHERE workflow_id = $1 AND ($2::text IS NULL OR stage = $2) ORDER BY stage, item`,
    [workflowId, stage],
  );
  return rows.map(toItem);
}

export async function markStageItem(
  db: Queryable,
  key: { workflowId: string; stage: string; item: number },
  update:
    | { status: 'running' | 'cancelled' }
    | { status: 'completed'; output: string }
    | { status: 'failed'; errorType: string; errorMessage: string },
): Promise<void> {
  await db.query(
    `UPDATE pipeline_stage_items
     SET status = $4,
         output = coalesce($5, output),
         error_type = $6, error_message = $7,
         started_at = coalesce(started_at, now()),
         finished_at = CASE WHEN $4 IN ('completed', 'failed', 'cancelled') THEN now() END
     WHERE workflow_id = $1 AND stage = $2 AND item = $3`,
    [
      key.workflowId,
      key.stage,
      key.item,
      update.status,
      update.status === 'completed' ? update.output : null,
      update.status === 'failed' ? update.errorType : null,
      update.status === 'failed' ? update.errorMessage : null,
    ],
  );
}

/** The completed outputs of every stage so far, by stage, in item order. */
export async function stageOutputs(db: Queryable, workflowId: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const item of await stageItems(db, workflowId, null)) {
    if (item.status === 'completed') (out[item.stage] ??= []).push(item.output ?? '');
  }
  return out;
}

/** Every item with its agent's name and its turn's tokens and cost. */
export async function stageItemsWithUsage(db: Queryable, workflowId: string): Promise<StageItemWithUsage[]> {
  const { rows } = await db.query<ItemRow & { agent_name: string | null; total_tokens: number; cost: number | null }>(
    `SELECT ${ITEM_COLUMNS.split(', ').map((c) => `i.${c}`).join(', ')}, a.name AS agent_name,
            coalesce(u.total_tokens, 0)::int AS total_tokens, u.cost
     FROM pipeline_stage_items i
     LEFT JOIN agents a ON a.id = i.agent_id
     LEFT JOIN LATERAL (SELECT sum(total_tokens) AS total_tokens, sum(cost)::float8 AS cost FROM usage WHERE turn_id = i.message_id) u ON true
     WHERE i.workflow_id = $1
     ORDER BY i.started_at NULLS LAST, i.stage, i.item`,
    [workflowId],
  );
  return rows.map((r) => ({ ...toItem(r), agentName: r.agent_name, totalTokens: r.total_tokens, cost: r.cost }));
}

/** USD the run's stage messages have cost so far, from the usage ledger. */
export async function runSpend(db: Queryable, workflowId: string): Promise<number> {
  const { rows } = await db.query<{ spend: number }>(
    `SELECT coalesce(sum(u.cost), 0)::float8 AS spend FROM pipeline_stage_items i JOIN usage u ON u.turn_id = i.message_id WHERE i.workflow_id = $1`,
    [workflowId],
  );
  return rows[0]?.spend ?? 0;
}

/** A pipeline as workers publish it. */
export interface PublishedPipeline {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  stages: { name: string; after: string[] }[];
  updatedAt: Date;
}

/** Publishes the pipelines a worker runs (a later worker's definition replaces an earlier one). */
export async function publishPipelines(db: Queryable, list: Omit<PublishedPipeline, 'updatedAt'>[]): Promise<void> {
  for (const p of list) {
    await db.query(
      `INSERT INTO pipelines (name, description, input_schema, stages) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO UPDATE SET description = $2, input_schema = $3, stages = $4, updated_at = now()`,
      [p.name, p.description, JSON.stringify(p.inputSchema), JSON.stringify(p.stages)],
    );
  }
}

export async function listPublishedPipelines(db: Queryable): Promise<PublishedPipeline[]> {
  const { rows } = await db.query<{ name: string; description: string; input_schema: Record<string, unknown>; stages: PublishedPipeline['stages']; updated_at: Date }>(
    'SELECT name, description, input_schema, stages, updated_at FROM pipelines ORDER BY name',
  );
  return rows.map((r) => ({ name: r.name, description: r.description, inputSchema: r.input_schema, stages: r.stages, updatedAt: r.updated_at }));
}

/** The workflow id of a run given by it, or by its run id (the part after `pipeline/<name>/`). */
export async function resolveRunId(db: Queryable, idOrRunId: string): Promise<string | null> {
  const { rows } = await db.query<{ workflow_id: string }>(
    `SELECT workflow_id FROM pipeline_runs WHERE workflow_id = $1 OR workflow_id LIKE 'pipeline/%/' || $1 LIMIT 2`,
    [idOrRunId],
  );
  return rows.length === 1 ? rows[0]!.workflow_id : null;
}
