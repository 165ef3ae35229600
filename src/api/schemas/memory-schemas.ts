/**
 * Core memory blocks and archival memory: Letta's bodies and queries over memloom's own field
 * schemas (`UpdateBlockSchema`, `BlockLabelSchema`, `PassageTextSchema`).
 * @module
 */
import { z } from 'zod';
import { PassageTextSchema } from '../../client/memloom-client.ts';
import { BlockLabelSchema, UpdateBlockSchema } from '../../domain/agent.ts';
import { AgentRefSchema } from '../../domain/ids.ts';
import { LimitQuery, pageQuery, prefixedId, QueryBool, queryInt, queryList } from './common.ts';

const update = UpdateBlockSchema.shape;

/** Letta's `BlockUpdate`: null is "no change", as absent. Renaming a block (`label`) is not supported. */
export const UpdateBlockBodySchema = z
  .object({
    value: update.value.nullable(),
    limit: update.limit.nullable(),
    description: update.description.nullable(),
    read_only: update.read_only,
  })
  .strict()
  .meta({ id: 'BlockUpdate' });

export const BlockPathSchema = z.object({
  agent_id: AgentRefSchema.meta({ param: { name: 'agent_id', in: 'path' } }),
  block_label: BlockLabelSchema.meta({ param: { name: 'block_label', in: 'path' }, example: 'human' }),
});

export const ListBlocksQuerySchema = z.object(pageQuery(prefixedId('block')));

const TagsSchema = z.array(z.string().min(1, 'must not be empty').max(100, 'must be at most 100 characters')).max(100, 'must have at most 100 tags');

export const CreatePassageBodySchema = z
  .object({
    text: PassageTextSchema,
    tags: TagsSchema.nullish(),
    created_at: z.null({ error: 'is not supported by memloom: a passage takes the time it is stored' }).optional(),
  })
  .meta({ id: 'PassageCreate' });

export const ListPassagesQuerySchema = z.object({
  after: prefixedId('passage').optional(),
  before: prefixedId('passage').optional(),
  limit: LimitQuery.optional(),
  search: z.string().max(10_000, 'must be at most 10000 characters').optional().meta({ description: 'Only passages whose text contains this (case-insensitive)' }),
  ascending: QueryBool.optional().meta({ description: 'Oldest first (default true)' }),
});

const isoDate = (field: string) =>
  z
    .string()
    .refine((v) => !Number.isNaN(Date.parse(v)), `must be an ISO 8601 date or time, as ${field}=2025-01-31T12:00:00Z`)
    .transform((v) => new Date(v));

export const SearchPassagesQuerySchema = z.object({
  query: z.string({ error: 'is required: what to search for' }).min(1, 'must not be empty').max(10_000, 'must be at most 10000 characters'),
  tags: queryList(z.string()).optional(),
  tag_match_mode: z.enum(['any', 'all'], { error: 'must be "any" or "all"' }).optional(),
  top_k: queryInt(1, 1000).optional().meta({ description: 'At most this many results (default 10)' }),
  start_datetime: isoDate('start_datetime').optional(),
  end_datetime: isoDate('end_datetime').optional(),
});

export const PassagePathSchema = z.object({
  agent_id: AgentRefSchema.meta({ param: { name: 'agent_id', in: 'path' } }),
  memory_id: prefixedId('passage').meta({ param: { name: 'memory_id', in: 'path' } }),
});
