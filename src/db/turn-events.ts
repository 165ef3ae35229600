/**
 * Turn events over PostgreSQL NOTIFY: while a turn runs, its activities publish what the model
 * streams (token deltas) and when they have stored a message, on a channel of the turn, and
 * `memloom serve` relays them as Letta's SSE (src/api/streaming). An event is a hint, never the
 * record: a listener that misses one reads the turn's stored messages and its turn record, the
 * durable answer. Publishing never fails a turn and never waits for a listener.
 *
 * - Channel: `memloom_turn_<32 hex of sha256(turn id)>` — a plain identifier (45 characters,
 *   Postgres allows 63), one per turn, so a listener hears only the turn it relays.
 * - Payload: one JSON {@link TurnEvent}, at most {@link MAX_PAYLOAD_BYTES} (NOTIFY's limit is 8000).
 *   `delta`: text pieces of one model call attempt, each with its offset in that attempt's text of
 *   the part (content, reasoning, or tool call `index`), tagged with the turn attempt, the step, the
 *   stored message id the step's answer gets, and `call` — the chain attempt and the activity
 *   attempt (`<chain>.<activity>`), so a listener tells a retried call's text from the first one's.
 *   `stored`: a message of the step was stored (the model's answer, a tool return). `finished`:
 *   the turn attempt's record is final.
 * @module
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Queryable } from './pool.ts';

/** NOTIFY refuses payloads of 8000 bytes or more; a payload stays below this. */
export const MAX_PAYLOAD_BYTES = 7500;

const CHANNEL_PREFIX = 'memloom_turn_';

/** The NOTIFY channel of a turn. */
export function turnChannel(turnId: string): string {
  return CHANNEL_PREFIX + createHash('sha256').update(turnId, 'utf8').digest('hex').slice(0, 32);
}

/** Namespace of the ids of the model's answers (a random UUID, fixed forever). */
const STEP_MESSAGE_NAMESPACE = Buffer.from('6c1f0a9e2b7d4e58a3c1f4d2e8b97a05', 'hex');

/**
 * The id the model's answer of a step is stored under (`message-<uuid>`, derived from the turn
 * and the step): known before the answer is, so the deltas streamed to a listener carry the id
 * of the message they become, as Letta's do.
 */
export function stepMessageId(turnId: string, step: number): string {
  const hash = createHash('sha1').update(STEP_MESSAGE_NAMESPACE).update(`${turnId}/${step}`, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `message-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What a text piece belongs to: the answer's text, its reasoning, or the arguments of tool call `index`. */
export const DeltaPart = { Content: 'content', Reasoning: 'reasoning', Tool: 'tool' } as const;
export type DeltaPart = (typeof DeltaPart)[keyof typeof DeltaPart];

export const DeltaPieceSchema = z.object({
  part: z.enum([DeltaPart.Content, DeltaPart.Reasoning, DeltaPart.Tool]),
  /** The tool call's position in the answer (tool pieces only). */
  index: z.number().int().nonnegative().optional(),
  /** Where `text` starts in this attempt's text of the part (UTF-16 code units). */
  offset: z.number().int().nonnegative(),
  text: z.string(),
  /** The tool's name and call id, on the piece that first has them. */
  name: z.string().optional(),
  callId: z.string().optional(),
});
export type DeltaPiece = z.infer<typeof DeltaPieceSchema>;

const turnKey = { turnId: z.string(), attempt: z.number().int(), step: z.number().int() };

export const TurnEventSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('delta'),
    ...turnKey,
    /** The id the step's answer is stored under ({@link stepMessageId}). */
    messageId: z.string(),
    /** The model call attempt: `<chain attempt>.<activity attempt>`. */
    call: z.string(),
    /** Order of this call's payloads, from 1. */
    seq: z.number().int(),
    pieces: z.array(DeltaPieceSchema),
  }),
  z.object({ kind: z.literal('stored'), ...turnKey }),
  z.object({ kind: z.literal('finished'), turnId: z.string(), attempt: z.number().int(), status: z.string() }),
]);
export type TurnEvent = z.infer<typeof TurnEventSchema>;
export type DeltaEvent = Extract<TurnEvent, { kind: 'delta' }>;

/** Sends `event` on its turn's channel. Throws what the query throws: callers that must not fail use {@link announceTurnEvent}. */
export async function publishTurnEvent(db: Queryable, event: TurnEvent): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [turnChannel(event.turnId), JSON.stringify(event)]);
}

/** Where a failed publish is reported. */
export interface EventLog {
  warn(fields: object, message: string): void;
}

/**
 * Publishes `event` in the background on a connection of the pool (never a turn's transaction):
 * a failure is logged and ignored, and nothing waits for it.
 */
export function announceTurnEvent(db: Queryable, event: TurnEvent, log: EventLog): void {
  publishTurnEvent(db, event).catch((error: unknown) => log.warn({ err: error, turnId: event.turnId, kind: event.kind }, 'publishing a turn event failed'));
}

/** A payload received on a turn channel, or null when it is not a turn event. */
export function parseTurnEvent(payload: string | undefined): TurnEvent | null {
  if (payload === undefined) return null;
  try {
    const parsed = TurnEventSchema.safeParse(JSON.parse(payload));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
