/**
 * What the API answers, in Letta's shapes (`AgentState`, `Block`, `Tool`, `Passage`,
 * `LettaMessage`, `LettaResponse`, `Model`): the fields memloom fills. Letta's clients do not
 * validate answers, so fields memloom has no use for (projects, templates, identities) are left
 * out, and memloom's own (`max_budget`, `seq_id`, `turn_id`, ...) are extra.
 * @module
 */
import { z } from 'zod';
import { CompactionSettingsSchema } from '../../domain/compaction.ts';
import { EmbeddingConfigSchema, LlmConfigSchema } from '../../domain/llm-config.ts';

const iso = () => z.string().meta({ description: 'ISO 8601 time', format: 'date-time' });

export const BlockSchema = z
  .object({
    id: z.string().meta({ example: 'block-0f7c0e7a-3c55-4c1b-9d0e-2d4f5e6a7b8c' }),
    label: z.string(),
    value: z.string(),
    limit: z.number().int().meta({ description: 'Most characters the value may hold' }),
    description: z.string().nullable(),
    read_only: z.boolean(),
    version: z.number().int().meta({ description: 'memloom: goes up by one with every change' }),
  })
  .meta({ id: 'Block' });

export const ToolTypeSchema = z.enum(['letta_core', 'letta_memory_core', 'custom']);

export const ToolSchema = z
  .object({
    id: z.string().meta({ description: '`tool-<uuid>`, derived from the name', example: 'tool-5b1d4c7e-2f3a-5b6c-8d9e-0a1b2c3d4e5f' }),
    name: z.string(),
    description: z.string().nullable(),
    tool_type: ToolTypeSchema,
    source_type: z.literal('typescript'),
    source_code: z.null().meta({ description: 'memloom runs tools registered on workers; their source stays there' }),
    json_schema: z.object({ name: z.string(), description: z.string().nullable(), parameters: z.record(z.string(), z.unknown()) }).nullable(),
    args_json_schema: z.record(z.string(), z.unknown()).nullable(),
    tags: z.array(z.string()),
    metadata_: z.object({
      registered: z.boolean().meta({ description: 'memloom: a worker runs it (built in, or published by `memloom worker --tools`)' }),
    }),
  })
  .meta({ id: 'Tool' });

export const AgentStateSchema = z
  .object({
    id: z.string().meta({ example: 'agent-7f1c0d2e-9a4b-4c3d-8e2f-1a2b3c4d5e6f' }),
    name: z.string(),
    agent_type: z.literal('letta_v1_agent'),
    system: z.string(),
    description: z.string().nullable(),
    model: z.string().meta({ description: 'The model of `llm_config` (a model group of the models file, or the endpoint’s model name)' }),
    embedding: z.string().nullable(),
    llm_config: LlmConfigSchema,
    embedding_config: EmbeddingConfigSchema.nullable(),
    tools: z.array(ToolSchema),
    tags: z.array(z.string()),
    blocks: z.array(BlockSchema),
    memory: z.object({ blocks: z.array(BlockSchema), file_blocks: z.array(z.unknown()).meta({ description: 'Always empty: memloom has no files' }), agent_type: z.literal('letta_v1_agent'), git_enabled: z.boolean() }),
    sources: z.array(z.unknown()).meta({ description: 'Always empty: memloom has no folders' }),
    tool_rules: z.array(z.unknown()).meta({ description: 'Always empty: memloom agents call tools freely, up to max_steps' }),
    metadata: z.record(z.string(), z.unknown()).nullable().meta({ description: 'The free-form JSON object set on the agent; null: none' }),
    max_budget: z.number().nullable().meta({ description: 'memloom: US dollars of model calls per budget_duration (or in all)' }),
    budget_duration: z.string().nullable(),
    compaction_settings: CompactionSettingsSchema.nullable(),
    created_at: iso(),
    updated_at: iso(),
  })
  .meta({ id: 'AgentState' });

export const PassageSchema = z
  .object({
    id: z.string().meta({ example: 'passage-1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f' }),
    agent_id: z.string(),
    text: z.string(),
    tags: z.array(z.string()),
    created_at: iso(),
    embedding: z.null().meta({ description: 'Vectors stay in the database' }),
    embedding_config: z.null(),
    embedding_model: z.string().nullable().meta({ description: 'memloom: the model of the passage’s vector; null without one' }),
    archive_id: z.null(),
  })
  .meta({ id: 'Passage' });

export const PassageSearchResponseSchema = z
  .object({
    results: z.array(z.object({ id: z.string(), content: z.string(), timestamp: iso(), tags: z.array(z.string()) })),
    count: z.number().int(),
  })
  .meta({ id: 'PassageSearchResponse' });

const messageBase = {
  id: z.string().meta({ description: 'The stored message: an assistant message may show as several LettaMessages with one id' }),
  date: iso(),
  seq_id: z.number().int().nullable().meta({ description: 'Place in recall' }),
  turn_id: z.string().meta({ description: 'memloom: the user message whose turn wrote it' }),
};
const toolCall = z.object({ name: z.string(), arguments: z.string(), tool_call_id: z.string() });
const status = z.enum(['success', 'error']);

export const LettaMessageSchema = z
  .discriminatedUnion('message_type', [
    z.object({ ...messageBase, message_type: z.literal('user_message'), content: z.string() }),
    z.object({ ...messageBase, message_type: z.literal('system_message'), content: z.string() }),
    z.object({ ...messageBase, message_type: z.literal('assistant_message'), content: z.string() }),
    z.object({ ...messageBase, message_type: z.literal('reasoning_message'), reasoning: z.string(), source: z.literal('reasoner_model') }),
    z.object({ ...messageBase, message_type: z.literal('tool_call_message'), tool_call: toolCall, tool_calls: z.array(toolCall) }),
    z.object({
      ...messageBase,
      message_type: z.literal('tool_return_message'),
      name: z.string().nullable(),
      tool_return: z.string(),
      status,
      tool_call_id: z.string(),
      tool_returns: z.array(z.object({ tool_call_id: z.string(), status, tool_return: z.string(), type: z.literal('tool') })),
    }),
    z.object({ ...messageBase, message_type: z.literal('summary_message'), summary: z.string() }),
  ])
  .meta({ id: 'LettaMessage' });
export type LettaMessageJson = z.output<typeof LettaMessageSchema>;

export const MessageTypeSchema = z.enum([
  'user_message',
  'system_message',
  'assistant_message',
  'reasoning_message',
  'tool_call_message',
  'tool_return_message',
  'summary_message',
]);

export const LettaResponseSchema = z
  .object({
    messages: z.array(LettaMessageSchema).meta({ description: 'What the turn added, in order; the user message is not echoed' }),
    stop_reason: z.object({ message_type: z.literal('stop_reason'), stop_reason: z.enum(['end_turn', 'max_steps', 'max_tokens_exceeded', 'error', 'cancelled']) }),
    usage: z.object({
      message_type: z.literal('usage_statistics'),
      prompt_tokens: z.number().int(),
      completion_tokens: z.number().int(),
      total_tokens: z.number().int(),
      step_count: z.number().int(),
    }),
  })
  .meta({ id: 'LettaResponse' });

export const ModelSchema = z
  .object({
    name: z.string(),
    handle: z.string().meta({ description: 'What `model` of an agent names' }),
    display_name: z.string(),
    model: z.string(),
    model_endpoint_type: z.literal('openai'),
    model_endpoint: z.string().nullable(),
    context_window: z.number().int(),
    max_context_window: z.number().int(),
    provider_type: z.literal('openai'),
    provider_name: z.enum(['models_file', 'default_llm_config']),
    provider_category: z.literal('base'),
  })
  .meta({ id: 'Model' });

export const HealthSchema = z.object({ status: z.literal('ok'), version: z.string() }).meta({ id: 'Health' });
