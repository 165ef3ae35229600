/**
 * User tools: a name, a description, zod parameters and an `execute` function, registered on
 * the worker. Agents reference tools by name.
 * @module
 */
import { z } from 'zod';
import { ToolNameSchema } from '../domain/agent.ts';
import { parseInput } from '../domain/validation.ts';

/** What a tool knows about the call it serves. */
export interface ToolContext {
  agentId: string;
  /** Id of the user message whose turn called the tool. */
  turnId: string;
  step: number;
  toolCallId: string;
  /** Aborted when the turn is cancelled or the activity times out. */
  signal: AbortSignal;
}

export type ToolParameters = z.ZodObject;

export interface ToolSpec<P extends ToolParameters> {
  name: string;
  description: string;
  parameters: P;
  /** Returns the tool result: a string as is, anything else as JSON. Throwing gives the model an error result. */
  execute: (args: z.output<P>, context: ToolContext) => unknown;
}

export interface ToolDefinition<P extends ToolParameters = ToolParameters> extends ToolSpec<P> {
  /** JSON schema of the parameters, derived from the zod schema, as sent to the model. */
  readonly jsonSchema: Record<string, unknown>;
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
 *   execute: async ({ query }) => (await mySearch(query)).slice(0, 5),
 * });
 * ```
 */
export function defineTool<P extends ToolParameters>(spec: ToolSpec<P>): ToolDefinition<P> {
  parseInput(ToolNameSchema, spec.name, 'tool', 'name');
  if (spec.description.trim() === '') throw new TypeError(`tool ${spec.name}: description must not be empty`);
  return { ...spec, jsonSchema: toParametersSchema(spec.parameters) };
}

/** Tool results go back to the model as text. */
export function stringifyToolResult(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return 'OK';
  return JSON.stringify(value);
}
