/**
 * Letta's built-in memory tools, with Letta's names and arguments. Each runs inside the
 * transaction that stores its tool return, so an edit is applied exactly once. A tool that needs
 * slow I/O first (the archival tools embed their text) does it in `prepare`, before that
 * transaction opens, and `execute` gets what it returned.
 * @module
 */
import { z } from 'zod';
import type { Block } from '../domain/agent.ts';
import { lockBlock, writeBlock } from '../db/agent-store.ts';
import { searchMessages, type RecallMatch } from '../db/message-store.ts';
import { insertPassages, searchPassages } from '../db/passage-store.ts';
import type { Queryable } from '../db/pool.ts';
import { charLength, storableText } from '../domain/validation.ts';
import { ToolError, toParametersSchema, type ToolParameters } from './define-tool.ts';

export interface MemoryToolContext {
  tx: Queryable;
  agentId: string;
  /** Unique per tool call: `<turnId>/<step>/<index>`. */
  callKey: string;
}

/** Embeds texts with the agent's `embedding_config`: a vector per text, in order, and the model's name. */
export type Embedder = (texts: readonly string[]) => Promise<{ vectors: number[][]; model: string }>;

/** What `prepare` may use: no transaction is open. */
export interface MemoryToolPrepareContext {
  agentId: string;
  /** Null when the agent has no `embedding_config`. */
  embed: Embedder | null;
}

/**
 * A memory tool. `prepare`, when there is one, runs before the transaction of the call (its
 * failure stores nothing); `execute` runs inside it with what `prepare` returned.
 */
export interface MemoryTool<P extends ToolParameters = ToolParameters, R = unknown> {
  name: string;
  description: string;
  parameters: P;
  jsonSchema: Record<string, unknown>;
  prepare?: (args: z.output<P>, ctx: MemoryToolPrepareContext) => Promise<R>;
  execute: (args: z.output<P>, ctx: MemoryToolContext, prepared: R) => Promise<unknown>;
}

function memoryTool<P extends ToolParameters, R = void>(t: Omit<MemoryTool<P, R>, 'jsonSchema'>): MemoryTool<P, R> {
  return { ...t, jsonSchema: toParametersSchema(t.parameters) };
}

/** Text the model must give: not empty, not only spaces (embedding endpoints refuse blank input). */
const nonBlank = () => storableText().refine((t) => t.trim() !== '', 'must not be empty');

/** The vector of `text` with the agent's embedding_config, or none without one. */
async function embedOne(text: string, ctx: MemoryToolPrepareContext): Promise<{ embedding: number[] | null; embeddingModel: string | null }> {
  if (!ctx.embed) return { embedding: null, embeddingModel: null };
  const { vectors, model } = await ctx.embed([text]);
  return { embedding: vectors[0]!, embeddingModel: model };
}

const label = storableText().describe('Label of the memory block to edit, e.g. "human" or "persona".');

async function editableBlock(ctx: MemoryToolContext, blockLabel: string): Promise<Block> {
  const block = await lockBlock(ctx.tx, ctx.agentId, blockLabel);
  if (!block) throw new ToolError(`Memory block "${blockLabel}" does not exist.`);
  if (block.read_only) throw new ToolError(`Memory block "${blockLabel}" is read-only and cannot be edited.`);
  return block;
}

/** Limits count characters (code points), as people and the block's limit do. */
async function saveBlock(ctx: MemoryToolContext, block: Block, value: string): Promise<string> {
  const chars = charLength(value);
  if (chars > block.limit) {
    throw new ToolError(
      `Edit failed: Exceeds ${block.limit} character limit (requested ${chars}) for block "${block.label}". ` +
        'Shorten the content or replace older text first.',
    );
  }
  await writeBlock(ctx.tx, block.id, { value });
  return `Memory block "${block.label}" updated (${chars}/${block.limit} characters).`;
}

const LINE_NUMBER_PREFIX = /^\s*\d+→/m;

export const coreMemoryAppend = memoryTool({
  name: 'core_memory_append',
  description: 'Append to the contents of a core memory block. Content is added on a new line.',
  parameters: z.object({ label, content: storableText().describe('Content to append. All unicode is supported.') }),
  async execute({ label: l, content }, ctx) {
    const block = await editableBlock(ctx, l);
    return saveBlock(ctx, block, block.value === '' ? content : `${block.value}\n${content}`);
  },
});

export const coreMemoryReplace = memoryTool({
  name: 'core_memory_replace',
  description: 'Replace the contents of a core memory block. To delete memories, use an empty string for new_content.',
  parameters: z.object({
    label,
    old_content: storableText().min(1).describe('String to replace. Must be an exact match.'),
    new_content: storableText().describe('Content to write to the memory.'),
  }),
  async execute({ label: l, old_content, new_content }, ctx) {
    const block = await editableBlock(ctx, l);
    if (!block.value.includes(old_content)) {
      throw new ToolError(`Old content '${old_content}' not found in memory block '${l}'.`);
    }
    return saveBlock(ctx, block, block.value.split(old_content).join(new_content));
  },
});

export const memoryReplace = memoryTool({
  name: 'memory_replace',
  description:
    'Replace a specific string in a memory block with a new string. old_string must match exactly once. ' +
    'Do not include line-number prefixes.',
  parameters: z.object({
    label,
    old_string: storableText().min(1).describe('The text to replace (must match exactly once).'),
    new_string: storableText().describe('The new text to insert in place of old_string.'),
  }),
  async execute({ label: l, old_string, new_string }, ctx) {
    if (LINE_NUMBER_PREFIX.test(old_string) || LINE_NUMBER_PREFIX.test(new_string)) {
      throw new ToolError('old_string and new_string must not contain line-number prefixes.');
    }
    const block = await editableBlock(ctx, l);
    const count = block.value.split(old_string).length - 1;
    if (count === 0) throw new ToolError(`No replacement was performed: old_string '${old_string}' did not appear verbatim in block '${l}'.`);
    if (count > 1) throw new ToolError(`No replacement was performed: old_string '${old_string}' appears ${count} times in block '${l}'; make it unique.`);
    return saveBlock(ctx, block, block.value.replace(old_string, () => new_string));
  },
});

export const memoryInsert = memoryTool({
  name: 'memory_insert',
  description: 'Insert text at a specific line in a memory block (0 = top, -1 = end).',
  parameters: z.object({
    label,
    new_string: storableText().describe('The text to insert.'),
    insert_line: z.number().int().min(-1).default(-1).describe('Line number after which to insert; 0 inserts at the top, -1 at the end.'),
  }),
  async execute({ label: l, new_string, insert_line }, ctx) {
    const block = await editableBlock(ctx, l);
    const lines = block.value === '' ? [] : block.value.split('\n');
    if (insert_line > lines.length) {
      throw new ToolError(`insert_line ${insert_line} is past the end of block '${l}' (${lines.length} lines).`);
    }
    const at = insert_line === -1 ? lines.length : insert_line;
    lines.splice(at, 0, ...new_string.split('\n'));
    return saveBlock(ctx, block, lines.join('\n'));
  },
});

export const archivalMemoryInsert = memoryTool({
  name: 'archival_memory_insert',
  description: 'Add information to long-term archival memory for later search.',
  parameters: z.object({
    content: nonBlank().describe('Content to write to the memory.'),
    tags: z.array(storableText()).optional().describe('Optional tags to categorize the memory.'),
  }),
  prepare: ({ content }, ctx) => embedOne(content, ctx),
  async execute({ content, tags }, ctx, vector) {
    const [passage] = await insertPassages(ctx.tx, ctx.agentId, [{ text: content, tags: tags ?? [], sourceKey: ctx.callKey, ...vector }]);
    return `Stored in archival memory as ${passage!.id}.`;
  },
});

export const archivalMemorySearch = memoryTool({
  name: 'archival_memory_search',
  description:
    'Search archival memory by meaning and by words: passages about the same thing as the query come first, ' +
    'even without a word in common. Returns the best matching passages.',
  parameters: z.object({
    query: nonBlank().describe('What to search for.'),
    tags: z.array(storableText()).optional().describe('Only passages with these tags.'),
    tag_match_mode: z.enum(['any', 'all']).default('any').describe('"any": a passage with one of the tags; "all": with every one.'),
    top_k: z.number().int().min(1).max(100).default(10).describe('At most this many passages.'),
    start_datetime: z.string().datetime({ offset: true }).optional().describe('Only passages stored at or after this ISO 8601 time.'),
    end_datetime: z.string().datetime({ offset: true }).optional().describe('Only passages stored at or before this ISO 8601 time.'),
  }),
  prepare: ({ query }, ctx) => embedOne(query, ctx),
  async execute(args, ctx, vector) {
    const passages = await searchPassages(ctx.tx, ctx.agentId, {
      query: args.query,
      tags: args.tags,
      tagMatchMode: args.tag_match_mode,
      topK: args.top_k,
      start: args.start_datetime ? new Date(args.start_datetime) : undefined,
      end: args.end_datetime ? new Date(args.end_datetime) : undefined,
      ...vector,
    });
    return passages.map((p) => ({ timestamp: p.created_at.toISOString(), content: p.text, tags: p.tags }));
  },
});

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Letta's date arguments: `YYYY-MM-DD` (a start from 00:00 of that day, an end through its last
 * millisecond) or an ISO 8601 date-time (`YYYY-MM-DDTHH:MM`, seconds and offset optional; UTC
 * without an offset). Both ends are inclusive.
 */
function recallDate(edge: 'start' | 'end') {
  return z.string().transform((text, ctx) => {
    const day = DATE_ONLY.test(text) ? text : null;
    const time = day ? null : DATE_TIME.exec(text);
    const iso = day
      ? `${day}T${edge === 'start' ? '00:00:00.000' : '23:59:59.999'}Z`
      : time && `${time[1]}T${time[2]}${(time[3] ?? 'Z').replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')}`;
    const date = iso ? new Date(iso) : null;
    // Date rolls 2024-02-30 over to March: a real date reads back as written
    if (!date || Number.isNaN(date.getTime()) || (day !== null && !date.toISOString().startsWith(day))) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM (ISO 8601)` });
      return z.NEVER;
    }
    return date;
  });
}

interface RecallResult {
  timestamp: string;
  role: string;
  content: string;
  /** The tool whose return this is. */
  tool_name?: string;
  /** How it matched the query: `full_text` (its words) or `fuzzy` (a similar spelling or a substring). */
  match?: RecallMatch;
}

/** What the model reads first: which results these are, and whether to ask for the next page. */
function pageSummary(page: number, limit: number, count: number, hasMore: boolean): string {
  if (count === 0) return page === 0 ? 'No results found.' : `No results on page ${page}.`;
  const first = page * limit + 1;
  const next = hasMore ? `There are more: call again with page ${page + 1}.` : 'No more results.';
  return `Showing results ${first}-${first + count - 1} (page ${page}). ${next}`;
}

export const conversationSearch = memoryTool({
  name: 'conversation_search',
  description:
    'Search prior conversation history, including messages no longer in your context. Best matches first: ' +
    'messages with the words of the query, then similar spellings (names, typos). Without a query, the ' +
    'newest messages. Results come a page at a time; when there are more, call again with the next page.',
  parameters: z.object({
    query: storableText().max(1000).optional().describe('What to look for. Omit to list messages by the other filters, newest first.'),
    roles: z.array(z.enum(['assistant', 'user', 'tool'])).optional().describe('Only messages of these roles.'),
    limit: z.number().int().min(1).max(100).default(5).describe('Results per page.'),
    start_date: recallDate('start')
      .optional()
      .describe('Only messages from this date on (inclusive): "YYYY-MM-DD" (from 00:00) or "YYYY-MM-DDTHH:MM".'),
    end_date: recallDate('end')
      .optional()
      .describe('Only messages up to this date (inclusive): "YYYY-MM-DD" (the whole day) or "YYYY-MM-DDTHH:MM".'),
    page: z.number().int().min(0).max(10_000).default(0).describe('Page of results, 0 first.'),
  }),
  async execute(args, ctx) {
    const { hits, hasMore } = await searchMessages(ctx.tx, ctx.agentId, {
      query: args.query,
      roles: args.roles,
      limit: args.limit,
      page: args.page,
      startDate: args.start_date,
      endDate: args.end_date,
    });
    const results = hits.map(({ message: m, match }): RecallResult => ({
      timestamp: m.createdAt.toISOString(),
      role: m.role,
      content: m.content ?? '',
      ...(m.role === 'tool' && m.toolName ? { tool_name: m.toolName } : {}),
      ...(match ? { match } : {}),
    }));
    return { message: pageSummary(args.page, args.limit, results.length, hasMore), results, page: args.page, has_more: hasMore };
  },
});

export const MEMORY_TOOLS: readonly MemoryTool[] = [
  coreMemoryAppend,
  coreMemoryReplace,
  memoryInsert,
  memoryReplace,
  archivalMemoryInsert,
  archivalMemorySearch,
  conversationSearch,
] as unknown as readonly MemoryTool[];

/** Tools attached to new agents when `include_base_tools` is true. */
export const BASE_TOOL_NAMES: readonly string[] = MEMORY_TOOLS.map((t) => t.name);
