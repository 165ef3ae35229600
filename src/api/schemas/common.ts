/**
 * Schemas every route shares: Letta's error bodies, path ids, query parameters as strings
 * (`?limit=10`, `?tags=a&tags=b`, `?ascending=false`), and cursor pages.
 * @module
 */
import { z } from 'zod';
import { AgentRefSchema } from '../../domain/ids.ts';
import { MAX_PAGE_LIMIT, PageOrderSchema } from '../../client/pages.ts';

/** FastAPI's `{"detail": "..."}`. */
export const ErrorBodySchema = z
  .object({ detail: z.string().meta({ description: 'What went wrong and, where it helps, what to do.' }) })
  .meta({ id: 'HTTPError' });

/** FastAPI's 422: one entry per invalid field. */
export const ValidationErrorBodySchema = z
  .object({
    detail: z.array(
      z.object({
        loc: z.array(z.union([z.string(), z.number()])).meta({ description: 'Where: `body`, `query`, `path` or `header`, then the field path.' }),
        msg: z.string(),
        type: z.string(),
      }),
    ),
  })
  .meta({ id: 'HTTPValidationError' });

const json = <S extends z.ZodType>(schema: S, description: string) => ({ description, content: { 'application/json': { schema } } });

/** The error answers every route may give. */
export const errorResponses = {
  401: json(ErrorBodySchema, 'No or a wrong API key (`Authorization: Bearer <MEMLOOM_API_KEY>`)'),
  404: json(ErrorBodySchema, 'Not found'),
  422: json(ValidationErrorBodySchema, 'Invalid input: each field and why'),
  503: json(ErrorBodySchema, 'PostgreSQL or Temporal cannot be reached'),
} as const;

/** A JSON answer of `schema`. */
export function jsonResponse<S extends z.ZodType>(schema: S, description: string) {
  return json(schema, description);
}

/** A required JSON body of `schema`. */
export function jsonBody<S extends z.ZodType>(schema: S) {
  return { content: { 'application/json': { schema } }, required: true } as const;
}

/** `{agent_id}` in a path: an `agent-<uuid>` (memloom also takes the agent's name). */
export const AgentPathSchema = z.object({
  agent_id: AgentRefSchema.meta({ param: { name: 'agent_id', in: 'path' }, description: 'The agent: `agent-<uuid>`, or its name', example: 'agent-7f1c0d2e-9a4b-4c3d-8e2f-1a2b3c4d5e6f' }),
});

/** An integer query parameter. */
export function queryInt(min: number, max: number) {
  return z.coerce
    .number({ error: 'must be a number' })
    .int('must be an integer')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max}`);
}

/** `?limit=`: 1 to 1000. */
export const LimitQuery = queryInt(1, MAX_PAGE_LIMIT);

/** A boolean query parameter: `true` or `false`. */
export const QueryBool = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true');

/** A repeated query parameter (`?tags=a&tags=b`): one value arrives as a string. */
export function queryList<S extends z.ZodType>(item: S) {
  return z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(item));
}

/** `?order=asc|desc`. */
export const OrderQuery = PageOrderSchema;

/** The cursor page parameters of a Letta list (`before`, `after`, `limit`, `order`, `order_by`). */
export function pageQuery<C extends z.ZodType>(cursor: C) {
  return {
    before: cursor.optional().meta({ description: 'Items just before this id, in `order`' }),
    after: cursor.optional().meta({ description: 'Items after this id, in `order` (the next page: the last id of this one)' }),
    limit: LimitQuery.optional(),
    order: OrderQuery.optional(),
    order_by: z.literal('created_at', { error: 'must be "created_at"' }).optional(),
  };
}

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

/**
 * A Letta id `<prefix>-<uuid>` (`agent`, `message`, `passage`, `block`, `tool`): the domain's
 * `idSchema`, with a pattern without flags, which OpenAPI can state.
 */
export function prefixedId(prefix: string) {
  return z.string({ error: `must be a string: ${prefix}-<uuid>` }).regex(new RegExp(`^${prefix}-${UUID}$`), `must look like ${prefix}-<uuid>`);
}

/** Letta's answer to a delete. */
export const DeletedSchema = z.object({ message: z.string() }).meta({ id: 'DeleteResponse' });
