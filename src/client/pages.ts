/**
 * Cursor pages as Letta's list endpoints take them (`before`, `after`, `limit`, `order`), for
 * the SDK's `pageMessages`, `listArchivalMemory` and `listAgents`: the cursors are ids of the
 * listed kind, so a page is a keyset range (src/db/cursor-page.ts), never an offset.
 * @module
 */
import { z } from 'zod';
import { idSchema, type IdPrefix } from '../domain/ids.ts';

/** `asc`: oldest first; `desc`: newest first. */
export const PageOrderSchema = z.enum(['asc', 'desc'], { error: 'must be "asc" or "desc"' });
export type PageOrder = z.output<typeof PageOrderSchema>;

/** The largest page. */
export const MAX_PAGE_LIMIT = 1000;

export const PageLimitSchema = z
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(1, 'must be at least 1')
  .max(MAX_PAGE_LIMIT, `must be at most ${MAX_PAGE_LIMIT}`);

/** The cursor fields of a page whose cursors are `<prefix>-<uuid>` ids. */
export function cursorFields(prefix: IdPrefix) {
  return { after: idSchema(prefix).optional(), before: idSchema(prefix).optional() };
}

/** A page of an agent's recall memory ({@link MemloomClient.pageMessages}). */
export interface MessagePage {
  /** Messages after this message id, in `order`. */
  after?: string;
  /** The `limit` messages just before this message id, in `order`. */
  before?: string;
  /** Stored messages in the page (a stored assistant message may show as several LettaMessages). @default 100 */
  limit?: number;
  /** By place in recall. @default 'desc', newest first (as Letta) */
  order?: PageOrder;
}

/** A page of an agent's archival memory ({@link MemloomClient.listArchivalMemory}). */
export interface PassagePage {
  /** Passages after this passage id, in `order`. */
  after?: string;
  /** The `limit` passages just before this passage id, in `order`. */
  before?: string;
  /** @default 100 */
  limit?: number;
  /** By creation time. @default 'asc', oldest first (as Letta's `ascending: true`) */
  order?: PageOrder;
  /** Only passages whose text contains this (case-insensitive). */
  search?: string;
}

export const MessagePageSchema = z
  .object({ ...cursorFields('message'), limit: PageLimitSchema.default(100), order: PageOrderSchema.default('desc') })
  .strict();

export const PassagePageSchema = z
  .object({
    ...cursorFields('passage'),
    limit: PageLimitSchema.default(100),
    order: PageOrderSchema.default('asc'),
    search: z.string({ error: 'must be a string' }).max(10_000, 'must be at most 10000 characters').optional(),
  })
  .strict();
