/**
 * User tools: a name, a description, zod parameters and an `execute` function, registered on
 * the worker. Agents reference tools by name.
 * @module
 */
import { z } from 'zod';
import { ToolNameSchema } from '../domain/agent.ts';
import { DEFAULT_TOOL_TIMEOUT_MS, MAX_TOOL_TIMEOUT_MS } from '../domain/timeouts.ts';
import { parseInput } from '../domain/validation.ts';

/** What a tool knows about the call it serves. */
export interface ToolContext {
  agentId: string;
  /** Id of the user message whose turn called the tool. */
  turnId: string;
  step: number;
  toolCallId: string;
  /** Aborted when the tool's `timeoutMs` has passed, or the turn is cancelled, or the activity times out. */
  signal: AbortSignal;
}

export type ToolParameters = z.ZodObject;

export interface ToolSpec<P extends ToolParameters> {
  name: string;
  description: string;
  parameters: P;
  /** Returns the tool result: a string as is, anything else as JSON. Throwing gives the model an error result. */
  execute: (args: z.output<P>, context: ToolContext) => unknown;
  /**
   * How long one call may run, in milliseconds (a whole number from 1 to 3 600 000). Then
   * `context.signal` aborts and the model gets the error result `Error: tool <name> timed out after
   * <N> s`; the turn goes on.
   * @default DEFAULT_TOOL_TIMEOUT_MS (60 s)
   */
  timeoutMs?: number;
}

export interface ToolDefinition<P extends ToolParameters = ToolParameters> extends ToolSpec<P> {
  /** JSON schema of the parameters, derived from the zod schema, as sent to the model. */
  readonly jsonSchema: Record<string, unknown>;
  /** The spec's `timeoutMs`, or the default. */
  readonly timeoutMs: number;
}

/** Error a tool throws to hand the model a readable message (no stack, no cause). */
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolError';
  }
}

/** JSON schema for a zod object, in the shape chat completion `tools` expect. */
export function toParametersSchema(parameters: ToolParameters): Record<string, unknown> {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(parameters, {
    io: 'input',
    unrepresentable: 'any',
    // drop zod's implicit safe-integer bounds: noise for the model
    override: ({ jsonSchema }) => {
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
    },
  }) as Record<string, unknown>;
  // unknown keys are stripped on parse; telling the model so keeps it from inventing them
  return { ...schema, additionalProperties: false };
}

/**
 * Defines a tool for agents.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { defineTool } from 'memloom';
 *
 * export const searchWeb = defineTool({
 *   name: 'search_web',
 *   description: 'Search the web and return the top results.',
 *   parameters: z.object({ query: z.string().describe('what to look for') }),
 *   execute: async ({ query }, { signal }) => (await mySearch(query, { signal })).slice(0, 5),
 *   timeoutMs: 20_000,
 * });
 * ```
 */
export function defineTool<P extends ToolParameters>(spec: ToolSpec<P>): ToolDefinition<P> {
  parseInput(ToolNameSchema, spec.name, 'tool', 'name');
  if (spec.description.trim() === '') throw new TypeError(`tool ${spec.name}: description must not be empty`);
  const timeoutMs = spec.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_TOOL_TIMEOUT_MS) {
    throw new TypeError(
      `tool ${spec.name}: timeoutMs must be a whole number of milliseconds from 1 to ${MAX_TOOL_TIMEOUT_MS} (one hour), got ${String(spec.timeoutMs)}`,
    );
  }
  return { ...spec, timeoutMs, jsonSchema: toParametersSchema(spec.parameters) };
}

/** Tool results go back to the model as text. */
export function stringifyToolResult(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return 'OK';
  return JSON.stringify(value);
}
