/**
 * Letta's agent `metadata`: a free-form JSON object the caller keeps with an agent (a project,
 * an owner, a version). memloom stores it (a jsonb column) and returns it; nothing reads it.
 *
 * It must be JSON that PostgreSQL stores as given: plain objects, arrays, finite numbers,
 * booleans, null, and strings (keys too) without NUL or lone surrogates; `undefined`, a Date, a
 * Map or a class instance is refused rather than silently dropped or turned into something else.
 * @module
 */
import { z } from 'zod';
import { textProblem } from './validation.ts';

/** The largest metadata, serialized as JSON (UTF-8). */
export const MAX_METADATA_BYTES = 64 * 1024;

/** The deepest nesting of objects and arrays in metadata. */
export const MAX_METADATA_DEPTH = 32;

/** An agent's metadata as stored and returned. */
export type AgentMetadata = Record<string, unknown>;

interface JsonProblem {
  path: (string | number)[];
  message: string;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The first reason `value` is not storable JSON, with its path below the metadata; undefined when it is. */
function jsonProblem(value: unknown, path: (string | number)[], depth: number): JsonProblem | undefined {
  if (value === null || typeof value === 'boolean') return undefined;
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem ? { path, message: problem } : undefined;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { path, message: `must be a finite number, got ${value}` };
  if (typeof value !== 'object') return { path, message: `must be a JSON value, got ${typeof value}` };
  if (depth > MAX_METADATA_DEPTH) return { path, message: `is nested deeper than ${MAX_METADATA_DEPTH} levels` };
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const problem = jsonProblem(item, [...path, i], depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (!isPlainObject(value)) return { path, message: `must be a JSON value, got a ${Object.prototype.toString.call(value).slice(8, -1)}` };
  for (const [key, item] of Object.entries(value)) {
    const keyProblem = textProblem(key);
    if (keyProblem) return { path: [...path, key], message: `key ${keyProblem}` };
    const problem = jsonProblem(item, [...path, key], depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * `metadata` of an agent: a JSON object of at most {@link MAX_METADATA_BYTES} serialized and
 * {@link MAX_METADATA_DEPTH} levels deep.
 */
export const AgentMetadataSchema = z
  .record(z.string(), z.unknown(), { error: 'must be a JSON object' })
  .superRefine((metadata, ctx) => {
    const problem = jsonProblem(metadata, [], 1);
    if (problem) {
      ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
      return;
    }
    const bytes = new TextEncoder().encode(JSON.stringify(metadata)).length;
    if (bytes > MAX_METADATA_BYTES) {
      ctx.addIssue({ code: 'custom', message: `is ${bytes} bytes as JSON, over the limit of ${MAX_METADATA_BYTES} (64 KiB)` });
    }
  });
