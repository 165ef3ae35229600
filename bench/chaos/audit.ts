/**
 * After a chaos run: what a user can see. Postgres rows (user messages, final replies, the
 * `human` block, archival passages) and the senders' results, reduced to the figures of the
 * chaos table. Reads only the tables users query (messages, blocks, passages), so it keeps
 * working whatever the workflow core does underneath.
 */
import pg from 'pg';
import { finalReplyFor, passageFor } from './flaky-model.ts';
import type { SentTurn } from './sender.ts';

/** A fault the run injected, on the run's clock. */
export interface FaultEvent {
  at: number;
  kind: 'worker-kill' | 'temporal-restart' | 'pg-terminate';
  detail: string;
}

export interface TurnAudit {
  userRows: number;
  finalReplies: number;
  /** Occurrences of the marker in the agent's `human` block. */
  coreEdits: number;
  passages: number;
}

export interface ChaosFigures {
  sent: number;
  answered: number;
  /** Answered with a failure (TurnFailedError): the turn ended, with no reply. */
  failed: number;
  /** Sent, never answered (no answer before the deadline, or refused). */
  lost: number;
  /** Answered, but the reply is not the one the model gave for that message. */
  wrongAnswers: number;
  /** Answered turns whose final reply is not in Postgres. */
  repliesMissing: number;
  /** Memory edits of answered turns missing from the block or from archival memory. */
  editsMissing: number;
  duplicatedUserMessages: number;
  duplicatedReplies: number;
  duplicatedCoreEdits: number;
  duplicatedPassages: number;
  resends: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  latencyMaxMs: number;
  /** The longest time from a fault to the next answered turn, and the fault. */
  longestRecovery: { ms: number; after: string } | null;
}

const MARKER = /\[[A-Z]+\d+\]/g;

function countBy(values: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

/** One query per table, everything of the database (the run owns it). */
export async function auditTurns(databaseUrl: string, turns: SentTurn[]): Promise<Map<string, TurnAudit>> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const users = await db.query<{ content: string | null }>("SELECT content FROM messages WHERE role = 'user'");
    const finals = await db.query<{ turn_id: string }>(
      `SELECT turn_id FROM messages WHERE role = 'assistant' AND (tool_calls IS NULL OR tool_calls IN ('null'::jsonb, '[]'::jsonb))`,
    );
    const blocks = await db.query<{ agent_id: string; value: string }>(
      "SELECT ab.agent_id, b.value FROM agent_blocks ab JOIN blocks b ON b.id = ab.block_id WHERE ab.label = 'human'",
    );
    const passages = await db.query<{ agent_id: string; text: string }>('SELECT agent_id, text FROM passages');

    const userByMarker = countBy(users.rows.flatMap((r) => (r.content ?? '').match(MARKER) ?? []));
    const finalsByTurn = countBy(finals.rows.map((r) => r.turn_id));
    const coreByAgentMarker = countBy(blocks.rows.flatMap((r) => (r.value.match(MARKER) ?? []).map((m) => `${r.agent_id} ${m}`)));
    const passagesByAgentText = countBy(passages.rows.map((r) => `${r.agent_id} ${r.text}`));
    return new Map(
      turns.map((t) => [
        t.messageId,
        {
          userRows: userByMarker.get(t.marker) ?? 0,
          finalReplies: finalsByTurn.get(t.messageId) ?? 0,
          coreEdits: coreByAgentMarker.get(`${t.agentId} ${t.marker}`) ?? 0,
          passages: passagesByAgentText.get(`${t.agentId} ${passageFor(t.marker)}`) ?? 0,
        },
      ]),
    );
  } finally {
    await db.end();
  }
}

export function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function lastReply(turn: SentTurn): string | undefined {
  if (turn.outcome.kind !== 'answered') return undefined;
  const last = turn.outcome.response.messages.findLast((m) => m.message_type === 'assistant_message');
  return last?.message_type === 'assistant_message' ? last.text : undefined;
}

/** The longest time from a fault to the next answered turn. */
export function longestRecovery(faults: FaultEvent[], completions: number[], end: number): ChaosFigures['longestRecovery'] {
  const sorted = [...completions].sort((a, b) => a - b);
  let worst: ChaosFigures['longestRecovery'] = null;
  for (const fault of faults) {
    const next = sorted.find((c) => c >= fault.at) ?? end;
    const ms = next - fault.at;
    if (!worst || ms > worst.ms) worst = { ms, after: `${fault.kind} at ${(fault.at / 1000).toFixed(1)} s` };
  }
  return worst;
}

export function chaosFigures(
  turns: SentTurn[],
  audits: Map<string, TurnAudit>,
  options: { coreEdits: boolean; faults: FaultEvent[]; end: number },
): ChaosFigures {
  const answered = turns.filter((t) => t.outcome.kind === 'answered');
  const latencies = answered.map((t) => (t.outcome.kind === 'answered' ? t.outcome.at - t.sentAt : 0));
  const audit = (t: SentTurn): TurnAudit => audits.get(t.messageId) ?? { userRows: 0, finalReplies: 0, coreEdits: 0, passages: 0 };
  const excess = (f: (a: TurnAudit) => number): number => turns.reduce((sum, t) => sum + Math.max(0, f(audit(t)) - 1), 0);
  const completions = turns.flatMap((t) => (t.outcome.kind === 'answered' || t.outcome.kind === 'failed' ? [t.outcome.at] : []));
  return {
    sent: turns.length,
    answered: answered.length,
    failed: turns.filter((t) => t.outcome.kind === 'failed').length,
    lost: turns.filter((t) => t.outcome.kind === 'lost' || t.outcome.kind === 'rejected').length,
    wrongAnswers: answered.filter((t) => lastReply(t) !== finalReplyFor(t.marker)).length,
    repliesMissing: answered.filter((t) => audit(t).finalReplies === 0).length,
    editsMissing: answered.reduce(
      (sum, t) => sum + (options.coreEdits && audit(t).coreEdits === 0 ? 1 : 0) + (audit(t).passages === 0 ? 1 : 0),
      0,
    ),
    duplicatedUserMessages: excess((a) => a.userRows),
    duplicatedReplies: excess((a) => a.finalReplies),
    duplicatedCoreEdits: excess((a) => a.coreEdits),
    duplicatedPassages: excess((a) => a.passages),
    resends: turns.reduce((sum, t) => sum + Math.max(0, t.attempts - 1), 0),
    latencyP50Ms: quantile(latencies, 0.5),
    latencyP95Ms: quantile(latencies, 0.95),
    latencyMaxMs: latencies.length > 0 ? Math.max(...latencies) : NaN,
    longestRecovery: longestRecovery(options.faults, completions, options.end),
  };
}

/** Everything that must be 0 for a clean run. */
export function problems(f: ChaosFigures): number {
  return (
    f.lost +
    f.wrongAnswers +
    f.repliesMissing +
    f.editsMissing +
    f.duplicatedUserMessages +
    f.duplicatedReplies +
    f.duplicatedCoreEdits +
    f.duplicatedPassages
  );
}

/** A two-column table, one metric per line. */
export function formatTable(title: string, rows: Array<[string, string | number]>): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  const valueWidth = Math.max(...rows.map(([, v]) => String(v).length));
  const rule = `+${'-'.repeat(width + 2)}+${'-'.repeat(valueWidth + 2)}+`;
  const lines = rows.map(([k, v]) => `| ${k.padEnd(width)} | ${String(v).padStart(valueWidth)} |`);
  return [title, rule, ...lines, rule].join('\n');
}

const seconds = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '-');

export function figuresRows(f: ChaosFigures): Array<[string, string | number]> {
  return [
    ['turns sent', f.sent],
    ['turns answered', f.answered],
    ['turns failed (answered with an error)', f.failed],
    ['lost (sent, never answered)', f.lost],
    ['wrong answers', f.wrongAnswers],
    ['answered, reply missing in Postgres', f.repliesMissing],
    ['memory edits missing', f.editsMissing],
    ['duplicated user messages', f.duplicatedUserMessages],
    ['duplicated replies', f.duplicatedReplies],
    ['duplicated memory edits (core block)', f.duplicatedCoreEdits],
    ['duplicated memory edits (archival)', f.duplicatedPassages],
    ['resends by senders', f.resends],
    ['turn latency p50', seconds(f.latencyP50Ms)],
    ['turn latency p95', seconds(f.latencyP95Ms)],
    ['turn latency max', seconds(f.latencyMaxMs)],
    ['longest recovery', f.longestRecovery ? `${seconds(f.longestRecovery.ms)} (${f.longestRecovery.after})` : '-'],
  ];
}
