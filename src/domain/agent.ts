/**
 * Agents and their core memory blocks: the inputs users send and the state they get back.
 * @module
 */
import { z } from 'zod';
import { EmbeddingConfigSchema, LlmConfigSchema, type EmbeddingConfig, type LlmConfig } from './llm-config.ts';

/** Letta's default character limit of a block. */
export const DEFAULT_BLOCK_LIMIT = 5000;

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
    limit: z.number().int('must be an integer').positive('must be positive').default(DEFAULT_BLOCK_LIMIT),
    description: z.string().optional(),
    read_only: z.boolean().default(false),
  })
  .superRefine((b, ctx) => {
    if (b.value.length > b.limit) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `is ${b.value.length} characters, over the block's limit of ${b.limit}`,
      });
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
    description: z.string().optional(),
    memory_blocks: z.array(CreateBlockSchema).default([]),
    llm_config: LlmConfigSchema.optional(),
    embedding_config: EmbeddingConfigSchema.optional(),
    tools: z.array(ToolNameSchema).default([]),
    /** Attach memloom's built-in memory tools. @default true */
    include_base_tools: z.boolean().default(true),
    tags: z.array(z.string().min(1, 'must not be empty')).default([]),
  })
  .superRefine((a, ctx) => uniqueLabels(a.memory_blocks, ctx));
export type CreateAgentInput = z.input<typeof CreateAgentSchema>;
export type CreateAgent = z.output<typeof CreateAgentSchema>;

export const UpdateAgentSchema = z
  .object({
    name: AgentNameSchema.optional(),
    system: z.string().min(1, 'must not be empty').optional(),
    description: z.string().optional(),
    llm_config: LlmConfigSchema.optional(),
    embedding_config: EmbeddingConfigSchema.optional(),
    tools: z.array(ToolNameSchema).optional(),
    tags: z.array(z.string().min(1, 'must not be empty')).optional(),
  })
  .strict();
export type UpdateAgentInput = z.input<typeof UpdateAgentSchema>;

export const UpdateBlockSchema = z
  .object({
    value: z.string().optional(),
    limit: z.number().int('must be an integer').positive('must be positive').optional(),
    description: z.string().optional(),
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
