/**
 * The Temporal SDK runtime of this process: its logs go through memloom's pino logger.
 * @module
 */
import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../src/config/logger.ts';

let installed = false;

const LEVELS: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'ERROR' };

/** Installs the runtime once per process; later calls are no-ops. */
export function installRuntime(logger: Logger): void {
  if (installed) return;
  installed = true;
  const level = LEVELS[logger.level] ?? 'WARN';
  // the SDK is chatty at INFO (worker state changes); memloom's own logs carry what matters
  const sdkLevel: LogLevel = level === 'INFO' ? 'WARN' : level;
  try {
    Runtime.install({
      logger: new DefaultLogger(sdkLevel, (entry) => {
        const fn = entry.level === 'ERROR' ? logger.error : entry.level === 'WARN' ? logger.warn : logger.debug;
        fn.call(logger, { sdk: true, ...entry.meta }, entry.message);
      }),
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }), forward: {} } },
    });
  } catch {
    // already installed by the embedding application: keep theirs
  }
}
