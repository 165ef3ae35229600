/**
 * `memloom schedule ...`: pipeline runs and batch jobs on a cron expression or an interval, with Temporal's
 * Schedules API — create, list, show, pause, unpause, trigger, backfill, update, delete.
 * @module
 */
import { Command } from 'commander';
import { z } from 'zod';
import type { MemloomClient } from '../client/memloom-client.ts';
import type { CreateScheduleOptions, ScheduleActionSpec, ScheduleDetails, UpdateScheduleOptions } from '../client/schedules.ts';
import { BUILT_IN_BATCHES } from '../domain/batch.ts';
import { setAction } from './command-context.ts';
import { pipelineInputFromFlags } from './pipeline-input.ts';
import { addJsonOption, assignmentFlag, collect, countFlag, flagError, numberFlag, parseFlags, withFlagPaths } from './options.ts';
import { printResult } from './output.ts';
import { oneLine } from './run-format.ts';

const OVERLAP_HELP = 'skip, buffer-one, buffer-all, cancel-other, terminate-other or allow-all';

const SpecFlagsSchema = z.object({
  cron: z.string().optional(),
  every: z.string().optional(),
  timezone: z.string().optional(),
  pipeline: z.string().optional(),
  input: z.array(assignmentFlag).default([]),
  inputJson: z.string().optional(),
  maxBudget: numberFlag.optional(),
  overlap: z.string().optional(),
  catchupWindow: z.string().optional(),
  paused: z.boolean().optional(),
  note: z.string().optional(),
  maxRuns: numberFlag.optional(),
  batch: z.union([z.literal(true), z.string()]).optional(),
  prompt: z.string().optional(),
  agents: z.string().optional(),
  tag: z.string().optional(),
  all: z.boolean().optional(),
  concurrency: countFlag(100).optional(),
  maxSteps: countFlag(100).optional(),
});
type SpecFlags = z.output<typeof SpecFlagsSchema>;

const FLAG_OF: Record<string, string> = {
  id: '<id>',
  cron: '--cron',
  every: '--every',
  timezone: '--timezone',
  overlap: '--overlap',
  catchupWindow: '--catchup-window',
  paused: '--paused',
  note: '--note',
  maxRuns: '--max-runs',
  action: '--pipeline',
  'action.name': '--pipeline',
  'action.maxBudget': '--max-budget',
  'action.pipeline': '--pipeline',
  'action.builtin': '--batch',
  'action.prompt': '--prompt',
  'action.agents': '--agents',
  'action.tag': '--tag',
  'action.all': '--all',
  'action.concurrency': '--concurrency',
  'action.maxSteps': '--max-steps',
  from: '--from',
  to: '--to',
};

/** The flag behind a client issue path: `action.input.topic` → `--input topic`, `catchupWindow` → `--catchup-window`. */
function flagOf(path: string, inputFlag: '--input' | '--input-json'): string | undefined {
  if (/^action\.agents\.\d+$/.test(path)) return '--agents';
  if (path === 'action.input') return inputFlag;
  if (path.startsWith('action.input.')) return `${inputFlag} ${path.slice('action.input.'.length)}`;
  return FLAG_OF[path];
}


/** Flags that only a batch action takes: any of them makes the action a batch job. */
const BATCH_FLAGS = ['batch', 'prompt', 'agents', 'tag', 'all', 'concurrency', 'maxSteps'] as const;

/** The action the flags give, or undefined when they give none (an update that keeps it). */
function actionFromFlags(flags: SpecFlags, input: Record<string, unknown> | undefined, current: ScheduleActionSpec | null | undefined): UpdateScheduleOptions['action'] {
  const batch = BATCH_FLAGS.some((k) => flags[k] !== undefined) || (current?.type === 'batch' && flags.pipeline === undefined);
  if (!batch) {
    const given = flags.pipeline !== undefined || input !== undefined || flags.maxBudget !== undefined;
    if (!given) return undefined;
    return {
      type: 'pipeline',
      ...(flags.pipeline !== undefined ? { name: flags.pipeline } : {}),
      ...(input !== undefined ? { input } : {}),
      ...(flags.maxBudget !== undefined ? { maxBudget: flags.maxBudget } : {}),
    };
  }
  if (flags.maxBudget !== undefined) flagError('--max-budget', 'is for a pipeline schedule; a batch job has no per-run budget (give agents a --max-budget)');
  if (typeof flags.batch === 'string' && !(BUILT_IN_BATCHES as readonly string[]).includes(flags.batch)) {
    flagError('--batch', `must be a built-in job (${BUILT_IN_BATCHES.join(', ')}), or no value for a --prompt or --pipeline job, got "${flags.batch}"`);
  }
  const action = {
    type: 'batch' as const,
    ...(typeof flags.batch === 'string' ? { builtin: flags.batch as (typeof BUILT_IN_BATCHES)[number] } : {}),
    ...(flags.prompt !== undefined ? { prompt: flags.prompt } : {}),
    ...(flags.pipeline !== undefined ? { pipeline: flags.pipeline } : {}),
    ...(input !== undefined ? { input } : {}),
    ...(flags.agents !== undefined ? { agents: flags.agents.split(',').map((a) => a.trim()) } : {}),
    ...(flags.tag !== undefined ? { tag: flags.tag } : {}),
    ...(flags.all === true ? { all: true } : {}),
    ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
    ...(flags.maxSteps !== undefined ? { maxSteps: flags.maxSteps } : {}),
  };
  return Object.keys(action).length > 1 || current?.type !== 'batch' ? action : undefined;
}

/** The spec flags as client options; `action` only when an action flag is given (or, on create, always). */
async function specFromFlags(client: MemloomClient, flags: SpecFlags, current: ScheduleActionSpec | null | undefined): Promise<UpdateScheduleOptions> {
  const currentPipeline = current?.type === 'pipeline' ? current.name : current?.type === 'batch' ? current.pipeline : undefined;
  const name = flags.pipeline ?? currentPipeline;
  const pipeline = name === undefined ? undefined : (await client.listPipelines()).find((p) => p.name === name);
  const input = pipelineInputFromFlags(flags.input, flags.inputJson, pipeline);
  const action = actionFromFlags(flags, input, current);
  return {
    ...(flags.cron !== undefined ? { cron: flags.cron } : {}),
    ...(flags.every !== undefined ? { every: flags.every } : {}),
    ...(flags.timezone !== undefined ? { timezone: flags.timezone } : {}),
    ...(flags.overlap !== undefined ? { overlap: flags.overlap as CreateScheduleOptions['overlap'] } : {}),
    ...(flags.catchupWindow !== undefined ? { catchupWindow: flags.catchupWindow } : {}),
    ...(flags.paused !== undefined ? { paused: flags.paused } : {}),
    ...(flags.note !== undefined ? { note: flags.note } : {}),
    ...(flags.maxRuns !== undefined ? { maxRuns: flags.maxRuns } : {}),
    ...(action !== undefined ? { action } : {}),
  };
}

function relabel(flags: SpecFlags): (error: unknown) => never {
  const inputFlag = flags.inputJson !== undefined ? '--input-json' : '--input';
  return (error) => {
    throw withFlagPaths(error, (path) => flagOf(path, inputFlag));
  };
}

// ---- formatting ----

function when(s: ScheduleDetails): string {
  const times = s.cron !== null ? `cron ${s.cron}` : s.every !== null ? `every ${s.every}` : '(custom spec)';
  return s.timezone ? `${times} (${s.timezone})` : times;
}

function what(s: ScheduleDetails): string {
  const a = s.action;
  if (!a) return '(not a memloom action)';
  if (a.type === 'pipeline') return `pipeline ${a.name}`;
  const job = a.builtin ?? (a.pipeline !== undefined ? `pipeline ${a.pipeline}` : `prompt "${oneLine(a.prompt ?? '', 40)}"`);
  const who = a.agents ? `${a.agents.length} agents` : a.tag !== undefined ? `tag ${a.tag}` : 'all agents';
  return `batch: ${job} for ${who}`;
}

/** The action's details, one field a line. */
function actionLines(a: ScheduleActionSpec | null, field: (name: string, value: string) => string): string[] {
  if (!a) return [];
  if (a.type === 'pipeline') return [field('input', JSON.stringify(a.input ?? {})), ...(a.maxBudget ? [field('budget', `$${a.maxBudget} per run`)] : [])];
  return [
    ...(a.prompt !== undefined ? [field('prompt', oneLine(a.prompt, 80))] : []),
    ...(a.pipeline !== undefined ? [field('input', JSON.stringify(a.input ?? {}))] : []),
    ...(a.agents ? [field('agents', a.agents.join(', '))] : []),
    field('concurrency', String(a.concurrency ?? '-')),
  ];
}

function formatList(list: ScheduleDetails[]): string {
  if (list.length === 0) return '(no schedules)';
  const rows = [
    ['ID', 'ACTION', 'WHEN', 'STATE', 'NEXT RUN'],
    ...list.map((s) => [s.id, what(s), when(s), s.paused ? 'paused' : 'active', s.paused ? '-' : (s.nextRuns[0]?.toISOString() ?? '-')]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i < r.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  ').trimEnd()).join('\n');
}

export function formatSchedule(s: ScheduleDetails): string {
  const field = (name: string, value: string): string => `${`${name}:`.padEnd(12)}${value}`;
  const lines = [
    field('schedule', s.id),
    field('action', what(s)),
    ...actionLines(s.action, field),
    field('when', when(s)),
    field('state', `${s.paused ? 'paused' : 'active'}${s.note ? ` (${s.note})` : ''}`),
    field('overlap', s.overlap),
    field('catchup', s.catchupWindow),
    field('runs', `${s.actionsTaken} started, ${s.skippedOverlap} skipped (overlap), ${s.missedCatchupWindow} missed${s.remainingRuns !== null ? `, ${s.remainingRuns} left` : ''}`),
    field('next', s.paused ? '-' : s.nextRuns.slice(0, 3).map((d) => d.toISOString()).join(', ') || '-'),
    ...(s.runningRuns.length > 0 ? [field('running', s.runningRuns.join(', '))] : []),
  ];
  if (s.recentRuns.length > 0) lines.push('recent runs:', ...s.recentRuns.map((r) => `  ${r.startedAt.toISOString()}  ${r.workflowId}`));
  return lines.join('\n');
}

// ---- commands ----

function addSpecOptions(command: Command): Command {
  return command
    .option('--cron <expr>', 'a 5-field cron expression: minute hour day-of-month month day-of-week, e.g. "0 3 * * 1-5"; or @hourly, @daily, ...')
    .option('--every <duration>', 'an interval: 2s, 15m, 1h30m, 1d (at least 1s)')
    .option('--timezone <tz>', 'the IANA time zone --cron is read in, e.g. Europe/Paris (default UTC)')
    .option('--pipeline <name>', 'the pipeline each run starts (see memloom pipeline list); with --batch, one run per agent')
    .option('--input <key=value>', 'one input field of the pipeline (repeatable)', collect)
    .option('--input-json <json>', "the pipeline's whole input as a JSON object")
    .option('--max-budget <usd>', "US dollars each run's stage messages may cost (pipeline schedules)")
    .option('--batch [builtin]', `each run is a batch job: --prompt, --pipeline, or a built-in job (${BUILT_IN_BATCHES.join(', ')}), for --agents, --tag or --all`)
    .option('--prompt <text>', 'the message each agent gets (batch)')
    .option('--agents <a,b,...>', 'these agents, ids or names, resolved now (batch)')
    .option('--tag <tag>', 'every agent with this tag at each run (batch)')
    .option('--all', 'every agent at each run (batch)')
    .option('--concurrency <n>', 'agents asked at once, 1 to 100 (batch; default 4)')
    .option('--max-steps <n>', 'steps each agent may take (batch; default 10)')
    .option('--overlap <policy>', `when a run is due while the last one still runs: ${OVERLAP_HELP} (default skip)`)
    .option('--catchup-window <duration>', 'how late a run missed while Temporal was down may still start, e.g. 10m (at least 10s; default 1 year)')
    .option('--paused', 'create it paused / pause it')
    .option('--note <text>', "a note kept with the schedule's state")
    .option('--max-runs <n>', 'start at most N runs, then stop (a trigger does not count; default no limit)');
}

function readFlags(options: Record<string, unknown>): SpecFlags {
  return parseFlags(SpecFlagsSchema, options);
}

function createCommand(): Command {
  const command = addSpecOptions(
    new Command('create')
      .summary('create a schedule that starts a pipeline run or a batch job')
      .description(
        'Create a schedule that starts a pipeline run (--pipeline) or a batch job (--batch, with --prompt, --pipeline or ' +
          'a built-in job, for --agents, --tag or --all) on a cron expression (--cron) or an interval (--every), on the ' +
          "client's task queue. Every value is checked first: a bad cron expression, duration, time zone, pipeline, " +
          'input or agent is an error naming the flag, and nothing is created. Runs are the workflows ' +
          "pipeline/NAME/ID-<time> or batch/ID-<time> (memloom batch show ID-<time>); the schedule shows on the Temporal UI's Schedules page.",
      )
      .argument('<id>', 'the schedule id, e.g. nightly-research'),
  );
  addJsonOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ memloom schedule create nightly --cron "0 3 * * *" --timezone Europe/Paris --pipeline research-and-write --input topic="tidal power"
  $ memloom schedule create often --every 10m --pipeline brief --input-json '{"topic": "grids"}' --overlap buffer-one --paused
  $ memloom schedule create nightly-sleep --cron "0 4 * * *" --batch memory-consolidation --all --concurrency 8
  $ memloom schedule create morning-ping --cron "0 8 * * 1-5" --batch --prompt "What is on today?" --tag team-a`,
  );
  return setAction(command, async (ctx, [id], options) => {
    const flags = readFlags(options);
    const batch = BATCH_FLAGS.some((k) => flags[k] !== undefined);
    if (!batch && flags.pipeline === undefined) flagError('--pipeline', 'is required: the pipeline each run starts (see memloom pipeline list), or give --batch');
    const client = await ctx.client();
    const spec = await specFromFlags(client, flags, undefined);
    const created = await client.createSchedule(id!, { ...spec, action: spec.action as ScheduleActionSpec }).catch(relabel(flags));
    printResult(ctx.mode, created, (s) => `created schedule ${s.id}: ${what(s)}, ${when(s)}${s.paused ? ', paused' : ''}`);
  });
}

function updateCommand(): Command {
  const command = addSpecOptions(
    new Command('update')
      .summary("change a schedule's times, action, input or policies")
      .description(
        'Change a schedule: only what the flags give. --cron replaces --every and the other way round; --input or ' +
          '--input-json replaces the whole input; --pipeline with another pipeline needs its input. Checked like create.',
      )
      .argument('<id>', 'the schedule id'),
  );
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom schedule update nightly --cron "30 4 * * *"\n  $ memloom schedule update nightly --input topic="wave power" --overlap buffer-one');
  return setAction(command, async (ctx, [id], options) => {
    const flags = readFlags(options);
    const client = await ctx.client();
    const current = await client.getSchedule(id!).catch(relabel(flags));
    const spec = await specFromFlags(client, flags, current.action);
    const updated = await client.updateSchedule(id!, spec).catch(relabel(flags));
    printResult(ctx.mode, updated, (s) => `updated schedule ${s.id}: ${what(s)}, ${when(s)}${s.paused ? ', paused' : ''}`);
  });
}

function idCommand(
  name: string,
  summary: string,
  description: string,
  run: (client: MemloomClient, id: string, options: Record<string, unknown>) => Promise<ScheduleDetails | null>,
  human: (s: ScheduleDetails | null, id: string) => string,
  configure: (command: Command) => Command = (c) => c,
): Command {
  const command = configure(new Command(name).summary(summary).description(description).argument('<id>', 'the schedule id'));
  addJsonOption(command);
  return setAction(command, async (ctx, [id], options) => {
    const client = await ctx.client();
    const result = await run(client, id!, options).catch((error: unknown) => {
      throw withFlagPaths(error, (path) => FLAG_OF[path]);
    });
    printResult(ctx.mode, result ?? { id: id!, deleted: true }, () => human(result, id!));
  });
}

function noteOf(options: Record<string, unknown>): string | undefined {
  return typeof options['note'] === 'string' ? options['note'] : undefined;
}

function listCommand(): Command {
  const command = new Command('list')
    .summary('list the schedules of this task queue')
    .description("List the schedules whose runs go to this client's task queue: action, times, state and next run.");
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom schedule list\n  $ memloom schedule list --json | jq -r ".[].id"');
  return setAction(command, async (ctx) => {
    const client = await ctx.client();
    printResult(ctx.mode, await client.listSchedules(), formatList);
  });
}

export function scheduleCommands(): Command {
  return new Command('schedule')
    .summary('run pipelines or batch jobs on a cron expression or an interval')
    .description(
      "Schedules with Temporal's Schedules API: start a pipeline run or a batch job on a cron expression or an interval — create, " +
        'list, show, pause, unpause, trigger, backfill, update, delete. Schedules live in Temporal: they survive worker ' +
        "and server restarts and appear on the UI's Schedules page.",
    )
    .addCommand(createCommand())
    .addCommand(listCommand())
    .addCommand(
      idCommand('show', 'show a schedule: action, times, state, runs', 'Show a schedule: its action (pipeline and input, or batch job and agents), times, overlap policy, state, counts, next and recent runs.', (c, id) => c.getSchedule(id), (s) => formatSchedule(s!)),
    )
    .addCommand(
      idCommand(
        'pause',
        'pause a schedule',
        'Pause a schedule: no run starts until it is unpaused (memloom schedule trigger still starts one).',
        (c, id, o) => c.pauseSchedule(id, noteOf(o)),
        (s) => `paused schedule ${s!.id}`,
        (cmd) => cmd.option('--note <text>', 'why it is paused'),
      ),
    )
    .addCommand(
      idCommand(
        'unpause',
        'unpause a schedule',
        'Unpause a schedule: runs start again at their times.',
        (c, id, o) => c.unpauseSchedule(id, noteOf(o)),
        (s) => `unpaused schedule ${s!.id}; next run ${s!.nextRuns[0]?.toISOString() ?? '-'}`,
        (cmd) => cmd.option('--note <text>', 'a note kept with its state'),
      ),
    )
    .addCommand(
      idCommand('trigger', 'start one run now', 'Start one run of the schedule now, even when it is paused and whatever its overlap policy.', (c, id) => c.triggerSchedule(id), (s) => `triggered schedule ${s!.id}`),
    )
    .addCommand(
      idCommand(
        'backfill',
        'take the runs of a past time range now',
        'Take the runs the schedule would have taken between --from and --to, now (by the schedule\'s overlap policy unless --overlap is given).',
        (c, id, o) =>
          c.backfillSchedule(id, {
            from: String(o['from'] ?? ''),
            to: String(o['to'] ?? ''),
            ...(typeof o['overlap'] === 'string' ? { overlap: o['overlap'] as CreateScheduleOptions['overlap'] } : {}),
          }),
        (s) => `backfilled schedule ${s!.id}`,
        (cmd) =>
          cmd
            .requiredOption('--from <iso>', 'start of the range, e.g. 2025-01-01T00:00:00Z')
            .requiredOption('--to <iso>', 'end of the range, e.g. 2025-01-02T00:00:00Z')
            .option('--overlap <policy>', `${OVERLAP_HELP} for the backfilled runs`),
      ),
    )
    .addCommand(updateCommand())
    .addCommand(
      idCommand('delete', 'delete a schedule', 'Delete a schedule. The runs it started are not touched.', async (c, id) => (await c.deleteSchedule(id), null), (_s, id) => `deleted schedule ${id}`),
    );
}
