/**
 * The Temporal SDK runtime of this process: its logs go through memloom's pino logger and, when
 * asked, its Prometheus metrics are served on a loopback port for the worker's metrics server.
 * @module
 */
import { createServer } from 'node:net';
import { IllegalStateError } from '@temporalio/common';
import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogLevel, type RuntimeOptions } from '@temporalio/worker';
import type { Logger } from '../src/config/logger.ts';

/** Where the SDK serves its metrics, or why it does not. */
export type TemporalMetricsEndpoint = { url: string } | { unavailable: string };

export interface InstallRuntimeOptions {
  /**
   * Serve the SDK's Prometheus metrics on this port of 127.0.0.1 (see {@link freeLoopbackPort}).
   * The runtime is process-wide: only the first install of a process decides.
   */
  metricsPort?: number;
}

/** What the first install of this process did; later installs report it. */
let installed: TemporalMetricsEndpoint | undefined;

const LEVELS: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR', fatal: 'ERROR' };

const NOT_ASKED = 'not enabled when the Temporal runtime of this process was installed';

/**
 * Installs the runtime once per process; later calls change nothing and report where the SDK's
 * metrics are, if anywhere.
 */
export function installRuntime(logger: Logger, options: InstallRuntimeOptions = {}): TemporalMetricsEndpoint {
  if (installed) return installed;
  const level = LEVELS[logger.level] ?? 'WARN';
  // the SDK is chatty at INFO (worker state changes); memloom's own logs carry what matters
  const sdkLevel: LogLevel = level === 'INFO' ? 'WARN' : level;
  const base: RuntimeOptions = {
    logger: new DefaultLogger(sdkLevel, (entry) => {
      const fn = entry.level === 'ERROR' ? logger.error : entry.level === 'WARN' ? logger.warn : logger.debug;
      fn.call(logger, { sdk: true, ...entry.meta }, entry.message);
    }),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }), forward: {} } },
  };
  const { metricsPort } = options;
  try {
    if (metricsPort === undefined) {
      Runtime.install(base);
      installed = { unavailable: NOT_ASKED };
      return installed;
    }
    const bindAddress = `127.0.0.1:${metricsPort}`;
    Runtime.install({ ...base, telemetryOptions: { ...base.telemetryOptions, metrics: { prometheus: { bindAddress } } } });
    installed = { url: `http://${bindAddress}/metrics` };
    return installed;
  } catch (error) {
    if (error instanceof IllegalStateError) {
      // already installed by the embedding application (or a worker started before): keep theirs
      installed = { unavailable: 'the Temporal runtime of this process was installed before memloom\'s worker, without them' };
      return installed;
    }
    if (metricsPort === undefined) throw error;
    // the SDK's exporter could not start: run without it rather than not at all
    logger.warn({ err: error }, 'Temporal SDK metrics could not be enabled');
    installRuntime(logger);
    installed = { unavailable: `could not be enabled: ${(error as Error).message}` };
    return installed;
  }
}

/** A port of 127.0.0.1 free at the time of the call, for the SDK's metrics exporter. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port assigned'))));
    });
  });
}
