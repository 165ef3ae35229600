/**
 * A batch job (`batch/<batchId>`): one message (or one pipeline run) fanned out over many agents
 * with bounded concurrency. Agents are selected by an activity in pages ordered by id; each
 * agent's message is one `runBatchItem` activity whose summary names the agent, each agent's
 * pipeline run a child workflow `pipeline/<name>/<batchId>-<agentId>`, and its outcome is stored
 * in Postgres. An agent's failure does not fail the job. After `pagesPerRun` pages (or when
 * Temporal suggests it) the job continues as new with its cursor and counts, so history never
 * holds more than a few pages of agent ids.
 * @module
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  continueAsNew,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import {
  DEFAULT_BATCH_PAGES_PER_RUN,
  DEFAULT_BATCH_PAGE_SIZE,
  batchIdOfWorkflow,
  batchPipelineRunId,
  type BatchCounts,
  type BatchItemOutcome,
  type BatchPageItem,
  type BatchPipeline,
  type BatchProgress,
  type BatchResult,
  type BatchWorkflowInput,
} from '../src/domain/batch.ts';
import { PIPELINE_WORKFLOW_TYPE, pipelineWorkflowId, type PipelineResult, type PipelineWorkflowInput } from '../src/domain/pipeline.ts';
import { PipelineKey } from '../src/domain/search-attributes.ts';
import { batchStatusQuery } from './batch-definitions.ts';
import { AGENT_MESSAGE, BOOKKEEPING } from './orchestration-options.ts';

const { planBatch, selectBatchPage, recordBatchItem, recordBatchItemFailure, finishBatch } = proxyActivities<Activities>(BOOKKEEPING);
const { runBatchItem, awaitBatchPipelineRun } = proxyActivities<Activities>(AGENT_MESSAGE);

/** The failure a child's or an activity's failure carries: its type and message. */
function failureOf(error: ActivityFailure | ChildWorkflowFailure): { errorType: string; errorMessage: string } {
  const cause = error.cause instanceof ApplicationFailure ? error.cause : null;
  return { errorType: cause?.type ?? 'Error', errorMessage: cause?.message ?? error.message };
}

/**
 * Whether starting a child failed because its id is taken (by a run an earlier run of the job
 * started). `@temporalio/workflow` does not re-export the error class; its name is its type.
 */
function isAlreadyStarted(error: unknown): boolean {
  return error instanceof Error && error.name === 'WorkflowExecutionAlreadyStartedError';
}

/**
 * Runs pipeline `pipeline` for one agent as a child workflow and waits for it; its outcome.
 * The child's id is derived from the batch and the agent, so a resumed or repeated job never
 * starts it twice: a child that exists already (started by an earlier run of the job) is waited
 * for through an activity, since a workflow can only await the result of its own children.
 */
async function runPipelineForAgent(batchId: string, pipeline: BatchPipeline, item: BatchPageItem): Promise<BatchItemOutcome> {
  const workflowId = pipelineWorkflowId(pipeline.name, batchPipelineRunId(batchId, item.agentId));
  await recordBatchItem.executeWithOptions({ ...BOOKKEEPING, summary: `agent ${item.agentName}: start its run` }, [{ batchId, agentId: item.agentId, status: 'running' }]);
  try {
    const child = await startChild<(input: PipelineWorkflowInput) => Promise<PipelineResult>>(PIPELINE_WORKFLOW_TYPE, {
      workflowId,
      args: [{ name: pipeline.name, input: { ...pipeline.input, agent: item.agentId }, maxBudget: null }],
      typedSearchAttributes: [{ key: PipelineKey, value: pipeline.name }],
      staticSummary: `pipeline ${pipeline.name} for agent ${item.agentName} (batch ${batchId})`,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      // a cancelled (or terminated) job cancels the runs it started
      parentClosePolicy: 'REQUEST_CANCEL',
    });
    await child.result();
  } catch (error) {
    if (isAlreadyStarted(error)) {
      return awaitBatchPipelineRun.executeWithOptions({ ...AGENT_MESSAGE, summary: `agent ${item.agentName}: wait for ${workflowId}` }, [
        { batchId, agentId: item.agentId, workflowId },
      ]);
    }
    if (!(error instanceof ChildWorkflowFailure) || isCancellation(error)) throw error;
    // the agent's run failed (e.g. StageFailed): this agent failed, the job goes on
    const failed = failureOf(error);
    await recordBatchItemFailure.executeWithOptions({ ...BOOKKEEPING, summary: `record agent ${item.agentName} failed` }, [{ batchId, agentId: item.agentId, ...failed }]);
    return { status: 'failed', ...failed };
  }
  await recordBatchItem.executeWithOptions({ ...BOOKKEEPING, summary: `record agent ${item.agentName} answered` }, [{ batchId, agentId: item.agentId, status: 'answered' }]);
  return { status: 'answered', errorType: null, errorMessage: null };
}

export async function batchWorkflow(input: BatchWorkflowInput): Promise<BatchResult> {
  const { workflowId } = workflowInfo();
  // a schedule's run has no batch id in its input: its id is the workflow id's (<scheduleId>-<time>)
  const batchId = input.batchId ?? batchIdOfWorkflow(workflowId);
  const pageSize = input.pageSize ?? DEFAULT_BATCH_PAGE_SIZE;
  const pagesPerRun = input.pagesPerRun ?? DEFAULT_BATCH_PAGES_PER_RUN;
  const counts: BatchCounts = { ...(input.counts ?? { selected: 0, answered: 0, failed: 0 }) };
  const progress: BatchProgress = {
    batchId,
    state: 'running',
    counts: { ...counts, inFlight: 0 },
    run: input.run ?? 1,
    pagesThisRun: 0,
    cursor: input.cursor ?? null,
  };
  setHandler(batchStatusQuery, () => ({ ...progress, counts: { ...counts, inFlight: progress.counts.inFlight } }), {
    description: "The job's counts (selected, answered, failed, in flight), its run and its cursor",
  });
  let summary = `Batch **${batchId}**`;
  const show = (): void => {
    const c = counts;
    setCurrentDetails(
      [
        `${summary} · **${progress.state}**`,
        `- selected: ${c.selected} · answered: ${c.answered} · failed: ${c.failed} · in flight: ${progress.counts.inFlight}`,
        `- run ${progress.run}, page ${progress.pagesThisRun} of at most ${pagesPerRun} before continue-as-new`,
      ].join('\n'),
    );
  };

  const plan = await planBatch.executeWithOptions({ ...BOOKKEEPING, summary: input.job ? 'record and load the job' : 'load the job' }, [
    { batchId, workflowId, ...(input.job ? { job: input.job } : {}) },
  ]);
  summary = plan.summary;
  show();

  /** Agents of the pages selected so far that still need their message. */
  const queue: BatchPageItem[] = [];
  let exhausted = false;
  let fetching: Promise<void> | null = null;

  const runOutOfPages = (): boolean => progress.pagesThisRun >= pagesPerRun || (progress.pagesThisRun > 0 && workflowInfo().continueAsNewSuggested);

  /** Selects the next page, once even when several lanes ask at the same time. */
  const fetchPage = (): Promise<void> =>
    (fetching ??= (async () => {
      const page = await selectBatchPage.executeWithOptions(
        { ...BOOKKEEPING, summary: `select agents after ${progress.cursor ?? 'the first'} (${pageSize} a page)` },
        [{ batchId, after: progress.cursor, limit: pageSize }],
      );
      progress.pagesThisRun++;
      progress.cursor = page.cursor;
      if (page.items.length < pageSize) exhausted = true;
      counts.selected += page.items.length;
      for (const item of page.items) {
        // a resumed or repeated job counts the agents done before and asks only the others
        if (item.status === 'answered') counts.answered++;
        else if (item.status === 'failed') counts.failed++;
        else queue.push(item);
      }
      show();
    })().finally(() => (fetching = null)));

  async function runItem(item: BatchPageItem): Promise<void> {
    progress.counts.inFlight++;
    show();
    let outcome: 'answered' | 'failed';
    try {
      const result = plan.pipeline
        ? await runPipelineForAgent(batchId, plan.pipeline, item)
        : await runBatchItem.executeWithOptions({ ...AGENT_MESSAGE, summary: `agent ${item.agentName}` }, [{ batchId, agentId: item.agentId }]);
      outcome = result.status;
    } catch (error) {
      if (isCancellation(error) || !(error instanceof ActivityFailure)) throw error;
      // the message could not be sent (or the run not awaited), even after retries: this agent failed, the job goes on
      await recordBatchItemFailure.executeWithOptions({ ...BOOKKEEPING, summary: `record agent ${item.agentName} failed` }, [
        { batchId, agentId: item.agentId, ...failureOf(error) },
      ]);
      outcome = 'failed';
    } finally {
      progress.counts.inFlight--;
    }
    counts[outcome]++;
    show();
  }

  /** Takes agents off the queue, selecting the next page when it runs dry, until this run's pages are done. */
  const lane = async (): Promise<void> => {
    for (;;) {
      const item = queue.shift();
      if (item) {
        await runItem(item);
        continue;
      }
      if (fetching) {
        await fetching;
        continue;
      }
      if (exhausted || runOutOfPages()) return;
      await fetchPage();
    }
  };

  try {
    await Promise.all(Array.from({ length: plan.concurrency }, lane));
  } catch (error) {
    const cancelled = isCancellation(error);
    progress.state = cancelled ? 'cancelled' : 'failed';
    show();
    await CancellationScope.nonCancellable(() => finishBatch({ batchId, status: cancelled ? 'cancelled' : 'failed' }));
    throw error;
  }
  if (!exhausted) {
    // every agent of this run's pages is done: the next run starts after the cursor
    await continueAsNew<typeof batchWorkflow>({ ...input, cursor: progress.cursor, counts, run: progress.run + 1 });
  }
  const final = await finishBatch.executeWithOptions({ ...BOOKKEEPING, summary: 'record the job complete' }, [{ batchId, status: 'completed' }]);
  progress.state = 'completed';
  Object.assign(counts, final);
  show();
  return { batchId, workflowId, status: 'completed', counts: final, runs: progress.run };
}
