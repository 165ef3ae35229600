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
 * The newest in-context messages, newest first, in pages, until `budget` tokens are covered
 * (plus one page of slack for tool groups cut at the edge). Reads O(window), never the history.
 */
export async function loadRecentMessages(db: Queryable, agentId: string, budget: number, pageSize = 64): Promise<StoredMessage[]> {
  const out: StoredMessage[] = [];
  let covered = 0;
  let before: number | null = null;
  for (;;) {
    const { rows }: { rows: MessageRow[] } = await db.query<MessageRow>(
      `SELECT ${COLUMNS} FROM messages
       WHERE agent_id = $1 AND seq IS NOT NULL AND in_context AND ($2::bigint IS NULL OR seq < $2)
       ORDER BY seq DESC LIMIT $3`,
      [agentId, before, pageSize],
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

/** The messages of one turn, in order (the user message first). */
export async function listTurnMessages(db: Queryable, agentId: string, turnId: string): Promise<StoredMessage[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${COLUMNS} FROM messages WHERE agent_id = $1 AND turn_id = $2 ORDER BY step, idx`,
    [agentId, turnId],
  );
  return rows.map(toStored);
}

/** The agent's last `limit` messages, oldest first. `before` is a seq cursor. */
export async function listMessages(
  db: Queryable,
  agentId: string,
  opts: { limit: number; before?: number | undefined },
): Promise<StoredMessage[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${COLUMNS} FROM messages
     WHERE agent_id = $1 AND seq IS NOT NULL AND ($2::bigint IS NULL OR seq < $2)
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

/** Recall search: full-text match first, substring match as a fallback; newest first. */
export async function searchMessages(db: Queryable, agentId: string, s: MessageSearch): Promise<StoredMessage[]> {
  const params = [agentId, s.roles && s.roles.length > 0 ? s.roles : null, s.startDate ?? null, s.endDate ?? null, s.limit];
  const filters = `agent_id = $1 AND seq IS NOT NULL AND ($2::text[] IS NULL OR role = ANY($2))
    AND ($3::timestamptz IS NULL OR created_at >= $3) AND ($4::timestamptz IS NULL OR created_at <= $4)`;
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
