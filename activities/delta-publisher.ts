/**
 * Publishing a model call's stream to listeners (src/db/turn-events.ts), without slowing the call:
 * pieces are batched — the first piece of each part goes out at once (time to first token),
 * later ones at most every `intervalMs` — merged per part, split to fit NOTIFY's payload limit, and sent one payload
 * after another on pool connections (never the turn's transaction), so they arrive in order. A
 * failed NOTIFY is logged once and ignored; while Postgres is slower than the stream, pieces are
 * dropped rather than queued (a listener fills the gap from the stored message).
 * @module
 */
import type { Logger } from 'pino';
import type { Db } from '../src/db/pool.ts';
import { DeltaPart, MAX_PAYLOAD_BYTES, publishTurnEvent, type DeltaPiece, type TurnEvent } from '../src/db/turn-events.ts';
import type { StreamDelta } from '../src/llm/chat-completion.ts';

export interface DeltaPublisherOptions {
  /** Pieces arriving within this long of the last payload wait and go out together. @default 25 */
  intervalMs?: number;
  /** Payloads in flight beyond which new pieces are dropped. @default 32 */
  maxInFlight?: number;
}

/** What every event of the call carries. */
export interface DeltaTag {
  turnId: string;
  attempt: number;
  step: number;
  messageId: string;
  /** `<chain attempt>.<activity attempt>`. */
  call: string;
}

/** The longest text of one piece: 6 bytes per code unit at worst (`\uXXXX`) stays under the payload limit. */
const MAX_PIECE_CHARS = 1000;

const pieceKey = (p: Pick<DeltaPiece, 'part' | 'index'>): string => (p.part === DeltaPart.Tool ? `tool:${p.index ?? 0}` : p.part);

export class DeltaPublisher {
  readonly #db: Db;
  readonly #tag: DeltaTag;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #maxInFlight: number;
  /** Length published so far of each part (the next piece's offset). */
  readonly #offsets = new Map<string, number>();
  #pending: DeltaPiece[] = [];
  #timer: NodeJS.Timeout | null = null;
  #lastFlush = 0;
  #seq = 0;
  #inFlight = 0;
  #queue: Promise<void> = Promise.resolve();
  #warned = false;

  constructor(db: Db, tag: DeltaTag, logger: Logger, options: DeltaPublisherOptions = {}) {
    this.#db = db;
    this.#tag = tag;
    this.#logger = logger;
    this.#intervalMs = options.intervalMs ?? 25;
    this.#maxInFlight = options.maxInFlight ?? 32;
  }

  /** Takes what one chunk of the stream added. Never throws. */
  add(delta: StreamDelta): void {
    const parts = this.#offsets.size;
    if (delta.reasoning) this.#piece({ part: DeltaPart.Reasoning }, delta.reasoning);
    if (delta.content) this.#piece({ part: DeltaPart.Content }, delta.content);
    for (const call of delta.toolCalls ?? []) {
      const named = { ...(call.name ? { name: call.name } : {}), ...(call.id ? { callId: call.id } : {}) };
      if (call.arguments || call.name || call.id) this.#piece({ part: DeltaPart.Tool, index: call.index, ...named }, call.arguments ?? '');
    }
    if (this.#pending.length === 0) return;
    const wait = this.#lastFlush + this.#intervalMs - Date.now();
    // the first piece of each part (the text after the reasoning, say), and a piece after a
    // pause, go out at once; the rest wait for the interval
    if (wait <= 0 || this.#offsets.size > parts) return this.#flush();
    if (this.#timer) return;
    this.#timer = setTimeout(() => this.#flush(), wait);
    this.#timer.unref();
  }

  /** The step's answer (or a tool return) is stored: sent after every piece taken so far. */
  stored(): void {
    this.#flush();
    this.#send({ kind: 'stored', turnId: this.#tag.turnId, attempt: this.#tag.attempt, step: this.#tag.step });
  }

  /** Sends what is pending now (the call ended, or failed). */
  end(): void {
    this.#flush();
  }

  /** The payloads sent so far and still being sent: resolves when all are done (for tests and benchmarks). */
  settled(): Promise<void> {
    return this.#queue;
  }

  #piece(where: Omit<DeltaPiece, 'offset' | 'text'>, text: string): void {
    const key = pieceKey(where);
    const offset = this.#offsets.get(key) ?? 0;
    this.#offsets.set(key, offset + text.length);
    const last = this.#pending.at(-1);
    if (last && pieceKey(last) === key && last.offset + last.text.length === offset && where.name === undefined && where.callId === undefined) {
      last.text += text;
      return;
    }
    this.#pending.push({ ...where, offset, text });
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#lastFlush = Date.now();
    const pieces = this.#pending;
    this.#pending = [];
    for (const batch of payloads(pieces)) {
      this.#send({ kind: 'delta', ...this.#tag, seq: ++this.#seq, pieces: batch });
    }
  }

  #send(event: TurnEvent): void {
    // Postgres is behind: a delta is dropped (the listener shows the stored text instead), never queued without end
    if (event.kind === 'delta' && this.#inFlight >= this.#maxInFlight) return;
    this.#inFlight++;
    this.#queue = this.#queue
      .then(() => publishTurnEvent(this.#db, event))
      .catch((error: unknown) => {
        if (this.#warned) return;
        this.#warned = true;
        this.#logger.warn({ err: error, turnId: this.#tag.turnId, step: this.#tag.step }, 'publishing stream deltas failed; listeners get the stored message');
      })
      .finally(() => this.#inFlight--);
  }
}

/** Pieces cut to at most MAX_PIECE_CHARS (never inside a surrogate pair), packed into payloads under the limit. */
function payloads(pieces: readonly DeltaPiece[]): DeltaPiece[][] {
  const out: DeltaPiece[][] = [];
  let batch: DeltaPiece[] = [];
  let bytes = 0;
  // room for the event's other fields
  const budget = MAX_PAYLOAD_BYTES - 400;
  for (const piece of pieces.flatMap(cut)) {
    const size = Buffer.byteLength(JSON.stringify(piece));
    if (batch.length > 0 && bytes + size > budget) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(piece);
    bytes += size + 1;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

function cut(piece: DeltaPiece): DeltaPiece[] {
  if (piece.text.length <= MAX_PIECE_CHARS) return [piece];
  const out: DeltaPiece[] = [];
  let start = 0;
  while (start < piece.text.length) {
    let end = Math.min(start + MAX_PIECE_CHARS, piece.text.length);
    const code = piece.text.charCodeAt(end - 1);
    if (end < piece.text.length && code >= 0xd800 && code <= 0xdbff) end--;
    const { name, callId, ...rest } = piece;
    out.push({ ...rest, ...(start === 0 && name !== undefined ? { name } : {}), ...(start === 0 && callId !== undefined ? { callId } : {}), offset: piece.offset + start, text: piece.text.slice(start, end) });
    start = end;
  }
  return out;
}
