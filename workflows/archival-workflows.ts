/**
 * Archival memory's long jobs, durable:
 *
 * - `archivalImportWorkflow` (`archival-import/<importId>`): a document the client chunked and
 *   staged in Postgres is embedded a range of chunks per activity (a few at once), then inserted
 *   as passages by ONE commit activity, in one transaction. When embedding fails for good (the
 *   endpoint down after a few retries) or the import is cancelled, the import is marked failed
 *   and its staged chunks dropped: nothing reaches `passages`. History holds ids and counters.
 *   An import makes at most MAX_IMPORT_CHUNKS chunks (~800 batches), so its history stays small
 *   without continue-as-new.
 * - `archivalReembedWorkflow` (`archival-reembed/<agentId>`): re-embeds the agent's passages
 *   whose vector is not of its current embedding model, a batch per activity, each committed on
 *   its own, until none is left; continues as new after REEMBED_BATCHES_PER_RUN batches.
 *   Resumable by construction: a new run picks up whatever is still stale.
 * @module
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import {
  ArchivalImportStatus,
  DEFAULT_REEMBED_BATCH,
  IMPORT_EMBED_BATCH,
  IMPORT_EMBED_CONCURRENCY,
  REEMBED_BATCHES_PER_RUN,
  type ArchivalImportProgress,
  type ArchivalImportResult,
  type ArchivalImportWorkflowInput,
  type ArchivalReembedProgress,
  type ArchivalReembedResult,
  type ArchivalReembedWorkflowInput,
  type ImportChunkRange,
} from '../src/domain/archival.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../src/domain/errors.ts';
import { archivalImportStatusQuery, archivalReembedStatusQuery } from './archival-definitions.ts';
import { BOOKKEEPING } from './orchestration-options.ts';

/**
 * One batch of embeddings: each request is retried by the SDK already, so Temporal gives an
 * endpoint that is down a few more tries, close together, then the job fails with the reason.
 */
const EMBEDDING: ActivityOptions = {
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 4, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
};

/** The commit: every chunk of an import inserted in one transaction. */
const COMMIT: ActivityOptions = { ...BOOKKEEPING, startToCloseTimeout: '10 minutes' };

const { planArchivalImport, failArchivalImport, planArchivalReembed } = proxyActivities<Activities>(BOOKKEEPING);
const { embedArchivalImportBatch, reembedArchivalBatch } = proxyActivities<Activities>(EMBEDDING);
const { commitArchivalImport } = proxyActivities<Activities>(COMMIT);

/** The type and message of a failed activity's cause. */
function failureOf(error: ActivityFailure): { type: string; message: string } {
  const cause = error.cause;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'Error', message: cause.message };
  return { type: cause?.name ?? 'Error', message: cause?.message ?? error.message };
}

/** Chunk ranges of `total` chunks, `size` each. */
function rangesOf(importId: string, total: number, size: number): ImportChunkRange[] {
  const ranges: ImportChunkRange[] = [];
  for (let from = 0; from < total; from += size) ranges.push({ importId, from, to: Math.min(total, from + size) });
  return ranges;
}

export async function archivalImportWorkflow(input: ArchivalImportWorkflowInput): Promise<ArchivalImportResult> {
  const { importId } = input;
  const progress: ArchivalImportProgress = { importId, state: 'embedding', totalChunks: 0, embeddedChunks: 0 };
  setHandler(archivalImportStatusQuery, () => ({ ...progress }), { description: "The import's state and its chunks embedded of the total" });
  let title = `Import **${importId}**`;
  const show = (): void => setCurrentDetails(`${title} · **${progress.state}**\n- chunks embedded: ${progress.embeddedChunks} of ${progress.totalChunks}`);

  const plan = await planArchivalImport.executeWithOptions({ ...BOOKKEEPING, summary: 'load the import' }, [{ importId }]);
  title = `Import **${importId}** into agent **${plan.agentName}**`;
  Object.assign(progress, { totalChunks: plan.totalChunks, embeddedChunks: plan.embeddedChunks });
  const result = (insertedPassages: number): ArchivalImportResult => ({
    importId,
    agentId: plan.agentId,
    chunks: plan.totalChunks,
    insertedPassages,
    embeddingModel: plan.embeddingModel,
  });
  if (plan.status === ArchivalImportStatus.Done) {
    progress.state = 'done';
    show();
    return result(0);
  }
  if (plan.status === ArchivalImportStatus.Failed) throw ApplicationFailure.nonRetryable(`archival import ${importId} failed earlier: stage it again`, 'ImportFailed');
  show();

  try {
    if (plan.embeddingModel !== null) {
      const ranges = rangesOf(importId, plan.totalChunks, IMPORT_EMBED_BATCH);
      let next = 0;
      let stopped = false;
      const lane = async (): Promise<void> => {
        while (!stopped && next < ranges.length) {
          const range = ranges[next++]!;
          try {
            const { embedded } = await embedArchivalImportBatch.executeWithOptions(
              { ...EMBEDDING, summary: `embed chunks ${range.from + 1}-${range.to} of ${plan.totalChunks} (${plan.embeddingModel})` },
              [range],
            );
            progress.embeddedChunks += embedded;
            show();
          } catch (error) {
            // the other lanes take no further range
            stopped = true;
            throw error;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(IMPORT_EMBED_CONCURRENCY, ranges.length) }, lane));
    }
    progress.state = 'committing';
    show();
    const { insertedPassages } = await commitArchivalImport.executeWithOptions(
      { ...COMMIT, summary: `insert ${plan.totalChunks} passages in one transaction` },
      [{ importId }],
    );
    progress.state = 'done';
    show();
    return result(insertedPassages);
  } catch (error) {
    const cancelled = isCancellation(error);
    if (!cancelled && !(error instanceof ActivityFailure)) throw error;
    const failure = cancelled ? { type: 'Cancelled', message: 'the import was cancelled' } : failureOf(error as ActivityFailure);
    progress.state = cancelled ? 'cancelled' : 'failed';
    show();
    await CancellationScope.nonCancellable(() =>
      failArchivalImport.executeWithOptions({ ...BOOKKEEPING, summary: 'mark the import failed, drop its staged chunks' }, [
        { importId, errorType: failure.type, message: failure.message },
      ]),
    );
    if (cancelled) throw error;
    throw ApplicationFailure.create({ type: failure.type, message: `${failure.message}; nothing was inserted`, nonRetryable: true });
  }
}

export async function archivalReembedWorkflow(input: ArchivalReembedWorkflowInput): Promise<ArchivalReembedResult> {
  const { agentId } = input;
  const batchSize = input.batchSize ?? DEFAULT_REEMBED_BATCH;
  const run = input.run ?? 1;
  const progress: ArchivalReembedProgress = {
    agentId,
    state: 'running',
    reembedded: input.counts?.reembedded ?? 0,
    alreadyCurrent: input.counts?.alreadyCurrent ?? 0,
    remaining: null,
    run,
  };
  setHandler(archivalReembedStatusQuery, () => ({ ...progress }), { description: 'The re-embedding: passages done, already current and left' });
  let embeddingModel = '';
  const show = (): void =>
    setCurrentDetails(
      [
        `Re-embed the archival memory of **${agentId}**${embeddingModel ? ` with **${embeddingModel}**` : ''} · **${progress.state}**`,
        `- re-embedded: ${progress.reembedded} · already current: ${progress.alreadyCurrent} · left: ${progress.remaining ?? '?'}`,
        `- run ${run}`,
      ].join('\n'),
    );

  if (!input.counts) {
    const plan = await planArchivalReembed.executeWithOptions({ ...BOOKKEEPING, summary: 'count the passages to re-embed' }, [{ agentId }]);
    Object.assign(progress, { alreadyCurrent: plan.alreadyCurrent, remaining: plan.stale });
    embeddingModel = plan.embeddingModel;
  }
  show();
  for (let batches = 0; progress.remaining !== 0; batches++) {
    if (batches >= REEMBED_BATCHES_PER_RUN || (batches > 0 && workflowInfo().continueAsNewSuggested)) {
      await continueAsNew<typeof archivalReembedWorkflow>({ ...input, counts: { reembedded: progress.reembedded, alreadyCurrent: progress.alreadyCurrent }, run: run + 1 });
    }
    let batch;
    try {
      batch = await reembedArchivalBatch.executeWithOptions({ ...EMBEDDING, summary: `re-embed up to ${batchSize} passages` }, [{ agentId, limit: batchSize }]);
    } catch (error) {
      if (isCancellation(error) || !(error instanceof ActivityFailure)) throw error;
      const failure = failureOf(error);
      throw ApplicationFailure.create({
        type: failure.type,
        message: `${failure.message}; ${progress.reembedded} passages were re-embedded before, the others keep their vectors (run it again to go on)`,
        nonRetryable: true,
      });
    }
    progress.reembedded += batch.reembedded;
    progress.remaining = batch.remaining;
    embeddingModel = batch.embeddingModel;
    show();
    // nothing found although some are left: passages written meanwhile by another model; the next run takes them
    if (batch.reembedded === 0) break;
  }
  progress.state = 'done';
  show();
  return { agentId, embeddingModel, reembedded: progress.reembedded, alreadyCurrent: progress.alreadyCurrent, runs: run };
}
