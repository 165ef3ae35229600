/**
 * The `usage` table: one row per model call attempt, successful or not.
 * @module
 */
import type { Queryable } from './pool.ts';

export interface UsageRecord {
  agentId: string;
  workflowId: string | null;
  turnId: string | null;
  step: number | null;
  attempt: number | null;
  modelGroup: string;
  deployment: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  latencyMs: number;
  /** `ok`, or the failure type. */
  outcome: string;
}

export async function recordUsage(db: Queryable, u: UsageRecord): Promise<void> {
  await db.query(
    `INSERT INTO usage (agent_id, workflow_id, turn_id, step, attempt, model_group, deployment,
                        prompt_tokens, completion_tokens, total_tokens, latency_ms, outcome)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [u.agentId, u.workflowId, u.turnId, u.step, u.attempt, u.modelGroup, u.deployment,
      u.promptTokens, u.completionTokens, u.totalTokens, u.latencyMs, u.outcome],
  );
}

export interface UsageTotals {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export async function usageTotals(db: Queryable, agentId: string): Promise<UsageTotals> {
  const { rows } = await db.query<UsageTotals>(
    `SELECT count(*)::int AS calls, coalesce(sum(prompt_tokens), 0)::int AS prompt_tokens,
            coalesce(sum(completion_tokens), 0)::int AS completion_tokens, coalesce(sum(total_tokens), 0)::int AS total_tokens
     FROM usage WHERE agent_id = $1`,
    [agentId],
  );
  return rows[0]!;
}

/** Tokens of the successful model call of one step, if it was recorded. */
export async function stepUsage(db: Queryable, agentId: string, turnId: string, step: number): Promise<UsageTotals | null> {
  const { rows } = await db.query<UsageTotals>(
    `SELECT 1 AS calls, prompt_tokens, completion_tokens, total_tokens FROM usage
     WHERE agent_id = $1 AND turn_id = $2 AND step = $3 AND outcome = 'ok' ORDER BY id LIMIT 1`,
    [agentId, turnId, step],
  );
  return rows[0] ?? null;
}
