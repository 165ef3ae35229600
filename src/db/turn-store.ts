/**
 * Turn records: the `turns` and `turn_attempts` tables. A user message and its turn are
 * admitted in one transaction; `claimTurn` hands the turn to one attempt, and writes of any
 * other attempt are refused by {@link ownsTurn} (fencing).
 * @module
 */
import { TurnKind } from '../domain/consolidation.ts';
import { ConflictError } from '../domain/errors.ts';
import { StopReason, type Usage } from '../domain/letta-message.ts';
import {
  isFinalTurnStatus,
  TURN_CANCELLED_FAILURE,
  TurnStatus,
  type BeginTurnResult,
  type FinishTurnInput,
  type TurnResult,
} from '../domain/turn.ts';
import { markConsolidated } from './agent-store.ts';
import { tryInsertMessage } from './message-store.ts';
import type { Queryable } from './pool.ts';

/** One turn as `memloom turn show` and `client.getTurn` report it. */
export interface TurnRecord {
  messageId: string;
  agentId: string;
  /** A user message's turn, or a memory consolidation's. */
  kind: TurnKind;
  status: TurnStatus;
  attempt: number;
  maxSteps: number;
  stepBase: number;
  stepCount: number;
  stopReason: StopReason | null;
  usage: Usage;
  errorType: string | null;
  errorMessage: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface TurnAttemptRecord {
  attempt: number;
  status: TurnStatus;
  stepBase: number;
  stepCount: number;
  stopReason: StopReason | null;
  errorType: string | null;
  errorMessage: string | null;
  queuedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

interface TurnRow {
  message_id: string;
  agent_id: string;
  kind: TurnKind;
  status: TurnStatus;
  attempt: number;
  max_steps: number;
  step_base: number;
  step_count: number;
  stop_reason: StopReason | null;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  error_type: string | null;
  error_message: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

const TURN_COLUMNS = `message_id, agent_id, kind, status, attempt, max_steps, step_base, step_count, stop_reason,
  prompt_tokens, completion_tokens, total_tokens, error_type, error_message, created_at, started_at, finished_at`;

function toRecord(r: TurnRow): TurnRecord {
  return {
    messageId: r.message_id,
    agentId: r.agent_id,
    kind: r.kind,
    status: r.status,
    attempt: r.attempt,
    maxSteps: r.max_steps,
    stepBase: r.step_base,
    stepCount: r.step_count,
    stopReason: r.stop_reason,
    usage: { prompt_tokens: r.prompt_tokens, completion_tokens: r.completion_tokens, total_tokens: r.total_tokens },
    errorType: r.error_type,
    errorMessage: r.error_message,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}

/** The result a completed turn answers with, from its record. */
export function turnResultOf(t: TurnRecord): TurnResult {
  return {
    agentId: t.agentId,
    messageId: t.messageId,
    attempt: t.attempt,
    stepBase: t.stepBase,
    stepCount: t.stepCount,
    stopReason: t.stopReason ?? 'end_turn',
    usage: t.usage,
  };
}

/** The agent's turns that are queued or running, oldest first. */
export async function listOpenTurns(db: Queryable, agentId: string): Promise<TurnRecord[]> {
  const { rows } = await db.query<TurnRow>(
    `SELECT ${TURN_COLUMNS} FROM turns WHERE agent_id = $1 AND status IN ('queued', 'running') ORDER BY created_at`,
    [agentId],
  );
  return rows.map(toRecord);
}

export async function findTurn(db: Queryable, messageId: string, opts: { forUpdate?: boolean } = {}): Promise<TurnRecord | null> {
  const { rows } = await db.query<TurnRow>(
    `SELECT ${TURN_COLUMNS} FROM turns WHERE message_id = $1${opts.forUpdate ? ' FOR UPDATE' : ''}`,
    [messageId],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

export async function listTurnAttempts(db: Queryable, messageId: string): Promise<TurnAttemptRecord[]> {
  const { rows } = await db.query<{
    attempt: number;
    status: TurnStatus;
    step_base: number;
    step_count: number;
    stop_reason: StopReason | null;
    error_type: string | null;
    error_message: string | null;
    queued_at: Date;
    started_at: Date | null;
    finished_at: Date | null;
  }>(
    `SELECT attempt, status, step_base, step_count, stop_reason, error_type, error_message, queued_at, started_at, finished_at
     FROM turn_attempts WHERE message_id = $1 ORDER BY attempt`,
    [messageId],
  );
  return rows.map((r) => ({
    attempt: r.attempt,
    status: r.status,
    stepBase: r.step_base,
    stepCount: r.step_count,
    stopReason: r.stop_reason,
    errorType: r.error_type,
    errorMessage: r.error_message,
    queuedAt: r.queued_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  }));
}

export interface AdmitInput {
  messageId: string;
  agentId: string;
  text: string;
  tokens: number;
  maxSteps: number;
  /** @default 'message'; a consolidation's `text` is its instruction. */
  kind?: TurnKind | undefined;
}

/**
 * Stores a user message and its queued turn, or finds both when the message id was sent before
 * (then its turn is returned as it stands). Run inside a transaction: the message is never
 * visible without its turn. Reusing a message id for another agent, text or kind is a conflict.
 */
export async function admitTurn(tx: Queryable, m: AdmitInput): Promise<{ turn: TurnRecord; created: boolean }> {
  const inserted = await tryInsertMessage(tx, {
    id: m.messageId,
    agentId: m.agentId,
    turnId: m.messageId,
    step: 0,
    idx: 0,
    role: 'user',
    content: m.text,
    tokens: m.tokens,
    sequenced: false,
  });
  const kind = m.kind ?? TurnKind.Message;
  if (inserted) {
    const { rows } = await tx.query<TurnRow>(
      `INSERT INTO turns (message_id, agent_id, kind, status, max_steps) VALUES ($1, $2, $3, 'queued', $4) RETURNING ${TURN_COLUMNS}`,
      [m.messageId, m.agentId, kind, m.maxSteps],
    );
    await tx.query(`INSERT INTO turn_attempts (message_id, attempt, status, step_base) VALUES ($1, 1, 'queued', 0)`, [m.messageId]);
    return { turn: toRecord(rows[0]!), created: true };
  }
  const { rows } = await tx.query<{ agent_id: string; content: string | null; role: string; step: number }>(
    'SELECT agent_id, content, role, step FROM messages WHERE id = $1',
    [m.messageId],
  );
  const existing = rows[0];
  if (!existing || existing.role !== 'user' || existing.step !== 0 || existing.agent_id !== m.agentId) {
    throw new ConflictError(`message id ${m.messageId} is already used by another message`);
  }
  if (existing.content !== m.text) throw new ConflictError(`message id ${m.messageId} was already sent with a different text`);
  const turn = await findTurn(tx, m.messageId);
  if (!turn) throw new Error(`message ${m.messageId} has no turn record`);
  if (turn.kind !== kind) throw new ConflictError(`message id ${m.messageId} is already used by a ${turn.kind === TurnKind.Consolidation ? 'memory consolidation' : 'user message'}`);
  return { turn, created: false };
}

/**
 * Hands the turn to `attempt` and gives its user message a place in recall. The first claim
 * of an attempt runs it; a claim by the attempt that already owns a running turn resumes it (a
 * redelivery after its run ended); a finished turn answers from its record; any other attempt
 * is refused. Run inside a transaction.
 */
export async function claimTurn(tx: Queryable, agentId: string, messageId: string, attempt: number): Promise<BeginTurnResult | null> {
  const turn = await findTurn(tx, messageId, { forUpdate: true });
  if (!turn || turn.agentId !== agentId) return null;
  if (turn.attempt !== attempt) {
    // an older attempt redelivered after a retry took over: it answers nothing new
    return { kind: 'failed', errorType: 'TurnSuperseded', errorMessage: `attempt ${attempt} of turn ${messageId} was superseded by attempt ${turn.attempt}` };
  }
  if (turn.status === TurnStatus.Completed) return { kind: 'completed', result: turnResultOf(turn) };
  if (turn.status === TurnStatus.Failed || turn.status === TurnStatus.Cancelled) {
    return { kind: 'failed', errorType: turn.errorType ?? 'Error', errorMessage: turn.errorMessage ?? `turn ${turn.status}` };
  }
  if (turn.status === TurnStatus.Running) return { kind: 'run', maxSteps: turn.maxSteps, stepBase: turn.stepBase };

  // queued: this attempt starts now, after every turn already in recall
  await tx.query(`UPDATE messages SET seq = nextval('message_seq'), in_context = true WHERE id = $1`, [messageId]);
  if (turn.stepBase > 0) {
    // a retry: the failed attempt's partial steps stay in recall but leave the context
    await tx.query('UPDATE messages SET in_context = false WHERE agent_id = $1 AND turn_id = $2 AND step BETWEEN 1 AND $3', [
      agentId,
      messageId,
      turn.stepBase,
    ]);
  }
  await tx.query(
    `UPDATE turns SET status = 'running', started_at = now(), updated_at = now() WHERE message_id = $1`,
    [messageId],
  );
  await tx.query(`UPDATE turn_attempts SET status = 'running', started_at = now() WHERE message_id = $1 AND attempt = $2`, [
    messageId,
    attempt,
  ]);
  return { kind: 'run', maxSteps: turn.maxSteps, stepBase: turn.stepBase };
}

/** What a cancelled turn's record says of it. */
const CANCELLED_MESSAGE = 'the turn was cancelled before it finished';

/**
 * Records how the running attempt ended. Idempotent: a finished attempt keeps its first
 * outcome. Returns false when the attempt does not own the turn. A consolidation's messages
 * leave the context however it ended; a completed one moves the agent's consolidation mark to
 * just before its instruction (every message before it was offered for review).
 */
export async function finishTurn(tx: Queryable, f: FinishTurnInput): Promise<boolean> {
  const o = f.outcome;
  const stopReason = o.status === 'completed' ? o.stopReason : o.status === 'cancelled' ? StopReason.Cancelled : null;
  // a cancelled turn answers a resend as a failure of its own type (claimTurn, the client)
  const errorType = o.status === 'failed' ? o.errorType : o.status === 'cancelled' ? TURN_CANCELLED_FAILURE : null;
  const errorMessage = o.status === 'failed' ? o.errorMessage.slice(0, 2000) : o.status === 'cancelled' ? CANCELLED_MESSAGE : null;
  const { rows } = await tx.query<{ kind: TurnKind }>(
    `UPDATE turns SET status = $3, step_count = $4, stop_reason = $5, prompt_tokens = $6, completion_tokens = $7,
       total_tokens = $8, error_type = $9, error_message = $10, finished_at = now(), updated_at = now()
     WHERE message_id = $1 AND agent_id = $11 AND attempt = $2 AND status = 'running'
     RETURNING kind`,
    [f.messageId, f.attempt, o.status, o.stepCount, stopReason, o.usage.prompt_tokens, o.usage.completion_tokens,
      o.usage.total_tokens, errorType, errorMessage, f.agentId],
  );
  if (rows.length === 0) return false;
  await tx.query(
    `UPDATE turn_attempts SET status = $3, step_count = $4, stop_reason = $5, error_type = $6, error_message = $7, finished_at = now()
     WHERE message_id = $1 AND attempt = $2`,
    [f.messageId, f.attempt, o.status, o.stepCount, stopReason, errorType, errorMessage],
  );
  if (rows[0]?.kind === TurnKind.Consolidation) {
    // ordinary turns never see a consolidation: it is the memory system's, not the conversation
    await tx.query('UPDATE messages SET in_context = false WHERE agent_id = $1 AND turn_id = $2', [f.agentId, f.messageId]);
    if (o.status === 'completed') await markConsolidated(tx, f.agentId, f.messageId);
  }
  return true;
}

/**
 * True when `attempt` owns the running turn. Takes a share lock on the turn row, so the turn
 * cannot be finished (or handed to another attempt) until the caller's transaction ends: a
 * write made under it lands inside its own turn or not at all.
 */
export async function ownsTurn(tx: Queryable, messageId: string, attempt: number): Promise<boolean> {
  const { rows } = await tx.query(
    `SELECT 1 FROM turns WHERE message_id = $1 AND attempt = $2 AND status = 'running' FOR SHARE`,
    [messageId, attempt],
  );
  return rows.length > 0;
}

/**
 * Queues the next attempt of a failed or cancelled turn. A turn that is queued, running or
 * completed is returned unchanged (retrying it again is a no-op, not a second answer).
 */
export async function requestRetry(tx: Queryable, messageId: string): Promise<TurnRecord | null> {
  const turn = await findTurn(tx, messageId, { forUpdate: true });
  if (!turn || !isFinalTurnStatus(turn.status) || turn.status === TurnStatus.Completed) return turn;
  const next = turn.attempt + 1;
  // every step any earlier attempt stored (fencing keeps this final once the attempt ended)
  const { rows: used } = await tx.query<{ max: number | null }>(
    'SELECT max(step) AS max FROM messages WHERE agent_id = $1 AND turn_id = $2',
    [turn.agentId, messageId],
  );
  const stepBase = Math.max(turn.stepBase + turn.stepCount, used[0]?.max ?? 0);
  const { rows } = await tx.query<TurnRow>(
    `UPDATE turns SET status = 'queued', attempt = $2, step_base = $3, step_count = 0, stop_reason = NULL,
       prompt_tokens = 0, completion_tokens = 0, total_tokens = 0, error_type = NULL, error_message = NULL,
       started_at = NULL, finished_at = NULL, updated_at = now()
     WHERE message_id = $1 RETURNING ${TURN_COLUMNS}`,
    [messageId, next, stepBase],
  );
  await tx.query(`INSERT INTO turn_attempts (message_id, attempt, status, step_base) VALUES ($1, $2, 'queued', $3)`, [
    messageId,
    next,
    stepBase,
  ]);
  return toRecord(rows[0]!);
}
