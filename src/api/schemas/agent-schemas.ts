/**
 * The bodies and queries of the agent routes: Letta's `AgentCreateParams` and
 * `AgentUpdateParams` over memloom's own field schemas (src/domain/agent.ts), so the rules are
 * the SDK's. Letta's fields memloom cannot honour are refused by name when set; the many others
 * a Letta client may send (projects, templates, ...) are ignored, as Letta's server ignores what
 * it does not know.
 * @module
 */
import { z } from 'zod';
import { CreateAgentSchema, UpdateAgentSchema } from '../../domain/agent.ts';
import { AgentMetadataSchema, MAX_METADATA_BYTES } from '../../domain/agent-metadata.ts';
import { EmbeddingConfigSchema, LlmConfigSchema } from '../../domain/llm-config.ts';
import { pageQuery, prefixedId, QueryBool, queryList } from './common.ts';

const create = CreateAgentSchema.shape;

/** Letta's `model` / `embedding` handle: `provider/model-name`, or a model group of the models file. */
const HandleSchema = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, 'must not be empty')
  .max(300, 'must be at most 300 characters')
  .meta({ description: 'A handle `provider/model` (e.g. `openai/gpt-4o-mini`) or a model group of the models file (MEMLOOM_MODELS)' });

const ContextWindowLimitSchema = LlmConfigSchema.shape.context_window.meta({
  description: 'The context window in tokens; wins over `llm_config.context_window` and the model group’s `max_input_tokens`',
});

/** `tool-<uuid>` ids, as `GET /v1/tools/` lists them. */
const ToolIdsSchema = z.array(prefixedId('tool'));

/** Letta's `model_settings`: the OpenAI ones memloom applies to `llm_config`. */
const ModelSettingsSchema = z
  .object({
    temperature: LlmConfigSchema.shape.temperature,
    max_output_tokens: LlmConfigSchema.shape.max_tokens,
  })
  .meta({ description: '`temperature` and `max_output_tokens` (as `llm_config.max_tokens`); other settings are ignored' });

/**
 * Letta's fields memloom has no equivalent of: refused when given a value, so nobody believes
 * them applied. (Tool rules, shared blocks, folders, identities, secrets, sleep-time agents.)
 */
const UNSUPPORTED = {
  block_ids: 'memloom agents own their blocks: give memory_blocks',
  tool_rules: 'memloom agents call tools freely, up to max_steps',
  initial_message_sequence: 'send the messages after creating the agent',
  source_ids: 'memloom has no folders (sources); use archival memory',
  folder_ids: 'memloom has no folders; use archival memory',
  identity_ids: 'memloom has no identities',
  secrets: 'tools read their configuration on the worker that runs them',
  tool_exec_environment_variables: 'tools read their configuration on the worker that runs them',
  enable_sleeptime: 'memloom consolidates memory with `memloom agent consolidate` or a schedule of the memory-consolidation batch',
} as const;

const unsupportedFields = Object.fromEntries(Object.keys(UNSUPPORTED).map((k) => [k, z.unknown().optional()])) as Record<keyof typeof UNSUPPORTED, z.ZodOptional<z.ZodUnknown>>;

/** Issues for the unsupported fields given a value (null, false, `[]` and `{}` are no value). */
function refuseUnsupported(body: Record<string, unknown>, ctx: z.RefinementCtx): void {
  for (const [field, why] of Object.entries(UNSUPPORTED)) {
    const v = body[field];
    const empty = v === undefined || v === null || v === false || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
    if (!empty) ctx.addIssue({ code: 'custom', path: [field], message: `is not supported by memloom: ${why}` });
  }
}

/** Fields of create and update alike. */
const commonFields = {
  system: create.system.nullish(),
  description: create.description.nullish(),
  model: HandleSchema.nullish(),
  llm_config: create.llm_config.unwrap().nullish().meta({ description: 'Deprecated in Letta but accepted; wins over `model`' }),
  context_window_limit: ContextWindowLimitSchema.nullish(),
  model_settings: ModelSettingsSchema.nullish(),
  embedding: HandleSchema.nullish(),
  embedding_config: EmbeddingConfigSchema.nullish(),
  tool_ids: ToolIdsSchema.nullish(),
  tags: create.tags.unwrap().nullish(),
  metadata: AgentMetadataSchema.nullish().meta({
    description: `A free-form JSON object kept with the agent (at most ${MAX_METADATA_BYTES} bytes as JSON); an update replaces it as a whole, null leaves it`,
  }),
  max_budget: create.max_budget,
  budget_duration: create.budget_duration,
  compaction_settings: create.compaction_settings,
  ...unsupportedFields,
};

export const CreateAgentBodySchema = z
  .object({
    name: create.name.optional().meta({ description: 'Unique; a new agent without one is named `agent_<8 hex digits>`' }),
    memory_blocks: create.memory_blocks.unwrap().nullish(),
    tools: create.tools.unwrap().nullish().meta({ description: 'Tool names, besides the memory tools (`include_base_tools`)' }),
    include_base_tools: create.include_base_tools.unwrap().nullish(),
    agent_type: z.string().nullish().meta({ description: 'Accepted; every memloom agent is a `letta_v1_agent`' }),
    ...commonFields,
  })
  .superRefine(refuseUnsupported)
  .meta({ id: 'CreateAgentRequest' });
export type CreateAgentBody = z.output<typeof CreateAgentBodySchema>;

export const UpdateAgentBodySchema = z
  .object({
    name: UpdateAgentSchema.shape.name.nullish(),
    tools: UpdateAgentSchema.shape.tools.nullish().meta({ description: 'memloom: replaces the agent’s tool names' }),
    ...commonFields,
  })
  .superRefine(refuseUnsupported)
  .meta({ id: 'UpdateAgentRequest' });
export type UpdateAgentBody = z.output<typeof UpdateAgentBodySchema>;

export const ListAgentsQuerySchema = z.object({
  name: z.string().optional(),
  tags: queryList(z.string()).optional(),
  match_all_tags: QueryBool.optional().meta({ description: 'An agent must have every tag (default false: one of them)' }),
  ascending: QueryBool.optional().meta({ description: 'Oldest first (default false: newest first); `order` wins' }),
  ...pageQuery(prefixedId('agent')),
});
