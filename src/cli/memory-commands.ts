/**
 * `memloom memory ...` (core memory blocks) and `memloom archival ...` (archival passages).
 * @module
 */
import { Command } from 'commander';
import { z } from 'zod';
import type { Passage } from '../db/passage-store.ts';
import { setAction } from './command-context.ts';
import { formatBlock, formatBlocks } from './format.ts';
import { addJsonOption, agentArg, collect, countFlag, intFlag, parseFlags, withFlagPaths } from './options.ts';
import { printResult } from './output.ts';

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

function formatPassages(passages: Passage[]): string {
  if (passages.length === 0) return '(no passages)';
  return passages
    .map((p) => `${p.id}  ${new Date(p.created_at).toISOString()}${p.tags.length > 0 ? `  [${p.tags.join(', ')}]` : ''}\n  ${p.text.replace(/\n/g, '\n  ')}`)
    .join('\n');
}

const InsertFlagsSchema = z.object({ tag: z.array(z.string().min(1, 'must not be empty')).default([]) });

function archivalInsertCommand(): Command {
  const command = new Command('insert')
    .summary('add a passage to archival memory')
    .description("Add a passage to an agent's archival memory (long-term notes it finds with archival_memory_search).")
    .argument('<agent>', 'agent id (agent-...) or name')
    .argument('<text>', 'the passage text')
    .option('--tag <tag>', 'tag the passage (repeatable)', collect);
  addJsonOption(command);
  command.addHelpText('after', '\nExample:\n  $ memloom archival insert my-assistant "Alice\'s birthday is March 3." --tag personal');
  return setAction(command, async (ctx, [idOrName, text], options) => {
    const ref = agentArg(idOrName);
    const flags = parseFlags(InsertFlagsSchema, options);
    const passage = await (await ctx.client()).insertArchivalMemory(ref, text!, flags.tag).catch((e: unknown) => {
      throw withFlagPaths(e, (p) => (/^tags(\.\d+)?$/.test(p) ? '--tag' : undefined));
    });
    printResult(ctx.mode, passage, (p) => `inserted passage ${p.id}`);
  });
}

const SearchFlagsSchema = z.object({ topK: countFlag(1000).optional() });

function archivalSearchCommand(): Command {
  const command = new Command('search')
    .summary('search archival memory')
    .description("Search an agent's archival memory by full text; without a query, list the newest passages.")
    .argument('<agent>', 'agent id (agent-...) or name')
    .argument('[query]', 'words to look for')
    .option('--top-k <n>', 'at most n passages (default 10)');
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom archival search my-assistant birthday\n  $ memloom archival search my-assistant --top-k 50 --json');
  return setAction(command, async (ctx, [idOrName, query], options) => {
    const ref = agentArg(idOrName);
    const flags = parseFlags(SearchFlagsSchema, options);
    const passages = await (await ctx.client()).searchArchivalMemory(ref, query, flags.topK ?? 10);
    printResult(ctx.mode, passages, formatPassages);
  });
}

export function archivalCommands(): Command {
  return new Command('archival')
    .summary("insert into and search an agent's archival memory")
    .description("Insert into and search an agent's archival memory (passages in PostgreSQL, outside the context window).")
    .addCommand(archivalInsertCommand())
    .addCommand(archivalSearchCommand());
}
