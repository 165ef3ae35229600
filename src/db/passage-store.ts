/**
 * Archival memory: the `passages` table, searched with Postgres full-text search.
 * @module
 */
import { IdPrefix, newId } from '../domain/ids.ts';
import type { Queryable } from './pool.ts';

export interface Passage {
  id: string;
  agent_id: string;
  text: string;
  tags: string[];
  created_at: Date;
}

/** Inserts a passage; with a `sourceKey`, a second insert with the same key is a no-op. */
export async function insertPassage(
  db: Queryable,
  p: { agentId: string; text: string; tags: string[]; sourceKey?: string | undefined },
): Promise<Passage> {
  const { rows } = await db.query<Passage>(
    `INSERT INTO passages (id, agent_id, text, tags, source_key) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (source_key) DO NOTHING
     RETURNING id, agent_id, text, tags, created_at`,
    [newId(IdPrefix.Passage), p.agentId, p.text, p.tags, p.sourceKey ?? null],
  );
  if (rows[0]) return rows[0];
  const existing = await db.query<Passage>(
    'SELECT id, agent_id, text, tags, created_at FROM passages WHERE source_key = $1',
    [p.sourceKey],
  );
  return existing.rows[0]!;
}

export interface PassageSearch {
  query: string;
  tags?: string[] | undefined;
  tagMatchMode?: 'any' | 'all' | undefined;
  topK: number;
  start?: Date | undefined;
  end?: Date | undefined;
}

/** Ranked full-text search, with a substring fallback so short or stop-word queries still match. */
export async function searchPassages(db: Queryable, agentId: string, s: PassageSearch): Promise<Passage[]> {
  const tags = s.tags && s.tags.length > 0 ? s.tags : null;
  const { rows } = await db.query<Passage>(
    `SELECT id, agent_id, text, tags, created_at FROM passages
     WHERE agent_id = $1
       AND (tsv @@ websearch_to_tsquery('english', $2) OR text ILIKE '%' || $3 || '%')
       AND ($4::text[] IS NULL OR (CASE WHEN $5 = 'all' THEN tags @> $4 ELSE tags && $4 END))
       AND ($6::timestamptz IS NULL OR created_at >= $6) AND ($7::timestamptz IS NULL OR created_at <= $7)
     ORDER BY ts_rank(tsv, websearch_to_tsquery('english', $2)) DESC, created_at DESC
     LIMIT $8`,
    [agentId, s.query, s.query.replace(/[\\%_]/g, (c) => `\\${c}`), tags, s.tagMatchMode ?? 'any', s.start ?? null, s.end ?? null, s.topK],
  );
  return rows;
}

export async function listPassages(db: Queryable, agentId: string, limit: number): Promise<Passage[]> {
  const { rows } = await db.query<Passage>(
    'SELECT id, agent_id, text, tags, created_at FROM passages WHERE agent_id = $1 ORDER BY created_at DESC LIMIT $2',
    [agentId, limit],
  );
  return rows;
}
