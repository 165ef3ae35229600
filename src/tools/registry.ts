/**
 * The tools a worker can run: Letta's memory tools plus the user's `defineTool`s.
 * @module
 */
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import { DEFAULT_TOOL_TIMEOUT_MS, MEMORY_TOOL_TIMEOUT_MS } from '../domain/timeouts.ts';
import type { PublishedTool } from '../db/tool-store.ts';
import type { ToolDefinition } from './define-tool.ts';
import { MEMORY_TOOLS, type MemoryTool } from './memory-tools.ts';

export type RegisteredTool = { kind: 'memory'; tool: MemoryTool } | { kind: 'user'; tool: ToolDefinition };

export class ToolRegistry {
  readonly #tools = new Map<string, RegisteredTool>();

  constructor(userTools: readonly ToolDefinition[] = []) {
    for (const tool of MEMORY_TOOLS) this.#tools.set(tool.name, { kind: 'memory', tool });
    for (const tool of userTools) {
      const existing = this.#tools.get(tool.name);
      if (existing) {
        throw new Error(
          existing.kind === 'memory'
            ? `tool name "${tool.name}" is a built-in memory tool; choose another name`
            : `tool "${tool.name}" is registered twice`,
        );
      }
      this.#tools.set(tool.name, { kind: 'user', tool });
    }
  }

  get(name: string): RegisteredTool | undefined {
    return this.#tools.get(name);
  }

  /**
   * How long one call of `name` may run, in milliseconds: a user tool's `timeoutMs`, a memory
   * tool's short bound, the default for a name this worker does not know (its call fails at once).
   */
  timeoutMsFor(name: string): number {
    const entry = this.#tools.get(name);
    if (entry?.kind === 'memory') return MEMORY_TOOL_TIMEOUT_MS;
    return entry?.tool.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  }

  /** Names of the user tools (not the built-in memory tools). */
  userToolNames(): string[] {
    return [...this.#tools.values()].filter((t) => t.kind === 'user').map((t) => t.tool.name);
  }

  /** The user tools as the `tools` table publishes them, run on `taskQueue`. */
  published(taskQueue: string): PublishedTool[] {
    return [...this.#tools.values()].flatMap((t) =>
      t.kind === 'user'
        ? [{ name: t.tool.name, description: t.tool.description, parameters: t.tool.jsonSchema, timeoutMs: t.tool.timeoutMs, taskQueue }]
        : [],
    );
  }

  names(): string[] {
    return [...this.#tools.keys()];
  }

  /** Chat completion `tools` for the names this worker knows; unknown names are returned apart. */
  schemasFor(names: readonly string[]): { tools: ChatCompletionTool[]; unknown: string[] } {
    const tools: ChatCompletionTool[] = [];
    const unknown: string[] = [];
    for (const name of names) {
      const entry = this.#tools.get(name);
      if (!entry) {
        unknown.push(name);
        continue;
      }
      tools.push({
        type: 'function',
        function: { name, description: entry.tool.description, parameters: entry.tool.jsonSchema },
      });
    }
    return { tools, unknown };
  }
}
