/**
 * The batch workflow's inputs, outputs and status, shared by the workflow, its activities and
 * its callers. Pure: importable by workflows.
 * @module
 */

export const BATCH_WORKFLOW_TYPE = 'batchWorkflow';

/** `batch/<batchId>`: the workflow id of a batch job. */
export function batchWorkflowId(batchId: string): string {
  return `batch/${batchId}`;
}

/** The batch id of workflow `batch/<batchId>`. */
export function batchIdOfWorkflow(workflowId: string): string {
  return workflowId.startsWith('batch/') ? workflowId.slice('batch/'.length) : workflowId;
}

/** Agents fanned out to at once, unless the job says otherwise. */
export const DEFAULT_BATCH_CONCURRENCY = 4;
export const MAX_BATCH_CONCURRENCY = 100;
/** Agents selected per page. */
export const DEFAULT_BATCH_PAGE_SIZE = 100;
/** Pages one workflow run goes through before it continues as new (or earlier, when Temporal suggests it). */
export const DEFAULT_BATCH_PAGES_PER_RUN = 20;

export const BatchItemStatus = {
  Queued: 'queued',
  Running: 'running',
  Answered: 'answered',
  Failed: 'failed',
} as const;
export type BatchItemStatus = (typeof BatchItemStatus)[keyof typeof BatchItemStatus];

export const BatchJobStatus = {
  Running: 'running',
  Completed: 'completed',
  Cancelled: 'cancelled',
  Failed: 'failed',
} as const;
export type BatchJobStatus = (typeof BatchJobStatus)[keyof typeof BatchJobStatus];

/**
 * What a job does for each agent: send it a message, run a pipeline for it, or a built-in job
 * (`memory-consolidation`: the agent reviews its messages since its last consolidation and
 * rewrites its core memory blocks, with no reply shown to the user).
 */
export const BatchJobKind = {
  Prompt: 'prompt',
  Pipeline: 'pipeline',
  MemoryConsolidation: 'memory-consolidation',
} as const;
export type BatchJobKind = (typeof BatchJobKind)[keyof typeof BatchJobKind];

/** The built-in jobs, by name (`memloom batch run memory-consolidation --all`). */
export const BUILT_IN_BATCHES = [BatchJobKind.MemoryConsolidation] as const;
export type BuiltInBatch = (typeof BUILT_IN_BATCHES)[number];

/** The pipeline of a pipeline job: each agent's run gets `{ ...input, agent: <agentId> }`. */
export interface BatchPipeline {
  name: string;
  input: Record<string, unknown>;
}

/** `<batchId>-<agentId>`: the run id of an agent's pipeline run (`pipeline/<name>/<batchId>-<agentId>`). */
export function batchPipelineRunId(batchId: string, agentId: string): string {
  return `${batchId}-${agentId}`;
}

/** Which agents a job goes to. Agent ids, not names: a rename does not change a job. */
export type BatchSelector = { agentIds: string[] } | { tag: string } | { all: true };

export interface BatchCounts {
  /** Agents selected so far. */
  selected: number;
  answered: number;
  failed: number;
}

/**
 * A checked job: what it does, to which agents, how many at once. Stored with the job; carried in
 * the workflow input only by a schedule's runs, whose workflow starts before any row exists.
 */
export interface BatchJobDefinition {
  kind: BatchJobKind;
  /** The message of a prompt job; null otherwise. */
  prompt: string | null;
  /** The pipeline of a pipeline job; null otherwise. */
  pipeline: BatchPipeline | null;
  selector: BatchSelector;
  concurrency: number;
  maxSteps: number;
}

/** One line on what a job does: its message, its pipeline, or its built-in job. */
export function batchJobSummary(job: Pick<BatchJobDefinition, 'kind' | 'prompt' | 'pipeline'>, max = 180): string {
  const what =
    job.kind === 'prompt' ? (job.prompt ?? '').replace(/\s+/g, ' ').trim() : job.kind === 'pipeline' ? `pipeline ${job.pipeline?.name ?? '?'}` : job.kind;
  return what.length > max ? `${what.slice(0, max - 3)}...` : what;
}

export interface BatchWorkflowInput {
  /** @default the workflow id after `batch/` (a schedule's run: `<scheduleId>-<time>`) */
  batchId?: string;
  /** The job to record when none is stored under the batch id yet: a schedule's run. */
  job?: BatchJobDefinition;
  /** Agents selected per page. @default DEFAULT_BATCH_PAGE_SIZE */
  pageSize?: number;
  /** Pages per workflow run before continue-as-new. @default DEFAULT_BATCH_PAGES_PER_RUN */
  pagesPerRun?: number;
  /** Carried over continue-as-new: the last agent id of the pages already done. @default null */
  cursor?: string | null;
  /** Carried over continue-as-new. @default zeros */
  counts?: BatchCounts;
  /** Carried over continue-as-new: 1 for the first run. @default 1 */
  run?: number;
}

/** What the workflow needs of the stored job: small, no prompt text. */
export interface BatchPlan {
  concurrency: number;
  summary: string;
  /** A pipeline job's pipeline and input (small: the input as given); null for a prompt job. */
  pipeline: BatchPipeline | null;
}

/** One selected agent, with what is stored about it already (a resumed job skips the finished ones). */
export interface BatchPageItem {
  agentId: string;
  agentName: string;
  status: BatchItemStatus;
}

export interface BatchPage {
  items: BatchPageItem[];
  /** The last agent id of this page: where the next page starts. */
  cursor: string | null;
}

export interface BatchItemOutcome {
  status: 'answered' | 'failed';
  errorType: string | null;
  errorMessage: string | null;
}

/** The job as its status query (and `memloom batch show` while it runs) reports it. */
export interface BatchProgress {
  batchId: string;
  state: BatchJobStatus;
  counts: BatchCounts & { inFlight: number };
  /** Which workflow run of the job (1 + continue-as-new count). */
  run: number;
  pagesThisRun: number;
  cursor: string | null;
}

/** The workflow's result: counts only, the outcomes are in Postgres (`memloom batch show`). */
export interface BatchResult {
  batchId: string;
  workflowId: string;
  status: 'completed';
  counts: BatchCounts;
  /** Workflow runs the job took (1 + continue-as-new count). */
  runs: number;
}
