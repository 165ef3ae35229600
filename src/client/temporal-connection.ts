/**
 * The client's Temporal connection: opened lazily, so commands that only read Postgres never
 * wait for Temporal, and checked once before the first workflow call, so an unreachable server
 * is reported as a {@link ConfigError} naming the address instead of a long gRPC retry loop.
 * @module
 */
import { connect } from 'node:net';
import { Connection, type WorkflowClientInterceptor } from '@temporalio/client';
import { ConfigError } from '../domain/errors.ts';
import { describeTemporalError, isLocalHost, parseTemporalAddress, temporalUnreachable } from './errors.ts';

/** How long the first Temporal call waits for the server to answer (the SDK's connect timeout). */
export const TEMPORAL_CONNECT_TIMEOUT_MS = 10_000;

/** A connection to `address` that opens no socket until the first call. */
export function lazyTemporalConnection(address: string): Connection {
  try {
    return Connection.lazy({ address });
  } catch (error) {
    throw new ConfigError(`TEMPORAL_ADDRESS: cannot use "${address}": ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A check that Temporal at `address` answers, memoized once it passed; a failed check runs again
 * on the next call, so a server that comes up later is found. The check has its own connection
 * without the SDK's retries (which would retry a refused port or an unknown host for over ten
 * seconds), unless the connection was given by the caller (it may carry TLS or an API key): then
 * that connection is used.
 */
export function temporalReadiness(connection: Connection, address: string, options: { ownsConnection: boolean }): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () => {
    ready ??= checkTemporal(connection, address, options.ownsConnection).catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };
}

async function checkTemporal(connection: Connection, address: string, ownsConnection: boolean): Promise<void> {
  await refuseLocalTemporalFast(address);
  const probe = ownsConnection ? Connection.lazy({ address, interceptors: [] }) : connection;
  try {
    // every server memloom supports (Update-with-Start) has GetSystemInfo: UNIMPLEMENTED is not Temporal
    await probe.withDeadline(Date.now() + TEMPORAL_CONNECT_TIMEOUT_MS, () => probe.workflowService.getSystemInfo({}));
  } catch (error) {
    throw describeTemporalError(error, address);
  } finally {
    if (probe !== connection) await probe.close();
  }
}

/**
 * Throws the "cannot reach Temporal" ConfigError at once when `address` is on this machine and
 * nothing listens there, instead of letting gRPC retry a refused port for seconds. Other hosts
 * are left to the gRPC connection: a proxy (grpc_proxy) may stand between.
 */
export async function refuseLocalTemporalFast(address: string): Promise<void> {
  const { host, port } = parseTemporalAddress(address);
  if (!isLocalHost(host)) return;
  try {
    await probeTcp(host === '' ? '127.0.0.1' : host, port, TEMPORAL_CONNECT_TIMEOUT_MS);
  } catch (error) {
    throw temporalUnreachable(address, error);
  }
}

/** Resolves when a TCP connection to host:port opens; rejects with the socket error. */
function probeTcp(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(Object.assign(new Error(`connect to ${host}:${port} timed out`), { code: 'ETIMEDOUT' })));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

/**
 * Runs `ready` before every workflow call of a client, so the first call that needs Temporal
 * reports an unreachable server clearly, and calls that never happen cost nothing.
 */
export function awaitReadyInterceptor(ready: () => Promise<void>): WorkflowClientInterceptor {
  const gated = async <I, O>(input: I, next: (input: I) => Promise<O>): Promise<O> => {
    await ready();
    return next(input);
  };
  return {
    start: gated,
    startWithDetails: gated,
    startUpdate: gated,
    startUpdateWithStart: gated,
    signal: gated,
    signalWithStart: gated,
    query: gated,
    terminate: gated,
    cancel: gated,
    describe: gated,
  };
}
