/**
 * The sustained-load case: one agent, a producer that keeps at least `queued` messages waiting
 * until `turns` were sent, on a dev server that suggests continue-as-new early. Every message
 * must be answered once, in send order, and no run of the agent's workflow may be terminated.
 */
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { startScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import { agentWorkflowId, IdPrefix, newId } from '../../src/domain/ids.ts';
import { auditTurns, chaosFigures, figuresRows, formatTable, problems, type ChaosFigures } from './audit.ts';
import { openStack, workersAndClient, type StackOptions } from './chaos-stack.ts';
import { EditKind, flakyModel, marker } from './flaky-model.ts';
import { sendUntilAnswered, type SentTurn } from './sender.ts';

export interface SustainedOptions extends Omit<StackOptions, 'dynamicConfig' | 'temporalAddress'> {
  /** @default 300 */
  turns: number;
  /** Messages kept waiting behind the running one. @default 3 */
  queued: number;
  /** `limit.historyCount.suggestContinueAsNew` of the case's own dev server. @default 60 */
  suggestContinueAsNew: number;
  /** @default 1 */
  workers: number;
  /** Deadline for every message to be answered. @default 900 */
  seconds: number;
  /** Pause between two sends, so that send order is arrival order. @default 50 */
  sendGapMs: number;
}

export const SUSTAINED_DEFAULTS = {
  turns: 300,
  queued: 3,
  suggestContinueAsNew: 60,
  workers: 1,
  seconds: 900,
  sendGapMs: 50,
} as const satisfies Partial<SustainedOptions>;

export interface SustainedResult {
  figures: ChaosFigures;
  /** User messages whose turn began out of send order (adjacent inversions of seq vs send order). */
  outOfOrder: number;
  /** User messages never given a place in the history (no seq). */
  unsequenced: number;
  runs: Record<string, number>;
  problems: number;
  table: string;
}

export async function runSustained(o: SustainedOptions): Promise<SustainedResult> {
  const log = o.log;
  const stack = await openStack({ ...o, dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': o.suggestContinueAsNew } });
  const model = flakyModel({ faults: {}, edits: EditKind.Archival, seed: 1 });
  const server = await startScriptedModelServer({ responder: model.responder });
  const { pool, client } = await workersAndClient(stack, 'memloom-sustained', o.workers, log);
  try {
    await pool.start();
    const agent = await client.createAgent({
      name: `sustained-${newId(IdPrefix.Message).slice(-8)}`,
      llm_config: { model: 'scripted-model', model_endpoint: server.url, context_window: 8192 },
      memory_blocks: [{ label: 'human', value: '' }],
    });
    log(`sustained: 1 agent, ${o.turns} turns, ${o.queued} queued behind the running one, continue-as-new suggested at ${o.suggestContinueAsNew} events`);
    const t0 = Date.now();
    const now = (): number => Date.now() - t0;
    const turns: SentTurn[] = [];
    const inflight = new Set<Promise<SentTurn>>();
    let lastProgress = 0;
    for (let n = 1; n <= o.turns; n++) {
      // after the next answer, still the running turn plus `queued` waiting ones
      while (inflight.size >= o.queued + 2) await Promise.race(inflight);
      const mark = marker('S', n);
      const turn: SentTurn = {
        n,
        marker: mark,
        agentId: agent.id,
        messageId: newId(IdPrefix.Message),
        text: `Sustained message ${mark}.`,
        sentAt: now(),
        attempts: 0,
        retriedOn: [],
        outcome: { kind: 'lost', lastError: 'never sent' },
      };
      turns.push(turn);
      const sending = sendUntilAnswered(client, turn, { attemptTimeoutMs: 120_000, deadline: o.seconds * 1000, now });
      inflight.add(sending);
      void sending.finally(() => inflight.delete(sending));
      if (now() - lastProgress > 5000) {
        lastProgress = now();
        log(`[${(now() / 1000).toFixed(1).padStart(6)} s] sent ${n}/${o.turns}, answered ${turns.filter((t) => t.outcome.kind === 'answered').length}`);
      }
      await new Promise((resolve) => setTimeout(resolve, o.sendGapMs));
    }
    await Promise.all(inflight);
    const end = now();
    log(`sustained: every sender done in ${(end / 1000).toFixed(1)} s`);
    await pool.stop();
    const audits = await auditTurns(stack.databaseUrl, turns);
    const figures = chaosFigures(turns, audits, { coreEdits: false, faults: [], end });
    const order = await sendOrder(stack.databaseUrl, turns);
    if (order.examples.length > 0) log(`out of send order, e.g.: ${order.examples.join('; ')}`);
    const runs = await listRuns(stack.temporalAddress, agentWorkflowId(agent.id));
    const terminated = runs['TERMINATED'] ?? 0;
    const rows: Array<[string, string | number]> = [
      ['setup', `1 agent, ${o.turns} turns, >= ${o.queued} queued, suggestContinueAsNew=${o.suggestContinueAsNew}`],
      ['run time', `${(end / 1000).toFixed(1)} s`],
      ...figuresRows(figures).filter(([k]) => !k.includes('core block') && k !== 'longest recovery'),
      ['answered out of send order', order.outOfOrder],
      ['user messages without a place in history', order.unsequenced],
      ['workflow runs (by status)', Object.entries(runs).map(([k, v]) => `${k} ${v}`).join(', ') || 'none listed'],
      ['runs terminated', terminated],
    ];
    const problemCount = problems(figures) + order.outOfOrder + order.unsequenced + terminated;
    return {
      figures,
      outOfOrder: order.outOfOrder,
      unsequenced: order.unsequenced,
      runs,
      problems: problemCount,
      table: formatTable('sustained load', rows),
    };
  } finally {
    await pool.stop();
    await client.close().catch(() => undefined);
    await server.close();
    await stack.close();
  }
}

/** Compares the history order (seq) of the user messages with the order they were sent in. */
async function sendOrder(
  databaseUrl: string,
  turns: SentTurn[],
): Promise<{ outOfOrder: number; unsequenced: number; examples: string[] }> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ id: string; seq: string | null }>(
      "SELECT id, seq FROM messages WHERE role = 'user' AND id = ANY($1) ORDER BY seq NULLS LAST",
      [turns.map((t) => t.messageId)],
    );
    const sendIndex = new Map(turns.map((t, i) => [t.messageId, i]));
    const indices = rows.filter((r) => r.seq !== null).map((r) => sendIndex.get(r.id) ?? -1);
    const inversions = indices.flatMap((v, i) => (i > 0 && v < (indices[i - 1] ?? -1) ? [[indices[i - 1] ?? -1, v] as const] : []));
    const examples = inversions.slice(0, 5).map(([a, b]) => `${turns[a]?.marker} began before ${turns[b]?.marker}`);
    return { outOfOrder: inversions.length, unsequenced: rows.filter((r) => r.seq === null).length + (turns.length - rows.length), examples };
  } finally {
    await db.end();
  }
}

/** Runs of the workflow by final status, from Temporal's visibility. */
async function listRuns(address: string, workflowId: string): Promise<Record<string, number>> {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection });
    const counts: Record<string, number> = {};
    for await (const run of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
      const status = run.status.name;
      counts[status] = (counts[status] ?? 0) + 1;
    }
    return counts;
  } finally {
    await connection.close();
  }
}
