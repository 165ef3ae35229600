/**
 * A turn as Letta's SSE (`streaming: true`, `/messages/stream`). The server LISTENs on the turn's
 * channel before it starts the turn, so no event is missed, then sends:
 * a first `ping` carrying the run id (with `include_pings`, Letta's default), the turn's messages
 * as ./turn-relay.ts decides (stored messages per step, or token deltas), a keepalive `ping`
 * every `keepaliveMs`, and at the end `stop_reason`, `usage_statistics` and `data: [DONE]` — or,
 * when the turn failed, `stop_reason`, Letta's `event: error` with an `error_message`, `[DONE]`.
 *
 * The end is read from the turn record (the durable answer), when the turn's `finished` event
 * arrives or its Update returns, whichever is first; the messages are read from Postgres on each
 * `stored` event and once more at the end, so a lost notification costs latency, never a
 * message. A client that goes away stops the relay, not the turn: the turn is a workflow Update,
 * which runs to its end whoever listens.
 * @module
 */
import type { Context } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Logger } from 'pino';
import type { MemloomClient } from '../../client/memloom-client.ts';
import type { TurnEventListener, TurnSubscription } from '../../db/turn-event-listener.ts';
import type { TurnEvent } from '../../db/turn-events.ts';
import type { TurnRecord } from '../../db/turn-store.ts';
import { TurnFailedError } from '../../domain/errors.ts';
import { newId } from '../../domain/ids.ts';
import { isFinalTurnStatus, TurnStatus } from '../../domain/turn.ts';
import type { ServerEnv } from '../env.ts';
import { withFieldNames } from '../http-errors.ts';
import { lettaErrorMessage, runIdOf, stopReasonOf } from './letta-run.ts';
import { TurnRelay, type LettaChunk } from './turn-relay.ts';

/** Letta's keepalive interval (`LETTA_KEEPALIVE_INTERVAL`). */
export const DEFAULT_KEEPALIVE_MS = 20_000;

export interface StreamingOptions {
  /** A ping every this many milliseconds while a turn streams. @default {@link DEFAULT_KEEPALIVE_MS} */
  keepaliveMs?: number;
}

export interface StreamDeps {
  client: MemloomClient;
  logger: Logger;
  events: TurnEventListener;
  keepaliveMs: number;
}

/** The message to stream, as the route checked it. */
export interface StreamRequest {
  agentRef: string;
  text: string;
  /** From the `otid` or `Idempotency-Key`; a fresh one otherwise. */
  messageId: string | undefined;
  maxSteps: number | undefined;
  streamTokens: boolean;
  includePings: boolean;
  types: readonly string[] | undefined;
  /** Where the text came from, to name it in an error. */
  textLoc: (string | number)[];
}

/**
 * Starts the turn and answers with its SSE. Failures before the turn starts (a bad message, an
 * unknown agent, a spent budget) are ordinary HTTP errors; after, they are in the stream.
 */
export async function streamTurn(c: Context<ServerEnv>, deps: StreamDeps, request: StreamRequest): Promise<Response> {
  const messageId = request.messageId ?? newId('message');
  const runId = runIdOf(messageId);
  const inbox = new Inbox();
  const subscription = await listen(deps, messageId, inbox);
  let started;
  try {
    started = await withFieldNames({ text: request.textLoc, maxSteps: ['body', 'max_steps'] }, () =>
      deps.client.startMessage(request.agentRef, request.text, {
        messageId,
        ...(request.maxSteps !== undefined ? { maxSteps: request.maxSteps } : {}),
      }),
    );
  } catch (error) {
    await subscription.close();
    throw error;
  }
  const { turn, answer } = started;
  const relay = new TurnRelay({ runId, attempt: turn.attempt, tokens: request.streamTokens, types: request.types });
  const reqId = c.get('requestId');
  return streamSSE(c, (stream) =>
    new TurnStream(stream, deps, { runId, messageId, relay, inbox, subscription, includePings: request.includePings, reqId }).run(answer),
  );
}

/**
 * Subscribes the stream to its turn's events. Without them (LISTEN failed) the stream still
 * works, from Postgres: the messages at each keepalive tick and at the end.
 */
async function listen(deps: StreamDeps, messageId: string, inbox: Inbox): Promise<TurnSubscription> {
  try {
    return await deps.events.subscribe(messageId, { event: (e) => inbox.push(e), gap: () => inbox.push('gap') });
  } catch (error) {
    deps.logger.warn({ err: error, message_id: messageId }, 'cannot LISTEN for turn events: the stream sends stored messages only');
    return { close: () => Promise.resolve() };
  }
}

/** A turn event; `gap`: events may be lost; `tick`: keepalive time; `answered`: the turn's Update returned. */
type InboxItem = TurnEvent | 'gap' | 'tick' | 'answered';

/** Events that arrived before the stream could take them, and the one waiting for the next. */
class Inbox {
  readonly #queue: InboxItem[] = [];
  #wake: (() => void) | null = null;

  push(item: InboxItem): void {
    this.#queue.push(item);
    this.#wake?.();
    this.#wake = null;
  }

  /** The next item, or null when `stop` resolves first. */
  async next(stop: Promise<void>): Promise<InboxItem | null> {
    if (this.#queue.length === 0) await Promise.race([new Promise<void>((resolve) => (this.#wake = resolve)), stop]);
    return this.#queue.shift() ?? null;
  }
}

interface TurnStreamState {
  runId: string;
  messageId: string;
  relay: TurnRelay;
  inbox: Inbox;
  subscription: TurnSubscription;
  includePings: boolean;
  reqId: string;
}

/** One open stream: writes in the order things happened, one at a time. */
class TurnStream {
  #aborted = false;
  readonly #gone: Promise<void>;

  constructor(
    private readonly stream: SSEStreamingApi,
    private readonly deps: StreamDeps,
    private readonly s: TurnStreamState,
  ) {
    this.#gone = new Promise((resolve) =>
      stream.onAbort(() => {
        this.#aborted = true;
        resolve();
      }),
    );
  }

  async run(answer: Promise<unknown>): Promise<void> {
    const { inbox, subscription } = this.s;
    // the Update's outcome ends the stream too, should the `finished` notification be lost
    let failure: unknown = null;
    answer.then(
      () => inbox.push('answered'),
      (error: unknown) => {
        failure = error ?? new Error('the turn failed');
        inbox.push('answered');
      },
    );
    // a keepalive ping, and a look at the stored messages in case a notification was lost
    const ticker = setInterval(() => inbox.push('tick'), this.deps.keepaliveMs);
    try {
      if (this.s.includePings) await this.#ping();
      // what the turn stored before this stream listened (a resent message id)
      if (await this.#catchUp()) return;
      for (;;) {
        const item = await inbox.next(this.#gone);
        if (item === null || this.#aborted) break;
        if (typeof item === 'object' && item.kind === 'delta') {
          await this.#send(this.s.relay.delta(item));
          continue;
        }
        if (item === 'tick' && this.s.includePings) await this.#ping();
        if (await this.#catchUp()) return;
        if (item === 'answered') {
          // the Update ended but the record is not final: this stream cannot follow the turn
          const type = failure instanceof TurnFailedError ? failure.type : 'InternalError';
          this.deps.logger.warn({ req_id: this.s.reqId, err: failure, message_id: this.s.messageId }, 'stream could not wait for its turn');
          await this.#fail(type, `the stream lost track of its turn; its outcome will be at GET /v1/runs/${this.s.runId}`);
          return;
        }
      }
      if (this.#aborted) this.deps.logger.debug({ req_id: this.s.reqId, message_id: this.s.messageId }, 'client left the stream; the turn goes on');
    } catch (error) {
      this.deps.logger.error({ req_id: this.s.reqId, err: error, message_id: this.s.messageId }, 'stream failed');
      await this.#fail('InternalError', `the stream failed; the turn goes on: its outcome will be at GET /v1/runs/${this.s.runId}`).catch(() => undefined);
    } finally {
      clearInterval(ticker);
      await subscription.close().catch(() => undefined);
    }
  }

  /** Sends what the turn stored since the last look; true once the turn is over and the stream ended. */
  async #catchUp(): Promise<boolean> {
    const { turn, messages } = await this.deps.client.turnState(this.s.messageId);
    await this.#send(this.s.relay.stored(messages));
    if (!isFinalTurnStatus(turn.status)) return false;
    await this.#end(turn);
    return true;
  }

  async #end(turn: TurnRecord): Promise<void> {
    const stopReason = stopReasonOf(turn);
    await this.#send([{ message_type: 'stop_reason', stop_reason: stopReason }]);
    if (turn.status === TurnStatus.Failed) {
      await this.#fail(turn.errorType ?? 'Error', turn.errorMessage ?? 'the turn failed', false);
      return;
    }
    await this.#send([
      {
        message_type: 'usage_statistics',
        ...turn.usage,
        step_count: turn.stepCount,
        run_ids: [this.s.runId],
      },
    ]);
    await this.#write('[DONE]');
  }

  /** Letta's failure: `event: error` with an `error_message`, then `[DONE]`. */
  async #fail(type: string, message: string, withStopReason = true): Promise<void> {
    if (withStopReason) await this.#send([{ message_type: 'stop_reason', stop_reason: 'error' }]);
    if (!this.#aborted) await this.stream.writeSSE({ event: 'error', data: JSON.stringify(lettaErrorMessage(this.s.runId, type, message)) });
    await this.#write('[DONE]');
  }

  async #ping(): Promise<void> {
    await this.#send([{ message_type: 'ping', id: `ping-${globalThis.crypto.randomUUID()}`, date: new Date().toISOString(), run_id: this.s.runId }]);
  }

  async #send(chunks: readonly LettaChunk[]): Promise<void> {
    for (const chunk of chunks) await this.#write(JSON.stringify(chunk));
  }

  async #write(data: string): Promise<void> {
    if (!this.#aborted) await this.stream.writeSSE({ data });
  }
}
