/**
 * Activities of the batch workflow: load the job, select its agents page by page (ordered by
 * id), send each agent the job's message through its own mailbox (`userMessage`) under a message
 * id derived from the batch and the agent, or wait for an agent's pipeline run started by an
 * earlier run of the job, and record each agent's outcome. A resumed or repeated job finds the
 * finished agents in Postgres and never asks them again.
 * @module
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { MemloomClient } from '../src/client/memloom-client.ts';
import { findItem, findJob, finishJob, jobCounts, markItem, selectPage, upsertJob, type BatchJobRecord } from '../src/db/batch-store.ts';
import { batchJobSummary, type BatchCounts, type BatchItemOutcome, type BatchJobDefinition, type BatchPage, type BatchPlan } from '../src/domain/batch.ts';
import { ActivityFailureType, BudgetExceededError, NotFoundError, PipelineFailedError, TurnFailedError, ValidationError } from '../src/domain/errors.ts';
import type { ActivityDeps } from './activity-deps.ts';

/** How often an agent's message heartbeats while the agent works. */
const HEARTBEAT_EVERY_MS = 5000;

/** What an agent's answer to a batch message was, when it is not an answer: its type and message. */
function outcomeOf(error: unknown): { errorType: string; errorMessage: string } | null {
  if (error instanceof TurnFailedError) return { errorType: error.type, errorMessage: error.message };
  if (error instanceof BudgetExceededError) return { errorType: 'BudgetExceeded', errorMessage: error.message };
  if (error instanceof NotFoundError && error.resource === 'agent') return { errorType: ActivityFailureType.AgentNotFound, errorMessage: error.message };
  // e.g. the prompt is too large for this agent's context window
  if (error instanceof ValidationError) return { errorType: ActivityFailureType.InvalidPayload, errorMessage: error.message };
  return null;
}

export function createBatchActivities(deps: ActivityDeps) {
  const { db } = deps;
  const client = (): Promise<MemloomClient> => {
    if (!deps.client) throw ApplicationFailure.nonRetryable('this worker has no client for batch messages', 'ConfigError');
    return deps.client();
  };

  async function requireJob(batchId: string): Promise<BatchJobRecord> {
    const job = await findJob(db, batchId);
    if (!job) throw ApplicationFailure.nonRetryable(`no batch job ${batchId}`, 'InternalError');
    return job;
  }

  /**
   * The stored job, as the workflow needs it: its concurrency and a one-line summary. A
   * schedule's run brings its job's definition: it is recorded here, once.
   */
  async function planBatch(input: { batchId: string; workflowId?: string; job?: BatchJobDefinition }): Promise<BatchPlan> {
    const job = input.job
      ? await upsertJob(db, { ...input.job, batchId: input.batchId, workflowId: input.workflowId ?? input.batchId }, { onlyIfAbsent: true })
      : await requireJob(input.batchId);
    const who = 'agentIds' in job.selector ? `${job.selector.agentIds.length} agents` : 'tag' in job.selector ? `agents tagged ${job.selector.tag}` : 'all agents';
    if (job.pipeline) {
      return { concurrency: job.concurrency, summary: `Batch **${job.batchId}**: pipeline **${job.pipeline.name}** for ${who}`, pipeline: job.pipeline };
    }
    if (job.kind === 'prompt') {
      return { concurrency: job.concurrency, summary: `Batch **${job.batchId}** to ${who}: "${batchJobSummary(job, 60)}"`, pipeline: null };
    }
    return { concurrency: job.concurrency, summary: `Batch **${job.batchId}**: **${job.kind}** for ${who}`, pipeline: null };
  }

  /** The next page of the job's agents after `after`, each recorded (queued) with its stored status. */
  async function selectBatchPage(input: { batchId: string; after: string | null; limit: number }): Promise<BatchPage> {
    const job = await requireJob(input.batchId);
    const items = await selectPage(db, job, input.after, input.limit);
    return { items, cursor: items.at(-1)?.agentId ?? input.after };
  }

  /** Sends the job's message to one agent and waits for its answer; records and returns the outcome. */
  async function runBatchItem(input: { batchId: string; agentId: string }): Promise<BatchItemOutcome> {
    const job = await requireJob(input.batchId);
    const item = await findItem(db, input.batchId, input.agentId);
    if (!item) throw ApplicationFailure.nonRetryable(`agent ${input.agentId} was not selected for batch ${input.batchId}`, 'InternalError');
    if (item.status === 'answered' || item.status === 'failed') {
      return { status: item.status, errorType: item.errorType, errorMessage: item.errorMessage };
    }
    if (job.kind === 'pipeline') throw ApplicationFailure.nonRetryable(`batch ${input.batchId} runs a pipeline, it sends no message`, 'InternalError');
    await markItem(db, input.batchId, input.agentId, { status: 'running' });
    const activity = Context.current();
    const beat = setInterval(() => activity.heartbeat(), HEARTBEAT_EVERY_MS);
    const c = await client();
    try {
      const cancelled = new Promise<never>((_, reject) => {
        activity.cancellationSignal.addEventListener('abort', () => reject(new CancelledFailure('the batch job was cancelled')), { once: true });
      });
      const options = { messageId: item.messageId, maxSteps: job.maxSteps };
      const turn = job.kind === 'memory-consolidation' ? c.consolidateMemory(input.agentId, options) : c.userMessage(input.agentId, job.prompt ?? '', options);
      // a cancelled job stops waiting; the turn itself goes on in the agent
      await Promise.race([turn, cancelled]);
      await markItem(db, input.batchId, input.agentId, { status: 'answered' });
      return { status: 'answered', errorType: null, errorMessage: null };
    } catch (error) {
      const failed = outcomeOf(error);
      if (!failed) throw error;
      await markItem(db, input.batchId, input.agentId, { status: 'failed', ...failed });
      return { status: 'failed', ...failed };
    } finally {
      clearInterval(beat);
    }
  }

  /**
   * Waits for an agent's pipeline run that an earlier run of the job started (its child workflow
   * exists already); its outcome, recorded. A cancelled job stops waiting.
   */
  async function awaitBatchPipelineRun(input: { batchId: string; agentId: string; workflowId: string }): Promise<BatchItemOutcome> {
    const activity = Context.current();
    const beat = setInterval(() => activity.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      const run = await (await client()).getPipelineRun(input.workflowId);
      const cancelled = new Promise<never>((_, reject) => {
        activity.cancellationSignal.addEventListener('abort', () => reject(new CancelledFailure('the batch job was cancelled')), { once: true });
      });
      await Promise.race([run.result(), cancelled]);
      await markItem(db, input.batchId, input.agentId, { status: 'answered' });
      return { status: 'answered', errorType: null, errorMessage: null };
    } catch (error) {
      if (!(error instanceof PipelineFailedError)) throw error;
      await markItem(db, input.batchId, input.agentId, { status: 'failed', errorType: error.type, errorMessage: error.message });
      return { status: 'failed', errorType: error.type, errorMessage: error.message };
    } finally {
      clearInterval(beat);
    }
  }

  /** Records an agent's item as running (its pipeline run is starting) or answered (its pipeline run completed). */
  async function recordBatchItem(input: { batchId: string; agentId: string; status: 'running' | 'answered' }): Promise<void> {
    await markItem(db, input.batchId, input.agentId, { status: input.status });
  }

  /** Records an agent that failed: its message could not be sent (its activity failed for good), or its pipeline run failed. */
  async function recordBatchItemFailure(input: { batchId: string; agentId: string; errorType: string; errorMessage: string }): Promise<void> {
    await markItem(db, input.batchId, input.agentId, { status: 'failed', errorType: input.errorType, errorMessage: input.errorMessage });
  }

  /** Records the job's end; returns its counts from Postgres. */
  async function finishBatch(input: { batchId: string; status: 'completed' | 'cancelled' | 'failed' }): Promise<BatchCounts> {
    await finishJob(db, input.batchId, input.status);
    const { selected, answered, failed } = await jobCounts(db, input.batchId);
    return { selected, answered, failed };
  }

  return { planBatch, selectBatchPage, runBatchItem, awaitBatchPipelineRun, recordBatchItem, recordBatchItemFailure, finishBatch };
}
