/**
 * Archival imports (a document chunked into passages) and re-embedding (every passage's vector
 * recomputed after an embedding model change): the workflows' ids, inputs, outputs and limits,
 * shared by the workflows, their activities and the client. Pure: importable by workflows.
 *
 * Workflow history holds ids and counters only, never passage text: the client stages an
 * import's chunks in Postgres (`archival_import_chunks`), the activities read them there.
 * @module
 */

export const ARCHIVAL_IMPORT_WORKFLOW_TYPE = 'archivalImportWorkflow';
export const ARCHIVAL_REEMBED_WORKFLOW_TYPE = 'archivalReembedWorkflow';

/** `archival-import/<importId>`: one workflow per import, so the same import started twice is one. */
export function archivalImportWorkflowId(importId: string): string {
  return `archival-import/${importId}`;
}

/** `archival-reembed/<agentId>`: one re-embedding per agent at a time. */
export function archivalReembedWorkflowId(agentId: string): string {
  return `archival-reembed/${agentId}`;
}

/** The largest document an import takes: 10 MiB of UTF-8 text. */
export const MAX_IMPORT_BYTES = 10 * 1024 * 1024;

/** The most chunks one import may make (a tiny chunk size over a large file): its workflow history stays small. */
export const MAX_IMPORT_CHUNKS = 50_000;

/** Chunks embedded by one activity (one or two embedding requests). */
export const IMPORT_EMBED_BATCH = 64;

/** Embedding activities of one import running at once. */
export const IMPORT_EMBED_CONCURRENCY = 4;

/** Passages re-embedded by one activity, unless the caller says otherwise; each batch commits on its own. */
export const DEFAULT_REEMBED_BATCH = 100;
export const MAX_REEMBED_BATCH = 1000;

/** Batches one re-embedding run goes through before it continues as new (or earlier, when Temporal suggests it). */
export const REEMBED_BATCHES_PER_RUN = 200;

export const ArchivalImportStatus = {
  /** Staged; being embedded or committed. */
  Running: 'running',
  /** Every chunk is a passage. */
  Done: 'done',
  /** Embedding or committing failed for good: nothing reached `passages`, the staged chunks are gone. */
  Failed: 'failed',
} as const;
export type ArchivalImportStatus = (typeof ArchivalImportStatus)[keyof typeof ArchivalImportStatus];

export interface ArchivalImportWorkflowInput {
  importId: string;
}

/** What the import workflow needs to know of its import, from Postgres. */
export interface ArchivalImportPlan {
  agentId: string;
  agentName: string;
  status: ArchivalImportStatus;
  totalChunks: number;
  embeddedChunks: number;
  /** The model that embeds the chunks; null: the agent has no `embedding_config` (passages without vectors). */
  embeddingModel: string | null;
  /** Passages the import inserted, once done. */
  insertedPassages: number | null;
}

/** Chunks `from` (inclusive) to `to` (exclusive) of an import, by index. */
export interface ImportChunkRange {
  importId: string;
  from: number;
  to: number;
}

export interface ArchivalImportCommit {
  /** Passages this import added (0 when an earlier run of it had added them). */
  insertedPassages: number;
}

/** What the import workflow returns. */
export interface ArchivalImportResult {
  importId: string;
  agentId: string;
  chunks: number;
  insertedPassages: number;
  embeddingModel: string | null;
}

/** The import workflow's live progress (its query). */
export interface ArchivalImportProgress {
  importId: string;
  state: 'embedding' | 'committing' | 'done' | 'failed' | 'cancelled';
  totalChunks: number;
  embeddedChunks: number;
}

export interface ArchivalReembedWorkflowInput {
  agentId: string;
  /** Passages a batch. @default {@link DEFAULT_REEMBED_BATCH} */
  batchSize?: number;
  /** Counts of the runs before this one (continue-as-new). */
  counts?: ArchivalReembedCounts;
  run?: number;
}

export interface ArchivalReembedCounts {
  /** Passages embedded again by this re-embedding so far. */
  reembedded: number;
  /** Passages whose vector was already from the agent's embedding model when it started. */
  alreadyCurrent: number;
}

/** What a re-embedding starts from. */
export interface ArchivalReembedPlan extends ArchivalReembedCounts {
  /** Passages without a vector of the agent's current model. */
  stale: number;
  embeddingModel: string;
}

export interface ReembedBatchResult {
  reembedded: number;
  /** Passages still without a vector of the agent's current model. */
  remaining: number;
  embeddingModel: string;
}

/** What the re-embedding workflow returns. */
export interface ArchivalReembedResult extends ArchivalReembedCounts {
  agentId: string;
  embeddingModel: string;
  /** Workflow runs (continue-as-new) it took. */
  runs: number;
}

/** The re-embedding workflow's live progress (its query). */
export interface ArchivalReembedProgress extends ArchivalReembedCounts {
  agentId: string;
  state: 'running' | 'done';
  remaining: number | null;
  run: number;
}
