/**
 * `memloom send` and `memloom messages`: talk to an agent and read its recall memory.
 * @module
 */
import { Command } from 'commander';
import { z } from 'zod';
import { setAction } from './command-context.ts';
import { formatMessages, formatResponse } from './format.ts';
import { addJsonOption, flagName, intFlag, parseFlags, withFlagPaths } from './options.ts';
import { printNote, printResult } from './output.ts';

/** How long `send` waits before suggesting that no worker is running. */
const WORKER_HINT_AFTER_MS = 15_000;

const SendFlagsSchema = z.object({ maxSteps: intFlag.optional(), messageId: z.string().optional() });

export function sendCommand(): Command {
  const command = new Command('send')
    .summary('send a message to an agent and print its answer')
    .description(
      "Send a user message to an agent and print its answer: the agent's reasoning, tool calls and replies, " +
        'run as one durable turn on the agent\'s Temporal workflow. Needs a running `memloom worker`.',
    )
    .argument('<agent>', 'agent id (agent-...) or name')
    .argument('<message>', 'the user message text')
    .option('--max-steps <n>', 'at most this many model calls in the turn (default 10)')
    .option('--message-id <id>', 'idempotency key message-<uuid>: sending again with it returns the same turn');
  addJsonOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ memloom send my-assistant "Hi! My name is Alice."
  $ memloom send my-assistant "What is my name?" --json | jq -r '.messages[-1].content'`,
  );
  return setAction(command, async (ctx, [idOrName, text], options) => {
    const flags = parseFlags(SendFlagsSchema, options);
    const client = await ctx.client();
    // a turn waits for a worker; say so rather than look hung
    const hint = setTimeout(() => {
      printNote(ctx.mode, `still waiting for the answer: is a \`memloom worker\` running on task queue "${client.config.taskQueue}"?`);
    }, WORKER_HINT_AFTER_MS);
    ctx.onClose(async () => clearTimeout(hint));
    const response = await client
      .userMessage(idOrName!, text!, {
        ...(flags.maxSteps !== undefined ? { maxSteps: flags.maxSteps } : {}),
        ...(flags.messageId !== undefined ? { messageId: flags.messageId } : {}),
      })
      .catch((e: unknown) => {
        throw withFlagPaths(e, (p) => (p === 'maxSteps' || p === 'messageId' ? flagName(p) : undefined));
      });
    printResult(ctx.mode, response, formatResponse);
  });
}

const MessagesFlagsSchema = z.object({ limit: intFlag.optional() });

export function messagesCommand(): Command {
  const command = new Command('messages')
    .summary("list an agent's messages (recall memory), oldest first")
    .description("List an agent's recall memory (every message of its conversation), oldest first, as Letta messages.")
    .argument('<agent>', 'agent id (agent-...) or name')
    .option('--limit <n>', 'the last n messages (default 100, at most 1000)');
  addJsonOption(command);
  command.addHelpText('after', '\nExamples:\n  $ memloom messages my-assistant --limit 20\n  $ memloom messages my-assistant --json');
  return setAction(command, async (ctx, [idOrName], options) => {
    const flags = parseFlags(MessagesFlagsSchema, options);
    const client = await ctx.client();
    const messages = await client
      .listMessages(idOrName!, flags.limit !== undefined ? { limit: flags.limit } : {})
      .catch((e: unknown) => {
        throw withFlagPaths(e, (p) => (p === 'limit' ? '--limit' : undefined));
      });
    printResult(ctx.mode, messages, formatMessages);
  });
}
