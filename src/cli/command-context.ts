/**
 * What every CLI action gets: its output mode, the configuration overrides from the global
 * options, and a client that is opened on first use and always closed after the action.
 * @module
 */
import type { Command } from 'commander';
import { createClient, type MemloomClient } from '../client/memloom-client.ts';
import type { MemloomConfig } from '../config/env.ts';
import { printError, type OutputMode } from './output.ts';

/** The program's global options, as commander collects them. */
interface GlobalFlags {
  temporalAddress?: string;
  namespace?: string;
  taskQueue?: string;
  databaseUrl?: string;
  verbose?: boolean;
}

export interface CommandContext {
  readonly mode: OutputMode;
  /** Global options that override the environment's configuration. */
  readonly overrides: Partial<MemloomConfig>;
  /** The memloom client, connected on first call and closed when the action ends. */
  client(): Promise<MemloomClient>;
  /** Runs when the action ends, whether it succeeded or not. */
  onClose(fn: () => Promise<void>): void;
}

/** Thrown after an error was printed: tells the program which exit code to use. */
export class ReportedError extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ReportedError';
  }
}

export function configOverrides(flags: GlobalFlags): Partial<MemloomConfig> {
  const overrides: Partial<MemloomConfig> = {};
  if (flags.temporalAddress !== undefined) overrides.temporalAddress = flags.temporalAddress;
  if (flags.namespace !== undefined) overrides.temporalNamespace = flags.namespace;
  if (flags.taskQueue !== undefined) overrides.taskQueue = flags.taskQueue;
  if (flags.databaseUrl !== undefined) overrides.databaseUrl = flags.databaseUrl;
  return overrides;
}

export type ActionHandler = (ctx: CommandContext, args: string[], options: Record<string, unknown>) => Promise<void>;

/**
 * Sets `handler` as the action of `command`. Positional arguments and the command's own options
 * are passed through; errors are printed once (JSON with `--json`) and become exit code 1.
 */
export function setAction(command: Command, handler: ActionHandler): Command {
  return command.action(async (...received: unknown[]) => {
    const self = received.at(-1) as Command;
    const options = self.opts();
    const globals = self.optsWithGlobals<GlobalFlags>();
    const args = received.slice(0, -2).flatMap((a) => (Array.isArray(a) ? a.map(String) : a === undefined ? [] : [String(a)]));
    const mode: OutputMode = { json: options.json === true, verbose: globals.verbose === true };
    const closers: (() => Promise<void>)[] = [];
    let client: Promise<MemloomClient> | undefined;
    const overrides = configOverrides(globals);
    const ctx: CommandContext = {
      mode,
      overrides,
      client() {
        if (!client) {
          client = createClient(overrides);
          closers.push(async () => (await client!).close());
        }
        return client;
      },
      onClose(fn) {
        closers.push(fn);
      },
    };
    try {
      await handler(ctx, args, options);
    } catch (error) {
      printError(mode, error);
      throw new ReportedError(1);
    } finally {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    }
  });
}
