/**
 * Parsing at the edges: zod errors become {@link ValidationError}s naming field and reason.
 * @module
 */
import type { z } from 'zod';
import { ValidationError } from './errors.ts';

/** Parses `input` with `schema` or throws a ValidationError about `subject`. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, subject: string, pathPrefix = ''): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw ValidationError.fromZod(result.error, subject, pathPrefix);
  return result.data;
}
