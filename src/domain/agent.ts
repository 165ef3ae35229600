/**
 * Agents and their core memory blocks: the inputs users send and the state they get back.
 * @module
 */
import { z } from 'zod';
import { AgentMetadataSchema, type AgentMetadata } from './agent-metadata.ts';
import { BudgetDurationSchema, MaxBudgetSchema } from './budget.ts';
import { CompactionSettingsSchema, type CompactionSettings } from './compaction.ts';
import type { FieldIssue } from './errors.ts';
import { EmbeddingConfigSchema, LlmConfigSchema, type EmbeddingConfig, type LlmConfig } from './llm-config.ts';
import { groupContextWindow, type ModelsConfig } from './model-policy.ts';
import { charLength } from './validation.ts';

/** Letta's default character limit of a block. Limits count characters (code points). */
export const DEFAULT_BLOCK_LIMIT = 5000;

/** No block may hold more than this many characters, whatever the agent's context window. */
export const MAX_BLOCK_LIMIT = 200_000;

/** The rough characters-per-token estimate the size rules use (as token-count.ts does). */
const CHARS_PER_TOKEN = 4;

/**
 * The largest block limit an agent with this context window may have: half the window in
 * characters (~4 a token), since every block is in every prompt; at least
 * {@link DEFAULT_BLOCK_LIMIT} and at most {@link MAX_BLOCK_LIMIT}.
 */
export function maxBlockLimit(contextWindow: number): number {
  return Math.min(MAX_BLOCK_LIMIT, Math.max(DEFAULT_BLOCK_LIMIT, Math.floor((contextWindow * CHARS_PER_TOKEN) / 2)));
}

/** Why `limit` is too large for an agent with this context window, or undefined. */
export function blockLimitProblem(limit: number, agentName: string, contextWindow: number): string | undefined {
  const max = maxBlockLimit(contextWindow);
  if (limit <= max) return undefined;
  return (
    `is ${limit} characters; agent ${agentName}'s context window is ${contextWindow} tokens, so a block limit may be at most ${max} ` +
    `(half the window at ~${CHARS_PER_TOKEN} characters a token, at least ${DEFAULT_BLOCK_LIMIT}, never over ${MAX_BLOCK_LIMIT})`
  );
}

/** The largest user message, in estimated tokens, for an agent with this context window: half of it. */
export function maxMessageTokens(contextWindow: number): number {
  return Math.floor(contextWindow / 2);
}

/** Why a message of about `tokens` tokens is too large for the agent, or undefined. */
export function messageSizeProblem(tokens: number, agentName: string, contextWindow: number): string | undefined {
  const max = maxMessageTokens(contextWindow);
  if (tokens <= max) return undefined;
  return (
    `message is about ${tokens} tokens; agent ${agentName}'s context window is ${contextWindow} tokens, ` +
    `so a message may have at most ${max} (half the window, ~${max * CHARS_PER_TOKEN} characters)`
  );
}

export const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful assistant with persistent memory. Your core memory blocks are shown below ' +
  'and stay in your context across conversations: keep them current with your memory tools ' +
  '(core_memory_append, core_memory_replace, memory_insert, memory_replace) when you learn ' +
  'something worth remembering about the user or yourself. Use conversation_search to recall ' +
  'earlier messages and archival_memory_insert / archival_memory_search for long-term notes.';

export const BlockLabelSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, "_" or "-", starting with a letter or "_"');

export const ToolNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, "_" or "-", starting with a letter or "_"');

const blockLimit = z
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .positive('must be positive')
  .max(MAX_BLOCK_LIMIT, `must be at most ${MAX_BLOCK_LIMIT} characters`);

const TagSchema = z.string().min(1, 'must not be empty').max(100, 'must be at most 100 characters');
const TagsSchema = z.array(TagSchema, { error: 'must be an array of strings' }).max(100, 'must have at most 100 tags');
const DescriptionSchema = z.string().max(10_000, 'must be at most 10000 characters');

export const AgentNameSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .refine((n) => !/^agent-/i.test(n), 'must not start with "agent-" (reserved for agent ids)');

export const CreateBlockSchema = z
  .object({
    label: BlockLabelSchema,
    value: z.string().default(''),
    limit: blockLimit.default(DEFAULT_BLOCK_LIMIT),
    description: DescriptionSchema.optional(),
    read_only: z.boolean().default(false),
  })
  .superRefine((b, ctx) => {
    const chars = charLength(b.value);
    if (chars > b.limit) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `is ${chars} characters, over the block's limit of ${b.limit}` });
    }
  });
export type CreateBlock = z.output<typeof CreateBlockSchema>;
export type CreateBlockInput = z.input<typeof CreateBlockSchema>;

function uniqueLabels(blocks: { label: string }[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  blocks.forEach((b, i) => {
    if (seen.has(b.label)) {
      ctx.addIssue({ code: 'custom', path: ['memory_blocks', i, 'label'], message: `duplicate label "${b.label}"` });
    }
    seen.add(b.label);
  });
}

/**
 * An agent's `llm_config` as given: `context_window` may be left out, and then comes from the
 * model group's `max_input_tokens` in the models file (MEMLOOM_MODELS), or from the caller's default.
 */
export const AgentLlmConfigSchema = LlmConfigSchema.extend({ context_window: LlmConfigSchema.shape.context_window.optional() });
export type AgentLlmConfig = z.output<typeof AgentLlmConfigSchema>;

/**
 * The `llm_config` an agent gets from `llm` as given. With a models config, `llm.model` must name
 * one of its groups, and a missing `context_window` is the smallest `max_input_tokens` of the
 * group's deployments; otherwise (or when none sets it) `fallbackWindow`. Returns the issues
 * instead when `llm` cannot be resolved; `source` names the models config in them.
 */
export function resolveAgentLlmConfig(
  llm: AgentLlmConfig,
  models: { config: ModelsConfig; source: string } | null,
  fallbackWindow: number | undefined,
): { llm: LlmConfig } | { issues: FieldIssue[] } {
  let groupWindow: number | undefined;
  if (models) {
    const groups = models.config.groups;
    const group = groups.find((g) => g.name === llm.model);
    if (!group) {
      const known = groups.map((g) => g.name).join(', ') || 'none';
      return { issues: [{ path: 'llm_config.model', message: `"${llm.model}" is not a model group of ${models.source}: the groups are ${known}` }] };
    }
    groupWindow = groupContextWindow(group) ?? undefined;
  }
  const contextWindow = llm.context_window ?? groupWindow ?? fallbackWindow;
  if (contextWindow === undefined) {
    const why = models ? `model group "${llm.model}" sets no model_info.max_input_tokens` : 'no models file (MEMLOOM_MODELS) gives one';
    return { issues: [{ path: 'llm_config.context_window', message: `is required: ${why}` }] };
  }
  const parsed = LlmConfigSchema.safeParse({ ...llm, context_window: contextWindow });
  if (parsed.success) return { llm: parsed.data };
  // a group's max_input_tokens below what an agent needs
  const from = llm.context_window === undefined && contextWindow === groupWindow ? ` (the max_input_tokens of model group "${llm.model}")` : '';
  return { issues: parsed.error.issues.map((i) => ({ path: ['llm_config', ...i.path.map(String)].join('.'), message: `${i.message}${from}` })) };
}

/** `embedding`: an embedding model's name (`text-embedding-3-small`), as Letta's CreateAgent takes it. */
const EmbeddingModelSchema = EmbeddingConfigSchema.shape.embedding_model;

function oneEmbedding(a: { embedding?: string | undefined; embedding_config?: unknown }, ctx: z.RefinementCtx): void {
  if (a.embedding !== undefined && a.embedding_config !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['embedding'], message: 'give embedding (a model name) or embedding_config, not both' });
  }
}

const NEEDS_BUDGET = 'needs a max_budget: the duration is the window a max_budget counts spend in';

export const CreateAgentSchema = z
  .object({
    name: AgentNameSchema,
    system: z.string().min(1, 'must not be empty').optional(),
    description: DescriptionSchema.optional(),
    memory_blocks: z.array(CreateBlockSchema).max(100, 'must have at most 100 blocks').default([]),
    llm_config: AgentLlmConfigSchema.optional(),
    embedding_config: EmbeddingConfigSchema.optional(),
    /** An embedding model by name, instead of a whole `embedding_config` (`embeddingConfigOf` in llm-config.ts). */
    embedding: EmbeddingModelSchema.optional(),
    tools: z.array(ToolNameSchema).default([]),
    /** Attach memloom's built-in memory tools. @default true */
    include_base_tools: z.boolean().default(true),
    tags: TagsSchema.default([]),
    /** US dollars of model calls the agent may spend (per `budget_duration`); a turn past it fails with BudgetExceeded. @default no budget */
    max_budget: MaxBudgetSchema.nullish(),
    /** The window of `max_budget`: `30s 10m 1h 1d 7d 30d 2w 1mo`, aligned to the epoch (UTC). @default none: a lifetime budget */
    budget_duration: BudgetDurationSchema.nullish(),
    /**
     * How compaction summarizes the oldest in-context messages when the context is full (Letta's
     * `compaction_settings`: `sliding_window_percentage`, `model`, `clip_chars`).
     * @default null: the defaults of `src/domain/compaction.ts` (30 %, the agent's own model)
     */
    compaction_settings: CompactionSettingsSchema.nullish(),
    /** Letta's `metadata`: a free-form JSON object kept with the agent (at most 64 KiB as JSON). @default null */
    metadata: AgentMetadataSchema.nullish(),
  })
  .superRefine((a, ctx) => {
    uniqueLabels(a.memory_blocks, ctx);
    oneEmbedding(a, ctx);
    if (a.budget_duration != null && a.max_budget == null) ctx.addIssue({ code: 'custom', path: ['budget_duration'], message: NEEDS_BUDGET });
  });
export type CreateAgentInput = z.input<typeof CreateAgentSchema>;
export type CreateAgent = z.output<typeof CreateAgentSchema>;

export const UpdateAgentSchema = z
  .object({
    name: AgentNameSchema.optional(),
    system: z.string().min(1, 'must not be empty').optional(),
    description: DescriptionSchema.optional(),
    llm_config: AgentLlmConfigSchema.optional(),
    embedding_config: EmbeddingConfigSchema.optional(),
    /** Another embedding model by name; the endpoint stays (`embeddingConfigOf` in llm-config.ts). */
    embedding: EmbeddingModelSchema.optional(),
    tools: z.array(ToolNameSchema).optional(),
    tags: TagsSchema.optional(),
    /** A new budget in US dollars; null removes the budget (and its duration). */
    max_budget: MaxBudgetSchema.nullable().optional(),
    /** A new budget window; null makes the budget a lifetime one. */
    budget_duration: BudgetDurationSchema.nullable().optional(),
    /**
     * New compaction settings. They replace the stored ones as a whole, as in Letta (a field left
     * out is its default again, not the old value); null resets them all to the defaults.
     */
    compaction_settings: CompactionSettingsSchema.nullable().optional(),
    /** New metadata: it replaces the stored object as a whole; null removes it. */
    metadata: AgentMetadataSchema.nullable().optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    oneEmbedding(a, ctx);
    if (a.max_budget === null && a.budget_duration != null) {
      ctx.addIssue({ code: 'custom', path: ['budget_duration'], message: `${NEEDS_BUDGET}, and max_budget: null removes the budget` });
    }
  });
export type UpdateAgentInput = z.input<typeof UpdateAgentSchema>;

export const UpdateBlockSchema = z
  .object({
    value: z
      .string()
      .refine((v) => charLength(v) <= MAX_BLOCK_LIMIT, `must be at most ${MAX_BLOCK_LIMIT} characters (the largest block limit)`)
      .optional(),
    limit: blockLimit.optional(),
    description: DescriptionSchema.optional(),
    read_only: z.boolean().optional(),
  })
  .strict();
export type UpdateBlockInput = z.input<typeof UpdateBlockSchema>;

/** A core memory block as users see it. */
export interface Block {
  id: string;
  label: string;
  value: string;
  limit: number;
  description: string | null;
  read_only: boolean;
  version: number;
}

/** An agent as users see it (Letta's `AgentState`, the fields memloom implements). */
export interface AgentState {
  id: string;
  name: string;
  agent_type: 'letta_v1_agent';
  system: string;
  description: string | null;
  llm_config: LlmConfig;
  embedding_config: EmbeddingConfig | null;
  /** Names of the tools attached to the agent. */
  tools: string[];
  tags: string[];
  /** US dollars of model calls the agent may spend per `budget_duration` (or in all); null: no budget. */
  max_budget: number | null;
  /** The budget's window as written (`1d`); null: a lifetime budget, or none. */
  budget_duration: string | null;
  /** Letta's `compaction_settings` as set; null: the defaults (`compactionSettings()` gives those in effect). */
  compaction_settings: CompactionSettings | null;
  /** Letta's `metadata`, as the caller set it; null: none. */
  metadata: AgentMetadata | null;
  blocks: Block[];
  memory: { blocks: Block[] };
  created_at: string;
  updated_at: string;
}
