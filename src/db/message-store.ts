/**
 * Recall memory: the `messages` table. Every write of a turn is keyed on
 * (agent, turn, step, idx) and idempotent, so a retried or replayed activity never duplicates.
 * @module
 */
import pg from 'pg';
import { IdPrefix, newId } from '../domain/ids.ts';
import type { MessageKind, MessageRole, StoredMessage, StoredToolCall, ToolStatus } from '../domain/stored-message.ts';
import { pageClauses, type CursorPage } from './cursor-page.ts';
import { withTransaction, type Queryable } from './pool.ts';

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
  kind: MessageKind;
  created_at: Date;
}

const COLUMNS =
  'id, agent_id, seq, turn_id, step, idx, role, content, reasoning, tool_calls, tool_call_id, tool_name, tool_status, tokens, kind, created_at';

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
    kind: r.kind,
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
  /** @default 'message' */
  kind?: MessageKind | undefined;
}

/** Inserts the message; null if one with the same (agent, turn, step, idx) already exists. */
export async function tryInsertMessage(db: Queryable, m: NewMessage): Promise<StoredMessage | null> {
  const { rows } = await db.query<MessageRow>(
    `INSERT INTO messages (id, agent_id, seq, turn_id, step, idx, role, content, reasoning, tool_calls,
                           tool_call_id, tool_name, tool_status, tokens, kind)
     VALUES ($1, $2, CASE WHEN $3 THEN nextval('message_seq') END, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
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
      m.kind ?? 'message',
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
  return loadNewestFirst(db, agentId, `in_context AND kind = 'message'`, [], budget, pageSize);
}

/** The summary that opens the agent's context (the newest in context), if a compaction wrote one. */
export async function loadContextSummary(db: Queryable, agentId: string): Promise<StoredMessage | null> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${COLUMNS} FROM messages WHERE agent_id = $1 AND kind = 'summary' AND in_context ORDER BY seq DESC LIMIT 1`,
    [agentId],
  );
  return rows[0] ? toStored(rows[0]) : null;
}

/** Every in-context message of the agent but the summary, oldest first: what a compaction cuts from. */
export async function loadInContextMessages(db: Queryable, agentId: string): Promise<StoredMessage[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${COLUMNS} FROM messages WHERE agent_id = $1 AND seq IS NOT NULL AND in_context AND kind = 'message' ORDER BY seq`,
    [agentId],
  );
  return rows.map(toStored);
}

/**
 * A compaction's write: messages up to seq `throughSeq` and every summary but `summaryId` leave
 * the context. Returns how many messages left.
 */
export async function evictFromContext(tx: Queryable, agentId: string, throughSeq: number, summaryId: string): Promise<number> {
  const { rowCount } = await tx.query(
    `UPDATE messages SET in_context = false
     WHERE agent_id = $1 AND in_context AND seq IS NOT NULL AND id <> $3 AND (kind = 'summary' OR seq <= $2)`,
    [agentId, throughSeq, summaryId],
  );
  return rowCount ?? 0;
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

/**
 * A cursor page of the agent's recall (Letta's `GET /v1/agents/{id}/messages`): `before` and
 * `after` are message ids of this agent, `order` is by place in recall. As {@link listMessages},
 * consolidation turns are left out, and so are user messages still waiting for their turn.
 */
export async function pageMessages(db: Queryable, agentId: string, page: CursorPage): Promise<StoredMessage[]> {
  const p = pageClauses(page, { table: 'messages', columns: 'seq', cursorColumns: 'seq', cursorScope: 'agent_id = $1' }, 2);
  const { rows } = await db.query<MessageRow>(
    `SELECT ${COLUMNS} FROM messages
     WHERE agent_id = $1 AND seq IS NOT NULL AND ${NOT_CONSOLIDATION} ${p.where}
     ${p.orderLimit}`,
    [agentId, ...p.params],
  );
  const stored = rows.map(toStored);
  return p.reversed ? stored.reverse() : stored;
}

export interface MessageSearch {
  /** What to look for; absent or blank: the newest messages. */
  query?: string | undefined;
  roles?: MessageRole[] | undefined;
  /** Results per page. */
  limit: number;
  /** Which page of `limit` results, 0 first. @default 0 */
  page?: number | undefined;
  startDate?: Date | undefined;
  endDate?: Date | undefined;
}

/** How a message matched the query: by its words (full text), or by a similar spelling or a substring. */
export const RecallMatch = { FullText: 'full_text', Fuzzy: 'fuzzy' } as const;
export type RecallMatch = (typeof RecallMatch)[keyof typeof RecallMatch];

export interface MessageSearchHit {
  message: StoredMessage;
  /** Null when there was no query. */
  match: RecallMatch | null;
}

export interface MessageSearchPage {
  hits: MessageSearchHit[];
  /** The next page has results too. */
  hasMore: boolean;
}

/**
 * Filters of every recall search, $2 to $4 (the agent, $1, is the caller's): sequenced messages
 * with text, in or out of context, of the given roles and dates; not the returns of
 * conversation_search itself (a search would find its own earlier results), not compaction
 * summaries (the context holds the current one; the messages they summarize are all here), not
 * those of consolidation turns.
 */
const SEARCH_FILTERS = `seq IS NOT NULL AND content <> ''
  AND ($2::text[] IS NULL OR role = ANY($2)) AND ($3::timestamptz IS NULL OR created_at >= $3)
  AND ($4::timestamptz IS NULL OR created_at <= $4)
  AND (tool_name IS NULL OR tool_name <> 'conversation_search') AND kind = 'message' AND ${NOT_CONSOLIDATION}`;

/** The expression of the messages' full-text index (migration 012), matching tsquery `q`. */
const fullTextMatch = (q: string): string => `to_tsvector('english', coalesce(content, '')) @@ websearch_to_tsquery('english', ${q})`;

/** Query text in websearch syntax ("a phrase", -word, or): taken as written, with no fuzzy matches. */
const WEBSEARCH_SYNTAX = /"|(^|\s)-\S|\bor\b/i;

/**
 * The word similarity a fuzzy match needs, for a query of `n` trigrams: all but 4 of them shared
 * (one typo changes up to 3, a transposition 4), between 0.3 and 0.7. "Jonh" ~ "John" is 0.4,
 * "Lisbn" ~ "Lisbon" 0.67; a long word needs more in common, which keeps the candidates few.
 */
const FUZZY_THRESHOLD = `greatest(0.3, least(0.7, (n - 4)::float8 / greatest(n, 1))) - 0.001`;
/** Shorter queries have no trigram to look up. */
const FUZZY_MIN_CHARS = 3;

let noTrigramWarned = false;

/**
 * Recall search, best match first, a page at a time. Full text first: messages with any of the
 * query's words, those with all of them before the others, then by `ts_rank_cd`, then newest.
 * When those do not fill the page, fuzzy matches follow for names and typos: pg_trgm's word
 * similarity with accents folded ("Jonh" finds "John", "Bjorn" finds "Bjørn") or a substring,
 * most similar first; without pg_trgm, the substring only. A query in websearch syntax ("a
 * phrase", -word, or) is taken as written, without fuzzy matches. Without a query, the newest
 * messages. Finds messages out of context; never those of consolidation turns.
 *
 * The fuzzy step sets its similarity threshold for the transaction: given the pool, the search
 * runs in a transaction of its own; given a client, run it inside one.
 */
export async function searchMessages(db: Queryable, agentId: string, s: MessageSearch): Promise<MessageSearchPage> {
  if (db instanceof pg.Pool) return withTransaction(db, (client) => searchMessages(client, agentId, s));
  const filters = [agentId, s.roles && s.roles.length > 0 ? s.roles : null, s.startDate ?? null, s.endDate ?? null];
  const offset = (s.page ?? 0) * s.limit;
  // one more than a page: whether another page exists
  const want = s.limit + 1;
  const toPage = (hits: MessageSearchHit[]): MessageSearchPage => ({ hits: hits.slice(0, s.limit), hasMore: hits.length > s.limit });
  const query = s.query?.trim();
  if (!query) {
    // the agent as a range, not an equality: ordered by (agent_id, seq), the only index that
    // serves it is the agent's; with an equality the planner may walk every agent's messages
    // backwards through messages_seq_key, far too many when this agent has been quiet
    const { rows } = await db.query<MessageRow>(
      `SELECT ${COLUMNS} FROM messages WHERE agent_id >= $1 AND agent_id <= $1 AND ${SEARCH_FILTERS}
       ORDER BY agent_id, seq DESC OFFSET $5 LIMIT $6`,
      [...filters, offset, want],
    );
    return toPage(rows.map((r) => ({ message: toStored(r), match: null })));
  }
  const asWritten = WEBSEARCH_SYNTAX.test(query);
  const anyWord = asWritten ? query : query.split(/\s+/).join(' or ');
  const { rows } = await db.query<MessageRow>(
    `SELECT ${COLUMNS} FROM messages,
       LATERAL (SELECT tsv @@ websearch_to_tsquery('english', $5) AS all_words,
                       ts_rank_cd(tsv, websearch_to_tsquery('english', $6), 1) AS rank
                -- the document parsed once a row (OFFSET 0 keeps the planner from inlining it twice)
                FROM (SELECT to_tsvector('english', coalesce(content, '')) AS tsv OFFSET 0) AS doc) AS r
     WHERE agent_id = $1 AND ${SEARCH_FILTERS} AND ${fullTextMatch('$6')}
     ORDER BY r.all_words DESC, r.rank DESC, seq DESC OFFSET $7 LIMIT $8`,
    [...filters, query, anyWord, offset, want],
  );
  const hits: MessageSearchHit[] = rows.map((r) => ({ message: toStored(r), match: RecallMatch.FullText }));
  if (hits.length === want || asWritten || [...query].length < FUZZY_MIN_CHARS) return toPage(hits);
  // the fuzzy matches come after every full-text match (few, since they did not fill this page),
  // so this page's share of them starts where the full-text ones ran out
  const fullTextIds = offset === 0 ? hits.map((h) => h.message.id) : await allFullTextIds(db, filters, anyWord);
  const fuzzy = await fuzzyMatches(db, filters, query, fullTextIds, Math.max(0, offset - fullTextIds.length), want - hits.length);
  return toPage([...hits, ...fuzzy]);
}

async function allFullTextIds(db: Queryable, filters: unknown[], anyWord: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM messages WHERE agent_id = $1 AND ${SEARCH_FILTERS} AND ${fullTextMatch('$5')}`,
    [...filters, anyWord],
  );
  return rows.map((r) => r.id);
}

/** The fuzzy tier of {@link searchMessages}: messages similar to `query`, except `exclude`. */
async function fuzzyMatches(
  db: Queryable,
  filters: unknown[],
  query: string,
  exclude: string[],
  offset: number,
  limit: number,
): Promise<MessageSearchHit[]> {
  const { rows: probe } = await db.query<{ trigrams: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') AS trigrams`,
  );
  const substring = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const folded = 'memloom_fold_accents(content)';
  let sql: string;
  let params: unknown[];
  if (probe[0]?.trigrams) {
    await db.query(
      `SELECT set_config('pg_trgm.word_similarity_threshold', (${FUZZY_THRESHOLD})::text, true)
       FROM (SELECT cardinality(show_trgm(memloom_fold_accents($1))) AS n) AS query`,
      [query],
    );
    // the similarity computed once a row (OFFSET 0 keeps the planner from inlining it twice)
    sql = `SELECT ${COLUMNS} FROM messages,
             LATERAL (SELECT word_similarity(memloom_fold_accents($6), ${folded}) AS score OFFSET 0) AS fuzzy
           WHERE agent_id = $1 AND ${SEARCH_FILTERS} AND NOT (id = ANY($5))
             AND (${folded} %> memloom_fold_accents($6) OR ${folded} ILIKE memloom_fold_accents($7))
           ORDER BY fuzzy.score DESC, seq DESC OFFSET $8 LIMIT $9`;
    params = [...filters, exclude, query, substring, offset, limit];
  } else {
    if (!noTrigramWarned) {
      noTrigramWarned = true;
      process.emitWarning('pg_trgm is not installed: conversation_search matches names and typos by substring only', { code: 'MEMLOOM_NO_PG_TRGM' });
    }
    sql = `SELECT ${COLUMNS} FROM messages
           WHERE agent_id = $1 AND ${SEARCH_FILTERS} AND NOT (id = ANY($5)) AND ${folded} ILIKE memloom_fold_accents($6)
           ORDER BY seq DESC OFFSET $7 LIMIT $8`;
    params = [...filters, exclude, substring, offset, limit];
  }
  const { rows } = await db.query<MessageRow>(sql, params);
  return rows.map((r) => ({ message: toStored(r), match: RecallMatch.Fuzzy }));
}
