/**
 * A pipeline's input from the command line: `--input key=value ...` or `--input-json JSON`, as
 * `pipeline run` and `schedule create/update` take it.
 * @module
 */
import type { PipelineInfo } from '../client/pipeline-runs.ts';
import { flagError } from './options.ts';

/** A `--input` value: JSON when it parses as JSON (numbers, arrays, objects), else the text itself. */
function inputValue(raw: string, declaredType: unknown): unknown {
  // a field the pipeline declares a string stays text: `--input topic=2024` is the topic "2024"
  if (declaredType === 'string') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** The input `pairs` (`--input`) or `json` (`--input-json`) give; undefined when neither is given. */
export function pipelineInputFromFlags(
  pairs: readonly [string, string][],
  json: string | undefined,
  pipeline: PipelineInfo | undefined,
): Record<string, unknown> | undefined {
  if (json !== undefined) {
    if (pairs.length > 0) flagError('--input-json', 'give the input either as --input key=value flags or as --input-json, not both');
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch (error) {
      flagError('--input-json', `is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) flagError('--input-json', 'must be a JSON object, e.g. {"topic": "tidal power"}');
    return value as Record<string, unknown>;
  }
  if (pairs.length === 0) return undefined;
  const properties = (pipeline?.inputSchema['properties'] ?? {}) as Record<string, { type?: unknown }>;
  const input: Record<string, unknown> = {};
  for (const [key, raw] of pairs) {
    if (key in input) flagError('--input', `"${key}" is given twice`);
    input[key] = inputValue(raw, properties[key]?.type);
  }
  return input;
}
