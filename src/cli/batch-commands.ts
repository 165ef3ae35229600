/**
 * `memloom batch ...`: start a batch job (one message, or one pipeline run, fanned out over many
 * agents) and follow it, show a job with each agent's outcome, cancel it.
 * @module
 */
import { Command } from 'commander';
import { z } from 'zod';
import type { BatchDetails, BatchHandle } from '../client/batches.ts';
import type { MemloomClient } from '../client/memloom-client.ts';
import { BUILT_IN_BATCHES, type BuiltInBatch } from '../domain/batch.ts';
import { ConflictError } from '../domain/errors.ts';
import { setAction } from './command-context.ts';
import { addJsonOption, assignmentFlag, collect, countFlag, flagError, parseFlags, withFlagPaths } from './options.ts';
import { pipelineInputFromFlags } from './pipeline-input.ts';
import { printNote, printResult, type OutputMode } from './output.ts';
import { oneLine, statusText, table } from './run-format.ts';

/** How often `batch run --wait` looks at the job. */
const POLL_EVERY_MS = 500;

const RunFlagsSchema = z.object({
  prompt: z.string().optional(),
  pipeline: z.string().optional(),
  input: z.array(assignmentFlag).default([]),
  inputJson: z.string().optional(),
  agents: z.string().optional(),
  tag: z.string().optional(),
  all: z.boolean().optional(),
  concurrency: countFlag(100).optional(),
  maxSteps: countFlag(100).optional(),
  batchId: z.string().optional(),
});

const FLAG_OF: Record<string, string> = {
  builtin: '<builtin>',
  prompt: '--prompt',
  pipeline: '--pipeline',
  agents: '--agents',
  tag: '--tag',
  all: '--all',
  concurrency: '--concurrency',
  maxSteps: '--max-steps',
  batchId: '--batch-id',
};

function flagOf(path: string): string | undefined {
  if (/^agents\.\d+$/.test(path)) return '--agents';
  if (path === 'input') return '--input';
  if (path.startsWith('input.')) return `--input ${path.slice('input.'.length)}`;
  return FLAG_OF[path];
}

/** `counts: 12/50 · answered 10 · failed 1 · in flight 1` */
function countsLine(d: BatchDetails): string {
  const c = d.counts;
  const inFlight = d.progress?.counts.inFlight ?? c.running;
  return `${c.answered + c.failed}/${c.selected} done · answered ${c.answered} · failed ${c.failed} · in flight ${inFlight}`;
}

export function formatBatch(d: BatchDetails): string {
  const field = (name: string, value: string): string => `${`${name}:`.padEnd(13)}${value}`;
  const who = 'agentIds' in d.selector ? `${d.selector.agentIds.length} agents` : 'tag' in d.selector ? `tag ${d.selector.tag}` : 'all agents';
  const lines = [
    field('batch', d.batchId),
    field('workflow', d.workflowId),
    field('status', statusText(d.status)),
    ...(d.pipeline
      ? [field('pipeline', d.pipeline.name), field('input', oneLine(JSON.stringify(d.pipeline.input), 80))]
      : d.kind === 'prompt'
        ? [field('prompt', oneLine(d.prompt ?? '', 80))]
        : [field('job', d.kind)]),
    field('agents', who),
    field('concurrency', String(d.concurrency)),
    field('counts', countsLine(d)),
    field('created', d.createdAt.toISOString()),
    ...(d.finishedAt ? [field('finished', d.finishedAt.toISOString())] : []),
  ];
  if (d.items.length > 0) {
    const rows = [
      ['AGENT', 'STATUS', 'ERROR'],
      ...d.items.map((i) => [i.agentName ?? i.agentId, i.status, i.status === 'failed' ? `${i.errorType ?? 'Error'}: ${oneLine(i.errorMessage ?? '', 80)}` : '']),
    ];
    lines.push('outcomes (failures first):', ...table(rows).map((l) => `  ${l}`));
    if (d.items.length < d.counts.selected) lines.push(`  ... ${d.counts.selected - d.items.length} more (--limit)`);
  }
  return lines.join('\n');
}

/** Waits for the job, printing its counts on stderr whenever they change. */
async function follow(mode: OutputMode, job: BatchHandle): Promise<void> {
  let printed = '';
  const report = async (): Promise<void> => {
    const d = await job.describe({ limit: 1 }).catch(() => null);
    if (!d) return;
    const line = countsLine(d);
    if (line !== printed) printNote(mode, line);
    printed = line;
  };
  let settled = false;
  const outcome = job.result().then(
    () => ({ ok: true as const }),
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
}

function runCommand(): Command {
  const command = new Command('run')
    .summary('send a message (or run a pipeline, or a built-in job) for many agents, a few at a time')
    .description(
      'Start a batch job: one message sent to each selected agent (--agents, --tag or --all) through its own mailbox, ' +
        '--concurrency agents at a time, and print its id. With --pipeline instead of --prompt, run the pipeline once ' +
        'per agent, as the child workflow pipeline/NAME/BATCH-AGENT_ID with the input plus agent=AGENT_ID (the pipeline ' +
        'reads input.agent). The built-in job memory-consolidation has each agent review its messages since its last ' +
        'consolidation and rewrite its core memory blocks with the memory tools, with no reply shown. Each agent\'s outcome (answered, or failed with its type, e.g. StageFailed) is stored; a ' +
        'failing agent does not fail the job. Running the same --batch-id again asks only the agents not yet done and ' +
        'starts no pipeline run twice. With --wait, print the counts on stderr as they change, then the job. Needs a ' +
        'running `memloom worker` (with the pipeline, for --pipeline).',
    )
    .argument('[builtin]', `a built-in job instead of --prompt or --pipeline: ${BUILT_IN_BATCHES.join(', ')}`)
    .option('--prompt <text>', 'the message each agent gets')
    .option('--pipeline <name>', 'run this pipeline once per agent instead, with input.agent set to its id')
    .option('--input <key=value>', 'pipeline input field (with --pipeline)', collect)
    .option('--input-json <json>', 'pipeline input (with --pipeline)')
    .option('--agents <a,b,...>', 'these agents (ids or names, comma-separated)')
    .option('--tag <tag>', 'every agent with this tag')
    .option('--all', 'every agent')
    .option('--concurrency <n>', 'agents asked at once, 1 to 100 (default 4)')
    .option('--max-steps <n>', 'steps each agent may take on the message (default 10)')
    .option('--batch-id <id>', 'the job id (batch/ID); running it again after it ended asks only the agents not yet done (default: a new uuid)')
    .option('--wait', 'wait for the job: counts on stderr, then the job');
  addJsonOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ memloom batch run --prompt "Summarize what you learned this week." --tag team-a --concurrency 8 --wait
  $ memloom batch run --prompt "Say hi" --agents researcher,writer
  $ memloom batch run --prompt "Ping" --all --batch-id nightly-ping && memloom batch show nightly-ping
  $ memloom batch run --pipeline weekly-review --input focus=billing --tag team-a --batch-id review-w48 --wait
  $ memloom batch run memory-consolidation --all --concurrency 8 --wait`,
  );
  return setAction(command, async (ctx, [builtin], options) => {
    const flags = parseFlags(RunFlagsSchema, options);
    if (builtin !== undefined && !(BUILT_IN_BATCHES as readonly string[]).includes(builtin)) {
      flagError('<builtin>', `must be a built-in job (${BUILT_IN_BATCHES.join(', ')}), got "${builtin}"; a message goes with --prompt`);
    }
    const given = [builtin !== undefined && builtin, flags.prompt !== undefined && '--prompt', flags.pipeline !== undefined && '--pipeline'].filter((g): g is string => g !== false);
    if (given.length > 1) flagError(given[1] === '--prompt' ? '--prompt' : '--pipeline', `give one of a built-in job, --prompt and --pipeline: ${given.join(' and ')} were both given`);
    if (flags.pipeline === undefined && (flags.input.length > 0 || flags.inputJson !== undefined)) {
      flagError(flags.inputJson !== undefined ? '--input-json' : '--input', 'is for --pipeline; a --prompt or built-in job takes no input');
    }
    if (given.length === 0) flagError('--prompt', `is required: the message each agent gets (or give --pipeline, or a built-in job: ${BUILT_IN_BATCHES.join(', ')})`);
    const client = await ctx.client();
    const pipeline = flags.pipeline !== undefined ? (await client.listPipelines()).find((p) => p.name === flags.pipeline) : undefined;
    const input = flags.pipeline !== undefined ? (pipelineInputFromFlags(flags.input, flags.inputJson, pipeline) ?? {}) : undefined;
    const job = await client
      .startBatch({
        ...(builtin !== undefined ? { builtin: builtin as BuiltInBatch } : {}),
        ...(flags.prompt !== undefined ? { prompt: flags.prompt } : {}),
        ...(flags.pipeline !== undefined ? { pipeline: flags.pipeline, input } : {}),
        ...(flags.agents !== undefined ? { agents: flags.agents.split(',').map((a) => a.trim()) } : {}),
        ...(flags.tag !== undefined ? { tag: flags.tag } : {}),
        ...(flags.all === true ? { all: true } : {}),
        ...(flags.concurrency !== undefined ? { concurrency: flags.concurrency } : {}),
        ...(flags.maxSteps !== undefined ? { maxSteps: flags.maxSteps } : {}),
        ...(flags.batchId !== undefined ? { batchId: flags.batchId } : {}),
      })
      .catch((error: unknown) => {
        throw withFlagPaths(error, flagOf);
      });
    if (options.wait !== true) {
      printResult(ctx.mode, { batchId: job.batchId, workflowId: job.workflowId }, (r) => r.batchId);
      printNote(ctx.mode, `follow it: memloom batch show ${job.batchId}`);
      return;
    }
    printNote(ctx.mode, `started ${job.workflowId}`);
    await follow(ctx.mode, job);
    printResult(ctx.mode, await job.describe(), formatBatch);
  });
}

async function batchArg(client: MemloomClient, id: string | undefined): Promise<BatchHandle> {
  return client.getBatch(id ?? '').catch((error: unknown) => {
    throw withFlagPaths(error, (path) => (path === 'batchId' ? '<batch-id>' : undefined));
  });
}

function showCommand(): Command {
  const command = new Command('show')
    .summary("show a job: status, counts, each agent's outcome")
    .description("Show a batch job: its status, its counts, and each agent's outcome, failures first (with the error type and message).")
    .argument('<batch-id>', 'the batch id, or its workflow id batch/ID')
    .option('--limit <n>', 'at most n agents (default 1000)');
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom batch show nightly-ping\n  $ memloom batch show nightly-ping --json | jq \'.items[] | select(.status == "failed")\'');
  return setAction(command, async (ctx, [id], options) => {
    const flags = parseFlags(z.object({ limit: countFlag(100_000).optional() }), { limit: options.limit });
    const job = await batchArg(await ctx.client(), id);
    printResult(ctx.mode, await job.describe(flags.limit !== undefined ? { limit: flags.limit } : {}), formatBatch);
  });
}

function cancelCommand(): Command {
  const command = new Command('cancel')
    .summary('cancel a job: no further agent is asked')
    .description(
      'Cancel a batch job: no further agent is asked and the job ends as cancelled. A message already with its agent is still answered there; ' +
        'pipeline runs the job started are cancelled.',
    )
    .argument('<batch-id>', 'the batch id, or its workflow id batch/ID');
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom batch cancel nightly-ping');
  return setAction(command, async (ctx, [id]) => {
    const job = await batchArg(await ctx.client(), id);
    const d = await job.describe({ limit: 1 });
    if (d.status !== 'RUNNING') throw new ConflictError(`batch ${d.batchId} is ${statusText(d.status)}: there is nothing to cancel`);
    await job.cancel();
    printResult(ctx.mode, { batchId: d.batchId, cancelRequested: true }, (r) => `cancelling batch ${r.batchId}: no further agent is asked (see memloom batch show)`);
  });
}

export function batchCommands(): Command {
  return new Command('batch')
    .summary('send a message (or run a pipeline, or consolidate memory) for many agents and follow the job')
    .description(
      "Batch jobs — one message (or one pipeline run, or the built-in memory-consolidation) fanned out over many agents (by name, tag, or all), a few at a " +
        "time, each agent's outcome stored: run, show, cancel. Each job is the Temporal workflow batch/ID; each agent's " +
        'pipeline run its child workflow pipeline/NAME/BATCH-AGENT_ID.',
    )
    .addCommand(runCommand())
    .addCommand(showCommand())
    .addCommand(cancelCommand());
}
