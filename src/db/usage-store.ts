/**
 * The `usage` table: one row per model call attempt, successful or not.
 * @module
 */
import type { Queryable } from './pool.ts';

/** What a LiteLLM proxy said served the call; every field null (or absent) without one. */
export interface UsageServedBy {
  /** The base URL memloom called. */
  endpoint?: string | null;
  /** `x-litellm-model-group`: the group that answered, a fallback's when one served. */
  modelGroupServed?: string | null;
  /** `x-litellm-model-api-base`: the upstream the proxy called. */
  apiBase?: string | null;
  /** `x-litellm-call-id`. */
  callId?: string | null;
  attemptedRetries?: number | null;
  attemptedFallbacks?: number | null;
  /** USD, as the proxy reported it. */
  cost?: number | null;
}

export interface UsageRecord extends UsageServedBy {
  agentId: string;
  workflowId: string | null;
  turnId: string | null;
  step: number | null;
  attempt: number | null;
  /** The model group the agent asked for. */
  modelGroup: string;
  /** The proxy's deployment id (`x-litellm-model-id`) when it names one, else the endpoint. */
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
                        prompt_tokens, completion_tokens, total_tokens, latency_ms, outcome,
                        cost, endpoint, model_group_served, api_base, call_id, attempted_retries, attempted_fallbacks)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
    [u.agentId, u.workflowId, u.turnId, u.step, u.attempt, u.modelGroup, u.deployment,
      u.promptTokens, u.completionTokens, u.totalTokens, u.latencyMs, u.outcome,
      u.cost ?? null, u.endpoint ?? null, u.modelGroupServed ?? null, u.apiBase ?? null, u.callId ?? null,
      u.attemptedRetries ?? null, u.attemptedFallbacks ?? null],
  );
}

/** Tokens of model calls. */
export interface TokenTotals {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface UsageTotals extends TokenTotals {
  /** USD summed over the calls whose endpoint reported a cost (a LiteLLM proxy); null when none did. */
  cost: number | null;
}

export async function usageTotals(db: Queryable, agentId: string): Promise<UsageTotals> {
  const { rows } = await db.query<UsageTotals>(
    `SELECT count(*)::int AS calls, coalesce(sum(prompt_tokens), 0)::int AS prompt_tokens,
            coalesce(sum(completion_tokens), 0)::int AS completion_tokens, coalesce(sum(total_tokens), 0)::int AS total_tokens,
            sum(cost)::float8 AS cost
     FROM usage WHERE agent_id = $1`,
    [agentId],
  );
  return rows[0]!;
}

/** Tokens of the successful model call of one step, if it was recorded. */
export async function stepUsage(db: Queryable, agentId: string, turnId: string, step: number): Promise<TokenTotals | null> {
  const { rows } = await db.query<TokenTotals>(
    `SELECT 1 AS calls, prompt_tokens, completion_tokens, total_tokens FROM usage
     WHERE agent_id = $1 AND turn_id = $2 AND step = $3 AND outcome = 'ok' ORDER BY id LIMIT 1`,
    [agentId, turnId, step],
  );
  return rows[0] ?? null;
}
