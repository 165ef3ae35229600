/**
 * `memloom memory ...` (core memory blocks) and `memloom archival ...` (archival passages:
 * insert, import a document, search, re-embed).
 * @module
 */
import { Command } from 'commander';
import { z } from 'zod';
import type { ArchivalImportOutcome, ArchivalReembedOutcome } from '../client/archival.ts';
import type { Passage } from '../db/passage-store.ts';
import { DEFAULT_REEMBED_BATCH, MAX_IMPORT_BYTES, MAX_REEMBED_BATCH } from '../domain/archival.ts';
import { DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from '../domain/chunking.ts';
import { setAction } from './command-context.ts';
import { formatBlock, formatBlocks } from './format.ts';
import { addJsonOption, agentArg, collect, countFlag, flagError, intFlag, parseFlags, withFlagPaths } from './options.ts';
import { printResult } from './output.ts';
import { progressPrinter } from './progress.ts';

function memoryShowCommand(): Command {
  const command = new Command('show')
    .summary("show an agent's core memory blocks")
    .description("Show an agent's core memory blocks: label, characters used of the limit, read-only flag and value.")
    .argument('<agent>', 'agent id (agent-...) or name');
  addJsonOption(command);
  command.addHelpText('after', '\nExample:\n  $ memloom memory show my-assistant');
  return setAction(command, async (ctx, [idOrName]) => {
    const ref = agentArg(idOrName);
    const blocks = await (await ctx.client()).getMemory(ref);
    printResult(ctx.mode, blocks, formatBlocks);
  });
}

const SetFlagsSchema = z.object({ limit: intFlag.optional() });

function memorySetCommand(): Command {
  const command = new Command('set')
    .summary('replace the value of a core memory block')
    .description("Replace the value of one of an agent's core memory blocks; the value must fit the block's character limit.")
    .argument('<agent>', 'agent id (agent-...) or name')
    .argument('<label>', 'block label, e.g. human or persona')
    .argument('<value>', 'the new value')
    .option('--limit <chars>', "also change the block's character limit");
  addJsonOption(command);
  command.addHelpText('after', '\nExample:\n  $ memloom memory set my-assistant human "Name: Alice. Loves science fiction."');
  return setAction(command, async (ctx, [idOrName, label, value], options) => {
    const ref = agentArg(idOrName);
    const flags = parseFlags(SetFlagsSchema, options);
    const client = await ctx.client();
    const block = await client
      .updateBlock(ref, label!, {
        value: value!,
        ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
      })
      .catch((e: unknown) => {
        throw withFlagPaths(e, (p) => (p === 'limit' ? '--limit' : p === 'label' ? '<label>' : undefined));
      });
    printResult(ctx.mode, block, (b) => `updated block ${formatBlock(b)}`);
  });
}

export function memoryCommands(): Command {
  return new Command('memory')
    .summary("show and edit an agent's core memory blocks")
    .description("Read and edit an agent's core memory: the blocks (human, persona, ...) always in its context window.")
    .addCommand(memoryShowCommand())
    .addCommand(memorySetCommand());
}

const InsertFlagsSchema = z.object({
  tag: z.array(z.string().min(1, 'must not be empty')).default([]),
  file: z.string().optional(),
  chunkSize: intFlag.optional(),
  chunkOverlap: intFlag.optional(),
});

const IMPORT_FLAG_OF: Record<string, string> = { file: '--file', chunkSize: '--chunk-size', chunkOverlap: '--chunk-overlap' };

/** The flag behind an issue of an import or an insert. */
function insertFlagOf(path: string): string | undefined {
  return /^tags(\.\d+)?$/.test(path) ? '--tag' : IMPORT_FLAG_OF[path];
}

export function formatImport(r: ArchivalImportOutcome): string {
  const what = r.source ?? 'the text';
  const head = r.alreadyImported
    ? `${what} was imported into agent ${r.agentName} already, with the same chunk settings: its ${r.chunks} passages are there, nothing new was inserted`
    : `imported ${what} into agent ${r.agentName}: ${r.chunks} chunks, ${r.insertedPassages} new passages` +
      (r.embeddingModel !== null ? `, embedded with ${r.embeddingModel}` : '');
  const lines = [
    head,
    `  import    ${r.importId} (chunks of at most ${r.chunkSize} tokens, ${r.chunkOverlap} of overlap${r.tags.length > 0 ? `, tags ${r.tags.join(', ')}` : ''})`,
    `  workflow  ${r.workflowId}`,
  ];
  if (r.embeddingModel === null) {
    lines.push(
      `note: agent ${r.agentName} has no embedding_config, so these passages have no vectors and archival search finds them by their words only; ` +
        `to embed them: memloom agent update ${r.agentName} --embedding MODEL, then memloom archival reembed ${r.agentName}`,
    );
  }
  return lines.join('\n');
}

function archivalInsertCommand(): Command {
  const command = new Command('insert')
    .summary('add a passage, or a whole document (--file), to archival memory')
    .description(
      "Add a passage to an agent's archival memory (long-term notes it finds with archival_memory_search). " +
        `With --file, import a UTF-8 text file of at most ${MAX_IMPORT_BYTES / (1024 * 1024)} MiB instead: it is cut into chunks of at most ` +
        `--chunk-size tokens (default: the agent's embedding_config.embedding_chunk_size, else ${DEFAULT_CHUNK_SIZE}), each repeating ` +
        `--chunk-overlap tokens of the one before (default ${DEFAULT_CHUNK_OVERLAP}), cut at paragraphs, then sentences, then words; the chunks ` +
        'are embedded with the agent\'s embedding_config and inserted as passages all at once, by the workflow archival-import/ID, with a ' +
        'progress bar on stderr. Importing the same file with the same settings again inserts nothing; if embedding fails for good (the ' +
        'endpoint down), nothing is inserted. An agent without embedding_config gets passages without vectors (full-text search only). ' +
        'Needs a running `memloom worker` for --file.',
    )
    .argument('<agent>', 'agent id (agent-...) or name')
    .argument('[text]', 'the passage text (or give --file)')
    .option('--file <path>', `import this UTF-8 text file (at most ${MAX_IMPORT_BYTES / (1024 * 1024)} MiB) as chunked passages`)
    .option('--chunk-size <tokens>', `with --file: at most this many tokens a chunk, ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`)
    .option('--chunk-overlap <tokens>', `with --file: tokens each chunk repeats from the one before, less than the chunk size (default ${DEFAULT_CHUNK_OVERLAP})`)
    .option('--tag <tag>', 'tag the passage(s) (repeatable)', collect);
  addJsonOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ memloom archival insert my-assistant "Alice's birthday is March 3." --tag personal
  $ memloom archival insert my-assistant --file handbook.md --tag handbook
  $ memloom archival insert my-assistant --file notes.txt --chunk-size 500 --chunk-overlap 50 --json`,
  );
  return setAction(command, async (ctx, [idOrName, text], options) => {
    const ref = agentArg(idOrName);
    const flags = parseFlags(InsertFlagsSchema, options);
    const client = await ctx.client();
    const relabel = (e: unknown): never => {
      throw withFlagPaths(e, insertFlagOf);
    };
    if (flags.file === undefined) {
      if (flags.chunkSize !== undefined || flags.chunkOverlap !== undefined) flagError(flags.chunkSize !== undefined ? '--chunk-size' : '--chunk-overlap', 'is for --file');
      if (text === undefined) flagError('<text>', 'is required: the passage text (or import a file with --file)');
      const passage = await client.insertArchivalMemory(ref, text, flags.tag).catch(relabel);
      printResult(ctx.mode, passage, (p) => `inserted passage ${p.id}`);
      return;
    }
    if (text !== undefined) flagError('--file', 'give the passage text or --file, not both');
    const progress = progressPrinter(ctx.mode, 'chunks');
    const result = await client
      .importArchivalFile(ref, {
        file: flags.file,
        tags: flags.tag,
        ...(flags.chunkSize !== undefined ? { chunkSize: flags.chunkSize } : {}),
        ...(flags.chunkOverlap !== undefined ? { chunkOverlap: flags.chunkOverlap } : {}),
        onProgress: (p) => progress.update(p.phase, p.done, p.total),
      })
      .catch(relabel)
      .finally(() => progress.end());
    printResult(ctx.mode, result, formatImport);
  });
}

const ReembedFlagsSchema = z.object({ batchSize: countFlag(MAX_REEMBED_BATCH).optional() });

export function formatReembed(r: ArchivalReembedOutcome): string {
  return [
    `re-embedded ${r.reembedded} passages of agent ${r.agentName} with ${r.embeddingModel} (${r.alreadyCurrent} already had a vector of it)`,
    `  workflow  ${r.workflowId}`,
  ].join('\n');
}

function archivalReembedCommand(): Command {
  const command = new Command('reembed')
    .summary("recompute archival vectors after an embedding model change")
    .description(
      "Recompute the vectors of an agent's archival passages that are not of its current embedding model (after " +
        '`memloom agent update AGENT --embedding MODEL`), or that have none, with a progress bar on stderr. The workflow ' +
        'archival-reembed/AGENT_ID embeds --batch-size passages per activity, each batch committed on its own, until none is left: ' +
        'stopped halfway, running it again re-embeds only what is left; run while it runs, it joins it. Needs a running `memloom worker`.',
    )
    .argument('<agent>', 'agent id (agent-...) or name')
    .option('--batch-size <n>', `passages embedded and committed at a time, 1 to ${MAX_REEMBED_BATCH} (default ${DEFAULT_REEMBED_BATCH})`);
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom agent update my-assistant --embedding text-embedding-3-large\n  $ memloom archival reembed my-assistant');
  return setAction(command, async (ctx, [idOrName], options) => {
    const ref = agentArg(idOrName);
    const flags = parseFlags(ReembedFlagsSchema, options);
    const progress = progressPrinter(ctx.mode, 'passages');
    const result = await (await ctx.client())
      .reembedArchivalMemory(ref, {
        ...(flags.batchSize !== undefined ? { batchSize: flags.batchSize } : {}),
        onProgress: (p) => progress.update(p.phase, p.done, p.total),
      })
      .catch((e: unknown) => {
        throw withFlagPaths(e, (p) => (p === 'batchSize' ? '--batch-size' : undefined));
      })
      .finally(() => progress.end());
    printResult(ctx.mode, result, formatReembed);
  });
}

const DATE_HINT = 'must be an ISO date such as 2025-01-31, or a date and time with its zone such as 2025-01-31T18:00:00Z';

/**
 * `--start` / `--end`: an ISO date (UTC; as `--end`, the whole of that day) or a date and time
 * with its zone (`Z` or `+02:00`: without one the time would depend on this machine's).
 */
function dateFlag(edge: 'start' | 'end') {
  return z
    .string()
    .trim()
    .transform((value, ctx) => {
      const day = /^\d{4}-\d{2}-\d{2}$/.test(value);
      const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(value);
      const date = new Date(day ? `${value}T00:00:00Z` : value);
      if ((!day && !time) || Number.isNaN(date.getTime()) || (day && date.toISOString().slice(0, 10) !== value)) {
        ctx.addIssue({ code: 'custom', message: `${DATE_HINT}, got ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return day && edge === 'end' ? new Date(date.getTime() + 86_400_000 - 1) : date;
    });
}

const SearchFlagsSchema = z
  .object({
    topK: countFlag(1000).optional(),
    tag: z.array(z.string().min(1, 'must not be empty')).default([]),
    tagMatch: z.enum(['any', 'all'], { error: (issue) => `must be "any" or "all", got ${JSON.stringify(issue.input)}` }).optional(),
    start: dateFlag('start').optional(),
    end: dateFlag('end').optional(),
  })
  .superRefine((f, ctx) => {
    if (f.tagMatch !== undefined && f.tag.length === 0) ctx.addIssue({ code: 'custom', path: ['tagMatch'], message: 'needs --tag: it says how several tags match' });
    if (f.start && f.end && f.start > f.end) ctx.addIssue({ code: 'custom', path: ['end'], message: `is before --start (${f.start.toISOString()}): no passage could match` });
  });

/** The SDK's filter names, as the flags that set them. */
const SEARCH_FLAG_OF: Record<string, string> = { topK: '--top-k', tagMatchMode: '--tag-match', start: '--start', end: '--end', query: '[query]' };

function searchFlagOf(path: string): string | undefined {
  return /^tags(\.\d+)?$/.test(path) ? '--tag' : SEARCH_FLAG_OF[path];
}

/** Passages as search returns them: id, time, score (when ranked), tags, then the text indented. */
function formatSearchResults(passages: Passage[]): string {
  if (passages.length === 0) return '(no passages)';
  return passages
    .map((p) => {
      const score = p.score === undefined ? '' : `  score ${p.score.toFixed(4)}`;
      const tags = p.tags.length > 0 ? `  [${p.tags.join(', ')}]` : '';
      return `${p.id}  ${new Date(p.created_at).toISOString()}${score}${tags}\n  ${p.text.replace(/\n/g, '\n  ')}`;
    })
    .join('\n');
}

function archivalSearchCommand(): Command {
  const command = new Command('search')
    .summary('search archival memory by meaning and words, with tag and time filters')
    .description(
      "Search an agent's archival memory, best first. Hybrid when the agent has an embedding_config and its endpoint answers: the " +
        'passages nearest the query by meaning (vector search: pgvector HNSW, or an exact scan without pgvector) and those that best ' +
        'match its words (full text, websearch syntax: "a phrase", -word, or; with a substring fallback), fused by reciprocal rank ' +
        '(score = sum of 1/(60 + rank) over the two lists). Full text only for an agent without an embedding_config, and while its ' +
        'embedding endpoint is down. Each passage is shown with its score. Without a query, the newest passages, under the same filters.',
    )
    .argument('<agent>', 'agent id (agent-...) or name')
    .argument('[query]', 'what to look for (words, or a question: it is embedded too)')
    .option('--top-k <n>', 'at most n passages, 1 to 1000 (default 10)')
    .option('--tag <tag>', 'only passages with this tag (repeatable: with any of them, or all with --tag-match all)', collect)
    .option('--tag-match <mode>', 'with several --tag: "any" (default) or "all"')
    .option('--start <date>', 'only passages stored at or after this time: 2025-01-31 (UTC midnight) or 2025-01-31T18:00:00Z')
    .option('--end <date>', 'only passages stored at or before this time: 2025-01-31 (the whole day, UTC) or 2025-01-31T18:00:00+02:00');
  addJsonOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ memloom archival search my-assistant "weekend hobbies"
  $ memloom archival search my-assistant birthday --tag personal --tag family --tag-match any --top-k 5
  $ memloom archival search my-assistant "travel plans" --start 2025-01-01 --end 2025-03-31 --json
  $ memloom archival search my-assistant --tag handbook   # the newest passages tagged handbook`,
  );
  return setAction(command, async (ctx, [idOrName, query], options) => {
    const ref = agentArg(idOrName);
    const flags = parseFlags(SearchFlagsSchema, options);
    const passages = await (await ctx.client())
      .searchArchivalMemory(ref, query, flags.topK ?? 10, {
        ...(flags.tag.length > 0 ? { tags: flags.tag } : {}),
        ...(flags.tagMatch !== undefined ? { tagMatchMode: flags.tagMatch } : {}),
        ...(flags.start !== undefined ? { start: flags.start } : {}),
        ...(flags.end !== undefined ? { end: flags.end } : {}),
      })
      .catch((e: unknown) => {
        throw withFlagPaths(e, searchFlagOf);
      });
    printResult(ctx.mode, passages, formatSearchResults);
  });
}

export function archivalCommands(): Command {
  return new Command('archival')
    .summary("insert into, import into, search and re-embed an agent's archival memory")
    .description(
      "Insert passages (or import a whole document) into an agent's archival memory, search it, and re-embed it after an embedding model " +
        'change (passages in PostgreSQL, outside the context window).',
    )
    .addCommand(archivalInsertCommand())
    .addCommand(archivalSearchCommand())
    .addCommand(archivalReembedCommand());
}
