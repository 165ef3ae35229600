/**
 * Recall memory: the `messages` table. Every write of a turn is keyed on
 * (agent, turn, step, idx) and idempotent, so a retried or replayed activity never duplicates.
 * @module
 */
import { IdPrefix, newId } from '../domain/ids.ts';
import type { MessageRole, StoredMessage, StoredToolCall, ToolStatus } from '../domain/stored-message.ts';
import type { Queryable } from './pool.ts';

interface MessageRow {
  id: string;
  agent_id: string;
  seq: number | null;
  turn_id: string;
  step: number;
  idx: number;
  role: MessageRole;
  content: string | null;
  reasoning: string | null;
  tool_calls: StoredToolCall[] | null;
  tool_call_id: string | null;
  tool_name: string | null;
  tool_status: ToolStatus | null;
  tokens: number;
  created_at: Date;
}

const COLUMNS =
  'id, agent_id, seq, turn_id, step, idx, role, content, reasoning, tool_calls, tool_call_id, tool_name, tool_status, tokens, created_at';

function toStored(r: MessageRow): StoredMessage {
  return {
    id: r.id,
    agentId: r.agent_id,
    seq: r.seq,
    turnId: r.turn_id,
    step: r.step,
    idx: r.idx,
    role: r.role,
    content: r.content,
    reasoning: r.reasoning,
    toolCalls: r.tool_calls,
    toolCallId: r.tool_call_id,
    toolName: r.tool_name,
    toolStatus: r.tool_status,
    tokens: r.tokens,
    createdAt: r.created_at,
  };
}

export interface NewMessage {
  /** Generated when absent. */
  id?: string | undefined;
  agentId: string;
  turnId: string;
  step: number;
  idx: number;
  role: MessageRole;
  content?: string | null | undefined;
  reasoning?: string | null | undefined;
  toolCalls?: StoredToolCall[] | null | undefined;
  toolCallId?: string | null | undefined;
  toolName?: string | null | undefined;
  toolStatus?: ToolStatus | null | undefined;
  tokens: number;
  /** Give the message its place in recall now (false: a user message waiting for its turn). */
  sequenced: boolean;
}

/** Inserts the message; null if one with the same (agent, turn, step, idx) already exists. */
export async function tryInsertMessage(db: Queryable, m: NewMessage): Promise<StoredMessage | null> {
  const { rows } = await db.query<MessageRow>(
    `INSERT INTO messages (id, agent_id, seq, turn_id, step, idx, role, content, reasoning, tool_calls,
                           tool_call_id, tool_name, tool_status, tokens)
     VALUES ($1, $2, CASE WHEN $3 THEN nextval('message_seq') END, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
     ON CONFLICT (agent_id, turn_id, step, idx) DO NOTHING
     RETURNING ${COLUMNS}`,
    [
      m.id ?? newId(IdPrefix.Message),
      m.agentId,
      m.sequenced,
      m.turnId,
      m.step,
      m.idx,
      m.role,
      m.content ?? null,
      m.reasoning ?? null,
      m.toolCalls ? JSON.stringify(m.toolCalls) : null,
      m.toolCallId ?? null,
      m.toolName ?? null,
      m.toolStatus ?? null,
      m.tokens,
    ],
  );
  return rows[0] ? toStored(rows[0]) : null;
}

/**
 * Inserts the message unless one with the same (agent, turn, step, idx) exists; either way
 * returns the stored row, so the caller sees the first write's result.
 */
export async function insertMessageOnce(db: Queryable, m: NewMessage): Promise<StoredMessage> {
  const inserted = await tryInsertMessage(db, m);
  if (inserted) return inserted;
  const existing = await findTurnMessage(db, m.agentId, m.turnId, m.step, m.idx);
  if (!existing) throw new Error(`message (${m.turnId}, ${m.step}, ${m.idx}) neither inserted nor found`);
  return existing;
}

export async function findTurnMessage(
  db: Queryable,
  agentId: string,
  turnId: string,
  step: number,
  idx: number,
): Promise<StoredMessage | null> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${COLUMNS} FROM messages WHERE agent_id = $1 AND turn_id = $2 AND step = $3 AND idx = $4`,
    [agentId, turnId, step, idx],
  );
  return rows[0] ? toStored(rows[0]) : null;
}

/**
 * Reads `where` (over `messages`, params from $2 on, $1 the agent) newest first, in pages, until
 * `budget` tokens are covered (plus one page of slack for tool groups cut at the edge).
 */
async function loadNewestFirst(
  db: Queryable,
  agentId: string,
  where: string,
  params: readonly unknown[],
  budget: number,
  pageSize: number,
): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  let covered = 0;
  let before: number | null = null;
  const cursor = `$${params.length + 2}`;
  const limit = `$${params.length + 3}`;
  for (;;) {
    const { rows }: { rows: MessageRow[] } = await db.query<MessageRow>(
      `SELECT ${COLUMNS} FROM messages
       WHERE agent_id = $1 AND seq IS NOT NULL AND ${where} AND (${cursor}::bigint IS NULL OR seq < ${cursor})
       ORDER BY seq DESC LIMIT ${limit}`,
      [agentId, ...params, before, pageSize],
    );
    for (const r of rows) {
      out.push(toStored(r));
      covered += r.tokens;
    }
    const last = rows.at(-1);
    if (rows.length < pageSize || !last || covered > budget) return out;
    before = last.seq;
  }
}

/**
 * The newest in-context messages, newest first, in pages, until `budget` tokens are covered
 * (plus one page of slack for tool groups cut at the edge). Reads O(window), never the history.
 */
export async function loadRecentMessages(db: Queryable, agentId: string, budget: number, pageSize = 64): Promise<StoredMessage[]> {
  return loadNewestFirst(db, agentId, 'in_context', [], budget, pageSize);
}

/** Not a message of a consolidation turn: those are the memory system's, not the conversation. */
const NOT_CONSOLIDATION = `NOT EXISTS (SELECT 1 FROM turns t WHERE t.message_id = messages.turn_id AND t.kind = 'consolidation')`;

/**
 * The context of consolidation turn `turnId`, newest first, until `budget` tokens are covered:
 * its own in-context messages, and before them every message of the agent after seq
 * `afterSeq` (null: from the start), in context or not, except those of consolidation turns.
 */
export async function loadConsolidationMessages(
  db: Queryable,
  agentId: string,
  turnId: string,
  afterSeq: number | null,
  budget: number,
  pageSize = 64,
): Promise<StoredMessage[]> {
  return loadNewestFirst(
    db,
    agentId,
    `($2::bigint IS NULL OR seq > $2) AND CASE WHEN turn_id = $3 THEN in_context ELSE ${NOT_CONSOLIDATION} END`,
    [afterSeq, turnId],
    budget,
    pageSize,
  );
}

/**
 * True when the agent has a message a consolidation would review: one after seq `afterSeq`
 * (null: any), or one waiting for its turn, that is not of a consolidation turn.
 */
export async function hasUnconsolidatedMessages(db: Queryable, agentId: string, afterSeq: number | null): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM messages WHERE agent_id = $1 AND (seq IS NULL OR $2::bigint IS NULL OR seq > $2) AND ${NOT_CONSOLIDATION}) AS found`,
    [agentId, afterSeq],
  );
  return rows[0]?.found === true;
}

/**
 * How many messages consolidation turn `turnId` was offered: the agent's messages before its
 * instruction and after the previous completed consolidation's, outside consolidation turns.
 * Derived from what is stored, so it reads the same whenever it is asked.
 */
export async function countConsolidationReview(db: Queryable, agentId: string, turnId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `WITH me AS (SELECT seq FROM messages WHERE id = $2 AND agent_id = $1),
          prev AS (SELECT max(m.seq) AS seq FROM turns t JOIN messages m ON m.id = t.message_id
                   WHERE t.agent_id = $1 AND t.kind = 'consolidation' AND t.status = 'completed' AND m.seq < (SELECT seq FROM me))
     SELECT count(*)::int AS n FROM messages
     WHERE agent_id = $1 AND seq < (SELECT seq FROM me) AND ((SELECT seq FROM prev) IS NULL OR seq > (SELECT seq FROM prev))
       AND ${NOT_CONSOLIDATION}`,
    [agentId, turnId],
  );
  return rows[0]?.n ?? 0;
}

/** The messages of one turn, in order (the user message first). */
export async function listTurnMessages(db: Queryable, agentId: string, turnId: string): Promise<StoredMessage[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${COLUMNS} FROM messages WHERE agent_id = $1 AND turn_id = $2 ORDER BY step, idx`,
    [agentId, turnId],
  );
  return rows.map(toStored);
}

/**
 * The agent's last `limit` messages, oldest first. `before` is a seq cursor. Messages of
 * consolidation turns are not the conversation and are left out (`listTurnMessages` has them).
 */
export async function listMessages(
  db: Queryable,
  agentId: string,
  opts: { limit: number; before?: number | undefined },
): Promise<StoredMessage[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${COLUMNS} FROM messages
     WHERE agent_id = $1 AND seq IS NOT NULL AND ($2::bigint IS NULL OR seq < $2) AND ${NOT_CONSOLIDATION}
     ORDER BY seq DESC LIMIT $3`,
    [agentId, opts.before ?? null, opts.limit],
  );
  return rows.map(toStored).reverse();
}

export interface MessageSearch {
  query?: string | undefined;
  roles?: MessageRole[] | undefined;
  limit: number;
  startDate?: Date | undefined;
  endDate?: Date | undefined;
}

/**
 * Recall search: full-text match first, substring match as a fallback; newest first. Messages of
 * consolidation turns are not the conversation and are never found.
 */
export async function searchMessages(db: Queryable, agentId: string, s: MessageSearch): Promise<StoredMessage[]> {
  const params = [agentId, s.roles && s.roles.length > 0 ? s.roles : null, s.startDate ?? null, s.endDate ?? null, s.limit];
  const filters = `agent_id = $1 AND seq IS NOT NULL AND ($2::text[] IS NULL OR role = ANY($2))
    AND ($3::timestamptz IS NULL OR created_at >= $3) AND ($4::timestamptz IS NULL OR created_at <= $4)
    AND ${NOT_CONSOLIDATION}`;
  if (!s.query) {
    const { rows } = await db.query<MessageRow>(
      `SELECT ${COLUMNS} FROM messages WHERE ${filters} ORDER BY seq DESC LIMIT $5`,
      params,
    );
    return rows.map(toStored);
  }
  const { rows } = await db.query<MessageRow>(
    `SELECT ${COLUMNS} FROM messages
     WHERE ${filters} AND (to_tsvector('english', coalesce(content, '')) @@ websearch_to_tsquery('english', $6)
                           OR content ILIKE '%' || $7 || '%')
     ORDER BY seq DESC LIMIT $5`,
    [...params, s.query, s.query.replace(/[\\%_]/g, (c) => `\\${c}`)],
  );
  return rows.map(toStored);
}
