/**
 * `memloom pipeline ...`: list the pipelines workers run, start a run (and follow it stage by
 * stage), show a run, print its output, cancel it, and list runs from Temporal visibility.
 * @module
 */
import { Command } from 'commander';
import { z } from 'zod';
import type { MemloomClient } from '../client/memloom-client.ts';
import type { PipelineInfo, PipelineRunDetails, PipelineRunHandle, PipelineRunSummary } from '../client/pipeline-runs.ts';
import { ConflictError, PipelineFailedError } from '../domain/errors.ts';
import { setAction } from './command-context.ts';
import { pipelineInputFromFlags } from './pipeline-input.ts';
import { addJsonOption, assignmentFlag, collect, countFlag, numberFlag, parseFlags, withFlagPaths } from './options.ts';
import { printNote, printResult, type OutputMode } from './output.ts';
import { oneLine, statusText, table } from './run-format.ts';

/** How often `pipeline run --wait` looks at the run. */
const POLL_EVERY_MS = 500;
/** Output previews in `pipeline show` are cut here (`--json` has the stage outputs whole). */
const OUTPUT_PREVIEW = 80;



function usd(cost: number | null): string {
  return cost === null ? '-' : `$${cost.toFixed(4)}`;
}




const RunFlagsSchema = z.object({
  input: z.array(assignmentFlag).default([]),
  inputJson: z.string().optional(),
  maxBudget: numberFlag.pipe(z.number().positive('must be more than 0 (US dollars)')).optional(),
  runId: z.string().optional(),
});

const RUN_FLAG_OF: Record<string, string> = { maxBudget: '--max-budget', runId: '--run-id', name: '<name>' };

/** The flag behind a client issue path: `input.topic` → `--input topic`, `maxBudget` → `--max-budget`. */
function runFlagOf(path: string, inputFlag: '--input' | '--input-json'): string | undefined {
  if (path === 'input') return inputFlag;
  if (path.startsWith('input.')) return `${inputFlag} ${path.slice('input.'.length)}`;
  return RUN_FLAG_OF[path];
}

// ---- following a run ----

/** One line per stage: `research: running 1/3 · researcher`, from the live progress or the stored items. */
export function stageLines(d: PipelineRunDetails): Map<string, string> {
  const lines = new Map<string, string>();
  if (d.progress) {
    for (const s of d.progress.stages) {
      const count = s.total === null ? '' : ` ${s.done}/${s.total}`;
      lines.set(s.name, `${s.name}: ${s.status}${count}${s.agents.length > 0 ? ` · ${s.agents.join(', ')}` : ''}`);
    }
    return lines;
  }
  const byStage = new Map<string, PipelineRunDetails['stages']>();
  for (const item of d.stages) byStage.set(item.stage, [...(byStage.get(item.stage) ?? []), item]);
  for (const [stage, items] of byStage) {
    const done = items.filter((i) => i.status === 'completed').length;
    const status = items.some((i) => i.status === 'failed')
      ? 'failed'
      : done === items.length
        ? 'completed'
        : d.status === 'RUNNING'
          ? 'running'
          : statusText(d.status);
    const agents = [...new Set(items.map((i) => i.agentName ?? i.agentId ?? '?'))];
    lines.set(stage, `${stage}: ${status} ${done}/${items.length} · ${agents.join(', ')}`);
  }
  return lines;
}

/** Waits for the run, printing a line on stderr whenever a stage's progress changes. */
async function follow(mode: OutputMode, run: PipelineRunHandle): Promise<unknown> {
  const printed = new Map<string, string>();
  const report = async (): Promise<void> => {
    const details = await run.describe().catch(() => null);
    if (!details) return;
    for (const [stage, line] of stageLines(details)) {
      if (printed.get(stage) !== line) printNote(mode, `stage ${line}`);
      printed.set(stage, line);
    }
  };
  let settled = false;
  const outcome = run.result().then(
    (r) => ({ ok: true as const, output: r.output }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  void outcome.then(() => (settled = true));
  while (!settled) {
    await report();
    await Promise.race([outcome, new Promise((r) => setTimeout(r, POLL_EVERY_MS))]);
  }
  await report();
  const end = await outcome;
  if (!end.ok) throw end.error;
  return end.output;
}

/** A run's output for people: text as it is, anything else as indented JSON. */
function formatOutput(output: unknown): string {
  return typeof output === 'string' ? output : JSON.stringify(output, null, 2);
}

// ---- formatting ----

function formatPipelines(list: PipelineInfo[]): string {
  if (list.length === 0) return '(no pipelines)';
  return list
    .map((p) => {
      const schema = p.inputSchema as { properties?: Record<string, { type?: unknown; default?: unknown }>; required?: string[] };
      const fields = Object.entries(schema.properties ?? {}).map(([key, s]) => {
        const type = typeof s.type === 'string' ? s.type : 'any';
        const required = schema.required?.includes(key) && s.default === undefined;
        return `${key} (${type}${required ? ', required' : ''})`;
      });
      const stages = p.stages.map((s) => (s.after.length > 0 ? `${s.name} (after ${s.after.join(', ')})` : s.name));
      return [
        `${p.name}${p.builtIn ? ' (built-in)' : ''}`,
        `  ${p.description}`,
        `  input:  ${fields.length > 0 ? fields.join(', ') : '(none)'}`,
        `  stages: ${stages.join(' → ')}`,
      ].join('\n');
    })
    .join('\n');
}

export function formatRunDetails(d: PipelineRunDetails): string {
  const field = (name: string, value: string): string => `${`${name}:`.padEnd(10)}${value}`;
  const spend = d.maxBudget !== null ? `${usd(d.cost ?? 0)} of $${d.maxBudget} budget` : usd(d.cost);
  const lines = [
    field('run', d.workflowId),
    field('pipeline', d.name),
    field('status', statusText(d.status)),
    ...(d.error ? [field('error', `${d.error.type ?? 'Error'}: ${d.error.message ?? ''}`)] : []),
    field('usage', `tokens ${d.totalTokens} · cost ${spend}`),
    field('created', d.createdAt.toISOString()),
    ...(d.finishedAt ? [field('finished', d.finishedAt.toISOString())] : []),
    'stages:',
    ...[...stageLines(d).values()].map((l) => `  ${l}`),
  ];
  if (d.stages.length > 0) {
    const rows = [
      ['STAGE', 'ITEM', 'AGENT', 'STATUS', 'TOKENS', 'COST', 'OUTPUT'],
      ...d.stages.map((s) => [
        s.stage,
        s.label === null ? String(s.item) : `${s.item}. ${oneLine(s.label, 24)}`,
        s.agentName ?? s.agentId ?? '-',
        s.status,
        String(s.totalTokens),
        usd(s.cost),
        s.status === 'failed' ? `${s.errorType ?? 'Error'}: ${oneLine(s.errorMessage ?? '', OUTPUT_PREVIEW)}` : oneLine(s.output ?? '', OUTPUT_PREVIEW),
      ]),
    ];
    lines.push('messages:', ...table(rows).map((l) => `  ${l}`));
  }
  return lines.join('\n');
}

function formatRuns(runs: PipelineRunSummary[]): string {
  if (runs.length === 0) return '(no pipeline runs)';
  return table([
    ['RUN', 'STATUS', 'STARTED', 'CLOSED'],
    ...runs.map((r) => [r.workflowId, statusText(r.status), r.startTime.toISOString(), r.closeTime?.toISOString() ?? '-']),
  ]).join('\n');
}

// ---- commands ----

function listCommand(): Command {
  const command = new Command('list')
    .summary('list the pipelines you can run')
    .description('List the pipelines you can run: the built-ins and those the workers run (memloom worker --pipelines MODULE), with their input and stages.');
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom pipeline list\n  $ memloom pipeline list --json | jq -r ".[].name"');
  return setAction(command, async (ctx) => {
    const client = await ctx.client();
    printResult(ctx.mode, await client.listPipelines(), formatPipelines);
  });
}

function runCommand(): Command {
  const command = new Command('run')
    .summary('start a pipeline run; with --wait, follow it stage by stage')
    .description(
      'Start a run of a pipeline and print its id (pipeline/NAME/RUN_ID). Give the input as --input key=value flags ' +
        '(a value that parses as JSON — a number, an array, an object — is that value, else text; a field the pipeline ' +
        'declares as text stays text) or as one --input-json object. With --wait, print a line on stderr whenever a ' +
        "stage's progress changes, then the run's output. Needs a running `memloom worker`.",
    )
    .argument('<name>', 'the pipeline, e.g. research-and-write (see memloom pipeline list)')
    .option('--input <key=value>', 'one input field (repeatable)', collect)
    .option('--input-json <json>', 'the whole input as a JSON object')
    .option('--max-budget <usd>', "stop the run before a stage message once the run's messages have cost this many US dollars")
    .option('--run-id <id>', 'the run id (the last part of pipeline/NAME/RUN_ID); starting it again is refused (default: a new uuid)')
    .option('--wait', 'wait for the run: progress per stage on stderr, then the output');
  addJsonOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ memloom pipeline run research-and-write --input topic="tidal power" --input subtopics='["cost","ecology"]' --wait
  $ memloom pipeline run research-and-write --input-json '{"topic": "tidal power"}' --max-budget 0.50
  $ RUN=$(memloom pipeline run brief --input topic=grids) && memloom pipeline show "$RUN"`,
  );
  return setAction(command, async (ctx, [name], options) => {
    const flags = parseFlags(RunFlagsSchema, options);
    const client = await ctx.client();
    const pipeline = (await client.listPipelines()).find((p) => p.name === name);
    const input = pipelineInputFromFlags(flags.input, flags.inputJson, pipeline) ?? {};
    const inputFlag = flags.inputJson !== undefined ? '--input-json' : '--input';
    const run = await client
      .startPipeline(name!, input, {
        ...(flags.maxBudget !== undefined ? { maxBudget: flags.maxBudget } : {}),
        ...(flags.runId !== undefined ? { runId: flags.runId } : {}),
      })
      .catch((error: unknown) => {
        throw withFlagPaths(error, (path) => runFlagOf(path, inputFlag));
      });
    if (options.wait !== true) {
      printResult(ctx.mode, { workflowId: run.workflowId, runId: run.runId, name: name! }, (r) => r.workflowId);
      printNote(ctx.mode, `follow it: memloom pipeline show ${run.workflowId}`);
      return;
    }
    printNote(ctx.mode, `started ${run.workflowId}`);
    const output = await follow(ctx.mode, run);
    printResult(ctx.mode, { workflowId: run.workflowId, runId: run.runId, name: name!, status: 'completed', output }, (r) => formatOutput(r.output));
  });
}

async function runArg(client: MemloomClient, runId: string | undefined): Promise<PipelineRunHandle> {
  return client.getPipelineRun(runId ?? '').catch((error: unknown) => {
    throw withFlagPaths(error, (path) => (path === 'runId' ? '<run-id>' : undefined));
  });
}

function showCommand(): Command {
  const command = new Command('show')
    .summary('show a run: status, stages, agents, tokens, cost')
    .description("Show a pipeline run: its status, its stages and each of their messages with the agent, status, tokens, cost and a preview of the answer.")
    .argument('<run-id>', 'the run id, or the whole pipeline/NAME/RUN_ID');
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom pipeline show 0b6f...\n  $ memloom pipeline show pipeline/research-and-write/0b6f... --json | jq .stages');
  return setAction(command, async (ctx, [runId]) => {
    const run = await runArg(await ctx.client(), runId);
    printResult(ctx.mode, await run.describe(), formatRunDetails);
  });
}

function resultCommand(): Command {
  const command = new Command('result')
    .summary("print a completed run's output")
    .description("Print the output a completed pipeline run stored. A run that did not complete is an error (exit 1) that says why: still running, failed (which stage and agent), or cancelled.")
    .argument('<run-id>', 'the run id, or the whole pipeline/NAME/RUN_ID');
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom pipeline result 0b6f...\n  $ memloom pipeline result 0b6f... --json | jq -r .output.article');
  return setAction(command, async (ctx, [runId]) => {
    const run = await runArg(await ctx.client(), runId);
    const d = await run.describe();
    if (d.status === 'RUNNING') {
      throw new ConflictError(`pipeline run ${d.workflowId} is still running (${[...stageLines(d).values()].join('; ') || 'starting'}): wait for it, or follow it with memloom pipeline show`);
    }
    if (d.status === 'FAILED' || d.status === 'TIMED_OUT') {
      throw new PipelineFailedError(d.error?.type ?? 'Error', `pipeline run ${d.workflowId} failed: ${d.error?.message ?? statusText(d.status)}`, d.workflowId);
    }
    if (d.status !== 'COMPLETED') throw new ConflictError(`pipeline run ${d.workflowId} did not complete: it was ${statusText(d.status)}, so it has no output`);
    const { output } = await run.result();
    printResult(ctx.mode, { workflowId: d.workflowId, name: d.name, output }, (r) => formatOutput(r.output));
  });
}

function cancelCommand(): Command {
  const command = new Command('cancel')
    .summary('cancel a run: no further stage starts')
    .description(
      'Cancel a pipeline run: no further stage or message starts and the run ends as cancelled. A message already ' +
        'with its agent is still answered there (its turn completes in the agent), but the run does not wait for it.',
    )
    .argument('<run-id>', 'the run id, or the whole pipeline/NAME/RUN_ID');
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom pipeline cancel 0b6f...');
  return setAction(command, async (ctx, [runId]) => {
    const run = await runArg(await ctx.client(), runId);
    const d = await run.describe();
    if (d.status !== 'RUNNING') throw new ConflictError(`pipeline run ${d.workflowId} is ${statusText(d.status)}: there is nothing to cancel`);
    await run.cancel();
    printResult(ctx.mode, { workflowId: d.workflowId, cancelRequested: true }, (r) => `cancelling ${r.workflowId}: no further stage starts (see memloom pipeline show)`);
  });
}

const RunsFlagsSchema = z.object({ limit: countFlag(1000).optional() });
const RUNS_FLAG_OF: Record<string, string> = { name: '--name', status: '--status', limit: '--limit' };

function runsCommand(): Command {
  const command = new Command('runs')
    .summary('list pipeline runs, newest first')
    .description('List pipeline runs from Temporal visibility, newest first, optionally of one pipeline or in one status.')
    .option('--name <pipeline>', 'only runs of this pipeline')
    .option('--status <status>', 'only runs in this status: running, completed, failed, cancelled, terminated, timed_out')
    .option('--limit <n>', 'at most n runs (default 50, at most 1000)');
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom pipeline runs --name research-and-write --status failed\n  $ memloom pipeline runs --json | jq -r ".[].workflowId"');
  return setAction(command, async (ctx, _args, options) => {
    const flags = parseFlags(RunsFlagsSchema, { limit: options.limit });
    const client = await ctx.client();
    const runs = await client
      .pipelineRuns({
        ...(typeof options.name === 'string' ? { name: options.name } : {}),
        ...(typeof options.status === 'string' ? { status: options.status } : {}),
        ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
      })
      .catch((error: unknown) => {
        throw withFlagPaths(error, (path) => RUNS_FLAG_OF[path]);
      });
    printResult(ctx.mode, runs, formatRuns);
  });
}

export function pipelineCommands(): Command {
  return new Command('pipeline')
    .summary('run multi-agent pipelines and follow their runs')
    .description(
      'Run pipelines — durable multi-agent workflows whose stages each ask an agent (research, then write) — and follow ' +
        'their runs: list, run, show, result, cancel, runs. Each run is the Temporal workflow pipeline/NAME/RUN_ID.',
    )
    .addCommand(listCommand())
    .addCommand(runCommand())
    .addCommand(showCommand())
    .addCommand(resultCommand())
    .addCommand(cancelCommand())
    .addCommand(runsCommand());
}
