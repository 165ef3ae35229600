/**
 * The `memloom` command: global options, command groups, and one exit code per run.
 * @module
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { archivalCommands, memoryCommands } from './memory-commands.ts';
import { agentCommands } from './agent-commands.ts';
import { defaultsCommands, migrateCommand } from './admin-commands.ts';
import { ReportedError } from './command-context.ts';
import { messagesCommand, sendCommand, turnCommands } from './message-commands.ts';
import { commanderOutput, printError } from './output.ts';
import { workerCommand } from './worker-command.ts';
import { devCommand } from './dev-command.ts';
import { modelsCommands } from './model-commands.ts';
import { usageCommand } from './usage-commands.ts';
import { pipelineCommands } from './pipeline-commands.ts';
import { scheduleCommands } from './schedule-commands.ts';
import { batchCommands } from './batch-commands.ts';
import { serveCommand } from './serve-command.ts';

const DESCRIPTION =
  'memloom: stateful LLM agents with persistent memory, in the style of Letta (MemGPT). ' +
  'Every agent turn is a durable Temporal workflow, agent memory (core blocks, recall, archival) ' +
  'lives in PostgreSQL, and models are called through any OpenAI-compatible or LiteLLM endpoint.';

const GETTING_STARTED = `
Getting started:
  $ memloom migrate                                   # create the database and tables, register search attributes
  $ LLM_BASE_URL=http://localhost:4000 LLM_API_KEY=sk-... memloom worker &
  $ memloom defaults llm --model gpt-4o-mini          # the model new agents use
  $ memloom agent create --name my-assistant --block human= --block "persona=I am a helpful assistant."
  $ memloom send my-assistant "Hi! My name is Alice."
  $ memloom memory show my-assistant

Environment (overridden by the global options):
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, MEMLOOM_TASK_QUEUE, DATABASE_URL,
  LLM_BASE_URL / LLM_API_KEY (or OPENAI_BASE_URL / OPENAI_API_KEY, read by the worker only)`;

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function* allCommands(command: Command): Generator<Command> {
  yield command;
  for (const sub of command.commands) yield* allCommands(sub);
}

export interface ProgramOptions {
  /** The command line asks for JSON: usage errors are printed as JSON too. @default false */
  json?: boolean;
}

export function buildProgram(options: ProgramOptions = {}): Command {
  const program = new Command('memloom')
    .description(DESCRIPTION)
    .version(packageVersion(), '-V, --version', 'print the memloom version')
    .option('--temporal-address <addr>', 'Temporal frontend gRPC address (env TEMPORAL_ADDRESS, default 127.0.0.1:7233)')
    .option('--namespace <ns>', 'Temporal namespace (env TEMPORAL_NAMESPACE, default "default")')
    .option('--task-queue <name>', 'task queue of memloom workflows (env MEMLOOM_TASK_QUEUE, default "memloom")')
    .option('--database-url <url>', 'PostgreSQL connection string (env DATABASE_URL)')
    .option('--verbose', 'print the stack of unexpected errors')
    .addCommand(migrateCommand())
    .addCommand(workerCommand())
    .addCommand(devCommand())
    .addCommand(serveCommand())
    .addCommand(agentCommands())
    .addCommand(defaultsCommands())
    .addCommand(sendCommand())
    .addCommand(messagesCommand())
    .addCommand(turnCommands())
    .addCommand(memoryCommands())
    .addCommand(archivalCommands())
    .addCommand(modelsCommands())
    .addCommand(usageCommand())
    .addCommand(pipelineCommands())
    .addCommand(scheduleCommands())
    .addCommand(batchCommands())
    .addHelpText('after', GETTING_STARTED);
  // addCommand() does not copy settings to subcommands: apply them to each
  for (const command of allCommands(program)) {
    command
      .exitOverride()
      .configureOutput(commanderOutput({ json: options.json === true }))
      .configureHelp({ showGlobalOptions: true })
      .showHelpAfterError(options.json ? false : '(run with --help for usage)');
  }
  return program;
}

/** Runs the command line (`process.argv` shape); resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const program = buildProgram({ json });
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof ReportedError) return error.exitCode;
    if (error instanceof CommanderError) return error.exitCode;
    printError({ json, verbose: argv.includes('--verbose') }, error);
    return 1;
  }
}
