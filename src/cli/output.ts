/**
 * The CLI's output layer: the one place that writes to stdout and stderr. A command's result is
 * one JSON document on stdout with `--json`, else text for people; errors go to stderr, as JSON
 * with `--json`.
 * @module
 */
import { ArchivalJobFailedError, MemloomError, PipelineFailedError, TurnFailedError, ValidationError } from '../domain/errors.ts';

/** How a command prints: chosen by its `--json` flag and the global `--verbose` flag. */
export interface OutputMode {
  /** One JSON document on stdout (errors as one on stderr). @default false */
  json: boolean;
  /** Stacks of unexpected errors on stderr. @default false */
  verbose: boolean;
}

/** Error codes of failures that are not {@link MemloomError}s. */
export const CliErrorCode = {
  /** The command line itself is wrong (unknown option, missing argument). */
  Usage: 'usage_error',
  /** Anything unexpected: a bug, or a service failing in a way memloom does not classify. */
  Internal: 'internal_error',
} as const;

export function writeOut(text: string): void {
  process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
}

export function writeErr(text: string): void {
  process.stderr.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
}

/** Prints a command's result: `data` as JSON, or `human(data)` as text. */
export function printResult<T>(mode: OutputMode, data: T, human: (data: T) => string): void {
  writeOut(mode.json ? JSON.stringify(data, null, 2) : human(data));
}

/** Whether stderr is a terminal, where a progress bar may redraw its line in place. */
export function stderrIsTerminal(): boolean {
  return process.stderr.isTTY === true;
}

/** Redraws the current line of stderr (a progress bar on a terminal); `end` moves on to the next line. */
export function redrawErr(text: string, end = false): void {
  process.stderr.write(`\r${text}\x1b[K${end ? '\n' : ''}`);
}

/** A line for people on stderr (progress, notes); silent with `--json`, whose stdout is the result. */
export function printNote(mode: OutputMode, text: string): void {
  if (!mode.json) writeErr(text);
}

/** The JSON shape of an error on stderr with `--json`. */
export interface ErrorDocument {
  error: {
    code: string;
    message: string;
    issues?: { path: string; message: string }[];
    /** The failure type of a failed turn, pipeline run or archival job, e.g. `AuthFailed`, `StageFailed`, `Connection`. */
    type?: string;
  };
}

export function errorDocument(error: unknown): ErrorDocument {
  if (error instanceof ValidationError) {
    return { error: { code: error.code, message: error.message, issues: error.issues } };
  }
  if (error instanceof TurnFailedError || error instanceof PipelineFailedError || error instanceof ArchivalJobFailedError) {
    return { error: { code: error.code, message: error.message, type: error.type } };
  }
  if (error instanceof MemloomError) return { error: { code: error.code, message: error.message } };
  return { error: { code: CliErrorCode.Internal, message: messageOf(error) } };
}

/** Prints an error on stderr. */
export function printError(mode: OutputMode, error: unknown): void {
  if (mode.json) {
    writeErr(JSON.stringify(errorDocument(error)));
  } else if (error instanceof ValidationError) {
    writeErr([`error: invalid ${error.subject}:`, ...error.issues.map(formatIssue)].join('\n'));
  } else {
    writeErr(`error: ${messageOf(error)}`);
  }
  if (mode.verbose && !(error instanceof ValidationError)) writeErr(stackOf(error));
}

/**
 * Where commander writes help and usage errors: through this module, and as JSON on stderr
 * when the command line asks for `--json`.
 */
export function commanderOutput(mode: Pick<OutputMode, 'json'>): {
  writeOut(str: string): void;
  writeErr(str: string): void;
  outputError(str: string): void;
} {
  return {
    writeOut: (str) => process.stdout.write(str),
    writeErr: (str) => process.stderr.write(str),
    outputError: (str) => printUsageError(mode, str),
  };
}

/** A usage error commander already phrased (`error: unknown option '--x'`). */
export function printUsageError(mode: Pick<OutputMode, 'json'>, message: string): void {
  const text = message.trim();
  if (mode.json) {
    writeErr(JSON.stringify({ error: { code: CliErrorCode.Usage, message: text.replace(/^error:\s*/, '') } }));
  } else {
    writeErr(text);
  }
}

function formatIssue(issue: { path: string; message: string }): string {
  return issue.path === '' ? `  - ${issue.message}` : `  - ${issue.path}: ${issue.message}`;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

function stackOf(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    parts.push(depth === 0 ? '' : 'caused by:', current instanceof Error ? (current.stack ?? current.message) : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.filter((p) => p !== '').join('\n');
}
