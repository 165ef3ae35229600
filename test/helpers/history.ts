/** Reading an agent workflow's Temporal history in tests. */
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
