/** The `usage` ledger as tests read it: one row per model call attempt, oldest first. */
import type { Db } from '../../src/db/pool.ts';

/** A row of `usage` (the columns the tests read; `cost` is numeric, so pg returns text). */
export interface UsageRow {
  outcome: string;
  /** The group the agent asked for. */
  model_group: string;
  /** x-litellm-model-group: the group that answered behind a proxy. */
  model_group_served: string | null;
  deployment: string;
  /** x-litellm-model-id when memloom's deployment is a proxy. */
  upstream_deployment: string | null;
  endpoint: string | null;
  api_base: string | null;
  call_id: string | null;
  attempted_retries: number | null;
  attempted_fallbacks: number | null;
  /** The attempt's place in its step's chain (1 = first try). */
  chain_attempt: number | null;
  cost: string | null;
}

/** Every model call attempt of `agentId`, in the order they were recorded. */
export async function usageRows(db: Db, agentId: string): Promise<UsageRow[]> {
  return (await db.query<UsageRow>('SELECT * FROM usage WHERE agent_id = $1 ORDER BY id', [agentId])).rows;
}
