/**
 * Spend against budgets, summed from the usage ledger (`usage.cost`, USD): an agent's spend in
 * its budget window, and spend per deployment. Calls whose cost is unknown (an endpoint that
 * reports none, and no `model_info` prices) count as 0.
 * @module
 */
import { budgetVerdict, budgetWindow, type Budget, type BudgetVerdict } from '../domain/budget.ts';
import type { Queryable } from './pool.ts';

/**
 * How the agent's budget stands at `now`; null when the agent has no budget (or no longer
 * exists). Called before every model call: one primary-key read of the agent and, with a
 * budget, one sum over `usage (agent_id, created_at)` from the window's start.
 *
 * @example
 * ```ts
 * const verdict = await agentBudgetStatus(db, agentId);
 * if (verdict?.exceeded) throw new BudgetExceededError(agentId, name, verdict);
 * ```
 */
export async function agentBudgetStatus(db: Queryable, agentId: string, now: Date = new Date()): Promise<BudgetVerdict | null> {
  const { rows } = await db.query<{ max_budget: number | null; budget_duration: string | null }>(
    'SELECT max_budget::float8 AS max_budget, budget_duration FROM agents WHERE id = $1',
    [agentId],
  );
  const row = rows[0];
  if (!row || row.max_budget === null) return null;
  return budgetStatus(db, agentId, { maxBudget: row.max_budget, duration: row.budget_duration }, now);
}

/** How `budget` of the agent `agentId` (already read) stands at `now`: one sum over its window. */
export async function budgetStatus(db: Queryable, agentId: string, budget: Budget, now: Date = new Date()): Promise<BudgetVerdict> {
  const window = budgetWindow(budget, now);
  const { rows: spent } = await db.query<{ spend: number }>(
    `SELECT coalesce(sum(cost), 0)::float8 AS spend FROM usage
     WHERE agent_id = $1 AND ($2::timestamptz IS NULL OR created_at >= $2)`,
    [agentId, window.start],
  );
  return budgetVerdict(budget, window, spent[0]?.spend ?? 0);
}

/**
 * USD spent per deployment id (the `usage.deployment` column) since `since`: every id of
 * `deploymentIds` is a key, 0 when it has no cost recorded. One query over
 * `usage (deployment, created_at)`.
 */
export async function deploymentSpend(db: Queryable, deploymentIds: string[], since: Date): Promise<Map<string, number>> {
  const spend = new Map<string, number>(deploymentIds.map((id) => [id, 0]));
  if (deploymentIds.length === 0) return spend;
  const { rows } = await db.query<{ deployment: string; spend: number }>(
    `SELECT deployment, coalesce(sum(cost), 0)::float8 AS spend FROM usage
     WHERE deployment = ANY($1::text[]) AND created_at >= $2 GROUP BY deployment`,
    [deploymentIds, since],
  );
  for (const row of rows) spend.set(row.deployment, row.spend);
  return spend;
}
