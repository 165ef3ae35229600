/**
 * Agents and their core memory blocks: the inputs users send and the state they get back.
 * @module
 */
import { z } from 'zod';
import { EmbeddingConfigSchema, LlmConfigSchema, type EmbeddingConfig, type LlmConfig } from './llm-config.ts';
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

export const CreateAgentSchema = z
  .object({
    name: AgentNameSchema,
    system: z.string().min(1, 'must not be empty').optional(),
    description: DescriptionSchema.optional(),
    memory_blocks: z.array(CreateBlockSchema).max(100, 'must have at most 100 blocks').default([]),
    llm_config: LlmConfigSchema.optional(),
    embedding_config: EmbeddingConfigSchema.optional(),
    tools: z.array(ToolNameSchema).default([]),
    /** Attach memloom's built-in memory tools. @default true */
    include_base_tools: z.boolean().default(true),
    tags: TagsSchema.default([]),
  })
  .superRefine((a, ctx) => uniqueLabels(a.memory_blocks, ctx));
export type CreateAgentInput = z.input<typeof CreateAgentSchema>;
export type CreateAgent = z.output<typeof CreateAgentSchema>;

export const UpdateAgentSchema = z
  .object({
    name: AgentNameSchema.optional(),
    system: z.string().min(1, 'must not be empty').optional(),
    description: DescriptionSchema.optional(),
    llm_config: LlmConfigSchema.optional(),
    embedding_config: EmbeddingConfigSchema.optional(),
    tools: z.array(ToolNameSchema).optional(),
    tags: TagsSchema.optional(),
  })
  .strict();
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
  blocks: Block[];
  memory: { blocks: Block[] };
  created_at: string;
  updated_at: string;
}
