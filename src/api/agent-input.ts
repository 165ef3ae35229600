/**
 * Letta's agent fields as the SDK takes them. Letta names a model by a handle
 * (`openai/gpt-4o-mini`) with an optional `context_window_limit`; memloom's agents carry an
 * `llm_config` whose model is a model group of the models file or a model the endpoint serves:
 *
 * - `llm_config` wins over `model` (as in Letta); `context_window_limit` wins over both windows;
 * - `model` naming a model group is that group; else a handle's provider (`openai/`, `litellm/`,
 *   ...) is dropped when it is a Letta endpoint type, and the rest is the model (also when that
 *   rest names a group);
 * - no window given: the group's `max_input_tokens`, else {@link DEFAULT_CONTEXT_WINDOW}
 *   (Letta's own default for a model it has no figure for);
 * - neither `model` nor `llm_config`: the default llm_config (`memloom defaults llm`).
 *
 * `embedding` handles are read the same way. SDK errors about `llm_config.model` name `model`
 * when the request gave `model`.
 * @module
 */
import type { MemloomClient } from '../client/memloom-client.ts';
import type { ToolInfo } from '../client/catalog.ts';
import type { AgentState, CreateAgentInput, UpdateAgentInput } from '../domain/agent.ts';
import { MODEL_ENDPOINT_TYPES, type LlmConfig } from '../domain/llm-config.ts';
import { RequestValidationError } from './http-errors.ts';
import type { CreateAgentBody, UpdateAgentBody } from './schemas/agent-schemas.ts';
import { toolIdOf } from './stable-ids.ts';

/** The context window of a model named by handle that no models file sizes (Letta's DEFAULT_CONTEXT_WINDOW). */
export const DEFAULT_CONTEXT_WINDOW = 32_000;

/** Handle prefixes that are providers, not part of the model's name. */
const PROVIDERS: ReadonlySet<string> = new Set([...MODEL_ENDPOINT_TYPES, 'openai-proxy', 'letta']);

/** The model a handle names: a model group as it is, else the handle without its provider. */
export function modelOfHandle(handle: string, groups: readonly string[]): { model: string; endpointType: LlmConfig['model_endpoint_type'] | undefined } {
  if (groups.includes(handle)) return { model: handle, endpointType: undefined };
  const slash = handle.indexOf('/');
  const provider = slash > 0 ? handle.slice(0, slash) : '';
  if (!PROVIDERS.has(provider)) return { model: handle, endpointType: undefined };
  const known = (MODEL_ENDPOINT_TYPES as readonly string[]).includes(provider) ? (provider as LlmConfig['model_endpoint_type']) : undefined;
  return { model: handle.slice(slash + 1), endpointType: known };
}

type Body = CreateAgentBody | UpdateAgentBody;

/** An `llm_config` as the SDK takes it (`context_window` and `model_endpoint_type` may be left out). */
type LlmConfigInput = NonNullable<CreateAgentInput['llm_config']>;

/** The `llm_config` a body asks for, or undefined when it asks for no model change; `current` is an updated agent's. */
async function llmConfigOf(body: Body, client: MemloomClient, current: LlmConfig | null): Promise<LlmConfigInput | undefined> {
  const window = body.context_window_limit ?? undefined;
  const settings = {
    ...(body.model_settings?.temperature !== undefined ? { temperature: body.model_settings.temperature } : {}),
    ...(body.model_settings?.max_output_tokens !== undefined ? { max_tokens: body.model_settings.max_output_tokens } : {}),
  };
  if (body.llm_config) return { ...body.llm_config, ...settings, ...(window !== undefined ? { context_window: window } : {}) };
  if (body.model) {
    const groups = (await client.listModels()).filter((m) => m.source === 'models_file').map((m) => m.name);
    const { model, endpointType } = modelOfHandle(body.model, groups);
    return { model, ...(endpointType ? { model_endpoint_type: endpointType } : {}), ...settings, ...(window !== undefined ? { context_window: window } : {}) };
  }
  if (window === undefined && Object.keys(settings).length === 0) return undefined;
  // a new window or settings for the model the agent has (or new agents get)
  const base = current ?? (await client.getDefaultLlmConfig());
  if (!base) return undefined; // the SDK says llm_config is required
  return { ...base, ...settings, ...(window !== undefined ? { context_window: window } : {}) };
}

/** The embedding model a body names, without a provider prefix. */
async function embeddingOf(body: Body, client: MemloomClient): Promise<string | undefined> {
  if (!body.embedding) return undefined;
  const groups = (await client.listModels()).filter((m) => m.source === 'models_file').map((m) => m.name);
  return modelOfHandle(body.embedding, groups).model;
}

/** Tool names of `tool_ids`; an id of no tool is a 422 naming it. */
function toolNamesOf(ids: readonly string[] | null | undefined, tools: readonly ToolInfo[]): string[] {
  if (!ids) return [];
  const byId = new Map(tools.map((t) => [toolIdOf(t.name), t.name]));
  const unknown = ids.flatMap((id, i) => (byId.has(id.toLowerCase()) ? [] : [i]));
  if (unknown.length > 0) {
    throw new RequestValidationError(unknown.map((i) => ({ loc: ['body', 'tool_ids', i], msg: 'is not the id of a registered tool (GET /v1/tools/ lists them)', type: 'value_error' })));
  }
  return ids.map((id) => byId.get(id.toLowerCase())!);
}

/** The SDK fields both bodies map one to one. */
function sharedFields(body: Body) {
  return {
    ...(body.system != null ? { system: body.system } : {}),
    ...(body.description != null ? { description: body.description } : {}),
    ...(body.tags != null ? { tags: body.tags } : {}),
    ...(body.embedding_config != null ? { embedding_config: body.embedding_config } : {}),
    ...(body.max_budget !== undefined ? { max_budget: body.max_budget } : {}),
    ...(body.budget_duration !== undefined ? { budget_duration: body.budget_duration } : {}),
    ...(body.compaction_settings !== undefined ? { compaction_settings: body.compaction_settings } : {}),
    // null is Letta's "not given": an update keeps the metadata (`{}` empties it)
    ...(body.metadata != null ? { metadata: body.metadata } : {}),
  };
}

/** Where the SDK's complaints about the model came from in this body. */
export function modelFieldNames(body: Body): Record<string, (string | number)[]> {
  const names: Record<string, (string | number)[]> = {};
  const byModel = !body.llm_config && body.model != null;
  if (body.context_window_limit != null || byModel) names['llm_config.context_window'] = ['body', 'context_window_limit'];
  if (byModel) names['llm_config.model'] = names.llm_config = ['body', 'model'];
  if (body.embedding) names.embedding_config = names.embedding = ['body', 'embedding'];
  return names;
}

/** A generated name: Letta names agents it is given no name for. */
function generatedName(): string {
  return `agent_${globalThis.crypto.randomUUID().slice(0, 8)}`;
}

export async function createAgentInput(body: CreateAgentBody, client: MemloomClient, tools: readonly ToolInfo[]): Promise<CreateAgentInput> {
  const llm = await llmConfigOf(body, client, null);
  const embedding = await embeddingOf(body, client);
  return {
    name: body.name ?? generatedName(),
    ...sharedFields(body),
    ...(llm ? { llm_config: llm } : {}),
    ...(embedding !== undefined ? { embedding } : {}),
    ...(body.memory_blocks != null ? { memory_blocks: body.memory_blocks } : {}),
    tools: [...new Set([...(body.tools ?? []), ...toolNamesOf(body.tool_ids, tools)])],
    ...(body.include_base_tools != null ? { include_base_tools: body.include_base_tools } : {}),
  };
}

/** The SDK's update of `agent`: `tool_ids` and `tools` replace its tools (both given: together). */
export async function updateAgentInput(body: UpdateAgentBody, client: MemloomClient, agent: AgentState, tools: readonly ToolInfo[]): Promise<UpdateAgentInput> {
  const llm = await llmConfigOf(body, client, agent.llm_config);
  const embedding = await embeddingOf(body, client);
  const newTools = body.tools != null || body.tool_ids != null ? [...new Set([...(body.tools ?? []), ...toolNamesOf(body.tool_ids, tools)])] : undefined;
  return {
    ...(body.name != null ? { name: body.name } : {}),
    ...sharedFields(body),
    ...(llm ? { llm_config: llm } : {}),
    ...(embedding !== undefined ? { embedding } : {}),
    ...(newTools ? { tools: newTools } : {}),
  };
}
