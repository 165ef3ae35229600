/**
 * memloom's objects in Letta's shapes (src/api/schemas/shapes.ts): the SDK's `AgentState`
 * names its tools, Letta's carries `Tool` objects; a passage's time is a Date here and an ISO
 * string there; a tool has a name here and a `tool-<uuid>` id there.
 * @module
 */
import type { z } from 'zod';
import type { ModelChoice, ToolInfo } from '../client/catalog.ts';
import type { AgentState } from '../domain/agent.ts';
import type { Passage } from '../db/passage-store.ts';
import type { LettaMessage, LettaResponse } from '../domain/letta-message.ts';
import type { AgentStateSchema, LettaMessageJson, LettaResponseSchema, ModelSchema, PassageSchema, PassageSearchResponseSchema, ToolSchema } from './schemas/shapes.ts';
import { toolIdOf } from './stable-ids.ts';

type LettaTool = z.output<typeof ToolSchema>;

/** Letta's tool types of the memory tools: the block editors are `letta_memory_core`, the rest `letta_core`. */
const MEMORY_CORE_TOOLS: ReadonlySet<string> = new Set(['core_memory_append', 'core_memory_replace', 'memory_insert', 'memory_replace']);

export function lettaTool(tool: ToolInfo): LettaTool {
  return {
    id: toolIdOf(tool.name),
    name: tool.name,
    description: tool.description,
    tool_type: tool.kind === 'user' ? 'custom' : MEMORY_CORE_TOOLS.has(tool.name) ? 'letta_memory_core' : 'letta_core',
    source_type: 'typescript',
    source_code: null,
    json_schema: { name: tool.name, description: tool.description, parameters: tool.parameters },
    args_json_schema: tool.parameters,
    tags: [],
    metadata_: { registered: true },
  };
}

/** A tool an agent names that no worker has published (yet): its name only. */
function unregisteredTool(name: string): LettaTool {
  return {
    id: toolIdOf(name),
    name,
    description: null,
    tool_type: 'custom',
    source_type: 'typescript',
    source_code: null,
    json_schema: null,
    args_json_schema: null,
    tags: [],
    metadata_: { registered: false },
  };
}

/** Letta's `AgentState` of an agent, its tools looked up in `tools` (the SDK's `listTools`). */
export function lettaAgentState(agent: AgentState, tools: readonly ToolInfo[]): z.output<typeof AgentStateSchema> {
  const byName = new Map(tools.map((t) => [t.name, t]));
  return {
    ...agent,
    model: agent.llm_config.model,
    embedding: agent.embedding_config?.embedding_model ?? null,
    tools: agent.tools.map((name) => {
      const tool = byName.get(name);
      return tool ? lettaTool(tool) : unregisteredTool(name);
    }),
    memory: { blocks: agent.blocks, file_blocks: [], agent_type: agent.agent_type, git_enabled: false },
    sources: [],
    tool_rules: [],
  };
}

export function lettaPassage(passage: Passage): z.output<typeof PassageSchema> {
  return {
    id: passage.id,
    agent_id: passage.agent_id,
    text: passage.text,
    tags: passage.tags,
    created_at: passage.created_at.toISOString(),
    embedding: null,
    embedding_config: null,
    embedding_model: passage.embedding_model,
    archive_id: null,
  };
}

export function lettaPassageSearch(passages: readonly Passage[]): z.output<typeof PassageSearchResponseSchema> {
  return {
    results: passages.map((p) => ({ id: p.id, content: p.text, timestamp: p.created_at.toISOString(), tags: p.tags })),
    count: passages.length,
  };
}

/**
 * The SDK's LettaMessages are already Letta's; the schema names the fields each type has (the
 * SDK's union may grow a type the schema does not list yet: it is sent as it is).
 */
export function lettaMessages(messages: readonly LettaMessage[], types?: readonly string[]): LettaMessageJson[] {
  const kept = types === undefined ? messages : messages.filter((m) => types.includes(m.message_type));
  return kept as LettaMessageJson[];
}

export function lettaResponse(response: LettaResponse, types?: readonly string[]): z.output<typeof LettaResponseSchema> {
  return { ...response, messages: lettaMessages(response.messages, types) };
}

/** Letta's `Model` of a model agents can name; `defaultWindow` when none is known. */
export function lettaModel(choice: ModelChoice, defaultWindow: number): z.output<typeof ModelSchema> {
  const window = choice.contextWindow ?? defaultWindow;
  return {
    name: choice.name,
    handle: choice.name,
    display_name: choice.name,
    model: choice.name,
    model_endpoint_type: 'openai',
    model_endpoint: choice.llmConfig?.model_endpoint ?? null,
    context_window: window,
    max_context_window: window,
    provider_type: 'openai',
    provider_name: choice.source,
    provider_category: 'base',
  };
}
