/**
 * `memloom send` and `memloom messages`: talk to an agent and read its recall memory.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { z } from 'zod';
import { setAction } from './command-context.ts';
import { IdPrefix, MessageIdSchema, newId } from '../domain/ids.ts';
import { formatMessages, formatResponse, formatTurn } from './format.ts';
import { addJsonOption, agentArg, flagError, flagName, intFlag, parseFlags, withFlagPaths } from './options.ts';
import { printNote, printResult } from './output.ts';

/** How long `send` waits before saying what the turn is doing, and how often it says it again. */
const PROGRESS_NOTE_AFTER_MS = 15_000;
const PROGRESS_NOTE_EVERY_MS = 10_000;

const SendFlagsSchema = z.object({
  maxSteps: intFlag.optional(),
  messageId: MessageIdSchema.optional(),
  retry: MessageIdSchema.optional(),
  file: z.string().min(1, 'must name a file').optional(),
});

/** File and stdin text ends with one newline more than the message (`echo hi |`): drop it. */
function withoutFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The message text: the argument, stdin when it is `-`, or the file of `--file` (UTF-8). The
 * shell's argument limit (~128 KB an argument on Linux) does not apply to the last two.
 */
async function messageText(arg: string | undefined, file: string | undefined, mode: { json: boolean; verbose: boolean }): Promise<string> {
  if (file !== undefined) {
    if (arg !== undefined) flagError('--file', 'give the message either as <message> (or - for stdin) or with --file, not both');
    try {
      return withoutFinalNewline(await readFile(file, 'utf8'));
    } catch (error) {
      const code = (error as { code?: string }).code ?? String(error);
      flagError('--file', `cannot read ${JSON.stringify(file)} (${code})`);
    }
  }
  if (arg === '-') {
    if (process.stdin.isTTY) printNote(mode, 'reading the message from stdin: end it with Ctrl-D');
    return withoutFinalNewline(await readStdin());
  }
  if (arg === undefined) flagError('<message>', 'is required: pass it as an argument, - to read stdin, or --file PATH');
  return arg;
}

export function sendCommand(): Command {
  const command = new Command('send')
    .summary('send a message to an agent and print its answer')
    .description(
      "Send a user message to an agent and print its answer: the agent's reasoning, tool calls and replies, " +
        "run as one durable turn on the agent's Temporal workflow. Needs a running `memloom worker`. " +
        'A message id is answered once: sending it again prints the same answer. A failed turn stays failed ' +
        'until you retry it with --retry, which answers it after the turns sent meanwhile.',
    )
    .argument('[agent]', 'agent id (agent-...) or name')
    .argument('[message]', 'the user message text, or - to read it from stdin')
    .option('--file <path>', 'read the message from this UTF-8 file (for messages longer than a command line allows)')
    .option('--max-steps <n>', 'at most this many model calls in the turn (default 10)')
    .option('--message-id <id>', 'idempotency key message-<uuid>: sending again with it returns the same turn')
    .option('--retry <message-id>', 'run a failed turn again (no agent or message needed)');
  addJsonOption(command);
  command.addHelpText(
    'after',
    `
Examples:
  $ memloom send my-assistant "Hi! My name is Alice."
  $ memloom send my-assistant "What is my name?" --json | jq -r '.messages[-1].content'
  $ memloom send my-assistant --file notes.md
  $ git diff | memloom send my-assistant -
  $ memloom send --retry message-0b6f...   # after "turn failed (RateLimited)"`,
  );
  return setAction(command, async (ctx, [idOrName, text], options) => {
    const flags = parseFlags(SendFlagsSchema, options);
    if (flags.retry === undefined && (idOrName === undefined || (text === undefined && flags.file === undefined))) {
      flagError('<agent> <message>', 'are required (or --file PATH for the message, or --retry MESSAGE_ID to run a failed turn again)');
    }
    const message = flags.retry === undefined ? { ref: agentArg(idOrName), text: await messageText(text, flags.file, ctx.mode) } : undefined;
    const client = await ctx.client();
    const messageId = flags.retry ?? flags.messageId ?? newId(IdPrefix.Message);
    // a turn can wait on a worker, a queue or retries: say which, rather than look hung
    let lastNote = '';
    const note = async (): Promise<void> => {
      const progress = await client.turnProgress(messageId).catch(() => undefined);
      if (progress !== undefined && progress !== lastNote) printNote(ctx.mode, `still waiting: ${progress}`);
      if (progress !== undefined) lastNote = progress;
    };
    let repeat: NodeJS.Timeout | undefined;
    const first = setTimeout(() => {
      void note();
      repeat = setInterval(() => void note(), PROGRESS_NOTE_EVERY_MS);
    }, PROGRESS_NOTE_AFTER_MS);
    ctx.onClose(async () => {
      clearTimeout(first);
      clearInterval(repeat);
    });
    const response = await (message === undefined
      ? client.retryTurn(flags.retry!)
      : client.userMessage(message.ref, message.text, {
          ...(flags.maxSteps !== undefined ? { maxSteps: flags.maxSteps } : {}),
          messageId,
        })
    ).catch((e: unknown) => {
      throw withFlagPaths(e, (p) => (p === 'maxSteps' || p === 'messageId' ? flagName(p) : undefined));
    });
    printResult(ctx.mode, response, formatResponse);
  });
}

export function turnCommands(): Command {
  const turn = new Command('turn').summary('inspect turns (one per user message)').description(
    'Every user message has a turn record: its status (queued, running, completed, failed, cancelled), max steps, ' +
      'stop reason, usage, error, and one attempt per explicit retry.',
  );
  const show = new Command('show')
    .summary("show a turn's record, its steps and attempts")
    .description("Show the turn of a user message: its record, its messages step by step, and its attempts.")
    .argument('<message-id>', 'the user message id (message-<uuid>)');
  addJsonOption(show);
  show.addHelpText('after', '\nExamples:\n  $ memloom turn show message-0b6f...\n  $ memloom turn show message-0b6f... --json | jq .status');
  turn.addCommand(
    setAction(show, async (ctx, [messageId]) => {
      const client = await ctx.client();
      printResult(ctx.mode, await client.getTurn(messageId!), formatTurn);
    }),
  );
  return turn;
}

const MessagesFlagsSchema = z.object({ limit: intFlag.optional() });

export function messagesCommand(): Command {
  const command = new Command('messages')
    .summary("list an agent's messages (recall memory), oldest first")
    .description(
      "List an agent's recall memory (every message of its conversation, in context or not, and the summaries compactions wrote), oldest first, as Letta messages.",
    )
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
