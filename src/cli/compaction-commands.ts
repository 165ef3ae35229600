/**
 * Compaction on the command line: the `compaction_settings` flags of `agent create` and
 * `agent update`, and `memloom agent compact`, which summarizes an agent's oldest in-context
 * messages now.
 * @module
 */
import { Command } from 'commander';
import { z } from 'zod';
import type { CompactionResult, CompactionSettings } from '../domain/compaction.ts';
import { MessageIdSchema } from '../domain/ids.ts';
import { setAction } from './command-context.ts';
import { addJsonOption, agentArg, flagName, numberFlag, parseFlags, withFlagPaths } from './options.ts';
import { printResult } from './output.ts';

const HELP = {
  compactionPercentage:
    "share of the message budget a compaction frees, more than 0 and at most 0.9 (Letta's sliding_window_percentage; default 0.3)",
  summarizerModel: "the model (or model group of the models file) that writes the summaries (default: the agent's own model)",
} as const;

/** `--compaction-percentage` and `--summarizer-model` (`--no-summarizer-model` on update): the client checks the values. */
export const CompactionFlagsSchema = z.object({
  compactionPercentage: numberFlag.optional(),
  /** false: `--no-summarizer-model`, back to the agent's own model. */
  summarizerModel: z.union([z.literal(false), z.string()]).optional(),
});
type CompactionFlags = z.output<typeof CompactionFlagsSchema>;

export function addCompactionOptions(command: Command, opts: { update: boolean }): Command {
  command.option('--compaction-percentage <p>', HELP.compactionPercentage).option('--summarizer-model <model>', HELP.summarizerModel);
  if (opts.update) command.option('--no-summarizer-model', "summaries by the agent's own model again");
  return command;
}

/**
 * The `compaction_settings` the flags give over `base` (the agent's current ones on update: the
 * SDK replaces the settings as a whole, the flags change only what they name); undefined
 * without compaction flags.
 */
export function compactionSettingsFromFlags(flags: CompactionFlags, base: CompactionSettings | null = null): CompactionSettings | undefined {
  if (flags.compactionPercentage === undefined && flags.summarizerModel === undefined) return undefined;
  const { model: _model, ...rest } = base ?? {};
  const model = flags.summarizerModel === false ? undefined : (flags.summarizerModel ?? base?.model);
  return {
    ...rest,
    ...(flags.compactionPercentage !== undefined ? { sliding_window_percentage: flags.compactionPercentage } : {}),
    ...(model !== undefined ? { model } : {}),
  };
}

const FLAG_OF: Record<string, string> = {
  'compaction_settings.sliding_window_percentage': '--compaction-percentage',
  'compaction_settings.model': '--summarizer-model',
};

/** The flag behind a `compaction_settings` issue path, for {@link withFlagPaths}. */
export function compactionFlagOf(path: string): string | undefined {
  return FLAG_OF[path];
}

const count = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

/** What a compaction did, for people: `Compacted my-agent: 12 messages summarized (1,840 → 610 tokens in context) by gpt-4o-mini`. */
export function formatCompactionResult(agentName: string, r: CompactionResult): string {
  if (r.evictedMessages === 0) {
    return `Nothing to compact: ${agentName}'s context holds only its newest messages (${count(r.tokensBefore, 'token')}), which always stay`;
  }
  const tokens = `${r.tokensBefore.toLocaleString('en-US')} → ${r.tokensAfter.toLocaleString('en-US')} tokens in context`;
  return `Compacted ${agentName}: ${count(r.evictedMessages, 'message')} summarized (${tokens}) by ${r.model ?? 'the summarizer'}`;
}

const CompactFlagsSchema = z.object({ requestId: MessageIdSchema.optional() });

export function compactCommand(): Command {
  const command = new Command('compact')
    .summary("summarize an agent's oldest in-context messages now")
    .description(
      "Compact an agent's context now (Letta's summarizer). An agent's context holds its system prompt, its memory blocks and " +
        'as many recent messages as fit its context window; when they would not fit, a compaction runs by itself: a model ' +
        'summarizes the oldest in-context messages (with the previous summary), the summary opens every later context, and ' +
        'those messages leave the context. This command runs one now, in the agent\'s own queue after the messages sent ' +
        'before it. Recall keeps every message: `memloom messages` lists them all (the summary too) and the agent still finds ' +
        'them with conversation_search. The newest messages always stay, so a short conversation has nothing to compact. ' +
        'How much a compaction frees and which model writes the summary are agent settings: `agent create` / `agent update` ' +
        '--compaction-percentage P (default 0.3) and --summarizer-model MODEL (default: the agent\'s own model). ' +
        'Needs a running `memloom worker`.',
    )
    .argument('<agent>', 'agent id (agent-...) or name')
    .option('--request-id <id>', 'idempotency key message-<uuid>: compacting again with it returns the same result');
  addJsonOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ memloom agent compact my-assistant
  $ memloom agent compact my-assistant --json | jq .evictedMessages
  $ memloom agent update my-assistant --compaction-percentage 0.5 --summarizer-model gpt-4o-mini`,
  );
  return setAction(command, async (ctx, [idOrName], options) => {
    const ref = agentArg(idOrName);
    const flags = parseFlags(CompactFlagsSchema, options);
    const client = await ctx.client();
    const agent = await client.getAgent(ref);
    const result = await client.compactAgent(agent.id, flags.requestId !== undefined ? { requestId: flags.requestId } : {}).catch((e: unknown) => {
      throw withFlagPaths(e, (p) => (p === 'requestId' ? flagName(p) : undefined));
    });
    printResult(ctx.mode, result, (r) => formatCompactionResult(agent.name, r));
  });
}
