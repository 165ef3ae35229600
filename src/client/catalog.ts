/**
 * What agents can name: the tools (built-in memory tools and the user tools workers published)
 * and the models (the groups of the models file, the default `llm_config`), for the SDK's
 * `listTools` and `listModels`.
 * @module
 */
import { listPublishedTools } from '../db/tool-store.ts';
import type { Queryable } from '../db/pool.ts';
import type { LlmConfig } from '../domain/llm-config.ts';
import { groupContextWindow, type ModelsConfig } from '../domain/model-policy.ts';
import { MEMORY_TOOLS } from '../tools/memory-tools.ts';

export const ToolKind = {
  /** A built-in memory tool (Letta's names and arguments), run by every worker. */
  Memory: 'memory',
  /** A `defineTool` a worker registered (`memloom worker --tools`) and published. */
  User: 'user',
} as const;
export type ToolKind = (typeof ToolKind)[keyof typeof ToolKind];

/** A tool an agent can name in its `tools`. */
export interface ToolInfo {
  name: string;
  description: string;
  /** JSON schema of its arguments. */
  parameters: Record<string, unknown>;
  kind: ToolKind;
}

/** The memory tools, in their built-in order, then the published user tools by name. */
export async function listTools(db: Queryable): Promise<ToolInfo[]> {
  const memory = MEMORY_TOOLS.map((t) => ({ name: t.name, description: t.description, parameters: t.jsonSchema, kind: ToolKind.Memory }));
  const user = (await listPublishedTools(db)).map((t) => ({ name: t.name, description: t.description, parameters: t.parameters, kind: ToolKind.User }));
  return [...memory, ...user];
}

export const ModelSource = {
  /** A model group of the models file (MEMLOOM_MODELS). */
  ModelsFile: 'models_file',
  /** The default `llm_config` (`memloom defaults llm`, `setDefaultLlmConfig`). */
  DefaultLlmConfig: 'default_llm_config',
} as const;
export type ModelSource = (typeof ModelSource)[keyof typeof ModelSource];

/** A model an agent can name in its `llm_config.model`. */
export interface ModelChoice {
  name: string;
  /** The context window an agent gets by default: a group's smallest `max_input_tokens`; null when none is known. */
  contextWindow: number | null;
  source: ModelSource;
  /** The default llm_config itself; null for a group. */
  llmConfig: LlmConfig | null;
}

/** The groups of `models`, then the default llm_config when it names none of them. */
export function modelChoices(models: ModelsConfig | null, defaultLlm: LlmConfig | null): ModelChoice[] {
  const groups = (models?.groups ?? []).map((g) => ({ name: g.name, contextWindow: groupContextWindow(g), source: ModelSource.ModelsFile, llmConfig: null }));
  const inGroups = defaultLlm !== null && groups.some((g) => g.name === defaultLlm.model);
  const fallback =
    defaultLlm === null || inGroups
      ? []
      : [{ name: defaultLlm.model, contextWindow: defaultLlm.context_window, source: ModelSource.DefaultLlmConfig, llmConfig: defaultLlm }];
  return [...groups, ...fallback];
}
