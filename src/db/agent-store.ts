/**
 * Agents and their core memory blocks.
 * @module
 */
import type { AgentState, Block, CreateAgent, CreateBlock } from '../domain/agent.ts';
import type { AgentMetadata } from '../domain/agent-metadata.ts';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.ts';
import { IdPrefix, isId, newId } from '../domain/ids.ts';
import type { CompactionSettings } from '../domain/compaction.ts';
import type { EmbeddingConfig, LlmConfig } from '../domain/llm-config.ts';
import { charLength } from '../domain/validation.ts';
import { pageClauses } from './cursor-page.ts';
import { withTransaction, type Db, type Queryable } from './pool.ts';

/** An agent row without its blocks. */
export interface AgentRecord {
  id: string;
  name: string;
  system: string;
  description: string | null;
  llm_config: LlmConfig;
  embedding_config: EmbeddingConfig | null;
  tools: string[];
  tags: string[];
  /** US dollars per `budget_duration` (or in all); null: no budget. */
  max_budget: number | null;
  /** As written (`1d`); null: a lifetime budget, or none. */
  budget_duration: string | null;
  /** The last message seq a completed memory consolidation reviewed; null: never consolidated. */
  consolidated_through_seq: number | null;
  /** When the last memory consolidation completed; null: never. */
  consolidated_at: Date | null;
  /** Letta's compaction_settings; null: the defaults (`src/domain/compaction.ts`). */
  compaction_settings: CompactionSettings | null;
  /** Letta's free-form metadata; null: none. */
  metadata: AgentMetadata | null;
  created_at: Date;
  updated_at: Date;
}

/** An agents row as pg returns it: `numeric` comes as a string. */
type AgentRow = Omit<AgentRecord, 'max_budget'> & { max_budget: string | number | null };

function toAgentRecord(row: AgentRow): AgentRecord {
  return { ...row, max_budget: row.max_budget === null ? null : Number(row.max_budget) };
}

interface BlockRow {
  id: string;
  label: string;
  value: string;
  char_limit: number;
  description: string | null;
  read_only: boolean;
  version: number;
}

const BLOCK_COLUMNS = 'b.id, ab.label, b.value, b.char_limit, b.description, b.read_only, b.version';

function toBlock(row: BlockRow): Block {
  return {
    id: row.id,
    label: row.label,
    value: row.value,
    limit: row.char_limit,
    description: row.description,
    read_only: row.read_only,
    version: row.version,
  };
}

export function toAgentState(agent: AgentRecord, blocks: Block[]): AgentState {
  return {
    id: agent.id,
    name: agent.name,
    agent_type: 'letta_v1_agent',
    system: agent.system,
    description: agent.description,
    llm_config: agent.llm_config,
    embedding_config: agent.embedding_config,
    tools: agent.tools,
    tags: agent.tags,
    max_budget: agent.max_budget,
    budget_duration: agent.budget_duration,
    compaction_settings: agent.compaction_settings ?? null,
    metadata: agent.metadata ?? null,
    blocks,
    memory: { blocks },
    created_at: agent.created_at.toISOString(),
    updated_at: agent.updated_at.toISOString(),
  };
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string };
  return e.code === '23505' && e.constraint === constraint;
}

export interface NewAgent extends Omit<CreateAgent, 'llm_config' | 'system' | 'include_base_tools'> {
  system: string;
  llm_config: LlmConfig;
}

export async function insertAgent(db: Db, input: NewAgent): Promise<AgentState> {
  const id = newId(IdPrefix.Agent);
  try {
    await withTransaction(db, async (tx) => {
      await tx.query(
        `INSERT INTO agents (id, name, system, description, llm_config, embedding_config, tools, tags, max_budget, budget_duration,
                             compaction_settings, metadata)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [id, input.name, input.system, input.description ?? null, input.llm_config, input.embedding_config ?? null, input.tools, input.tags,
          input.max_budget ?? null, input.budget_duration ?? null, storedCompactionSettings(input.compaction_settings), input.metadata ?? null],
      );
      await insertBlocks(tx, id, input.memory_blocks);
    });
  } catch (error) {
    if (isUniqueViolation(error, 'agents_name_key')) {
      throw new ConflictError(`an agent named "${input.name}" already exists`);
    }
    throw error;
  }
  return (await getAgentState(db, id))!;
}

async function insertBlocks(tx: Queryable, agentId: string, blocks: CreateBlock[]): Promise<void> {
  for (const [position, block] of blocks.entries()) {
    const blockId = newId(IdPrefix.Block);
    await tx.query(
      `INSERT INTO blocks (id, label, value, char_limit, description, read_only) VALUES ($1, $2, $3, $4, $5, $6)`,
      [blockId, block.label, block.value, block.limit, block.description ?? null, block.read_only],
    );
    await tx.query(`INSERT INTO agent_blocks (agent_id, block_id, label, position) VALUES ($1, $2, $3, $4)`, [
      agentId,
      blockId,
      block.label,
      position,
    ]);
  }
}

/** Finds an agent by id (`agent-<uuid>`) or by its unique name. */
export async function findAgent(db: Queryable, idOrName: string): Promise<AgentRecord | null> {
  const column = isId(IdPrefix.Agent, idOrName) ? 'id' : 'name';
  const { rows } = await db.query<AgentRow>(`SELECT * FROM agents WHERE ${column} = $1`, [idOrName]);
  return rows[0] ? toAgentRecord(rows[0]) : null;
}

export async function requireAgent(db: Queryable, idOrName: string): Promise<AgentRecord> {
  const agent = await findAgent(db, idOrName);
  if (!agent) throw new NotFoundError('agent', idOrName, 'list agents with `memloom agent list`');
  return agent;
}

export async function getBlocks(db: Queryable, agentId: string): Promise<Block[]> {
  const { rows } = await db.query<BlockRow>(
    `SELECT ${BLOCK_COLUMNS} FROM agent_blocks ab JOIN blocks b ON b.id = ab.block_id
     WHERE ab.agent_id = $1 ORDER BY ab.position, ab.label`,
    [agentId],
  );
  return rows.map(toBlock);
}

export async function getAgentState(db: Queryable, idOrName: string): Promise<AgentState | null> {
  const agent = await findAgent(db, idOrName);
  return agent ? toAgentState(agent, await getBlocks(db, agent.id)) : null;
}

export interface AgentFilter {
  name?: string | undefined;
  tags?: string[] | undefined;
  /** An agent must have every tag of `tags` (false: one of them). @default true */
  matchAllTags?: boolean | undefined;
  limit?: number | undefined;
  /** Agents after this agent id in `order` (a cursor page, see cursor-page.ts). */
  after?: string | undefined;
  /** The agents just before this agent id in `order`. */
  before?: string | undefined;
  /** By creation time. @default 'desc' */
  order?: 'asc' | 'desc' | undefined;
}

/** Agents, newest first (the most recently created is what a user looks for), or oldest first. */
export async function listAgents(db: Db, filter: AgentFilter = {}): Promise<AgentState[]> {
  const page = pageClauses(
    { after: filter.after, before: filter.before, limit: filter.limit ?? 1000, order: filter.order ?? 'desc' },
    { table: 'agents', columns: 'created_at, id', cursorColumns: 'created_at, id' },
    4,
  );
  const { rows: found } = await db.query<AgentRow>(
    `SELECT * FROM agents
     WHERE ($1::text IS NULL OR name = $1) AND ($2::text[] IS NULL OR (CASE WHEN $3 THEN tags @> $2 ELSE tags && $2 END)) ${page.where}
     ${page.orderLimit}`,
    [filter.name ?? null, filter.tags && filter.tags.length > 0 ? filter.tags : null, filter.matchAllTags ?? true, ...page.params],
  );
  const rows = page.reversed ? found.reverse() : found;
  const { rows: blockRows } = await db.query<BlockRow & { agent_id: string }>(
    `SELECT ab.agent_id, ${BLOCK_COLUMNS} FROM agent_blocks ab JOIN blocks b ON b.id = ab.block_id
     WHERE ab.agent_id = ANY($1) ORDER BY ab.position, ab.label`,
    [rows.map((r) => r.id)],
  );
  return rows.map((a) => toAgentState(toAgentRecord(a), blockRows.filter((b) => b.agent_id === a.id).map(toBlock)));
}

export interface AgentPatch {
  name?: string | undefined;
  system?: string | undefined;
  description?: string | undefined;
  llm_config?: LlmConfig | undefined;
  embedding_config?: EmbeddingConfig | undefined;
  tools?: string[] | undefined;
  tags?: string[] | undefined;
  /** null removes the budget. */
  max_budget?: number | null | undefined;
  /** null: a lifetime budget (or none). */
  budget_duration?: string | null | undefined;
  /** Replaces the settings as a whole; null: the defaults. */
  compaction_settings?: CompactionSettings | null | undefined;
  /** Replaces the metadata as a whole; null removes it. */
  metadata?: AgentMetadata | null | undefined;
}

/** The column value of compaction settings: null when they set nothing (every field its default). */
function storedCompactionSettings(s: CompactionSettings | null | undefined): CompactionSettings | null {
  return s && Object.values(s).some((v) => v !== undefined) ? s : null;
}

export async function updateAgent(db: Db, agentId: string, patch: AgentPatch): Promise<AgentState> {
  const given = patch.compaction_settings === undefined ? patch : { ...patch, compaction_settings: storedCompactionSettings(patch.compaction_settings) };
  const entries = Object.entries(given).filter(([, v]) => v !== undefined);
  if (entries.length > 0) {
    const sets = entries.map(([k], i) => `${k} = $${i + 2}`).join(', ');
    try {
      await db.query(`UPDATE agents SET ${sets}, updated_at = now() WHERE id = $1`, [agentId, ...entries.map(([, v]) => v)]);
    } catch (error) {
      if (isUniqueViolation(error, 'agents_name_key')) {
        throw new ConflictError(`an agent named "${patch.name ?? ''}" already exists`);
      }
      throw error;
    }
  }
  return (await getAgentState(db, agentId))!;
}

/** Deletes the agent, its messages and passages, and the blocks no other agent shares. */
export async function deleteAgent(db: Db, agentId: string): Promise<void> {
  await withTransaction(db, async (tx) => {
    const { rows } = await tx.query<{ block_id: string }>('SELECT block_id FROM agent_blocks WHERE agent_id = $1', [agentId]);
    await tx.query('DELETE FROM agents WHERE id = $1', [agentId]);
    await tx.query(
      `DELETE FROM blocks b WHERE b.id = ANY($1) AND NOT EXISTS (SELECT 1 FROM agent_blocks ab WHERE ab.block_id = b.id)`,
      [rows.map((r) => r.block_id)],
    );
  });
}

/**
 * Records a completed memory consolidation whose instruction is message `instructionId`: every
 * message of the agent before it was reviewed. The mark never moves back.
 */
export async function markConsolidated(tx: Queryable, agentId: string, instructionId: string): Promise<void> {
  await tx.query(
    `UPDATE agents a SET consolidated_through_seq = GREATEST(a.consolidated_through_seq, m.seq - 1), consolidated_at = now()
     FROM messages m WHERE a.id = $1 AND m.id = $2 AND m.agent_id = $1 AND m.seq IS NOT NULL`,
    [agentId, instructionId],
  );
}

/** Locks the agent's block with this label for an edit inside `tx`. */
export async function lockBlock(tx: Queryable, agentId: string, label: string): Promise<Block | null> {
  const { rows } = await tx.query<BlockRow>(
    `SELECT ${BLOCK_COLUMNS} FROM agent_blocks ab JOIN blocks b ON b.id = ab.block_id
     WHERE ab.agent_id = $1 AND ab.label = $2 FOR UPDATE OF b`,
    [agentId, label],
  );
  return rows[0] ? toBlock(rows[0]) : null;
}

export async function writeBlock(
  tx: Queryable,
  blockId: string,
  fields: { value?: string | undefined; limit?: number | undefined; description?: string | undefined; read_only?: boolean | undefined },
): Promise<void> {
  await tx.query(
    `UPDATE blocks SET value = coalesce($2, value), char_limit = coalesce($3, char_limit),
       description = coalesce($4, description), read_only = coalesce($5, read_only),
       version = version + 1, updated_at = now()
     WHERE id = $1`,
    [blockId, fields.value ?? null, fields.limit ?? null, fields.description ?? null, fields.read_only ?? null],
  );
}

/** A user's edit of a block (CLI / SDK). Read-only blocks can be edited this way, as in Letta. */
export async function updateBlockByLabel(
  db: Db,
  agentId: string,
  label: string,
  fields: Parameters<typeof writeBlock>[2],
): Promise<Block> {
  return withTransaction(db, async (tx) => {
    const block = await lockBlock(tx, agentId, label);
    if (!block) throw new NotFoundError('memory block', label, `agent ${agentId} has no block with this label`);
    const value = fields.value ?? block.value;
    const limit = fields.limit ?? block.limit;
    const chars = charLength(value);
    if (chars > limit) {
      throw new ValidationError(
        [
          fields.value === undefined
            ? { path: 'limit', message: `is ${limit}, less than the ${chars} characters the block holds` }
            : { path: 'value', message: `is ${chars} characters, over the block's limit of ${limit}` },
        ],
        `memory block "${label}"`,
      );
    }
    await writeBlock(tx, block.id, fields);
    return (await lockBlock(tx, agentId, label))!;
  });
}
