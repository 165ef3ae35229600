/**
 * Listening to turn events (./turn-events.ts): one dedicated PostgreSQL connection per process,
 * outside the pool, LISTENing on the channel of every turn someone subscribed to. A subscription
 * resolves once its LISTEN is in effect, so a caller that subscribes before it starts the turn
 * misses nothing. When the connection drops, every subscriber is told (`gap`): events may have been
 * lost, and it reads what it needs from the stored messages and the turn record; the listener
 * connects again and LISTENs again on its own.
 * @module
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { parseTurnEvent, turnChannel, type TurnEvent } from './turn-events.ts';

export interface TurnEventHandler {
  event(event: TurnEvent): void;
  /** Events may have been missed (the connection dropped, or came back). */
  gap(): void;
}

export interface TurnSubscription {
  /** Stops listening for this subscriber (UNLISTEN once the channel has none left). */
  close(): Promise<void>;
}

export interface TurnEventListenerOptions {
  connectionString: string;
  logger: Logger;
  /** Longest wait between two attempts to connect again. @default 5000 */
  maxReconnectDelayMs?: number;
}

const RECONNECT_FIRST_MS = 100;
/** Give up opening the connection after this long (a stream then goes on without events). */
const CONNECT_TIMEOUT_MS = 10_000;

export class TurnEventListener {
  readonly #options: TurnEventListenerOptions;
  readonly #channels = new Map<string, Set<TurnEventHandler>>();
  #client: Promise<pg.Client> | null = null;
  #reconnect: NodeJS.Timeout | null = null;
  #delay = RECONNECT_FIRST_MS;
  #closed = false;

  constructor(options: TurnEventListenerOptions) {
    this.#options = options;
  }

  /** Listens for `turnId`'s events; resolves once the LISTEN is in effect. */
  async subscribe(turnId: string, handler: TurnEventHandler): Promise<TurnSubscription> {
    if (this.#closed) throw new Error('the turn event listener is closed');
    const channel = turnChannel(turnId);
    let handlers = this.#channels.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#channels.set(channel, handlers);
    }
    handlers.add(handler);
    try {
      const client = await this.#connection();
      if (handlers.size === 1) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      this.#remove(channel, handler);
      throw error;
    }
    return { close: () => this.#unsubscribe(channel, handler) };
  }

  /** Ends the connection; subscriptions end with it. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#reconnect) clearTimeout(this.#reconnect);
    const client = this.#client;
    this.#client = null;
    this.#channels.clear();
    if (client) await client.then((c) => c.end()).catch(() => undefined);
  }

  #remove(channel: string, handler: TurnEventHandler): boolean {
    const handlers = this.#channels.get(channel);
    if (!handlers?.delete(handler) || handlers.size > 0) return false;
    this.#channels.delete(channel);
    return true;
  }

  async #unsubscribe(channel: string, handler: TurnEventHandler): Promise<void> {
    if (!this.#remove(channel, handler) || !this.#client) return;
    // best effort: a failed UNLISTEN only costs notifications nobody reads
    await this.#client.then((c) => c.query(`UNLISTEN ${channel}`)).catch(() => undefined);
  }

  #connection(): Promise<pg.Client> {
    this.#client ??= this.#connect();
    return this.#client;
  }

  async #connect(): Promise<pg.Client> {
    // keepAlive: a connection that only listens must notice a dead peer
    const client = new pg.Client({ connectionString: this.#options.connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, keepAlive: true });
    client.on('notification', (msg) => this.#dispatch(msg.channel, msg.payload));
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('connection ended')));
    try {
      await client.connect();
      // on a new connection, the channels of the subscribers who are waiting already
      for (const channel of this.#channels.keys()) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      this.#client = null;
      client.end().catch(() => undefined);
      throw error;
    }
    this.#delay = RECONNECT_FIRST_MS;
    return client;
  }

  #dispatch(channel: string, payload: string | undefined): void {
    const handlers = this.#channels.get(channel);
    if (!handlers) return;
    const event = parseTurnEvent(payload);
    if (!event) return;
    for (const h of handlers) h.event(event);
  }

  /** The connection is gone: subscribers hear of the gap; with subscribers left, connect again. */
  #lost(client: pg.Client, error: Error): void {
    void this.#client?.then((current) => {
      if (current !== client || this.#closed) return;
      this.#client = null;
      this.#options.logger.warn({ err: error }, 'turn event listener lost its PostgreSQL connection');
      this.#gapAll();
      this.#scheduleReconnect();
    }, () => undefined);
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnect || this.#channels.size === 0) return;
    this.#reconnect = setTimeout(() => {
      this.#reconnect = null;
      this.#connection().then(
        () => this.#gapAll(),
        () => {
          this.#delay = Math.min(this.#delay * 2, this.#options.maxReconnectDelayMs ?? 5000);
          this.#scheduleReconnect();
        },
      );
    }, this.#delay);
    this.#reconnect.unref();
  }

  #gapAll(): void {
    for (const handlers of this.#channels.values()) for (const h of handlers) h.gap();
  }
}
