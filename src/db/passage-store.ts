/**
 * Archival memory: the `passages` table. A passage keeps its text, its tags and, when its agent
 * has an `embedding_config`, its vector: unit length, as `real[]`, with the model that made it.
 *
 * Search is hybrid: the passages nearest the query's vector and those that best match its words
 * (full text, with a substring fallback), under the same tag and time filters, fused by
 * reciprocal rank (RRF: score = Σ 1/(60 + rank) over the lists a passage is in). Where the
 * `vector` extension exists (PGlite in `memloom dev`, the pgvector image of docker-compose), the
 * vector list comes from a partial HNSW cosine index per dimension (migration 013 makes them,
 * `memloom_ensure_passage_index`); without it, from an exact scan (`memloom_dot`).
 * @module
 */
import pg from 'pg';
import { IdPrefix, newId } from '../domain/ids.ts';
import { ValidationError, type FieldIssue } from '../domain/errors.ts';
import { textProblem } from '../domain/validation.ts';
import { pageClauses, type CursorPage } from './cursor-page.ts';
import { withTransaction, type Queryable } from './pool.ts';

export interface Passage {
  id: string;
  agent_id: string;
  text: string;
  tags: string[];
  created_at: Date;
  /** The model of the passage's vector; null when it has none. */
  embedding_model: string | null;
  /** Set by {@link searchPassages}: the fused score, Σ 1/(60 + rank) over the lists it is in. */
  score?: number;
}

/** A passage found by {@link searchPassages}. */
export type ScoredPassage = Passage & { score: number };

/** A passage to insert with {@link insertPassages}. */
export interface NewPassage {
  text: string;
  tags: string[];
  /** What wrote it (a tool call, a chunk of a file): a second insert with the same key is a no-op. */
  sourceKey: string;
  /** As the endpoint returned it (normalized here), or null for an agent without an embedding_config. */
  embedding: number[] | null;
  /** The model that made `embedding`; null with it. */
  embeddingModel: string | null;
}

/** How vector search runs in a database: over pgvector HNSW indexes, or as an exact scan. */
export type VectorSearchMode = 'hnsw' | 'exact';

/** The RRF constant: ranks past the first few count little, whichever list they come from. */
export const RRF_K = 60;
/** Rows of one INSERT or UPDATE statement (7 parameters each, well under PostgreSQL's 65,535). */
const ROWS_PER_STATEMENT = 1000;
const COLUMNS = 'id, agent_id, text, tags, created_at, embedding_model';

/** The passage's vector as the index and the search compare it (see migration 013). */
type VectorPlan = { kind: 'pgvector'; type: 'vector' | 'halfvec'; indexed: boolean } | { kind: 'exact' };

/**
 * pgvector's HNSW indexes `vector` up to 2,000 dimensions and `halfvec` up to 4,000; `vector`
 * itself holds 16,000. The same thresholds as `memloom_ensure_passage_index`.
 */
function vectorPlan(dim: number, pgvector: boolean): VectorPlan {
  if (!pgvector || dim > 16_000) return { kind: 'exact' };
  if (dim <= 2000) return { kind: 'pgvector', type: 'vector', indexed: true };
  if (dim <= 4000) return { kind: 'pgvector', type: 'halfvec', indexed: true };
  return { kind: 'pgvector', type: 'vector', indexed: false };
}

/**
 * `v` scaled to unit length, so cosine similarity is a dot product. A ValidationError when `v`
 * is empty, has a number that is not finite, or is all zeros (it has no direction).
 *
 * @example
 * ```ts
 * normalizeVector([3, 4]); // [0.6, 0.8]
 * ```
 */
export function normalizeVector(v: readonly number[]): number[] {
  const problem = vectorProblem(v);
  if (problem) throw new ValidationError([{ path: 'embedding', message: problem }], 'embedding');
  const norm = Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
  return v.map((x) => x / norm);
}

function vectorProblem(v: unknown): string | undefined {
  if (!Array.isArray(v) || v.length === 0) return 'must be a non-empty list of numbers';
  if (!v.every((x) => typeof x === 'number' && Number.isFinite(x))) return 'must contain only finite numbers';
  if (v.every((x) => x === 0)) return 'must not be all zeros: a zero vector has no direction';
  return undefined;
}

/** Whether this database has pgvector (then HNSW indexes), and whether it scans iteratively (0.8+). */
async function pgvectorSupport(db: Queryable): Promise<{ installed: boolean; iterativeScan: boolean }> {
  const { rows } = await db.query<{ extversion: string }>(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`);
  const version = rows[0]?.extversion;
  if (version === undefined) return { installed: false, iterativeScan: false };
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return { installed: true, iterativeScan: major > 0 || minor >= 8 };
}

/**
 * How vector search runs in `db`: `hnsw` where the pgvector extension is installed (an HNSW
 * index per dimension, up to 4,000), else `exact` (a scan of the agent's passages). The worker
 * says so once at start; the benchmark names it.
 */
export async function vectorSearchMode(db: Queryable): Promise<VectorSearchMode> {
  return (await pgvectorSupport(db)).installed ? 'hnsw' : 'exact';
}

/** A row to write: validated, its vector normalized. */
interface PassageRow {
  id: string;
  text: string;
  tags: string[];
  sourceKey: string | null;
  embedding: number[] | null;
  embeddingModel: string | null;
}

/** Checks the passages (text, tags, one vector dimension) and normalizes their vectors; a ValidationError naming each bad field. */
function checkedRows(passages: readonly (Omit<NewPassage, 'sourceKey'> & { sourceKey: string | null })[]): PassageRow[] {
  const issues: FieldIssue[] = [];
  const issue = (i: number, field: string, message: string): void => void issues.push({ path: `passages.${i}.${field}`, message });
  const firstDim = passages.find((p) => Array.isArray(p.embedding))?.embedding?.length;
  passages.forEach((p, i) => {
    const textIssue = typeof p.text !== 'string' ? 'must be a string' : p.text.trim() === '' ? 'must not be empty' : textProblem(p.text);
    if (textIssue) issue(i, 'text', textIssue);
    if (!Array.isArray(p.tags) || !p.tags.every((t) => typeof t === 'string' && textProblem(t) === undefined)) issue(i, 'tags', 'must be a list of strings');
    if (p.sourceKey !== null && (typeof p.sourceKey !== 'string' || p.sourceKey === '')) issue(i, 'sourceKey', 'must be a non-empty string');
    if ((p.embedding === null) !== (p.embeddingModel === null)) issue(i, 'embeddingModel', 'must be given with an embedding, and only then');
    if (p.embedding === null) return;
    const problem = vectorProblem(p.embedding);
    if (problem) issue(i, 'embedding', problem);
    else if (p.embedding.length !== firstDim) {
      issue(i, 'embedding', `has ${p.embedding.length} dimensions, the first vector ${firstDim}: one insert takes vectors of one dimension`);
    }
  });
  if (issues.length > 0) throw new ValidationError(issues, 'passages');
  return passages.map((p) => ({
    id: newId(IdPrefix.Passage),
    text: p.text,
    tags: p.tags,
    sourceKey: p.sourceKey,
    embedding: p.embedding && normalizeVector(p.embedding),
    embeddingModel: p.embeddingModel,
  }));
}

/** Makes the HNSW index of `dim` when pgvector can (a no-op once it exists); see migration 013. */
async function ensureIndex(db: Queryable, dim: number): Promise<void> {
  await db.query('SELECT memloom_ensure_passage_index($1)', [dim]);
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}

async function insertRows(db: Queryable, agentId: string, rows: readonly PassageRow[]): Promise<Passage[]> {
  if (rows.length === 0) return [];
  const dim = rows.find((r) => r.embedding !== null)?.embedding?.length;
  // before the INSERT: CREATE INDEX after this transaction's own writes could deadlock with another's
  if (dim !== undefined) await ensureIndex(db, dim);
  const byKey = new Map<string, Passage>();
  const byId = new Map<string, Passage>();
  for (const chunk of chunks(rows, ROWS_PER_STATEMENT)) {
    const params: unknown[] = [];
    const values = chunk.map((r) => {
      const n = params.push(r.id, agentId, r.text, r.tags, r.sourceKey, r.embedding, r.embeddingModel);
      return `($${n - 6}, $${n - 5}, $${n - 4}, $${n - 3}::text[], $${n - 2}, $${n - 1}::real[], $${n})`;
    });
    const { rows: inserted } = await db.query<Passage & { source_key: string | null }>(
      `INSERT INTO passages (id, agent_id, text, tags, source_key, embedding, embedding_model) VALUES ${values.join(', ')}
       ON CONFLICT (source_key) DO NOTHING
       RETURNING ${COLUMNS}, source_key`,
      params,
    );
    for (const { source_key, ...passage } of inserted) {
      if (source_key !== null) byKey.set(source_key, passage);
      byId.set(passage.id, passage);
    }
  }
  const existing = [...new Set(rows.flatMap((r) => (r.sourceKey !== null && !byKey.has(r.sourceKey) ? [r.sourceKey] : [])))];
  if (existing.length > 0) {
    const found = await db.query<Passage & { source_key: string }>(`SELECT ${COLUMNS}, source_key FROM passages WHERE source_key = ANY($1)`, [existing]);
    for (const { source_key, ...passage } of found.rows) byKey.set(source_key, passage);
  }
  return rows.map((r) => (r.sourceKey !== null ? byKey.get(r.sourceKey) : byId.get(r.id))!);
}

/**
 * Inserts passages of one agent: one multi-row INSERT (per 1,000 rows), idempotent by
 * `sourceKey` (a passage whose key exists is not inserted again), returning the rows — existing
 * ones too — in input order. A ValidationError, before anything is written, for an empty text,
 * a vector without its model (or the reverse), or vectors of different dimensions. Makes the
 * HNSW index of the vectors' dimension first where pgvector exists. In a transaction, call it
 * before anything else writes `passages` (creating an index locks the table).
 *
 * @example
 * ```ts
 * const [passage] = await insertPassages(db, agent.id, [
 *   { text: 'Alice sails on weekends.', tags: ['hobby'], sourceKey: 'import/notes.md#0', embedding: vector, embeddingModel: 'text-embedding-3-small' },
 * ]);
 * ```
 */
export async function insertPassages(db: Queryable, agentId: string, passages: readonly NewPassage[]): Promise<Passage[]> {
  return insertRows(db, agentId, checkedRows(passages));
}

/** Inserts one passage; with a `sourceKey`, a second insert with the same key is a no-op returning the first. */
export async function insertPassage(
  db: Queryable,
  p: {
    agentId: string;
    text: string;
    tags: string[];
    sourceKey?: string | undefined;
    embedding?: number[] | null | undefined;
    embeddingModel?: string | null | undefined;
  },
): Promise<Passage> {
  const [row] = checkedRows([{ text: p.text, tags: p.tags, sourceKey: p.sourceKey ?? null, embedding: p.embedding ?? null, embeddingModel: p.embeddingModel ?? null }]);
  const [passage] = await insertRows(db, p.agentId, [row!]);
  return passage!;
}

/**
 * Overwrites the vectors of passages (after an embedding model change: `memloom archival
 * reembed`), normalized; ids that do not exist (any more) are skipped. Makes the HNSW index of
 * each new dimension first where pgvector exists.
 */
export async function setPassageEmbeddings(
  db: Queryable,
  rows: readonly { id: string; embedding: number[]; embeddingModel: string }[],
): Promise<void> {
  const issues: FieldIssue[] = [];
  rows.forEach((r, i) => {
    const problem = vectorProblem(r.embedding);
    if (problem) issues.push({ path: `rows.${i}.embedding`, message: problem });
    if (typeof r.embeddingModel !== 'string' || r.embeddingModel === '') issues.push({ path: `rows.${i}.embeddingModel`, message: 'must be a non-empty string' });
  });
  if (issues.length > 0) throw new ValidationError(issues, 'passage embeddings');
  for (const dim of new Set(rows.map((r) => r.embedding.length))) await ensureIndex(db, dim);
  for (const chunk of chunks(rows, ROWS_PER_STATEMENT)) {
    const params: unknown[] = [];
    const values = chunk.map((r) => {
      const n = params.push(r.id, normalizeVector(r.embedding), r.embeddingModel);
      return `($${n - 2}, $${n - 1}::real[], $${n})`;
    });
    await db.query(
      `UPDATE passages p SET embedding = v.embedding, embedding_model = v.model
       FROM (VALUES ${values.join(', ')}) AS v (id, embedding, model) WHERE p.id = v.id`,
      params,
    );
  }
}

export interface PassageSearch {
  query: string;
  tags?: string[] | undefined;
  tagMatchMode?: 'any' | 'all' | undefined;
  topK: number;
  start?: Date | undefined;
  end?: Date | undefined;
}

/** The query's vector, for the vector half of a hybrid search. */
export interface PassageVectorQuery {
  /** The query embedded with the agent's embedding_config; null or absent: full text only. */
  embedding?: number[] | null | undefined;
  /** Only passages embedded by this model take part in the vector list (after a model change, until reembedded). @default any */
  embeddingModel?: string | null | undefined;
}

/** Candidates each list contributes to the fusion. */
export function candidatesFor(topK: number): number {
  return Math.max(50, 5 * topK);
}

/** The tag and time filters, from parameter `$n` on: tags (null: any), `any` or `all`, start, end. */
function filtersSql(n: number): string {
  const [tags, mode, start, end] = [n, n + 1, n + 2, n + 3].map((i) => `$${i}`);
  return `AND (${tags}::text[] IS NULL OR (CASE WHEN ${mode} = 'all' THEN tags @> ${tags} ELSE tags && ${tags} END))
       AND (${start}::timestamptz IS NULL OR created_at >= ${start}) AND (${end}::timestamptz IS NULL OR created_at <= ${end})`;
}

/** HNSW's search list (`hnsw.ef_search`, pgvector's default 40, at most 1000): twice the candidates. */
function efSearchFor(candidates: number): number {
  return Math.min(Math.max(100, 2 * candidates), 1000);
}

/** The vector list's distance expression: over the index's own expression, or the exact scan. */
function distanceSql(plan: VectorPlan, dim: number): string {
  if (plan.kind === 'exact') return '1 - memloom_dot(embedding, $10::real[])';
  const type = `${plan.type}(${dim})`;
  return `(embedding::${type}) <=> ($10::real[]::${type})`;
}

/**
 * The hybrid search statement. `$1` agent, `$2` query, `$3` its ILIKE pattern, `$4`..`$7` tag
 * and time filters, `$8` candidates per list, `$9` topK; with a vector, `$10` it and `$11` its model.
 */
function hybridSql(vector: { plan: VectorPlan; dim: number } | null): string {
  const filters = filtersSql(4);
  const fts = `SELECT id, row_number() OVER (ORDER BY r DESC, created_at DESC, id) AS rank FROM (
      SELECT id, created_at, ts_rank(tsv, websearch_to_tsquery('english', $2)) AS r FROM passages
      WHERE agent_id = $1 AND (tsv @@ websearch_to_tsquery('english', $2) OR text ILIKE '%' || $3 || '%')
       ${filters}
      ORDER BY r DESC, created_at DESC, id LIMIT $8) AS f`;
  // ORDER BY the distance alone, so the planner can read it from the HNSW index; ranks re-sort
  // (an iterative scan in relaxed order may return neighbours slightly out of order)
  const vec = vector
    ? `, vec AS (SELECT id, row_number() OVER (ORDER BY dist, id) AS rank FROM (
      SELECT id, ${distanceSql(vector.plan, vector.dim)} AS dist FROM passages
      WHERE agent_id = $1 AND embedding_dim = ${vector.dim} AND ($11::text IS NULL OR embedding_model = $11)
       ${filters}
      ORDER BY dist LIMIT $8) AS v)`
    : '';
  return `WITH fts AS (${fts})${vec},
    fused AS (SELECT id, sum(1.0 / (${RRF_K} + rank))::float8 AS score
      FROM (SELECT id, rank FROM fts${vector ? ' UNION ALL SELECT id, rank FROM vec' : ''}) AS lists GROUP BY id)
    SELECT ${COLUMNS.split(', ').map((c) => `p.${c}`).join(', ')}, f.score
    FROM fused f JOIN passages p USING (id)
    ORDER BY f.score DESC, p.created_at DESC, p.id LIMIT $9`;
}

/**
 * Hybrid search of one agent's archival memory: the `max(50, 5 × topK)` passages nearest
 * `s.embedding` (of the same dimension and, when given, model) and as many best full-text
 * matches of `s.query` (ranked websearch syntax, else a substring), both under the tag and time
 * filters, fused by RRF; best first, each with its score. Passages without a vector take part in
 * the full-text list only; without `s.embedding` the search is full text only.
 *
 * With pgvector the vector list is read from the HNSW index, which needs settings for the
 * transaction: a pool runs the search in one; a client must be inside a transaction already.
 */
export async function searchPassages(db: Queryable, agentId: string, s: PassageSearch & PassageVectorQuery): Promise<ScoredPassage[]> {
  const tags = s.tags && s.tags.length > 0 ? s.tags : null;
  const candidates = candidatesFor(s.topK);
  const params: unknown[] = [agentId, s.query, s.query.replace(/[\\%_]/g, (c) => `\\${c}`), tags, s.tagMatchMode ?? 'any', s.start ?? null, s.end ?? null, candidates, s.topK];
  if (!s.embedding) return (await db.query<ScoredPassage>(hybridSql(null), params)).rows;

  const embedding = normalizeVector(s.embedding);
  const support = await pgvectorSupport(db);
  const plan = vectorPlan(embedding.length, support.installed);
  const sql = hybridSql({ plan, dim: embedding.length });
  params.push(embedding, s.embeddingModel ?? null);
  if (plan.kind === 'exact' || !plan.indexed) return (await db.query<ScoredPassage>(sql, params)).rows;

  const search = async (q: Queryable): Promise<ScoredPassage[]> => {
    // the index must yield every candidate: a search list twice as long (recall), and (0.8+) an
    // iterative scan that goes on past neighbours the filters (agent, model, tags, time) drop
    await q.query(
      `SELECT set_config('hnsw.ef_search', $1, true)${support.iterativeScan ? `, set_config('hnsw.iterative_scan', 'relaxed_order', true)` : ''}`,
      [String(efSearchFor(candidates))],
    );
    return (await q.query<ScoredPassage>(sql, params)).rows;
  };
  return db instanceof pg.Pool ? withTransaction(db, search) : search(db);
}

/** The newest passages of an agent, under the tag and time filters of a search. */
export async function listPassages(db: Queryable, agentId: string, limit: number, filters: Omit<PassageSearch, 'query' | 'topK'> = {}): Promise<Passage[]> {
  const tags = filters.tags && filters.tags.length > 0 ? filters.tags : null;
  const { rows } = await db.query<Passage>(
    `SELECT ${COLUMNS} FROM passages WHERE agent_id = $1 ${filtersSql(2)}
     ORDER BY created_at DESC, id LIMIT $6`,
    [agentId, tags, filters.tagMatchMode ?? 'any', filters.start ?? null, filters.end ?? null, limit],
  );
  return rows;
}

/**
 * A cursor page of an agent's passages by creation time (Letta's `GET .../archival-memory`):
 * `before` and `after` are passage ids of this agent; `search` keeps the passages whose text
 * contains it (case-insensitive).
 */
export async function pagePassages(db: Queryable, agentId: string, page: CursorPage & { search?: string | undefined }): Promise<Passage[]> {
  const p = pageClauses(page, { table: 'passages', columns: 'created_at, id', cursorColumns: 'created_at, id', cursorScope: 'agent_id = $1' }, 3);
  const search = page.search === undefined || page.search === '' ? null : page.search.replace(/[\\%_]/g, (c) => `\\${c}`);
  const { rows } = await db.query<Passage>(
    `SELECT ${COLUMNS} FROM passages WHERE agent_id = $1 AND ($2::text IS NULL OR text ILIKE '%' || $2 || '%') ${p.where}
     ${p.orderLimit}`,
    [agentId, search, ...p.params],
  );
  return p.reversed ? rows.reverse() : rows;
}

/** Deletes one passage of the agent; false when it has none with this id. */
export async function deletePassage(db: Queryable, agentId: string, passageId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM passages WHERE agent_id = $1 AND id = $2', [agentId, passageId]);
  return (rowCount ?? 0) > 0;
}
