/**
 * Re-embedding archival memory: which of an agent's passages have no vector of its current
 * embedding model (none at all, another model's, or another dimension's). Their vectors are
 * written back with `setPassageEmbeddings` (src/db/passage-store.ts).
 * @module
 */
import type { Queryable } from './pool.ts';

/** The current model and dimension: a passage whose vector is of anything else is stale. */
export interface EmbeddingTarget {
  model: string;
  dim: number;
}

const STALE = '(embedding IS NULL OR embedding_model IS DISTINCT FROM $2 OR embedding_dim IS DISTINCT FROM $3)';

/** Up to `limit` stale passages of the agent, oldest id first: their ids and texts. */
export async function stalePassages(db: Queryable, agentId: string, target: EmbeddingTarget, limit: number): Promise<{ id: string; text: string }[]> {
  const { rows } = await db.query<{ id: string; text: string }>(
    `SELECT id, text FROM passages WHERE agent_id = $1 AND ${STALE} ORDER BY id LIMIT $4`,
    [agentId, target.model, target.dim, limit],
  );
  return rows;
}

/** The agent's passages: all of them, and the stale ones. */
export async function countStalePassages(db: Queryable, agentId: string, target: EmbeddingTarget): Promise<{ total: number; stale: number }> {
  const { rows } = await db.query<{ total: number; stale: number }>(
    `SELECT count(*)::int AS total, (count(*) FILTER (WHERE ${STALE}))::int AS stale FROM passages WHERE agent_id = $1`,
    [agentId, target.model, target.dim],
  );
  return rows[0] ?? { total: 0, stale: 0 };
}
