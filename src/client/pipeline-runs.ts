/**
 * Starting and following pipeline runs: `client.startPipeline` / `runPipeline` and the handle
 * they return (`result()`, `describe()`, `cancel()`), the pipelines workers publish, and runs
 * from Temporal visibility.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { z } from 'zod';
import { createRun, findRun, listPublishedPipelines, resolveRunId, stageItemsWithUsage, type PipelineRunRecord, type PublishedPipeline, type StageItemWithUsage } from '../db/pipeline-store.ts';
import type { Db } from '../db/pool.ts';
import { ConflictError, NotFoundError, PipelineFailedError, ValidationError } from '../domain/errors.ts';
import { PIPELINE_WORKFLOW_TYPE, pipelineWorkflowId, type PipelineResult, type PipelineRunStatus, type PipelineWorkflowInput } from '../domain/pipeline.ts';
import { PipelineKey } from '../domain/search-attributes.ts';
import { parseInput } from '../domain/validation.ts';
import { PIPELINE_NAME } from '../pipelines/define-pipeline.ts';
import { BUILT_IN_PIPELINES } from '../pipelines/registry.ts';
import { pipelineStatusQuery } from '../../workflows/pipeline-definitions.ts';

export interface StartPipelineOptions {
  /** The run id (the last part of `pipeline/<name>/<runId>`): starting it again is refused. @default a new uuid */
  runId?: string;
  /** USD the run's stage messages may cost (from the usage ledger); past it no message starts. */
  maxBudget?: number;
}

const StartOptionsSchema = z.object({
  runId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be letters, digits, ., _ and -, at most 100').optional(),
  maxBudget: z.number({ error: 'must be a number of US dollars' }).positive('must be more than 0').optional(),
});

/** A pipeline run as `memloom pipeline show` prints it. */
export interface PipelineRunDetails {
  workflowId: string;
  runId: string;
  name: string;
  /** From Temporal: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT. */
  status: string;
  input: unknown;
  maxBudget: number | null;
  error: { type: string | null; message: string | null } | null;
  /** Live progress from the workflow, while it runs. */
  progress: PipelineRunStatus | null;
  stages: StageItemWithUsage[];
  totalTokens: number;
  /** USD; null when no call reported a cost. */
  cost: number | null;
  createdAt: Date;
  finishedAt: Date | null;
}

/** The stored output of a completed run. */
export interface PipelineRunOutput {
  workflowId: string;
  name: string;
  output: unknown;
}

/** A pipeline a client can start. */
export interface PipelineInfo {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  stages: { name: string; after: string[] }[];
  builtIn: boolean;
}

/** A run from Temporal visibility. */
export interface PipelineRunSummary {
  workflowId: string;
  name: string;
  status: string;
  startTime: Date;
  closeTime: Date | null;
}

export class PipelineRunHandle {
  constructor(
    private readonly temporal: Client,
    private readonly db: Db,
    readonly workflowId: string,
  ) {}

  get runId(): string {
    return this.workflowId.split('/').slice(2).join('/');
  }

  /** Waits for the run; its output, or a PipelineFailedError naming the failed stage and agent. */
  async result(): Promise<PipelineRunOutput> {
    try {
      await this.temporal.workflow.getHandle<(input: PipelineWorkflowInput) => Promise<PipelineResult>>(this.workflowId).result();
    } catch (error) {
      if (error instanceof WorkflowFailedError) {
        const cause = error.cause as { type?: string; message?: string; cause?: { type?: string; message?: string } } | undefined;
        const root = cause?.cause && !cause.type ? cause.cause : cause;
        throw new PipelineFailedError(root?.type ?? 'Error', root?.message ?? error.message, this.workflowId, { cause: error });
      }
      throw error;
    }
    const run = await findRun(this.db, this.workflowId);
    return { workflowId: this.workflowId, name: run?.name ?? '', output: run?.output ?? null };
  }

  /** The run: Temporal's status, live progress, and each stage message with its agent, tokens and cost. */
  async describe(): Promise<PipelineRunDetails> {
    const run = await findRun(this.db, this.workflowId);
    const handle = this.temporal.workflow.getHandle(this.workflowId);
    const description = await handle.describe().catch(() => null);
    if (!run && !description) throw new NotFoundError('pipeline run', this.workflowId);
    const status = description?.status.name ?? (run?.status === 'running' ? 'UNKNOWN' : (run?.status ?? 'UNKNOWN').toUpperCase());
    const progress = status === 'RUNNING' ? await handle.query(pipelineStatusQuery).catch(() => null) : null;
    const stages = await stageItemsWithUsage(this.db, this.workflowId);
    const costs = stages.map((s) => s.cost).filter((c): c is number => c !== null);
    return {
      workflowId: this.workflowId,
      runId: this.runId,
      name: run?.name ?? this.workflowId.split('/')[1] ?? '',
      status,
      input: run?.input ?? null,
      maxBudget: run?.maxBudget ?? null,
      error: run?.errorType || run?.errorMessage ? { type: run.errorType, message: run.errorMessage } : null,
      progress,
      stages,
      totalTokens: stages.reduce((n, s) => n + s.totalTokens, 0),
      cost: costs.length > 0 ? costs.reduce((a, b) => a + b, 0) : null,
      createdAt: run?.createdAt ?? description?.startTime ?? new Date(0),
      finishedAt: run?.finishedAt ?? null,
    };
  }

  /** Cancels the run: no further stage message starts; messages in flight finish in their agents. */
  async cancel(): Promise<void> {
    await this.temporal.workflow.getHandle(this.workflowId).cancel();
  }
}

/** The pipelines workers have published, and the built-ins. */
export async function listPipelines(db: Db): Promise<PipelineInfo[]> {
  const published = await listPublishedPipelines(db);
  const byName = new Map<string, PipelineInfo>(published.map((p: PublishedPipeline) => [p.name, { ...p, builtIn: false }]));
  for (const p of BUILT_IN_PIPELINES) {
    byName.set(p.name, {
      name: p.name,
      description: p.description,
      inputSchema: p.inputJsonSchema,
      stages: p.stageNames.map((s) => ({ name: s, after: [...(p.stages[s]!.after ?? [])] })),
      builtIn: true,
    });
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Starts a run of pipeline `name`. The name must be a built-in or published by a worker; a
 * built-in's input is checked here (a ValidationError naming each field), another's by the
 * worker (the run then fails with `InvalidPayload`).
 */
export async function startPipeline(
  temporal: Client,
  db: Db,
  taskQueue: string,
  name: string,
  input: unknown,
  options: StartPipelineOptions = {},
): Promise<PipelineRunHandle> {
  const opts = parseInput(StartOptionsSchema, options, 'pipeline options');
  if (typeof name !== 'string' || !PIPELINE_NAME.test(name)) {
    throw new ValidationError([{ path: 'name', message: 'must be a pipeline name: lowercase letters, digits and dashes' }], 'pipeline');
  }
  const known = await listPipelines(db);
  if (!known.some((p) => p.name === name)) {
    throw new ValidationError([{ path: 'name', message: `no pipeline named "${name}" (known: ${known.map((p) => p.name).join(', ')})` }], 'pipeline');
  }
  const builtIn = BUILT_IN_PIPELINES.find((p) => p.name === name);
  let summary = `pipeline ${name}`;
  if (builtIn) {
    const parsed = builtIn.input.safeParse(input);
    if (!parsed.success) throw ValidationError.fromZod(parsed.error, `input of pipeline ${name}`, 'input');
    summary = builtIn.summary?.(parsed.data) ?? summary;
  } else {
    // the worker that has the pipeline checks the input with its zod schema; its published JSON
    // schema catches here what it can (required fields, their types), before anything is created
    const issues = jsonSchemaIssues(known.find((p) => p.name === name)!.inputSchema, input);
    if (issues.length > 0) throw new ValidationError(issues, `input of pipeline ${name}`);
  }
  const workflowId = pipelineWorkflowId(name, opts.runId ?? randomUUID());
  if (opts.runId !== undefined && (await findRun(db, workflowId))) {
    throw new ConflictError(`pipeline run ${workflowId} exists: a run id is used once`);
  }
  // recorded before it starts, so the run is found by its run id at once
  await createRun(db, { workflowId, name, input, maxBudget: opts.maxBudget ?? null });
  try {
    await temporal.workflow.start(PIPELINE_WORKFLOW_TYPE, {
      workflowId,
      taskQueue,
      args: [{ name, input, maxBudget: opts.maxBudget ?? null } satisfies PipelineWorkflowInput],
      typedSearchAttributes: [{ key: PipelineKey, value: name }],
      staticSummary: summary.length > 200 ? `${summary.slice(0, 197)}...` : summary,
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) throw new ConflictError(`pipeline run ${workflowId} exists: a run id is used once`);
    throw error;
  }
  return new PipelineRunHandle(temporal, db, workflowId);
}

const JSON_TYPE_OF = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;

/**
 * What a pipeline's published input schema (an object schema) says is wrong with `input`: not an
 * object, a required field missing, a field of the wrong JSON type. Deeper rules are the worker's.
 */
export function jsonSchemaIssues(schema: Record<string, unknown>, input: unknown): { path: string; message: string }[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [{ path: 'input', message: 'must be an object' }];
  const properties = (schema['properties'] ?? {}) as Record<string, { type?: unknown }>;
  const required = Array.isArray(schema['required']) ? (schema['required'] as string[]) : [];
  const issues: { path: string; message: string }[] = [];
  for (const key of required) {
    if ((input as Record<string, unknown>)[key] === undefined) issues.push({ path: `input.${key}`, message: 'is required' });
  }
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    const declared = properties[key]?.type;
    if (typeof declared !== 'string' || value === undefined) continue;
    const actual = JSON_TYPE_OF(value);
    const fits = actual === declared || (declared === 'number' && actual === 'integer');
    if (!fits) issues.push({ path: `input.${key}`, message: `must be ${declared === 'array' || declared === 'object' || declared === 'integer' ? `an ${declared}` : `a ${declared}`}, got ${actual}` });
  }
  return issues;
}

/** A handle on the run `idOrRunId` (its workflow id, or the run id after `pipeline/<name>/`). */
export async function pipelineRun(temporal: Client, db: Db, idOrRunId: string): Promise<PipelineRunHandle> {
  const workflowId = idOrRunId.startsWith('pipeline/') ? idOrRunId : await resolveRunId(db, idOrRunId);
  if (!workflowId) throw new NotFoundError('pipeline run', idOrRunId);
  return new PipelineRunHandle(temporal, db, workflowId);
}

const STATUS_NAMES: Record<string, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Canceled',
  canceled: 'Canceled',
  terminated: 'Terminated',
  timed_out: 'TimedOut',
};

const RunsFilterSchema = z.object({
  name: z.string().regex(PIPELINE_NAME, 'must be a pipeline name').optional(),
  status: z.enum(Object.keys(STATUS_NAMES) as [string, ...string[]], { error: `must be one of ${Object.keys(STATUS_NAMES).join(', ')}` }).optional(),
  limit: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(50),
});

/** Runs from Temporal visibility, newest first. */
export async function pipelineRuns(temporal: Client, filter: { name?: string; status?: string; limit?: number } = {}): Promise<PipelineRunSummary[]> {
  const f = parseInput(RunsFilterSchema, filter, 'pipeline runs filter');
  const query = [
    `WorkflowType = '${PIPELINE_WORKFLOW_TYPE}'`,
    ...(f.name ? [`Pipeline = '${f.name}'`] : []),
    ...(f.status ? [`ExecutionStatus = '${STATUS_NAMES[f.status]}'`] : []),
  ].join(' AND ');
  const out: PipelineRunSummary[] = [];
  for await (const w of temporal.workflow.list({ query }) as AsyncIterable<WorkflowExecutionInfo>) {
    out.push({
      workflowId: w.workflowId,
      name: (w.typedSearchAttributes.get(PipelineKey) as string | undefined) ?? w.workflowId.split('/')[1] ?? '',
      status: w.status.name,
      startTime: w.startTime,
      closeTime: w.closeTime ?? null,
    });
    if (out.length >= f.limit) break;
  }
  return out;
}

export type { PipelineRunRecord };
export { PipelineFailedError } from '../domain/errors.ts';
