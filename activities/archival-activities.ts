/**
 * Activities of archival imports and re-embedding. They take ids and index ranges and return
 * counters: the text lives in Postgres (staged chunks, passages), never in workflow history.
 *
 * - an import: `planArchivalImport`, `embedArchivalImportBatch` (a range of staged chunks; only
 *   those without a vector, so a retry embeds nothing twice), then one `commitArchivalImport`
 *   that inserts every chunk as a passage in one transaction — or `failArchivalImport`, which
 *   drops the staged chunks: nothing half-inserted;
 * - a re-embedding: `planArchivalReembed`, then `reembedArchivalBatch` until no passage is left
 *   without a vector of the agent's current model; each batch commits on its own.
 * @module
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { AgentRecord } from '../src/db/agent-store.ts';
import {
  chunkPage,
  countPassagesWithKeys,
  failImport,
  finishImport,
  findImport,
  importSourceKey,
  lockImport,
  storeChunkEmbeddings,
  unembeddedChunks,
  type ArchivalImportRecord,
} from '../src/db/archival-import-store.ts';
import { insertPassages, setPassageEmbeddings } from '../src/db/passage-store.ts';
import { withTransaction } from '../src/db/pool.ts';
import { countStalePassages, stalePassages } from '../src/db/reembed-store.ts';
import {
  ArchivalImportStatus,
  type ArchivalImportCommit,
  type ArchivalImportPlan,
  type ArchivalReembedPlan,
  type ImportChunkRange,
  type ReembedBatchResult,
} from '../src/domain/archival.ts';
import { ActivityFailureType } from '../src/domain/errors.ts';
import type { EmbeddingConfig } from '../src/domain/llm-config.ts';
import { embedTexts, EmbeddingError } from '../src/llm/embeddings.ts';
import { loadAgentOrFail, type ActivityDeps } from './activity-deps.ts';
import { embeddingFailure } from './failure-boundary.ts';

/** Staged chunks read and inserted as passages at a time, inside the commit's transaction. */
const COMMIT_PAGE = 500;

/** The agent's embedding_config; a non-retryable ConfigError naming it when the agent has none. */
function embeddingConfigOf(agent: AgentRecord): EmbeddingConfig {
  if (agent.embedding_config) return agent.embedding_config;
  throw ApplicationFailure.nonRetryable(
    `agent ${agent.name} has no embedding_config: set one with memloom agent update ${agent.name} --embedding MODEL`,
    ActivityFailureType.ConfigError,
  );
}

export function createArchivalActivities(deps: ActivityDeps) {
  const { db, models } = deps;

  async function requireImport(importId: string): Promise<ArchivalImportRecord> {
    const found = await findImport(db, importId);
    if (!found) throw ApplicationFailure.nonRetryable(`no archival import ${importId}`, ActivityFailureType.InvalidPayload);
    return found;
  }

  /** Embeds `texts` with the agent's config, heartbeating after each request; typed failures. */
  async function embed(config: EmbeddingConfig, texts: readonly string[]): Promise<number[][]> {
    const ctx = Context.current();
    try {
      const { vectors } = await embedTexts(models, config, texts, { signal: ctx.cancellationSignal, onProgress: (done) => ctx.heartbeat(done) });
      return vectors;
    } catch (error) {
      if (error instanceof EmbeddingError && !ctx.cancellationSignal.aborted) throw embeddingFailure(error);
      throw error;
    }
  }

  /** The import as the workflow needs it: its agent, its counts, its model (null: no vectors). */
  async function planArchivalImport(input: { importId: string }): Promise<ArchivalImportPlan> {
    const imp = await requireImport(input.importId);
    const agent = await loadAgentOrFail(db, imp.agentId);
    return {
      agentId: agent.id,
      agentName: agent.name,
      status: imp.status,
      totalChunks: imp.totalChunks,
      embeddedChunks: imp.embeddedChunks,
      embeddingModel: imp.embeddingModel,
      insertedPassages: imp.insertedPassages,
    };
  }

  /** Embeds the staged chunks of a range that have no vector yet; how many it embedded. */
  async function embedArchivalImportBatch(input: ImportChunkRange): Promise<{ embedded: number }> {
    const imp = await requireImport(input.importId);
    if (imp.status !== ArchivalImportStatus.Running) return { embedded: 0 };
    const chunks = await unembeddedChunks(db, imp.id, input.from, input.to);
    if (chunks.length === 0) return { embedded: 0 };
    const config = embeddingConfigOf(await loadAgentOrFail(db, imp.agentId));
    const vectors = await embed(
      config,
      chunks.map((c) => c.text),
    );
    const embedded = await storeChunkEmbeddings(
      db,
      imp.id,
      chunks.map((c, i) => ({ idx: c.idx, embedding: vectors[i]!, embeddingModel: config.embedding_model })),
    );
    return { embedded };
  }

  /**
   * Inserts every staged chunk as a passage (source key `<importId>:<idx>`, the import's tags, its
   * vector) in one transaction, marks the import done and drops the staged chunks. A retry after
   * a lost completion finds the import done and inserts nothing.
   */
  async function commitArchivalImport(input: { importId: string }): Promise<ArchivalImportCommit> {
    const ctx = Context.current();
    return withTransaction(db, async (tx) => {
      const imp = await lockImport(tx, input.importId);
      if (!imp) throw ApplicationFailure.nonRetryable(`no archival import ${input.importId}`, ActivityFailureType.InvalidPayload);
      if (imp.status === ArchivalImportStatus.Done) return { insertedPassages: imp.insertedPassages ?? 0 };
      if (imp.status === ArchivalImportStatus.Failed) {
        throw ApplicationFailure.nonRetryable(`archival import ${imp.id} failed before its commit: ${imp.error ?? 'unknown reason'}`, imp.errorType ?? 'ImportFailed');
      }
      let inserted = 0;
      let seen = 0;
      for (let after = -1; ; ) {
        const page = await chunkPage(tx, imp.id, after, COMMIT_PAGE);
        if (page.length === 0) break;
        const missing = imp.embeddingModel !== null ? page.find((c) => c.embedding === null) : undefined;
        if (missing) throw ApplicationFailure.nonRetryable(`chunk ${missing.idx} of archival import ${imp.id} has no vector`, ActivityFailureType.InternalError);
        const keys = page.map((c) => importSourceKey(imp.id, c.idx));
        const existing = await countPassagesWithKeys(tx, keys);
        await insertPassages(
          tx,
          imp.agentId,
          page.map((c, i) => ({ text: c.text, tags: imp.tags, sourceKey: keys[i]!, embedding: c.embedding, embeddingModel: c.embedding === null ? null : c.embeddingModel })),
        );
        inserted += page.length - existing;
        seen += page.length;
        after = page.at(-1)!.idx;
        ctx.heartbeat(seen);
      }
      if (seen !== imp.totalChunks) {
        throw ApplicationFailure.nonRetryable(`archival import ${imp.id} has ${seen} staged chunks of ${imp.totalChunks}`, ActivityFailureType.InternalError);
      }
      await finishImport(tx, imp.id, inserted);
      return { insertedPassages: inserted };
    });
  }

  /** Marks the import failed with why and drops its staged chunks (nothing reached `passages`). */
  async function failArchivalImport(input: { importId: string; errorType: string; message: string }): Promise<void> {
    await withTransaction(db, (tx) => failImport(tx, input.importId, input.errorType, input.message));
  }

  /** What a re-embedding starts from: the agent's model, its stale passages and its current ones. */
  async function planArchivalReembed(input: { agentId: string }): Promise<ArchivalReembedPlan> {
    const config = embeddingConfigOf(await loadAgentOrFail(db, input.agentId));
    const { total, stale } = await countStalePassages(db, input.agentId, { model: config.embedding_model, dim: config.embedding_dim });
    return { embeddingModel: config.embedding_model, stale, alreadyCurrent: total - stale, reembedded: 0 };
  }

  /**
   * Embeds up to `limit` of the agent's passages without a vector of its current model and
   * writes their vectors (committed at once); how many, and how many are left.
   */
  async function reembedArchivalBatch(input: { agentId: string; limit: number }): Promise<ReembedBatchResult> {
    const config = embeddingConfigOf(await loadAgentOrFail(db, input.agentId));
    const target = { model: config.embedding_model, dim: config.embedding_dim };
    const batch = await stalePassages(db, input.agentId, target, input.limit);
    if (batch.length > 0) {
      const vectors = await embed(
        config,
        batch.map((p) => p.text),
      );
      await setPassageEmbeddings(
        db,
        batch.map((p, i) => ({ id: p.id, embedding: vectors[i]!, embeddingModel: config.embedding_model })),
      );
    }
    const { stale } = await countStalePassages(db, input.agentId, target);
    return { reembedded: batch.length, remaining: stale, embeddingModel: config.embedding_model };
  }

  return {
    planArchivalImport,
    embedArchivalImportBatch,
    commitArchivalImport,
    failArchivalImport,
    planArchivalReembed,
    reembedArchivalBatch,
  };
}
