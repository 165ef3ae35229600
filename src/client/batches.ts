/**
 * Batch jobs: `client.startBatch` / `runBatch` / `getBatch` and the handle they return
 * (`result()`, `describe()`, `cancel()`). The job is checked and recorded here; the workflow
 * `batch/<batchId>` fans its message (or a pipeline run) out over the selected agents.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { anyAgentSelected, findJob, jobCounts, listItems, resolveAgentRefs, upsertJob, type BatchItemRecord } from '../db/batch-store.ts';
import type { Db } from '../db/pool.ts';
import {
  BATCH_WORKFLOW_TYPE,
  BUILT_IN_BATCHES,
  batchJobSummary,
  batchWorkflowId,
  DEFAULT_BATCH_CONCURRENCY,
  MAX_BATCH_CONCURRENCY,
  type BatchCounts,
  type BatchJobDefinition,
  type BatchJobKind,
  type BatchPipeline,
  type BatchProgress,
  type BatchResult,
  type BatchSelector,
  type BatchWorkflowInput,
  type BuiltInBatch,
} from '../domain/batch.ts';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.ts';
import { parseInput } from '../domain/validation.ts';
import { PIPELINE_NAME } from '../pipelines/define-pipeline.ts';
import { BUILT_IN_PIPELINES } from '../pipelines/registry.ts';
import { listPipelines } from './pipeline-runs.ts';
import { batchStatusQuery } from '../../workflows/batch-definitions.ts';

/** Steps an agent may take on a batch message, unless the job says otherwise. */
const DEFAULT_BATCH_MAX_STEPS = 10;

/** Letters, digits, `.`, `_`, `-` and `:` (a schedule's runs are `<scheduleId>-2025-01-01T03:00:00Z`). */
const BATCH_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
const BatchIdSchema = z.string({ error: 'must be a string' }).regex(BATCH_ID, 'must be letters, digits, ., _, : and -, at most 200, starting with a letter or digit');

/** What a batch job does and to which agents: the part of {@link StartBatchOptions} a schedule's batch action also takes. */
export interface BatchJobOptions {
  /** The message each agent gets (through its own mailbox, so it queues behind user messages). One of `prompt`, `pipeline` and `builtin`. */
  prompt?: string;
  /**
   * A built-in job: `memory-consolidation` — each agent reviews its messages since its last
   * consolidation and rewrites its core memory blocks with the memory tools; no reply is shown.
   */
  builtin?: BuiltInBatch;
  /**
   * A pipeline run per agent instead: the child workflow `pipeline/<name>/<batchId>-<agentId>`,
   * its input `{ ...input, agent: <agentId> }` (the pipeline reads `input.agent`).
   */
  pipeline?: string;
  /** The pipeline's input, without `agent` (with `pipeline`). @default {} */
  input?: Record<string, unknown>;
  /** The agents, by id or name. One of `agents`, `tag` and `all`. */
  agents?: string[];
  /** Every agent with this tag. */
  tag?: string;
  /** Every agent. */
  all?: boolean;
  /** Agents asked at once, 1 to 100. @default 4 */
  concurrency?: number;
  /** Steps each agent may take on the message. @default 10 */
  maxSteps?: number;
}

export interface StartBatchOptions extends BatchJobOptions {
  /** The job's id (`batch/<batchId>`); starting it again after it ended asks only the agents not yet done. @default a new uuid */
  batchId?: string;
  /** Agents selected per page. @default 100 */
  pageSize?: number;
  /** Pages per workflow run before it continues as new. @default 20 */
  pagesPerRun?: number;
}

const JobFields = {
    prompt: z
      .string({ error: 'must be a string: the message each agent gets' })
      .refine((t) => t.trim().length > 0, 'must not be empty')
      .refine((t) => t.length <= 2_000_000, 'must be at most 2000000 characters')
      .optional(),
    builtin: z.enum(BUILT_IN_BATCHES, { error: `must be a built-in job: ${BUILT_IN_BATCHES.join(', ')}` }).optional(),
    pipeline: z.string({ error: 'must be a pipeline name' }).regex(PIPELINE_NAME, 'must be a pipeline name: lowercase letters, digits and dashes').optional(),
    input: z
      .record(z.string(), z.unknown(), { error: 'must be an object: the input of each agent\'s pipeline run' })
      .refine((i) => !('agent' in i), 'must not have an agent field: each run gets its agent\'s id there')
      .optional(),
    agents: z
      .array(z.string({ error: 'must be an agent id or name' }).min(1, 'must not be empty'), { error: 'must be an array of agent ids or names' })
      .min(1, 'must name at least one agent')
      .optional(),
    tag: z.string({ error: 'must be a string' }).min(1, 'must not be empty').optional(),
    all: z.boolean({ error: 'must be true or false' }).optional(),
    concurrency: z
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(MAX_BATCH_CONCURRENCY, `must be at most ${MAX_BATCH_CONCURRENCY}`)
      .default(DEFAULT_BATCH_CONCURRENCY),
    maxSteps: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(100, 'must be at most 100').default(DEFAULT_BATCH_MAX_STEPS),
};

type JobFieldsOutput = z.output<z.ZodObject<typeof JobFields>>;

/** What the job does and to whom: exactly one of prompt, pipeline and builtin; one of agents, tag and all. */
function refineJob(o: JobFieldsOutput, ctx: z.RefinementCtx): void {
  const does = [o.prompt !== undefined && 'prompt', o.pipeline !== undefined && 'pipeline', o.builtin !== undefined && 'builtin'].filter((k): k is string => k !== false);
  if (does.length === 0) ctx.addIssue({ code: 'custom', path: ['prompt'], message: `is required: the message each agent gets (or give a pipeline, or a built-in job: ${BUILT_IN_BATCHES.join(', ')})` });
  if (does.length > 1) ctx.addIssue({ code: 'custom', path: [does[1]!], message: `give one of prompt, pipeline and builtin: ${does.join(' and ')} were both given` });
  if (o.input !== undefined && o.pipeline === undefined) ctx.addIssue({ code: 'custom', path: ['input'], message: 'is for a pipeline job; a prompt or built-in job takes no input' });
  const given = [o.agents !== undefined && 'agents', o.tag !== undefined && 'tag', o.all === true && 'all'].filter((k): k is string => k !== false);
  if (given.length === 0) ctx.addIssue({ code: 'custom', path: ['agents'], message: 'choose the agents: give agents, a tag, or all' });
  if (given.length > 1) ctx.addIssue({ code: 'custom', path: [given[1]!], message: `choose the agents one way: ${given.join(' and ')} were both given` });
}

/** A batch job's options, as a schedule's batch action takes them. */
export const BatchJobSchema = z.object(JobFields).strict().superRefine(refineJob);

const StartBatchSchema = z
  .object({
    ...JobFields,
    batchId: BatchIdSchema.optional(),
    pageSize: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000').optional(),
    pagesPerRun: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000').optional(),
  })
  .superRefine(refineJob);

/** A job as `memloom batch show` prints it. */
export interface BatchDetails {
  batchId: string;
  workflowId: string;
  /** From Temporal: RUNNING, COMPLETED, FAILED, CANCELED, TERMINATED, TIMED_OUT; from Postgres when Temporal no longer knows the job. */
  status: string;
  /** What it does for each agent: `prompt`, `pipeline` or a built-in job (`memory-consolidation`). */
  kind: BatchJobKind;
  /** The message of a prompt job; null otherwise. */
  prompt: string | null;
  /** The pipeline of a pipeline job and its input (without the agent); null for a prompt job. */
  pipeline: BatchPipeline | null;
  selector: BatchSelector;
  concurrency: number;
  counts: BatchCounts & { queued: number; running: number };
  /** Live progress from the workflow, while it runs. */
  progress: BatchProgress | null;
  /** Agents' outcomes, failures first (at most `limit` of them). */
  items: BatchItemRecord[];
  createdAt: Date;
  finishedAt: Date | null;
}

export class BatchHandle {
  constructor(
    private readonly temporal: Client,
    private readonly db: Db,
    readonly batchId: string,
  ) {}

  get workflowId(): string {
    return batchWorkflowId(this.batchId);
  }

  /** Waits for the job (through its continue-as-new runs); its counts. Agents' failures do not fail it. */
  async result(): Promise<BatchResult> {
    return this.temporal.workflow.getHandle<(input: BatchWorkflowInput) => Promise<BatchResult>>(this.workflowId).result();
  }

  /** The job: Temporal's status, live progress, counts and each agent's outcome (failures first, at most `limit`). */
  async describe(options: { limit?: number } = {}): Promise<BatchDetails> {
    const limit = parseInput(z.number().int('must be a whole number').min(1, 'must be at least 1').max(100_000, 'must be at most 100000').default(1000), options.limit, 'batch', 'limit');
    const job = await findJob(this.db, this.batchId);
    if (!job) throw new NotFoundError('batch job', this.batchId);
    const handle = this.temporal.workflow.getHandle(this.workflowId);
    const description = await handle.describe().catch(() => null);
    const status = description?.status.name ?? job.status.toUpperCase();
    const progress = status === 'RUNNING' ? await handle.query(batchStatusQuery).catch(() => null) : null;
    return {
      batchId: job.batchId,
      workflowId: job.workflowId,
      status,
      kind: job.kind,
      prompt: job.prompt,
      pipeline: job.pipeline,
      selector: job.selector,
      concurrency: job.concurrency,
      counts: await jobCounts(this.db, this.batchId),
      progress,
      items: await listItems(this.db, this.batchId, limit),
      createdAt: job.createdAt,
      finishedAt: job.finishedAt,
    };
  }

  /** Cancels the job: no further agent is asked; messages already with their agents are answered there, pipeline runs it started are cancelled. */
  async cancel(): Promise<void> {
    await this.temporal.workflow.getHandle(this.workflowId).cancel();
  }
}

/** The selector of a checked job: agent refs resolved to ids; a ValidationError when it selects no agent. */
async function selectorOf(db: Db, o: { agents?: string[] | undefined; tag?: string | undefined }): Promise<BatchSelector> {
  if (o.agents) {
    const found = await resolveAgentRefs(db, o.agents);
    const unknown = o.agents.flatMap((ref, i) => (found.has(ref) ? [] : [{ path: `agents.${i}`, message: `no agent "${ref}" (list agents with memloom agent list)` }]));
    if (unknown.length > 0) throw new ValidationError(unknown, 'batch');
    return { agentIds: [...new Set(o.agents.map((ref) => found.get(ref)!))].sort() };
  }
  const selector: BatchSelector = o.tag !== undefined ? { tag: o.tag } : { all: true };
  if (!(await anyAgentSelected(db, selector))) {
    throw new ValidationError([o.tag !== undefined ? { path: 'tag', message: `no agent has the tag "${o.tag}"` } : { path: 'all', message: 'there are no agents' }], 'batch');
  }
  return selector;
}

function sameSelector(a: BatchSelector, b: BatchSelector): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A stand-in agent id, to check a built-in pipeline's input as each agent's run gets it. */
const SOME_AGENT_ID = 'agent-00000000-0000-4000-8000-000000000000';

/**
 * The pipeline of a pipeline job, checked: a built-in or published pipeline (a ValidationError on
 * `pipeline` otherwise); a built-in's input checked as each run gets it, with an agent id.
 */
async function pipelineOf(db: Db, name: string, input: Record<string, unknown>): Promise<BatchPipeline> {
  const known = await listPipelines(db);
  if (!known.some((p) => p.name === name)) {
    throw new ValidationError([{ path: 'pipeline', message: `no pipeline named "${name}" (known: ${known.map((p) => p.name).join(', ')})` }], 'batch');
  }
  const builtIn = BUILT_IN_PIPELINES.find((p) => p.name === name);
  const parsed = builtIn?.input.safeParse({ ...input, agent: SOME_AGENT_ID });
  if (parsed && !parsed.success) throw ValidationError.fromZod(parsed.error, `input of pipeline ${name}`, 'input');
  return { name, input };
}

function samePipeline(a: BatchPipeline | null, b: BatchPipeline | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A parsed job's definition: its selector resolved (agent names to ids) and its pipeline checked. */
async function definitionOf(db: Db, o: JobFieldsOutput): Promise<BatchJobDefinition> {
  const pipeline = o.pipeline !== undefined ? await pipelineOf(db, o.pipeline, o.input ?? {}) : null;
  const selector = await selectorOf(db, o);
  const kind: BatchJobKind = o.builtin ?? (pipeline ? 'pipeline' : 'prompt');
  return { kind, prompt: o.prompt ?? null, pipeline, selector, concurrency: o.concurrency, maxSteps: o.maxSteps };
}

/**
 * Checks a job's options (a schedule's batch action): a ValidationError naming each bad field —
 * unknown agents, an unknown pipeline, a built-in pipeline's bad input, a tag no agent has.
 */
export async function checkBatchJob(db: Db, options: BatchJobOptions): Promise<BatchJobDefinition> {
  return definitionOf(db, parseInput(BatchJobSchema, options, 'batch'));
}

/**
 * Checks and records a job, and starts its workflow. Starting a finished job's id again asks
 * only the agents it has not answered (or failed) yet: for a pipeline job, it starts no run
 * that exists already.
 */
export async function startBatch(temporal: Client, db: Db, taskQueue: string, options: StartBatchOptions): Promise<BatchHandle> {
  const o = parseInput(StartBatchSchema, options, 'batch');
  const job = await definitionOf(db, o);
  const batchId = o.batchId ?? randomUUID();
  const workflowId = batchWorkflowId(batchId);
  const existing = await findJob(db, batchId);
  if (existing && (existing.kind !== job.kind || existing.prompt !== job.prompt || !samePipeline(existing.pipeline, job.pipeline) || !sameSelector(existing.selector, job.selector))) {
    throw new ConflictError(`batch ${batchId} exists with another ${existing.pipeline ? 'pipeline or input' : existing.kind === 'prompt' ? 'prompt' : 'job'} or other agents: choose a new batch id`);
  }
  await upsertJob(db, { ...job, batchId, workflowId });
  try {
    await temporal.workflow.start(BATCH_WORKFLOW_TYPE, {
      workflowId,
      taskQueue,
      args: [{ batchId, ...(o.pageSize !== undefined ? { pageSize: o.pageSize } : {}), ...(o.pagesPerRun !== undefined ? { pagesPerRun: o.pagesPerRun } : {}) } satisfies BatchWorkflowInput],
      staticSummary: `batch: ${batchJobSummary(job)}`,
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) throw new ConflictError(`batch ${batchId} is running: follow it with memloom batch show ${batchId}`);
    throw error;
  }
  return new BatchHandle(temporal, db, batchId);
}

/** A handle on the job `batchId` (or its workflow id `batch/<batchId>`). */
export async function getBatch(temporal: Client, db: Db, idOrWorkflowId: string): Promise<BatchHandle> {
  const raw = parseInput(z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty'), idOrWorkflowId, 'batch', 'batchId');
  const batchId = parseInput(BatchIdSchema, raw.startsWith('batch/') ? raw.slice('batch/'.length) : raw, 'batch', 'batchId');
  if (!(await findJob(db, batchId))) throw new NotFoundError('batch job', batchId);
  return new BatchHandle(temporal, db, batchId);
}
