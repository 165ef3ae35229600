/**
 * The chaos case: `workers` worker processes, `agents` agents, `turns` messages sent by several
 * senders per agent (so turns queue), while a random worker is SIGKILLed every few seconds, the
 * Temporal server restarts once, Postgres sessions are terminated, and the model flaps. Then the
 * audit: lost, duplicated, latency, recovery.
 */
import type { MemloomClient } from '../../src/client/memloom-client.ts';
import { startScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import { IdPrefix, newId } from '../../src/domain/ids.ts';
import { LlmConfigSchema } from '../../src/domain/llm-config.ts';
import { auditTurns, chaosFigures, figuresRows, problems, type ChaosFigures, type FaultEvent } from './audit.ts';
import { openStack, workersAndClient, type StackOptions } from './chaos-stack.ts';
import type { WorkerPool } from './worker-pool.ts';
import { EditKind, flakyModel, marker, type ModelFaultCounts, type ModelFaultRates } from './flaky-model.ts';
import { terminateSessions } from './infra.ts';
import { sendUntilAnswered, type SentTurn } from './sender.ts';

export interface ChaosOptions extends Omit<StackOptions, 'dynamicConfig'> {
  /** @default 3 */
  workers: number;
  /** @default 10 */
  agents: number;
  /** Messages in total, spread evenly over the agents. @default 200 */
  turns: number;
  /** Concurrent senders per agent. @default 3 */
  sendersPerAgent: number;
  /** Deadline for every message to be answered, from the first send. @default 900 */
  seconds: number;
  /** SIGKILL a random worker this often; null: never. @default 6 */
  killEverySeconds: number | null;
  /** @default Infinity */
  maxKills: number;
  /** Restart the Temporal server once, at 45 % of the turns (needs the case's own server). @default true */
  temporalRestart: boolean;
  /** `pg_terminate_backend` rounds, spread over the run. @default 2 */
  pgTerminations: number;
  modelFaults: ModelFaultRates;
  /** `llm_config.stream_idle_timeout` of the agents (seconds), when the schema knows it. @default 2 */
  streamIdleTimeout: number;
  /** A sender resends after waiting this long for one attempt. @default 120 */
  attemptTimeoutSeconds: number;
  /** Wait this long after the last answer before the audit, so late writes show. @default 5 */
  settleSeconds: number;
  /** @default 1 */
  seed: number;
}

export const CHAOS_DEFAULTS = {
  workers: 3,
  agents: 10,
  turns: 200,
  sendersPerAgent: 3,
  seconds: 900,
  killEverySeconds: 6,
  maxKills: Infinity,
  temporalRestart: true,
  pgTerminations: 2,
  modelFaults: { status500: 0.08, status429: 0.08, stall: 0.02 },
  streamIdleTimeout: 2,
  attemptTimeoutSeconds: 120,
  settleSeconds: 5,
  seed: 1,
} as const satisfies Partial<ChaosOptions>;

export interface ChaosResult {
  figures: ChaosFigures;
  faults: FaultEvent[];
  modelCalls: ModelFaultCounts;
  workers: { kills: number; unexpectedExits: number; starts: number };
  pgSessionsTerminated: number;
  durationMs: number;
  notes: string[];
  /** Problems (lost + wrong + missing + duplicated); 0 is the goal. */
  problems: number;
  rows: Array<[string, string | number]>;
}

/** mulberry32, for the choice of the worker to kill. */
function dice(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Progress fractions at which the `n` Postgres terminations happen: spread over 30 %..70 %. */
const terminationPoints = (n: number): number[] => Array.from({ length: n }, (_, k) => (n === 1 ? 0.5 : 0.3 + (0.4 * k) / (n - 1)));

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const log = o.log;
  const notes: string[] = [];
  const stack = await openStack(o);
  const model = flakyModel({ faults: o.modelFaults, edits: EditKind.CoreAndArchival, seed: o.seed });
  const server = await startScriptedModelServer({ responder: model.responder });
  const { taskQueue, pool, client } = await workersAndClient(stack, 'memloom-chaos', o.workers, log);
  try {
    await pool.start();
    log(`${o.workers} workers ready on task queue ${taskQueue}`);
    const agentIds = await createAgents(client, o, server.url, notes);
    const run = await sendUnderFaults(o, { client, pool, stack, agentIds, model: model.counts });
    model.setFaults(false);
    log(`all senders done; settling ${o.settleSeconds} s before the audit`);
    await new Promise((resolve) => setTimeout(resolve, o.settleSeconds * 1000));
    await pool.stop();
    const audits = await auditTurns(stack.databaseUrl, run.turns);
    const figures = chaosFigures(run.turns, audits, { coreEdits: true, faults: run.faults, end: run.end });
    const result: ChaosResult = {
      figures,
      faults: run.faults,
      modelCalls: { ...model.counts },
      workers: { kills: pool.kills, unexpectedExits: pool.unexpectedExits, starts: pool.starts },
      pgSessionsTerminated: run.pgSessionsTerminated,
      durationMs: run.end,
      notes,
      problems: problems(figures),
      rows: [],
    };
    result.rows = chaosRows(o, result);
    return result;
  } finally {
    await pool.stop();
    await client.close().catch(() => undefined);
    await server.close();
    await stack.close();
  }
}

async function createAgents(
  client: MemloomClient,
  o: ChaosOptions,
  modelUrl: string,
  notes: string[],
): Promise<string[]> {
  const idle = 'stream_idle_timeout' in LlmConfigSchema.shape ? { stream_idle_timeout: o.streamIdleTimeout } : {};
  if (!('stream_idle_timeout' in idle)) notes.push('llm_config has no stream_idle_timeout yet: a stalled stream is detected only by activity timeouts');
  const llm_config = { model: 'scripted-model', model_endpoint: modelUrl, context_window: 8192, ...idle };
  const suffix = newId(IdPrefix.Message).slice(-8);
  const ids: string[] = [];
  for (let i = 0; i < o.agents; i++) {
    const agent = await client.createAgent({
      name: `chaos-${suffix}-${i}`,
      llm_config,
      memory_blocks: [{ label: 'human', value: '', limit: 16_000 }],
    });
    ids.push(agent.id);
  }
  return ids;
}

interface SendRun {
  turns: SentTurn[];
  faults: FaultEvent[];
  pgSessionsTerminated: number;
  /** When the last sender finished (the run's clock). */
  end: number;
}

/** Sends every turn while the fault loop runs; resolves when every sender is done. */
async function sendUnderFaults(
  o: ChaosOptions,
  ctx: {
    client: MemloomClient;
    pool: WorkerPool;
    stack: Awaited<ReturnType<typeof openStack>>;
    agentIds: string[];
    model: ModelFaultCounts;
  },
): Promise<SendRun> {
  const t0 = Date.now();
  const now = (): number => Date.now() - t0;
  const at = (): string => `[${(now() / 1000).toFixed(1).padStart(6)} s]`;
  const log = (line: string): void => o.log(`${at()} ${line}`);
  const turns: SentTurn[] = Array.from({ length: o.turns }, (_, i) => {
    const mark = marker('M', i + 1);
    return {
      n: i + 1,
      marker: mark,
      agentId: ctx.agentIds[i % ctx.agentIds.length] ?? '',
      messageId: newId(IdPrefix.Message),
      text: `Chaos message ${mark}: please remember it.`,
      sentAt: 0,
      attempts: 0,
      retriedOn: [],
      outcome: { kind: 'lost', lastError: 'never sent' },
    };
  });
  let done = 0;
  let inflight = 0;
  const deadline = o.seconds * 1000;
  const sendOptions = {
    attemptTimeoutMs: o.attemptTimeoutSeconds * 1000,
    deadline,
    now,
    onRetry: (turn: SentTurn, error: string) => log(`resend ${turn.marker} (attempt ${turn.attempts + 1}) after ${error.slice(0, 160)}`),
  };
  const sender = async (queue: SentTurn[]): Promise<void> => {
    for (let turn = queue.shift(); turn; turn = queue.shift()) {
      turn.sentAt = now();
      inflight++;
      await sendUntilAnswered(ctx.client, turn, sendOptions);
      inflight--;
      done++;
      if (turn.outcome.kind !== 'answered') log(`${turn.marker} ${turn.outcome.kind}: ${JSON.stringify(turn.outcome).slice(0, 200)}`);
    }
  };
  const senders = ctx.agentIds.flatMap((agentId) => {
    const queue = turns.filter((t) => t.agentId === agentId);
    return Array.from({ length: o.sendersPerAgent }, () => sender(queue));
  });

  const faults: FaultEvent[] = [];
  let pgSessionsTerminated = 0;
  const fault = (kind: FaultEvent['kind'], detail: string): void => {
    faults.push({ at: now(), kind, detail });
    log(`FAULT ${kind}: ${detail}`);
  };
  const pending: Array<{ point: number; fire: () => Promise<void> }> = terminationPoints(o.pgTerminations).map((point) => ({
    point,
    fire: async () => {
      const n = await terminateSessions(o.adminDatabaseUrl, ctx.stack.databaseName);
      pgSessionsTerminated += n;
      fault('pg-terminate', `${n} sessions of ${ctx.stack.databaseName} terminated`);
    },
  }));
  const restart = ctx.stack.restartTemporal;
  if (o.temporalRestart && restart) {
    pending.push({
      point: 0.45,
      fire: async () => {
        fault('temporal-restart', 'dev server stopping');
        const started = Date.now();
        await restart();
        log(`temporal dev server back after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      },
    });
  } else if (o.temporalRestart) {
    o.log('no Temporal restart: the server is not this run\'s own');
  }
  pending.sort((a, b) => a.point - b.point);

  const random = dice(o.seed + 1);
  let lastKill = 0;
  let lastProgress = 0;
  let busy: Promise<void> | null = null;
  let finished = false;
  const all = Promise.all(senders).then(() => void (finished = true));
  while (!finished) {
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, 250))]);
    if (finished) break;
    const progress = done / o.turns;
    if (!busy && pending[0] && progress >= pending[0].point) {
      const next = pending.shift();
      busy = (next?.fire() ?? Promise.resolve())
        .catch((error: unknown) => log(`fault injection failed: ${String(error)}`))
        .finally(() => void (busy = null));
    }
    if (o.killEverySeconds !== null && ctx.pool.kills < o.maxKills && now() - lastKill >= o.killEverySeconds * 1000) {
      lastKill = now();
      const pid = ctx.pool.killRandom(random);
      if (pid !== undefined) fault('worker-kill', `worker ${pid} SIGKILLed`);
    }
    if (now() - lastProgress >= 5000) {
      lastProgress = now();
      const answered = turns.filter((t) => t.outcome.kind === 'answered').length;
      log(
        `answered ${answered}/${o.turns}, done ${done}, in flight ${inflight}, workers alive ${ctx.pool.alive()}, ` +
          `kills ${ctx.pool.kills}, model calls ${ctx.model.calls} (500: ${ctx.model.status500}, 429: ${ctx.model.status429}, stall: ${ctx.model.stall})`,
      );
    }
  }
  const end = now();
  if (busy) await busy;
  for (const left of pending) log(`fault at ${Math.round(left.point * 100)} % never fired: the run ended first`);
  log(`senders done in ${(end / 1000).toFixed(1)} s`);
  return { turns, faults, pgSessionsTerminated, end };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function chaosRows(o: ChaosOptions, r: ChaosResult): Array<[string, string | number]> {
  const count = (kind: FaultEvent['kind']): number => r.faults.filter((f) => f.kind === kind).length;
  return [
    ['setup', `${o.workers} workers, ${o.agents} agents, ${o.turns} turns, ${o.sendersPerAgent} senders/agent`],
    ['run time', seconds(r.durationMs)],
    ['workers SIGKILLed', r.workers.kills],
    ['workers exited by themselves', r.workers.unexpectedExits],
    ['temporal restarts', count('temporal-restart')],
    ['pg_terminate_backend rounds (sessions)', `${count('pg-terminate')} (${r.pgSessionsTerminated})`],
    ['model calls (500 / 429 / stalled)', `${r.modelCalls.calls} (${r.modelCalls.status500} / ${r.modelCalls.status429} / ${r.modelCalls.stall})`],
    ...figuresRows(r.figures),
  ];
}
