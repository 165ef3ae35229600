/**
 * The process logger (pino, JSON lines on stderr). Secrets are redacted by key name as a second
 * line of defence; the first is never to log them.
 * @module
 */
import { pino, type Logger } from 'pino';
import type { MemloomConfig } from './env.ts';

export type { Logger } from 'pino';

export function createLogger(level: MemloomConfig['logLevel'] = 'info', name = 'memloom'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: ['apiKey', '*.apiKey', 'api_key', '*.api_key', 'authorization', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}
