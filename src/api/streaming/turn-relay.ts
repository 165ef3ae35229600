/**
 * What a stream shows of a turn, decided from its events and its stored messages (pure: no I/O).
 *
 * - `stream_tokens: false`: each stored message once, in order, as Letta sends a step's messages.
 * - `stream_tokens: true`: the model's text as it streams, as Letta's deltas (many chunks with the
 *   id the message is stored under; `otid` tells the parts of one message apart), then each tool
 *   return whole. When a step's answer is stored, whatever the deltas did not show is sent.
 *
 * Retried and resumed model calls never show text twice. A listener is shown, for each part of
 * a step (its text, its reasoning, each tool call's arguments), one growing text: a delta is
 * forwarded only where it extends what was shown. The deltas of a call are tagged with its
 * attempt; when a later attempt of the step starts (the stream was cut, the call timed out, a
 * fallback took over), its text is followed from its start but forwarded only past what the
 * listener already has — a retry that writes the same text continues seamlessly where the cut one
 * stopped. Older attempts' late deltas are dropped. Should a retry write something else, nothing
 * more streams for that part; once the step is stored, the stored text is sent as a new part of
 * the message (a new `otid`), after the cut attempt's partial text: the client keeps the partial
 * text on screen and then shows the answer in full, and the stored messages (`GET .../messages`)
 * hold only the answer. Pieces lost on the way (a gap in their offsets) are shown the same way,
 * from the stored message.
 * @module
 */
import type { DeltaEvent, DeltaPiece } from '../../db/turn-events.ts';
import type { LettaMessage } from '../../domain/letta-message.ts';
import { stableUuid } from '../stable-ids.ts';

/** One `data:` chunk of the stream. */
export type LettaChunk = Record<string, unknown>;

export interface TurnRelayOptions {
  runId: string;
  /** The turn attempt streamed: events of other attempts are not this answer. */
  attempt: number;
  /** `stream_tokens`. */
  tokens: boolean;
  /** `include_return_message_types`: only these message types are sent. */
  types?: readonly string[] | undefined;
}

/** An attempt's text of one part, rebuilt from its pieces. */
interface AttemptText {
  text: string;
  /** A piece went missing: this attempt's text of the part is not followed any further. */
  broken: boolean;
  name?: string;
  callId?: string;
}

/** What the listener has been shown of one part. */
interface Shown {
  text: string;
  /** The current attempt wrote something else: nothing more streams until the step is stored. */
  diverged: boolean;
  nameShown: boolean;
}

interface StepStream {
  /** Attempts in the order they started; the last is the one followed. */
  attempts: Map<string, Map<string, AttemptText>>;
  shown: Map<string, Shown>;
}

/** Namespace of the `otid`s of message parts (a random UUID, fixed forever). */
const OTID_NAMESPACE = 'd4b5e0c2-7a1f-4c39-9e86-3f0b2a7c5d14';

const partKey = (p: Pick<DeltaPiece, 'part' | 'index'>): string => (p.part === 'tool' ? `tool:${p.index ?? 0}` : p.part);

export class TurnRelay {
  readonly #o: TurnRelayOptions;
  readonly #steps = new Map<string, StepStream>();
  /** LettaMessages already sent whole or completed, by `<id>/<type>/<n>`. */
  readonly #sent = new Set<string>();
  /** Stored messages: their deltas are over. */
  readonly #stored = new Set<string>();

  constructor(options: TurnRelayOptions) {
    this.#o = options;
  }

  /** The chunks a delta event adds (none in step mode). */
  delta(event: DeltaEvent): LettaChunk[] {
    if (!this.#o.tokens || event.attempt !== this.#o.attempt || this.#stored.has(event.messageId)) return [];
    let step = this.#steps.get(event.messageId);
    if (!step) {
      step = { attempts: new Map(), shown: new Map() };
      this.#steps.set(event.messageId, step);
    }
    let texts = step.attempts.get(event.call);
    if (!texts) {
      texts = new Map();
      step.attempts.set(event.call, texts);
    }
    // only the newest attempt of the step is followed
    if ([...step.attempts.keys()].at(-1) !== event.call) return [];
    const out: LettaChunk[] = [];
    for (const piece of event.pieces) {
      const key = partKey(piece);
      const attempt = texts.get(key) ?? { text: '', broken: false };
      texts.set(key, attempt);
      if (!this.#take(attempt, piece)) continue;
      const chunk = this.#forward(event.messageId, step, key, attempt);
      if (chunk) out.push(chunk);
    }
    return out;
  }

  /**
   * The chunks of the turn's stored messages (all of the attempt so far, in order): the ones
   * not sent yet, whole, or in token mode what their deltas did not show.
   */
  stored(messages: readonly LettaMessage[]): LettaChunk[] {
    const out: LettaChunk[] = [];
    const seen = new Map<string, number>();
    for (const m of messages) {
      const typeKey = `${m.id}/${m.message_type}`;
      const n = seen.get(typeKey) ?? 0;
      seen.set(typeKey, n + 1);
      const key = `${typeKey}/${n}`;
      this.#stored.add(m.id);
      if (this.#sent.has(key)) continue;
      this.#sent.add(key);
      const chunk = this.#o.tokens ? this.#rest(m, n) : this.#whole(m);
      if (chunk) out.push(chunk);
    }
    return out;
  }

  /** Adds a piece to an attempt's text; false when it cannot be placed (a gap before it). */
  #take(attempt: AttemptText, piece: DeltaPiece): boolean {
    if (piece.name !== undefined) attempt.name ??= piece.name;
    if (piece.callId !== undefined) attempt.callId ??= piece.callId;
    if (attempt.broken) return false;
    if (piece.offset > attempt.text.length) {
      attempt.broken = true;
      return false;
    }
    attempt.text = attempt.text.slice(0, piece.offset) + piece.text;
    return true;
  }

  /** What of the attempt's text extends what was shown; null when nothing does. */
  #forward(messageId: string, step: StepStream, key: string, attempt: AttemptText): LettaChunk | null {
    const shown = step.shown.get(key) ?? { text: '', diverged: false, nameShown: false };
    step.shown.set(key, shown);
    if (shown.diverged) return null;
    const [longer, shorter] = attempt.text.length >= shown.text.length ? [attempt.text, shown.text] : [shown.text, attempt.text];
    if (!longer.startsWith(shorter)) {
      shown.diverged = true;
      return null;
    }
    const rest = attempt.text.slice(shown.text.length);
    const announce = key.startsWith('tool:') && !shown.nameShown && attempt.name !== undefined;
    if (rest === '' && !announce) return null;
    shown.text += rest;
    if (announce) shown.nameShown = true;
    return this.#deltaChunk(messageId, key, rest, announce ? attempt : undefined, attempt.callId);
  }

  /** Token mode: the part of a stored message that its deltas did not show. */
  #rest(m: LettaMessage, n: number): LettaChunk | null {
    const key = m.message_type === 'reasoning_message' ? 'reasoning' : m.message_type === 'assistant_message' ? 'content' : m.message_type === 'tool_call_message' ? `tool:${n}` : null;
    const shown = key === null ? undefined : this.#steps.get(m.id)?.shown.get(key);
    if (key === null || !shown || (shown.text === '' && !shown.nameShown)) return this.#whole(m, key ?? undefined);
    const full = m.message_type === 'reasoning_message' ? m.reasoning : m.message_type === 'assistant_message' ? m.content : m.message_type === 'tool_call_message' ? m.tool_call.arguments : '';
    if (shown.diverged || !full.startsWith(shown.text)) return this.#whole(m, key, 'stored');
    const rest = full.slice(shown.text.length);
    if (rest === '') return null;
    shown.text = full;
    const call = m.message_type === 'tool_call_message' ? { callId: m.tool_call.tool_call_id } : {};
    return this.#deltaChunk(m.id, key, rest, undefined, call.callId);
  }

  /** A stored message as it is, with the run id (and in token mode the `otid` of its part). */
  #whole(m: LettaMessage, key?: string, variant?: string): LettaChunk | null {
    if (!this.#wanted(m.message_type)) return null;
    return { ...m, run_id: this.#o.runId, ...(key !== undefined ? { otid: this.#otid(m.id, key, variant) } : {}) };
  }

  /** One delta chunk in Letta's shape. */
  #deltaChunk(messageId: string, key: string, text: string, named: AttemptText | undefined, callId: string | undefined): LettaChunk | null {
    const type = key === 'reasoning' ? 'reasoning_message' : key === 'content' ? 'assistant_message' : 'tool_call_message';
    if (!this.#wanted(type)) return null;
    const base = { id: messageId, date: new Date().toISOString(), message_type: type, otid: this.#otid(messageId, key), run_id: this.#o.runId };
    if (type === 'reasoning_message') return { ...base, reasoning: text, source: 'reasoner_model' };
    if (type === 'assistant_message') return { ...base, content: text };
    const index = Number(key.slice('tool:'.length));
    const call = { ...(named?.name !== undefined ? { name: named.name } : {}), arguments: text, tool_call_id: callId ?? `call_${index}` };
    return { ...base, tool_call: call, tool_calls: [call] };
  }

  #wanted(type: string): boolean {
    return this.#o.types === undefined || this.#o.types.includes(type);
  }

  #otid(messageId: string, key: string, variant?: string): string {
    return stableUuid(OTID_NAMESPACE, `${messageId}/${key}${variant ? `/${variant}` : ''}`);
  }
}
