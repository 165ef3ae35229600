/**
 * The process logger (pino, on stderr): human-readable lines in a terminal, JSON lines otherwise
 * (or with `format: 'json'`). Secrets are redacted by key name as a second line of defence; the
 * first is never to log them. Temporal task tokens are dropped: they are opaque, long, and a
 * credential for completing the task.
 * @module
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import type { MemloomConfig } from './env.ts';

export type { Logger } from 'pino';

export const LOG_FORMATS = ['pretty', 'json'] as const;
/** `pretty`: one readable line per entry; `json`: pino's JSON lines, for machines. */
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  /** @default 'pretty' when stderr is a terminal, else 'json' */
  format?: LogFormat;
}

const DROPPED_KEYS = ['taskToken'];

export function createLogger(level: MemloomConfig['logLevel'] = 'info', name = 'memloom', options: LoggerOptions = {}): Logger {
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['apiKey', '*.apiKey', 'api_key', '*.api_key', 'authorization', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
      formatters: {
        log: (object) => Object.fromEntries(Object.entries(object).filter(([key]) => !DROPPED_KEYS.includes(key))),
      },
    },
    format === 'pretty' ? prettyDestination((line) => process.stderr.write(line)) : pino.destination(2),
  );
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const META_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/** `12:34:56.789 WARN  memloom-dev  message  key=value ...` (error stacks indented below). */
export function formatLogLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const level = (LEVEL_NAMES[Number(entry.level)] ?? String(entry.level)).padEnd(5);
  const fields: string[] = [];
  let stack = '';
  for (const [key, value] of Object.entries(entry)) {
    if (META_KEYS.has(key) || value === undefined) continue;
    if (key === 'err' && value && typeof value === 'object') {
      const err = value as { type?: unknown; message?: unknown; stack?: unknown };
      fields.push(`err=${JSON.stringify(`${String(err.type ?? 'Error')}: ${String(err.message ?? '')}`)}`);
      if (typeof err.stack === 'string') stack = `\n${err.stack.split('\n').slice(1).join('\n')}`;
      continue;
    }
    fields.push(`${key}=${typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)}`);
  }
  const message = typeof entry.msg === 'string' ? entry.msg : '';
  return `${[time, level, String(entry.name ?? ''), message, ...fields].filter(Boolean).join('  ')}${stack}\n`;
}

function prettyDestination(write: (line: string) => void): DestinationStream {
  return { write: (chunk: string) => void write(formatLogLine(chunk)) };
}
