/**
 * Schedules with Temporal's Schedules API: a pipeline run started on a cron expression or an
 * interval, paused, triggered, backfilled, updated and deleted. Everything is checked before
 * Temporal is called, so bad input creates nothing. Schedules live in Temporal (they survive
 * worker and server restarts and appear on the UI's Schedules page); the action's task queue and
 * a memo mark those memloom made.
 * @module
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleOptionsAction,
  type ScheduleSpec,
  type ScheduleUpdateOptions,
} from '@temporalio/client';
import { z } from 'zod';
import type { Db } from '../db/pool.ts';
import { ConflictError, NotFoundError, ValidationError, type FieldIssue } from '../domain/errors.ts';
import { BATCH_WORKFLOW_TYPE, batchJobSummary, batchWorkflowId, type BatchJobDefinition, type BatchWorkflowInput, type BuiltInBatch } from '../domain/batch.ts';
import { PIPELINE_WORKFLOW_TYPE, pipelineWorkflowId, type PipelineWorkflowInput } from '../domain/pipeline.ts';
import { PipelineKey } from '../domain/search-attributes.ts';
import { parseInput, storableText } from '../domain/validation.ts';
import { PIPELINE_NAME } from '../pipelines/define-pipeline.ts';
import { BUILT_IN_PIPELINES } from '../pipelines/registry.ts';
import { checkBatchJob, type BatchJobOptions } from './batches.ts';
import { listPipelines } from './pipeline-runs.ts';
import { cronProblem, expandCronMacro, formatDuration, isTimeZone, parseDuration } from './schedule-spec.ts';

/** What happens when a run is due while the previous one still runs; Temporal's overlap policies. */
export const ScheduleOverlap = {
  /** Don't start the new run. */
  skip: 'SKIP',
  /** Start it when the running one ends; buffer at most one. */
  'buffer-one': 'BUFFER_ONE',
  /** Start every due run, one after the other. */
  'buffer-all': 'BUFFER_ALL',
  /** Cancel the running one, then start the new one. */
  'cancel-other': 'CANCEL_OTHER',
  /** Terminate the running one and start the new one at once. */
  'terminate-other': 'TERMINATE_OTHER',
  /** Start every due run at once, side by side. */
  'allow-all': 'ALLOW_ALL',
} as const;
export type ScheduleOverlap = keyof typeof ScheduleOverlap;
const OVERLAPS = Object.keys(ScheduleOverlap) as [ScheduleOverlap, ...ScheduleOverlap[]];

/** Temporal's shortest catchup window: it raises anything shorter to this. */
const MIN_CATCHUP_MS = 10_000;
/** How memloom marks its schedules (and the task queue their runs go to) in the schedule memo. */
const MEMO_KEY = 'memloom';

/** What a schedule does each time: start a pipeline run, or a batch job. */
export interface PipelineScheduleAction {
  type: 'pipeline';
  /** The pipeline, e.g. `research-and-write` (a built-in, or published by a worker). */
  name: string;
  /** The pipeline's input, checked now for a built-in. @default {} */
  input?: Record<string, unknown>;
  /** USD each run's stage messages may cost. @default no budget */
  maxBudget?: number | null;
}
/**
 * Start a batch job: a message, a pipeline run or a built-in job (`memory-consolidation`) for
 * each selected agent. Agent names are resolved to ids when the schedule is created; a tag or
 * `all` is read at each run. Each run is the job `batch/<scheduleId>-<time>`.
 */
export interface BatchScheduleAction extends BatchJobOptions {
  type: 'batch';
}
export type ScheduleActionSpec = PipelineScheduleAction | BatchScheduleAction;

export interface CreateScheduleOptions {
  /** A 5-field cron expression (`0 3 * * 1-5`) or `@hourly`, `@daily`, ...; exactly one of `cron` and `every`. */
  cron?: string;
  /** An interval: `2s`, `15m`, `1h30m`, `1d` (at least 1s); exactly one of `cron` and `every`. */
  every?: string;
  /** The IANA time zone `cron` is read in. @default UTC */
  timezone?: string;
  action: ScheduleActionSpec;
  /** @default 'skip' */
  overlap?: ScheduleOverlap;
  /** How late a missed run (server down) may still start, e.g. `10m` (at least 10s). @default 1 year */
  catchupWindow?: string;
  /** Create it paused. @default false */
  paused?: boolean;
  /** A note kept with the schedule's state (why it is paused, ...). */
  note?: string;
  /** Start at most this many runs (scheduled or backfilled; a trigger does not count), then stop. @default no limit */
  maxRuns?: number;
}

/** What `update` changes; everything else stays. `action` fields are merged over the current action. */
export interface UpdateScheduleOptions extends Partial<Omit<CreateScheduleOptions, 'action'>> {
  action?: Partial<ScheduleActionSpec>;
}

export interface BackfillOptions {
  /** Start of the time range, as if it passed again now. */
  from: Date | string;
  /** End of the time range. */
  to: Date | string;
  /** @default the schedule's overlap policy */
  overlap?: ScheduleOverlap;
}

/** A schedule as `memloom schedule show` prints it. */
export interface ScheduleDetails {
  id: string;
  action: ScheduleActionSpec | null;
  cron: string | null;
  every: string | null;
  timezone: string | null;
  overlap: ScheduleOverlap;
  catchupWindow: string;
  paused: boolean;
  note: string | null;
  /** Runs it may still start, when it was created with `maxRuns`; null: no limit. */
  remainingRuns: number | null;
  /** The task queue its runs go to. */
  taskQueue: string | null;
  createdAt: Date;
  updatedAt: Date | null;
  nextRuns: Date[];
  /** Most recent runs, oldest first. */
  recentRuns: { workflowId: string; scheduledAt: Date; startedAt: Date }[];
  /** Workflow ids of runs it started that still run. */
  runningRuns: string[];
  actionsTaken: number;
  skippedOverlap: number;
  missedCatchupWindow: number;
}

const ScheduleIdSchema = z
  .string({ error: 'must be a string' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be 1 to 100 letters, digits, ., _ and -, starting with a letter or digit');

const durationAtLeast = (minMs: number) =>
  z
    .string({ error: 'must be a duration such as 30s, 10m, 1h30m or 1d' })
    .refine((d) => parseDuration(d) !== undefined, { error: (i) => `must be a duration such as 30s, 10m, 1h30m or 1d, got ${JSON.stringify(i.input)}` })
    .refine((d) => (parseDuration(d) ?? 0) >= minMs, `must be at least ${formatDuration(minMs)}`);

const CronSchema = z.string({ error: 'must be a string' }).superRefine((cron, ctx) => {
  const problem = cronProblem(cron);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const PipelineActionSchema = z.object({
  type: z.literal('pipeline'),
  name: z.string({ error: 'must be a string' }).regex(PIPELINE_NAME, 'must be a pipeline name: lowercase letters, digits and dashes'),
  input: z.record(z.string(), z.unknown(), { error: 'must be an object' }).default({}),
  maxBudget: z.number({ error: 'must be a number of US dollars' }).positive('must be more than 0').nullable().default(null),
});
const BatchActionSchema = z.looseObject({ type: z.literal('batch') });
const ActionSchema = z.discriminatedUnion('type', [PipelineActionSchema, BatchActionSchema], {
  error: 'must be { type: "pipeline", name, input?, maxBudget? } or { type: "batch", prompt | pipeline | builtin, agents | tag | all, ... }',
});
type ParsedAction = z.output<typeof ActionSchema>;

const SpecFields = {
  cron: CronSchema.optional(),
  every: durationAtLeast(1000).optional(),
  timezone: z
    .string({ error: 'must be a string' })
    .refine(isTimeZone, { error: (i) => `unknown time zone ${JSON.stringify(i.input)}: use an IANA name such as Europe/Paris or UTC` })
    .optional(),
  overlap: z.enum(OVERLAPS, { error: `must be one of ${OVERLAPS.join(', ')}` }).optional(),
  catchupWindow: durationAtLeast(MIN_CATCHUP_MS).optional(),
  paused: z.boolean({ error: 'must be true or false' }).optional(),
  note: storableText().max(1000, 'must be at most 1000 characters').optional(),
  maxRuns: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').optional(),
};
const UpdateSchema = z.object(SpecFields).refine((o) => o.cron === undefined || o.every === undefined, { error: 'give either cron or every, not both', path: ['every'] });
const CreateSchema = UpdateSchema.refine((o) => o.cron !== undefined || o.every !== undefined, { error: 'give either cron or every', path: ['cron'] });
type ParsedSpec = z.output<typeof UpdateSchema>;

/** An action, checked: it names a pipeline the workers run, and a built-in's input is valid; a batch job is checked as `startBatch` checks it. */
type CheckedAction =
  | {
      action: z.output<typeof PipelineActionSchema>;
      /** What the runs' static summary says after the schedule's name. */
      summary: string;
    }
  | { action: { type: 'batch' }; job: BatchJobDefinition; summary: string };

/** Issues with the action that need the database: an unknown pipeline, a built-in's bad input. */
async function checkAction(db: Db, action: ParsedAction): Promise<{ checked: CheckedAction | null; issues: FieldIssue[] }> {
  switch (action.type) {
    case 'pipeline': {
      const known = await listPipelines(db);
      if (!known.some((p) => p.name === action.name)) {
        return { checked: null, issues: [{ path: 'action.name', message: `no pipeline named "${action.name}" (known: ${known.map((p) => p.name).join(', ')})` }] };
      }
      const builtIn = BUILT_IN_PIPELINES.find((p) => p.name === action.name);
      if (!builtIn) return { checked: { action, summary: `pipeline ${action.name}` }, issues: [] };
      const parsed = builtIn.input.safeParse(action.input);
      if (!parsed.success) return { checked: null, issues: ValidationError.fromZod(parsed.error, '', 'action.input').issues };
      return { checked: { action, summary: builtIn.summary?.(parsed.data) ?? `pipeline ${action.name}` }, issues: [] };
    }
    case 'batch': {
      const { type: _type, ...options } = action;
      try {
        const job = await checkBatchJob(db, options as BatchJobOptions);
        return { checked: { action: { type: 'batch' }, job, summary: `batch: ${batchJobSummary(job)}` }, issues: [] };
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        return { checked: null, issues: error.issues.map((i) => ({ ...i, path: i.path ? `action.${i.path}` : 'action' })) };
      }
    }
  }
}

/** The Temporal action a schedule takes each time: one case per kind of action. */
export function scheduleAction(checked: CheckedAction, target: { scheduleId: string; taskQueue: string }): ScheduleOptionsAction {
  const summary = `schedule ${target.scheduleId}: ${checked.summary}`;
  const staticSummary = summary.length > 200 ? `${summary.slice(0, 197)}...` : summary;
  if ('job' in checked) {
    return {
      type: 'startWorkflow',
      workflowType: BATCH_WORKFLOW_TYPE,
      // Temporal appends the scheduled time: batch/<scheduleId>-2025-01-01T03:00:00Z, the job's id after batch/
      workflowId: batchWorkflowId(target.scheduleId),
      taskQueue: target.taskQueue,
      args: [{ job: checked.job } satisfies BatchWorkflowInput],
      staticSummary,
    };
  }
  const { action } = checked;
  switch (action.type) {
    case 'pipeline': {
      return {
        type: 'startWorkflow',
        workflowType: PIPELINE_WORKFLOW_TYPE,
        // Temporal appends the scheduled time: pipeline/<name>/<scheduleId>-2025-01-01T03:00:00Z
        workflowId: pipelineWorkflowId(action.name, target.scheduleId),
        taskQueue: target.taskQueue,
        args: [{ name: action.name, input: action.input, maxBudget: action.maxBudget } satisfies PipelineWorkflowInput],
        typedSearchAttributes: [{ key: PipelineKey, value: action.name }],
        staticSummary,
      };
    }
  }
}

/** A batch job's definition back as the options it was created with (agents as ids). */
function batchActionOf(job: BatchJobDefinition): BatchScheduleAction {
  const who = 'agentIds' in job.selector ? { agents: job.selector.agentIds } : 'tag' in job.selector ? { tag: job.selector.tag } : { all: true };
  const what =
    job.kind === 'pipeline' && job.pipeline
      ? { pipeline: job.pipeline.name, input: job.pipeline.input }
      : job.kind === 'prompt'
        ? { prompt: job.prompt ?? '' }
        : { builtin: job.kind as BuiltInBatch };
  return { type: 'batch', ...what, ...who, concurrency: job.concurrency, maxSteps: job.maxSteps };
}

/** The action a schedule's description holds, back as memloom's spec (null: not memloom's). */
function actionOf(description: ScheduleDescription): ScheduleActionSpec | null {
  if (description.action.workflowType === BATCH_WORKFLOW_TYPE) {
    const job = ((description.action.args ?? []) as BatchWorkflowInput[])[0]?.job;
    return job ? batchActionOf(job) : null;
  }
  if (description.action.workflowType !== PIPELINE_WORKFLOW_TYPE) return null;
  const args = (description.action.args ?? []) as PipelineWorkflowInput[];
  const run = args[0];
  if (!run) return null;
  return { type: 'pipeline', name: run.name, input: (run.input ?? {}) as Record<string, unknown>, maxBudget: run.maxBudget };
}

/** A cron expression travels with its own text as the calendar's comment, so `show` prints it as given. */
function cronSpec(cron: string): string {
  return `${expandCronMacro(cron.trim())} #${cron.trim()}`;
}

function timeSpec(spec: ParsedSpec): ScheduleSpec {
  return {
    ...(spec.cron !== undefined ? { cronExpressions: [cronSpec(spec.cron)] } : {}),
    ...(spec.every !== undefined ? { intervals: [{ every: parseDuration(spec.every)! }] } : {}),
    ...(spec.timezone !== undefined ? { timezone: spec.timezone } : {}),
  };
}

/** Parses the spec and the action at once, so one error names every bad field. */
async function parseAll(
  db: Db,
  schema: typeof CreateSchema | typeof UpdateSchema,
  options: Record<string, unknown>,
  action: unknown,
  subject: string,
): Promise<{ spec: ParsedSpec; checked: CheckedAction | null }> {
  const issues: FieldIssue[] = [];
  const catching = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      issues.push(...error.issues);
      return undefined;
    }
  };
  const { action: _ignored, ...rest } = options;
  const spec = catching(() => parseInput(schema, rest, subject));
  const parsedAction = action === undefined ? undefined : catching(() => parseInput(ActionSchema, action, subject, 'action'));
  let checked: CheckedAction | null = null;
  if (parsedAction) {
    const result = await checkAction(db, parsedAction);
    issues.push(...result.issues);
    checked = result.checked;
  }
  if (issues.length > 0 || !spec) throw new ValidationError(issues, subject);
  return { spec, checked };
}

function mapScheduleError(error: unknown, scheduleId: string, specPath: string): unknown {
  if (error instanceof ScheduleNotFoundError) return new NotFoundError('schedule', scheduleId, 'see memloom schedule list');
  if (error instanceof ScheduleAlreadyRunning) return new ConflictError(`schedule ${scheduleId} already exists: pick another id, or change it with memloom schedule update`);
  // the SDK's mapping of INVALID_ARGUMENT "Invalid schedule spec" (our own checks come first)
  if (error instanceof TypeError) return new ValidationError([{ path: specPath, message: error.message }], 'schedule');
  return error;
}

function parseId(id: unknown): string {
  return parseInput(ScheduleIdSchema, id, 'schedule', 'id');
}

/**
 * Creates schedule `id`. Every field is checked first — the cron expression, the interval, the
 * time zone, the pipeline and a built-in's input — so a ValidationError names each bad field and
 * nothing is created; an existing id is a ConflictError.
 */
export async function createSchedule(temporal: Client, db: Db, taskQueue: string, id: string, options: CreateScheduleOptions): Promise<ScheduleDetails> {
  const scheduleId = parseId(id);
  const given = (options ?? {}) as unknown as Record<string, unknown>;
  const { spec, checked } = await parseAll(db, CreateSchema, given, given['action'] ?? null, 'schedule');
  const handle = await temporal.schedule
    .create({
      scheduleId,
      spec: timeSpec(spec),
      action: scheduleAction(checked!, { scheduleId, taskQueue }),
      policies: {
        overlap: ScheduleOverlap[spec.overlap ?? 'skip'],
        ...(spec.catchupWindow !== undefined ? { catchupWindow: parseDuration(spec.catchupWindow)! } : {}),
      },
      memo: { [MEMO_KEY]: { taskQueue } },
      state: {
        paused: spec.paused ?? false,
        ...(spec.note !== undefined ? { note: spec.note } : {}),
        ...(spec.maxRuns !== undefined ? { remainingActions: spec.maxRuns } : {}),
      },
    })
    .catch((error: unknown) => {
      throw mapScheduleError(error, scheduleId, spec.cron !== undefined ? 'cron' : 'every');
    });
  return describeSchedule(temporal, handle.scheduleId);
}

/** What a batch action does, and to which agents: giving one of a group replaces the others. */
const BATCH_WHAT = ['prompt', 'pipeline', 'builtin'] as const;
const BATCH_WHO = ['agents', 'tag', 'all'] as const;

/**
 * An update's action merged over the current one: fields it gives replace the current ones. A
 * pipeline does not inherit another pipeline's input; a batch job given a new prompt, pipeline or
 * built-in drops the old one (and its input), given new agents, a tag or all drops the old choice.
 * An action of another type replaces the current one whole.
 */
function mergeAction(was: ScheduleActionSpec | null, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || !was) return patch;
  const p = patch as Record<string, unknown>;
  if (p['type'] !== undefined && p['type'] !== was.type) return patch;
  const base: Record<string, unknown> = { ...was };
  const given = (keys: readonly string[]): boolean => keys.some((k) => p[k] !== undefined);
  if (was.type === 'pipeline' && p['name'] !== undefined && p['name'] !== was.name && p['input'] === undefined) base['input'] = {};
  if (was.type === 'batch') {
    if (given(BATCH_WHAT)) for (const k of [...BATCH_WHAT, 'input']) delete base[k];
    if (given(BATCH_WHO)) for (const k of BATCH_WHO) delete base[k];
  }
  return { ...base, ...p };
}

/** Changes schedule `id`: only what `options` gives; checked like {@link createSchedule}. */
export async function updateSchedule(temporal: Client, db: Db, id: string, options: UpdateScheduleOptions): Promise<ScheduleDetails> {
  const scheduleId = parseId(id);
  const handle = temporal.schedule.getHandle(scheduleId);
  const current = await handle.describe().catch((error: unknown) => {
    throw mapScheduleError(error, scheduleId, 'cron');
  });
  const given = (options ?? {}) as unknown as Record<string, unknown>;
  const patch = given['action'];
  const was = actionOf(current);
  const action = patch === undefined ? undefined : mergeAction(was, patch);
  const { spec, checked } = await parseAll(db, UpdateSchema, given, action, 'schedule');
  const taskQueue = current.action.taskQueue;
  const newTimes = spec.cron !== undefined || spec.every !== undefined;
  await handle
    .update((previous): ScheduleUpdateOptions => ({
      spec: newTimes
        ? { ...timeSpec(spec), ...(spec.timezone === undefined && previous.spec.timezone ? { timezone: previous.spec.timezone } : {}) }
        : { ...previous.spec, ...(spec.timezone !== undefined ? { timezone: spec.timezone } : {}) },
      action: checked ? scheduleAction(checked, { scheduleId, taskQueue }) : previous.action,
      policies: {
        ...previous.policies,
        ...(spec.overlap !== undefined ? { overlap: ScheduleOverlap[spec.overlap] } : {}),
        ...(spec.catchupWindow !== undefined ? { catchupWindow: parseDuration(spec.catchupWindow)! } : {}),
      },
      state: {
        paused: spec.paused ?? previous.state.paused,
        ...((spec.note ?? previous.state.note) !== undefined ? { note: spec.note ?? previous.state.note } : {}),
        ...((spec.maxRuns ?? previous.state.remainingActions) !== undefined ? { remainingActions: spec.maxRuns ?? previous.state.remainingActions } : {}),
      },
    }))
    .catch((error: unknown) => {
      throw mapScheduleError(error, scheduleId, spec.cron !== undefined ? 'cron' : 'every');
    });
  return describeSchedule(temporal, scheduleId);
}

/** Schedule `id` as memloom shows it; a NotFoundError when there is none. */
export async function describeSchedule(temporal: Client, id: string): Promise<ScheduleDetails> {
  const scheduleId = parseId(id);
  const d = await temporal.schedule
    .getHandle(scheduleId)
    .describe()
    .catch((error: unknown) => {
      throw mapScheduleError(error, scheduleId, 'id');
    });
  const comment = d.spec.calendars?.[0]?.comment;
  const every = d.spec.intervals?.[0]?.every;
  const overlap = OVERLAPS.find((o) => ScheduleOverlap[o] === d.policies.overlap) ?? 'skip';
  return {
    id: d.scheduleId,
    action: actionOf(d),
    cron: comment ?? null,
    every: every !== undefined ? formatDuration(every) : null,
    timezone: d.spec.timezone ?? null,
    overlap,
    catchupWindow: formatDuration(d.policies.catchupWindow),
    paused: d.state.paused,
    note: d.state.note || null,
    remainingRuns: d.state.remainingActions ?? null,
    taskQueue: d.action.taskQueue ?? null,
    createdAt: d.info.createdAt,
    updatedAt: d.info.lastUpdatedAt ?? null,
    nextRuns: d.info.nextActionTimes,
    recentRuns: d.info.recentActions.map((a) => ({ workflowId: a.action.workflow.workflowId, scheduledAt: a.scheduledAt, startedAt: a.takenAt })),
    runningRuns: d.info.runningActions.map((a) => a.workflow.workflowId),
    actionsTaken: d.info.numActionsTaken,
    skippedOverlap: d.info.numActionsSkippedOverlap,
    missedCatchupWindow: d.info.numActionsMissedCatchupWindow,
  };
}

/** memloom's schedules whose runs go to `taskQueue`, by id. Listing is eventually consistent: a new schedule shows up within a second or so. */
export async function listSchedules(temporal: Client, taskQueue: string): Promise<ScheduleDetails[]> {
  const ids: string[] = [];
  for await (const s of temporal.schedule.list()) {
    const memo = s.memo?.[MEMO_KEY] as { taskQueue?: unknown } | undefined;
    if (memo?.taskQueue === taskQueue) ids.push(s.scheduleId);
  }
  const described = await Promise.all(ids.map((id) => describeSchedule(temporal, id).catch((error: unknown) => (error instanceof NotFoundError ? null : Promise.reject(error)))));
  return described.filter((d): d is ScheduleDetails => d !== null).sort((a, b) => a.id.localeCompare(b.id));
}

const NoteSchema = storableText().max(1000, 'must be at most 1000 characters').optional();

/** Pauses schedule `id`: no run starts until it is unpaused (a trigger still starts one). */
export async function pauseSchedule(temporal: Client, id: string, note?: string): Promise<ScheduleDetails> {
  return patchSchedule(temporal, id, note, (h, n) => h.pause(n ?? 'paused with memloom'));
}

export async function unpauseSchedule(temporal: Client, id: string, note?: string): Promise<ScheduleDetails> {
  return patchSchedule(temporal, id, note, (h, n) => h.unpause(n ?? 'unpaused with memloom'));
}

/** Starts one run now, whatever the overlap policy and even when paused. */
export async function triggerSchedule(temporal: Client, id: string): Promise<ScheduleDetails> {
  return patchSchedule(temporal, id, undefined, (h) => h.trigger(ScheduleOverlap['allow-all']));
}

const BackfillSchema = z
  .object({
    from: z.coerce.date({ error: 'must be a date and time, e.g. 2025-01-01T00:00:00Z' }),
    to: z.coerce.date({ error: 'must be a date and time, e.g. 2025-01-02T00:00:00Z' }),
    overlap: z.enum(OVERLAPS, { error: `must be one of ${OVERLAPS.join(', ')}` }).optional(),
  })
  .refine((b) => b.from.getTime() < b.to.getTime(), { error: 'must be after from', path: ['to'] });

/** Takes the actions the schedule would have taken from `from` to `to`, now. */
export async function backfillSchedule(temporal: Client, id: string, options: BackfillOptions): Promise<ScheduleDetails> {
  const b = parseInput(BackfillSchema, options, 'backfill');
  return patchSchedule(temporal, id, undefined, (h) => h.backfill({ start: b.from, end: b.to, ...(b.overlap ? { overlap: ScheduleOverlap[b.overlap] } : {}) }));
}

/** Deletes schedule `id`; runs it started are not touched. */
export async function deleteSchedule(temporal: Client, id: string): Promise<void> {
  const scheduleId = parseId(id);
  await temporal.schedule
    .getHandle(scheduleId)
    .delete()
    .catch((error: unknown) => {
      throw mapScheduleError(error, scheduleId, 'id');
    });
}

type Handle = ReturnType<Client['schedule']['getHandle']>;

async function patchSchedule(temporal: Client, id: string, note: string | undefined, patch: (handle: Handle, note: string | undefined) => Promise<void>): Promise<ScheduleDetails> {
  const scheduleId = parseId(id);
  const checkedNote = parseInput(NoteSchema, note, 'schedule', 'note');
  await patch(temporal.schedule.getHandle(scheduleId), checkedNote).catch((error: unknown) => {
    throw mapScheduleError(error, scheduleId, 'id');
  });
  return describeSchedule(temporal, scheduleId);
}
