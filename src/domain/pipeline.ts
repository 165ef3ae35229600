/**
 * The pipeline workflow's inputs, outputs and status, shared by the workflow, its activities and
 * its callers. Pure: importable by workflows.
 * @module
 */

export const PIPELINE_WORKFLOW_TYPE = 'pipelineWorkflow';

/** `pipeline/<name>/<runId>`: the workflow id of a run. */
export function pipelineWorkflowId(name: string, runId: string): string {
  return `pipeline/${name}/${runId}`;
}

export interface PipelineWorkflowInput {
  name: string;
  /** The pipeline's input as given (validated by the worker that has the pipeline). */
  input: unknown;
  /** USD the run's stage messages may cost, from the usage ledger; null: no budget. */
  maxBudget: number | null;
}

/** What `planPipeline` returns: the stages in declaration order. */
export interface PipelinePlan {
  summary: string;
  stages: { name: string; after: string[]; concurrency: number }[];
}

/** One message of a stage, as the workflow schedules it. */
export interface PlannedItem {
  item: number;
  label: string | null;
  agentId: string;
  agentName: string;
}

export interface StageItemKey {
  workflowId: string;
  name: string;
  stage: string;
  item: number;
}

export interface StageItemResult {
  status: 'completed' | 'failed';
  errorType: string | null;
  errorMessage: string | null;
  totalTokens: number;
  /** USD from the usage ledger; 0 when unknown. */
  cost: number;
}

export type StageStatus = 'waiting' | 'running' | 'completed' | 'failed' | 'cancelled';

/** The run as its status query (and `memloom pipeline show` while it runs) reports it. */
export interface PipelineRunStatus {
  name: string;
  state: 'running' | 'completed' | 'failed' | 'cancelled';
  stages: { name: string; status: StageStatus; done: number; total: number | null; agents: string[] }[];
  /** USD so far. */
  spend: number;
}

/** The workflow's result: small; the output itself is in Postgres (`memloom pipeline result`). */
export interface PipelineResult {
  workflowId: string;
  name: string;
  status: 'completed';
  spend: number;
  /** The first characters of the output, as JSON. */
  outputPreview: string;
}
