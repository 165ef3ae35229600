/**
 * Re-embedding archival memory: which of an agent's passages have no vector of its current
 * embedding model (none at all, another model's, or another dimension's). Their vectors are
 * written back with `setPassageEmbeddings` (src/db/passage-store.ts).
 *
 * Both questions are answered from the index `passages_embedding_model_idx` (agent_id,
 * embedding_model, embedding_dim) of migration 016, so a batch of a re-embedding costs the batch,
 * not a scan of every passage of the agent.
 * @module
 */
import type { Queryable } from './pool.ts';

/** The current model and dimension: a passage whose vector is of anything else is stale. */
export interface EmbeddingTarget {
  model: string;
  dim: number;
}

/**
 * The stale passages of agent `$1` for model `$2` and dimension `$3`, as the index ranges that
 * hold them: no vector (the model is NULL exactly then), another model, the model at another
 * dimension. `<>` cannot be an index range, `<` and `>` can.
 */
const STALE_RANGES = [
  'embedding_model IS NULL',
  'embedding_model < $2',
  'embedding_model > $2',
  'embedding_model = $2 AND embedding_dim < $3',
  'embedding_model = $2 AND embedding_dim > $3',
];

/**
 * Up to `limit` stale passages of the agent: their ids and texts, in the index's order. Each range
 * is an index scan that stops once `limit` rows are found (ordered as the index is, so that the
 * planner never prefers a scan of the table, whatever share of it the range holds).
 */
export async function stalePassages(db: Queryable, agentId: string, target: EmbeddingTarget, limit: number): Promise<{ id: string; text: string }[]> {
  const ranges = STALE_RANGES.map((range) => `(SELECT id, text FROM passages WHERE agent_id = $1 AND ${range} ORDER BY embedding_model, embedding_dim LIMIT $4)`);
  const { rows } = await db.query<{ id: string; text: string }>(`${ranges.join(' UNION ALL ')} LIMIT $4`, [agentId, target.model, target.dim, limit]);
  return rows;
}

/** The agent's passages: all of them, and the stale ones (those not of the target model and dimension). */
export async function countStalePassages(db: Queryable, agentId: string, target: EmbeddingTarget): Promise<{ total: number; stale: number }> {
  const { rows } = await db.query<{ total: number; current: number }>(
    `SELECT count(*)::int AS total, (count(*) FILTER (WHERE embedding_model = $2 AND embedding_dim = $3))::int AS current
     FROM passages WHERE agent_id = $1`,
    [agentId, target.model, target.dim],
  );
  const { total = 0, current = 0 } = rows[0] ?? {};
  return { total, stale: total - current };
}
