/**
 * `npm run demo`: memloom end to end on the embedded stack. Starts (or reuses) the stack, holds
 * the conversation of the LiteLLM/Letta guide with a restart of the worker between the two
 * turns, and shows that the second answer comes from the memory block written in the first.
 * A second act runs the research-and-write pipeline, then a schedule that runs it twice.
 * In a terminal the stack then stays up (the Temporal UI link works) until Enter or Ctrl-C;
 * otherwise it stops and prints how to reopen it. Without LLM_BASE_URL the agent talks to the
 * scripted model on a fixed port that `memloom dev` on the same home serves again, so
 * `memloom send demo-assistant ...` keeps working after the demo.
 *
 * Usage: npm run demo [-- --port 7233 --ui-port 8233 --pg-port 55432 --model-port 55433]
 * @module
 */
import { parseArgs } from 'node:util';
import { createClient, type MemloomClient } from '../client/memloom-client.ts';
import { RESEARCHER_SYSTEM, WRITER_SYSTEM } from '../pipelines/research-and-write.ts';
import { loadConfig, readDevEnv, readExplicitDatabaseUrl } from '../config/env.ts';
import { createLogger } from '../config/logger.ts';
import type { AgentState, LlmConfigInput } from '../index.ts';
import { agentWorkflowId } from '../domain/ids.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { LettaResponse } from '../domain/letta-message.ts';
import { createMemloomWorker, type MemloomWorker } from '../../workers/agent-worker.ts';
import { forgetDemoModel, recordDemoModel, startDemoModel } from './demo-model.ts';
import { DEV_DEFAULTS, describeStack, startDevStack, workflowUrl, type DevStackInfo } from './dev-stack.ts';
import type { ScriptedModelServer } from './scripted-model-server.ts';
import { portOpen } from './temporal-cli.ts';

const AGENT_NAME = 'demo-assistant';
const TURNS = ['Hi! My name is Alice and I love reading science fiction books.', 'What did I tell you about my interests?'];

const out = (line = ''): void => void process.stdout.write(`${line}\n`);

function banner(lines: string[]): void {
  const width = Math.max(...lines.map((l) => l.length)) + 4;
  out('┌' + '─'.repeat(width) + '┐');
  for (const l of lines) out(`│  ${l.padEnd(width - 4)}  │`);
  out('└' + '─'.repeat(width) + '┘');
}

function printResponse(r: LettaResponse): void {
  for (const m of r.messages) {
    if (m.message_type === 'reasoning_message') out(`  (thinking) ${m.reasoning}`);
    else if (m.message_type === 'tool_call_message') out(`  → ${m.tool_call.name}(${m.tool_call.arguments})`);
    else if (m.message_type === 'tool_return_message') out(`  ← ${m.status}: ${m.tool_return}`);
    else if (m.message_type === 'assistant_message') out(`  assistant: ${m.text}`);
  }
  out(`  [${r.stop_reason.stop_reason}; ${r.usage.step_count} step(s); ${r.usage.total_tokens} tokens]`);
}

/** Prints a progress line every 2 s while `work` runs. */
async function withProgress<T>(label: string, work: Promise<T>): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => out(`  … ${label} (${Math.round((Date.now() - started) / 1000)} s)`), 2000);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

export async function runDemo(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string' }, 'ui-port': { type: 'string' }, 'pg-port': { type: 'string' }, 'model-port': { type: 'string' } },
  });
  const modelPort = values['model-port'] ? Number(values['model-port']) : DEV_DEFAULTS.demoModelPort;
  if (!Number.isInteger(modelPort) || modelPort < 1 || modelPort > 65535) throw new Error(`--model-port: must be a port, 1-65535 (got "${values['model-port']}")`);
  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'memloom-demo');
  out('memloom demo: a stateful agent whose memory survives a worker restart');
  out();

  const stack = await startDevStack({
    home: config.home,
    databaseUrl: readExplicitDatabaseUrl(),
    temporalCliPath: config.temporalCliPath,
    pathEnv: readDevEnv().pathEnv,
    ...(values.port ? { port: Number(values.port) } : {}),
    ...(values['ui-port'] ? { uiPort: Number(values['ui-port']) } : {}),
    ...(values['pg-port'] ? { pgPort: Number(values['pg-port']) } : {}),
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    worker: false,
    log: (line) => out(line),
  });
  out(stack.reused ? `using the stack of the running \`memloom dev\` (pid ${stack.info.pid}):` : 'embedded stack:');
  for (const line of describeStack(stack.info)) out(line);
  out();

  let model: ScriptedModelServer | null = null;
  let llm: LlmConfigInput;
  if (config.llmBaseUrl) {
    llm = { model: readDevEnv().demoModel ?? 'gpt-4o-mini', context_window: 8192 };
    forgetDemoModel(stack.info.home);
    out(`model: ${llm.model} at ${config.llmBaseUrl} (LLM_BASE_URL)`);
  } else {
    let modelUrl = stack.info.demoModelUrl;
    if (!modelUrl) {
      model = await startModelOn(modelPort);
      modelUrl = model.url;
    }
    // memloom dev on this home serves the model on this port again: the agent keeps working
    recordDemoModel(stack.info.home, Number(new URL(modelUrl).port));
    llm = { model: 'scripted-model', model_endpoint: modelUrl, context_window: 8192 };
    banner([
      'NO MODEL CONFIGURED: a scripted stand-in model answers (rule-based, not an LLM).',
      'Everything else is real: Temporal workflows, Postgres memory, tool calls.',
      'To use a real model through your LiteLLM proxy:',
      '  litellm --config config.yaml --port 4000',
      '  LLM_BASE_URL=http://localhost:4000 LLM_API_KEY=<key> MEMLOOM_DEMO_MODEL=gpt-4o npm run demo',
    ]);
  }
  out();

  const client = await createClient({
    temporalAddress: stack.info.temporalAddress,
    temporalNamespace: stack.info.namespace,
    databaseUrl: stack.info.databaseUrl,
    taskQueue: config.taskQueue,
    db: stack.db,
  });
  const startWorker = async (): Promise<MemloomWorker> => {
    const worker = await createMemloomWorker({
      config: { temporalAddress: stack.info.temporalAddress, temporalNamespace: stack.info.namespace, databaseUrl: stack.info.databaseUrl, taskQueue: config.taskQueue },
      db: stack.db,
      logger,
    });
    void worker.run();
    return worker;
  };

  let worker: MemloomWorker | null = null;
  try {
    out('starting a worker ...');
    worker = await startWorker();
    if (stack.reused) out('  (the running memloom dev has its own worker on this task queue too)');

    let agent: AgentState;
    try {
      agent = await client.updateAgent(AGENT_NAME, { llm_config: llm });
      out(`reusing agent ${agent.name} (${agent.id}) — its memory is from earlier runs`);
    } catch {
      agent = await client.createAgent({
        name: AGENT_NAME,
        system: 'You are a helpful assistant with persistent memory.',
        memory_blocks: [
          { label: 'human', value: '' },
          { label: 'persona', value: 'I am a helpful assistant.' },
        ],
        llm_config: llm,
      });
      out(`created agent ${agent.name} (${agent.id})`);
    }
    out();

    for (const [i, text] of TURNS.entries()) {
      if (i > 0) {
        out('restarting the worker: the agent keeps only what Postgres and Temporal hold ...');
        await worker.shutdown();
        worker = await startWorker();
        out('  worker restarted');
        out();
      }
      out(`user: ${text}`);
      printResponse(await withProgress('waiting for the agent', client.userMessage(agent.id, text)));
      out();
    }

    out('core memory:');
    for (const block of await client.getMemory(agent.id)) {
      out(`  [${block.label}] ${block.value.split('\n').join(' | ') || '(empty)'}  (${block.value.length}/${block.limit} chars)`);
    }
    const usage = await client.getUsage(agent.id);
    out(`token usage of this agent so far: ${usage.total_tokens} (prompt ${usage.prompt_tokens}, completion ${usage.completion_tokens}) over ${usage.calls} model calls${usage.cost === null ? '' : `, $${usage.cost.toFixed(4)}`}`);
    const pipelineLinks = await runPipelineAct(client, stack.info, llm, out);
    const link = workflowUrl(stack.info, agentWorkflowId(agent.id));
    out();
    for (const line of pipelineLinks) out(line);
    if (stack.reused) {
      if (link) out(`the agent's workflow in the Temporal UI: ${link}`);
      out(`done: the stack of memloom dev (pid ${stack.info.pid}) stays up; talk to the agent with`);
      out(`  memloom send ${AGENT_NAME} "What do you remember about me?"`);
      if (model) out('  (restart memloom dev first: it serves the scripted demo model from its next start)');
    } else if (process.stdin.isTTY && process.stdout.isTTY) {
      out(`Temporal UI: ${link ?? stack.info.uiUrl ?? '(not running)'}`);
      out('talk to the agent from another terminal:');
      for (const line of useFromAnotherTerminal(stack.info)) out(line);
      out('the stack stays up: press Enter or Ctrl-C to stop it.');
      await enterOrCtrlC();
      out('stopping the embedded stack (its data stays in ' + stack.info.home + ') ...');
    } else {
      out('done: stopping the embedded stack; its data stays in ' + stack.info.home + '.');
      out('to reopen it and see the agent in the Temporal UI, run:');
      out(`  ${reopenCommand(stack.info, values)}`);
      if (link) out(`then open ${link}`);
      out('and talk to the agent from another terminal:');
      for (const line of useFromAnotherTerminal(stack.info)) out(line);
    }
  } finally {
    await worker?.shutdown().catch(() => undefined);
    await client.close();
    await model?.close();
    await stack.stop();
  }
}

/**
 * Act 2: the guide's research-then-write pipeline, a researcher agent then a writer agent, as a
 * durable workflow; then the same pipeline on a schedule. Returns the lines that point at them in
 * the Temporal UI.
 */
async function runPipelineAct(client: MemloomClient, info: DevStackInfo, llm: LlmConfigInput, out: (line?: string) => void): Promise<string[]> {
  out('act 2: a research-then-write pipeline (two agents, a durable workflow) ...');
  for (const [name, system] of [
    ['demo-researcher', RESEARCHER_SYSTEM],
    ['demo-writer', WRITER_SYSTEM],
  ] as const) {
    await client.updateAgent(name, { llm_config: llm }).catch(() => client.createAgent({ name, system, llm_config: llm }));
  }
  const run = await client.startPipeline('research-and-write', {
    topic: 'the history of rowing',
    subtopics: ['ancient rowing', 'rowing as a sport'],
    researcher: 'demo-researcher',
    writer: 'demo-writer',
  });
  out(`  started ${run.workflowId}`);
  const { output } = await withProgress('waiting for the pipeline', run.result());
  const details = await run.describe();
  for (const s of details.stages) out(`  stage ${s.stage} · ${s.agentName} · ${s.status}${s.label ? ` · ${s.label}` : ''}`);
  out('article:');
  for (const line of (output as { article: string }).article.split('\n')) out(`  ${line}`);
  const runLink = workflowUrl(info, run.workflowId);
  const scheduleLink = await runScheduleAct(client, info, out);
  return [
    ...(runLink ? [`the pipeline run in the Temporal UI: ${runLink}`] : []),
    ...(scheduleLink ? [`the schedule in the Temporal UI: ${scheduleLink}`] : []),
    ...(info.uiUrl ? [`every pipeline run: ${info.uiUrl}/namespaces/${info.namespace}/workflows?query=${encodeURIComponent('Pipeline="research-and-write"')}`] : []),
  ];
}

/** The demo's schedule: one id, replaced by each demo, so the Schedules page shows the latest. */
const SCHEDULE_ID = 'demo-research-every-3s';
const SCHEDULED_RUNS = 2;

/** Link to a schedule on the Temporal UI's Schedules page. */
function scheduleUrl(info: DevStackInfo, scheduleId: string): string | null {
  return info.uiUrl ? `${info.uiUrl}/namespaces/${info.namespace}/schedules/${encodeURIComponent(scheduleId)}` : null;
}

/**
 * Act 2, second half: the same pipeline on a Temporal Schedule, every 3 s, twice (`maxRuns`).
 * Follows each run the schedule starts, with its link, until it has no runs left. The schedule
 * then stays (it starts nothing more), so its link works while the stack is up; the next demo
 * deletes it first and starts clean. Returns the schedule's link in the UI.
 */
async function runScheduleAct(client: MemloomClient, info: DevStackInfo, out: (line?: string) => void): Promise<string | null> {
  out();
  out(`then the same pipeline on a Temporal Schedule: every 3 s, ${SCHEDULED_RUNS} runs ...`);
  await client.deleteSchedule(SCHEDULE_ID).catch((error: unknown) => {
    if (!(error instanceof NotFoundError)) throw error;
  });
  await client.createSchedule(SCHEDULE_ID, {
    every: '3s',
    maxRuns: SCHEDULED_RUNS,
    overlap: 'skip',
    note: 'created by npm run demo',
    action: {
      type: 'pipeline',
      name: 'research-and-write',
      input: { topic: 'rowing boats', subtopics: ['racing shells', 'oars'], researcher: 'demo-researcher', writer: 'demo-writer' },
    },
  });
  const link = scheduleUrl(info, SCHEDULE_ID);
  out(`  schedule ${SCHEDULE_ID}${link ? ` in the Temporal UI: ${link}` : ''}`);
  const seen = new Set<string>();
  const follow = async (): Promise<void> => {
    for (;;) {
      const schedule = await client.getSchedule(SCHEDULE_ID);
      for (const { workflowId } of schedule.recentRuns.filter((r) => !seen.has(r.workflowId))) {
        seen.add(workflowId);
        const runLink = workflowUrl(info, workflowId);
        out(`  scheduled run ${seen.size}/${SCHEDULED_RUNS} started: ${workflowId}`);
        if (runLink) out(`    ${runLink}`);
        const { output } = await (await client.getPipelineRun(workflowId)).result();
        out(`  scheduled run ${seen.size}/${SCHEDULED_RUNS} completed: ${(output as { article: string }).article.split('\n')[0]}`);
      }
      // every run it started was followed above
      if (schedule.remainingRuns === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };
  await withProgress('waiting for the scheduled runs', follow());
  out('  the schedule has no runs left; it stays on the Schedules page until the next demo replaces it');
  return link;
}

/** Starts the scripted model on its fixed port, so the agent's endpoint stays valid after the demo. */
async function startModelOn(port: number): Promise<ScriptedModelServer> {
  if (await portOpen(DEV_DEFAULTS.ip, port)) {
    throw new Error(`port ${port} for the demo's scripted model is taken: pick another with --model-port`);
  }
  return startDemoModel(DEV_DEFAULTS.ip, port);
}

/** `memloom dev` with this home and these ports. */
function reopenCommand(info: DevStackInfo, values: Record<string, string | boolean | undefined>): string {
  const flags = (['port', 'ui-port', 'pg-port'] as const).flatMap((name) => (typeof values[name] === 'string' ? [`--${name} ${values[name]}`] : []));
  return [`MEMLOOM_HOME=${info.home}`, 'npx memloom dev', ...flags].join(' ');
}

function useFromAnotherTerminal(info: DevStackInfo): string[] {
  return [
    `  export TEMPORAL_ADDRESS=${info.temporalAddress} DATABASE_URL=${info.databaseUrl} MEMLOOM_TASK_QUEUE=${info.taskQueue}`,
    `  npx memloom send ${AGENT_NAME} "What do you remember about me?"`,
  ];
}

function enterOrCtrlC(): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      process.stdin.off('data', done);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      process.stdin.pause();
      resolve();
    };
    process.stdin.on('data', done);
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    process.stdin.resume();
  });
}

await runDemo(process.argv.slice(2));
