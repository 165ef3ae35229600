/**
 * Archival imports: `archival_imports` and the chunks staged in `archival_import_chunks` until
 * the import workflow commits them to `passages` (see migration 014).
 * @module
 */
import { ArchivalImportStatus } from '../domain/archival.ts';
import type { Queryable } from './pool.ts';

export interface ArchivalImportRecord {
  id: string;
  agentId: string;
  status: ArchivalImportStatus;
  source: string | null;
  contentSha256: string;
  bytes: number;
  chunkSize: number;
  chunkOverlap: number;
  totalChunks: number;
  embeddedChunks: number;
  embeddingModel: string | null;
  tags: string[];
  insertedPassages: number | null;
  errorType: string | null;
  error: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

interface ImportRow {
  id: string;
  agent_id: string;
  status: ArchivalImportStatus;
  source: string | null;
  content_sha256: string;
  bytes: number;
  chunk_size: number;
  chunk_overlap: number;
  total_chunks: number;
  embedded_chunks: number;
  embedding_model: string | null;
  tags: string[];
  inserted_passages: number | null;
  error_type: string | null;
  error: string | null;
  created_at: Date;
  finished_at: Date | null;
}

function toRecord(r: ImportRow): ArchivalImportRecord {
  return {
    id: r.id,
    agentId: r.agent_id,
    status: r.status,
    source: r.source,
    contentSha256: r.content_sha256,
    bytes: r.bytes,
    chunkSize: r.chunk_size,
    chunkOverlap: r.chunk_overlap,
    totalChunks: r.total_chunks,
    embeddedChunks: r.embedded_chunks,
    embeddingModel: r.embedding_model,
    tags: r.tags,
    insertedPassages: r.inserted_passages,
    errorType: r.error_type,
    error: r.error,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}

/** An import to stage: its settings and its chunks, in order. */
export interface NewArchivalImport {
  id: string;
  agentId: string;
  source: string | null;
  contentSha256: string;
  bytes: number;
  chunkSize: number;
  chunkOverlap: number;
  embeddingModel: string | null;
  tags: string[];
  chunks: readonly string[];
}

/**
 * Stages an import and its chunks (call inside a transaction). An import that exists and has
 * not failed is left as it is (`staged: false`: running, or done); a failed one is staged again.
 */
export async function stageImport(tx: Queryable, imp: NewArchivalImport): Promise<{ record: ArchivalImportRecord; staged: boolean }> {
  const values = [imp.id, imp.agentId, imp.source, imp.contentSha256, imp.bytes, imp.chunkSize, imp.chunkOverlap, imp.chunks.length, imp.embeddingModel, imp.tags];
  const inserted = await tx.query<ImportRow>(
    `INSERT INTO archival_imports (id, agent_id, source, content_sha256, bytes, chunk_size, chunk_overlap, total_chunks, embedding_model, tags)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (id) DO NOTHING RETURNING *`,
    values,
  );
  let row = inserted.rows[0];
  if (!row) {
    const existing = (await tx.query<ImportRow>('SELECT * FROM archival_imports WHERE id = $1 FOR UPDATE', [imp.id])).rows[0]!;
    if (existing.status !== ArchivalImportStatus.Failed) return { record: toRecord(existing), staged: false };
    row = (
      await tx.query<ImportRow>(
        `UPDATE archival_imports SET status = 'running', source = $3, embedding_model = $9, tags = $10, total_chunks = $8,
           embedded_chunks = 0, inserted_passages = NULL, error_type = NULL, error = NULL, created_at = now(), finished_at = NULL
         WHERE id = $1 AND agent_id = $2 AND content_sha256 = $4 AND bytes = $5 AND chunk_size = $6 AND chunk_overlap = $7
         RETURNING *`,
        values,
      )
    ).rows[0]!;
    await tx.query('DELETE FROM archival_import_chunks WHERE import_id = $1', [imp.id]);
  }
  await tx.query(
    `INSERT INTO archival_import_chunks (import_id, idx, text)
     SELECT $1, c.ordinality - 1, c.text FROM unnest($2::text[]) WITH ORDINALITY AS c (text, ordinality)`,
    [imp.id, imp.chunks],
  );
  return { record: toRecord(row), staged: true };
}

export async function findImport(db: Queryable, id: string): Promise<ArchivalImportRecord | null> {
  const { rows } = await db.query<ImportRow>('SELECT * FROM archival_imports WHERE id = $1', [id]);
  return rows[0] ? toRecord(rows[0]) : null;
}

/** The import, locked until the transaction ends. */
export async function lockImport(tx: Queryable, id: string): Promise<ArchivalImportRecord | null> {
  const { rows } = await tx.query<ImportRow>('SELECT * FROM archival_imports WHERE id = $1 FOR UPDATE', [id]);
  return rows[0] ? toRecord(rows[0]) : null;
}

export interface StagedChunk {
  idx: number;
  text: string;
  embedding: number[] | null;
  embeddingModel: string | null;
}

/** The chunks of indexes `from` to `to` (exclusive) that have no vector yet. */
export async function unembeddedChunks(db: Queryable, importId: string, from: number, to: number): Promise<{ idx: number; text: string }[]> {
  const { rows } = await db.query<{ idx: number; text: string }>(
    'SELECT idx, text FROM archival_import_chunks WHERE import_id = $1 AND idx >= $2 AND idx < $3 AND embedding IS NULL ORDER BY idx',
    [importId, from, to],
  );
  return rows;
}

/**
 * Stores vectors of staged chunks (only of those still without one, so a retried batch counts
 * once) and adds the chunks newly embedded to the import's `embedded_chunks`; their number.
 */
export async function storeChunkEmbeddings(
  db: Queryable,
  importId: string,
  rows: readonly { idx: number; embedding: readonly number[]; embeddingModel: string }[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const { rows: result } = await db.query<{ n: number }>(
    `WITH v AS (
       SELECT * FROM unnest($2::int[], $3::text[], $4::text[]) AS v (idx, embedding, model)
     ), stored AS (
       UPDATE archival_import_chunks c SET embedding = v.embedding::real[], embedding_model = v.model
       FROM v WHERE c.import_id = $1 AND c.idx = v.idx AND c.embedding IS NULL
       RETURNING 1
     )
     UPDATE archival_imports SET embedded_chunks = embedded_chunks + (SELECT count(*) FROM stored)
     WHERE id = $1
     RETURNING (SELECT count(*)::int FROM stored) AS n`,
    [importId, rows.map((r) => r.idx), rows.map((r) => `{${r.embedding.join(',')}}`), rows.map((r) => r.embeddingModel)],
  );
  return result[0]?.n ?? 0;
}

/** Up to `limit` staged chunks after index `after`, in order. */
export async function chunkPage(db: Queryable, importId: string, after: number, limit: number): Promise<StagedChunk[]> {
  const { rows } = await db.query<{ idx: number; text: string; embedding: number[] | null; embedding_model: string | null }>(
    'SELECT idx, text, embedding, embedding_model FROM archival_import_chunks WHERE import_id = $1 AND idx > $2 ORDER BY idx LIMIT $3',
    [importId, after, limit],
  );
  return rows.map((r) => ({ idx: r.idx, text: r.text, embedding: r.embedding, embeddingModel: r.embedding_model }));
}

/** Marks the import done with the passages it inserted, and drops its staged chunks. */
export async function finishImport(tx: Queryable, importId: string, insertedPassages: number): Promise<void> {
  await tx.query(
    "UPDATE archival_imports SET status = 'done', inserted_passages = $2, error_type = NULL, error = NULL, finished_at = now() WHERE id = $1",
    [importId, insertedPassages],
  );
  await tx.query('DELETE FROM archival_import_chunks WHERE import_id = $1', [importId]);
}

/** Marks the import failed with why, and drops its staged chunks; an import already done stays done. */
export async function failImport(tx: Queryable, importId: string, errorType: string, error: string): Promise<void> {
  await tx.query(
    "UPDATE archival_imports SET status = 'failed', error_type = $2, error = $3, finished_at = now() WHERE id = $1 AND status <> 'done'",
    [importId, errorType, error],
  );
  await tx.query('DELETE FROM archival_import_chunks WHERE import_id = $1', [importId]);
}

/** How many of `sourceKeys` are passages already. */
export async function countPassagesWithKeys(db: Queryable, sourceKeys: readonly string[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM passages WHERE source_key = ANY($1::text[])', [sourceKeys]);
  return rows[0]?.n ?? 0;
}

/** `<importId>:<idx>`: the source key of an import's chunk as a passage, so a retried commit inserts it once. */
export function importSourceKey(importId: string, idx: number): string {
  return `${importId}:${idx}`;
}
