/**
 * Parsing at the edges: zod errors become {@link ValidationError}s naming field and reason.
 * Every string of an input must also be storable text: PostgreSQL refuses NUL characters, and
 * a lone UTF-16 surrogate would be stored as U+FFFD, so neither gets past an edge.
 * @module
 */
import { z } from 'zod';
import { ValidationError, type FieldIssue } from './errors.ts';

/** Characters as people count them: Unicode code points, so "😀" is 1, not 2 UTF-16 units. */
export function charLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `text` cannot be stored as it is, or undefined when it can. */
export function textProblem(text: string): string | undefined {
  const nul = text.indexOf('\u0000');
  if (nul !== -1) return `must not contain NUL characters (\\u0000, first at character ${charLength(text.slice(0, nul)) + 1})`;
  const lone = LONE_SURROGATE.exec(text);
  if (lone) {
    const unit = lone[0].charCodeAt(0).toString(16).toUpperCase();
    return `must be valid Unicode: lone surrogate \\u${unit} at character ${charLength(text.slice(0, lone.index)) + 1}`;
  }
  return undefined;
}

/** A string that PostgreSQL stores faithfully (no NUL, no lone surrogate). */
export function storableText(): z.ZodString {
  return z.string().superRefine((s, ctx) => {
    const problem = textProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
}

const MAX_DEPTH = 32;

/** Issues for every string in `value` (deeply) that is not storable text. */
export function textIssues(value: unknown, path: string[] = [], depth = 0): FieldIssue[] {
  if (typeof value === 'string') {
    const problem = textProblem(value);
    return problem ? [{ path: path.join('.'), message: problem }] : [];
  }
  if (depth >= MAX_DEPTH || value === null || typeof value !== 'object') return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  return entries.flatMap(([key, v]) => textIssues(v, [...path, key], depth + 1));
}

/** Parses `input` with `schema` or throws a ValidationError about `subject`. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, subject: string, pathPrefix = ''): z.output<S> {
  const result = schema.safeParse(input);
  const badText = textIssues(input, pathPrefix === '' ? [] : [pathPrefix]);
  if (result.success && badText.length === 0) return result.data;
  const issues = result.success ? [] : ValidationError.fromZod(result.error, subject, pathPrefix).issues;
  const seen = new Set(issues.map((i) => `${i.path}\n${i.message}`));
  issues.push(...badText.filter((i) => !seen.has(`${i.path}\n${i.message}`)));
  throw new ValidationError(issues, subject);
}
