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
  /** The attempt's place in its step's chain (1: first try); null for calls before routing. */
  chainAttempt?: number | null;
  /** Why the attempt was made: `first try`, `retry after Upstream5xx`, `fallback from smart ...`. */
  reason?: string | null;
  /** The deployment a LiteLLM proxy reported, when memloom's deployment is that proxy. */
  upstreamDeployment?: string | null;
}

export async function recordUsage(db: Queryable, u: UsageRecord): Promise<void> {
  await db.query(
    `INSERT INTO usage (agent_id, workflow_id, turn_id, step, attempt, model_group, deployment,
                        prompt_tokens, completion_tokens, total_tokens, latency_ms, outcome,
                        cost, endpoint, model_group_served, api_base, call_id, attempted_retries, attempted_fallbacks,
                        chain_attempt, reason, upstream_deployment)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
    [u.agentId, u.workflowId, u.turnId, u.step, u.attempt, u.modelGroup, u.deployment,
      u.promptTokens, u.completionTokens, u.totalTokens, u.latencyMs, u.outcome,
      u.cost ?? null, u.endpoint ?? null, u.modelGroupServed ?? null, u.apiBase ?? null, u.callId ?? null,
      u.attemptedRetries ?? null, u.attemptedFallbacks ?? null, u.chainAttempt ?? null, u.reason ?? null, u.upstreamDeployment ?? null],
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
/** The `reason` of a compaction's summarizer call: its tokens are not the step's answer. */
export const COMPACTION_REASON = 'compaction';

export async function stepUsage(db: Queryable, agentId: string, turnId: string, step: number): Promise<TokenTotals | null> {
  const { rows } = await db.query<TokenTotals>(
    `SELECT 1 AS calls, prompt_tokens, completion_tokens, total_tokens FROM usage
     WHERE agent_id = $1 AND turn_id = $2 AND step = $3 AND outcome = 'ok' AND reason IS DISTINCT FROM '${COMPACTION_REASON}' ORDER BY id LIMIT 1`,
    [agentId, turnId, step],
  );
  return rows[0] ?? null;
}

/** How `memloom usage` groups the calls. */
export const UsageGroupBy = {
  /** One row per agent, labelled with its name. */
  Agent: 'agent',
  /** One row per model group the agents asked for (`model_group`). */
  Model: 'model',
  /** One row per deployment that served (`deployment`: the proxy's deployment id, else the endpoint). */
  Deployment: 'deployment',
  /** One row per UTC day (`YYYY-MM-DD`). */
  Day: 'day',
} as const;
export type UsageGroupBy = (typeof UsageGroupBy)[keyof typeof UsageGroupBy];

/** The grouping column of each {@link UsageGroupBy}: fixed SQL, never user text. */
const GROUP_KEY_SQL: Record<UsageGroupBy, string> = {
  agent: 'agent_id',
  model: 'model_group',
  deployment: 'deployment',
  day: `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
};

/** Model calls of one group of a usage report, or of all of them. */
export interface UsageReportTotals extends UsageTotals {
  /** Attempts whose outcome is not `ok` (they are counted in `calls` too). */
  failed_calls: number;
  /** Median latency of the calls in ms; null without calls. */
  p50_latency_ms: number | null;
}

export interface UsageReportRow extends UsageReportTotals {
  /** The agent id, model group, deployment or UTC day (`YYYY-MM-DD`). */
  key: string;
  /** What people read: the agent's name (its id once deleted), else the key. */
  label: string;
}

export interface UsageReportQuery {
  by: UsageGroupBy;
  /** Only this agent's calls. @default all agents */
  agentId?: string | null;
  /** Only calls made at or after this time. @default all time */
  since?: Date | null;
}

/**
 * Calls, tokens, cost, failed calls and p50 latency per group, sorted by cost (unknown last),
 * then calls, descending; and the same over every selected call.
 */
export async function usageReport(db: Queryable, q: UsageReportQuery): Promise<{ rows: UsageReportRow[]; total: UsageReportTotals }> {
  // sums are float8, not int: a fleet's tokens over a month can pass 2^31
  const { rows } = await db.query<UsageReportRow & { is_total: boolean }>(
    `WITH picked AS (
       SELECT ${GROUP_KEY_SQL[q.by]} AS key, outcome, prompt_tokens, completion_tokens, total_tokens, cost, latency_ms
       FROM usage
       WHERE ($1::text IS NULL OR agent_id = $1) AND ($2::timestamptz IS NULL OR created_at >= $2)
     ), grouped AS (
       SELECT key, grouping(key) = 1 AS is_total, count(*)::int AS calls,
              count(*) FILTER (WHERE outcome <> 'ok')::int AS failed_calls,
              coalesce(sum(prompt_tokens), 0)::float8 AS prompt_tokens,
              coalesce(sum(completion_tokens), 0)::float8 AS completion_tokens,
              coalesce(sum(total_tokens), 0)::float8 AS total_tokens,
              sum(cost)::float8 AS cost,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms)::float8 AS p50_latency_ms
       FROM picked GROUP BY GROUPING SETS ((key), ())
     )
     SELECT g.*, coalesce(a.name, g.key) AS label
     FROM grouped g LEFT JOIN agents a ON $3 AND a.id = g.key
     ORDER BY g.is_total, g.cost DESC NULLS LAST, g.calls DESC, g.key`,
    [q.agentId ?? null, q.since ?? null, q.by === UsageGroupBy.Agent],
  );
  const totals = (r: UsageReportTotals): UsageReportTotals => ({
    calls: r.calls,
    failed_calls: r.failed_calls,
    prompt_tokens: r.prompt_tokens,
    completion_tokens: r.completion_tokens,
    total_tokens: r.total_tokens,
    cost: r.cost,
    p50_latency_ms: r.p50_latency_ms,
  });
  return {
    rows: rows.filter((r) => !r.is_total).map((r) => ({ key: r.key, label: r.label, ...totals(r) })),
    // GROUPING SETS yields the () row even when no call matched
    total: totals(rows.find((r) => r.is_total)!),
  };
}

/** One model call attempt of a turn, as `memloom turn show` lists its chain. */
export interface TurnModelCall {
  step: number | null;
  /** The attempt's place in its step's chain; null for calls before routing. */
  chainAttempt: number | null;
  modelGroup: string;
  deployment: string;
  reason: string | null;
  /** `ok`, or the failure type. */
  outcome: string;
  totalTokens: number;
  /** USD; null when unknown. */
  cost: number | null;
  latencyMs: number;
  at: Date;
}

/** Every model call attempt of the turn `turnId`, in the order they were made. */
export async function listTurnModelCalls(db: Queryable, turnId: string): Promise<TurnModelCall[]> {
  const { rows } = await db.query<{
    step: number | null;
    chain_attempt: number | null;
    model_group: string;
    deployment: string;
    reason: string | null;
    outcome: string;
    total_tokens: number;
    cost: number | null;
    latency_ms: number;
    created_at: Date;
  }>(
    `SELECT step, chain_attempt, model_group, deployment, reason, outcome, total_tokens, cost::float8 AS cost, latency_ms, created_at
     FROM usage WHERE turn_id = $1 ORDER BY id`,
    [turnId],
  );
  return rows.map((r) => ({
    step: r.step,
    chainAttempt: r.chain_attempt,
    modelGroup: r.model_group,
    deployment: r.deployment,
    reason: r.reason,
    outcome: r.outcome,
    totalTokens: r.total_tokens,
    cost: r.cost,
    latencyMs: r.latency_ms,
    at: r.created_at,
  }));
}
