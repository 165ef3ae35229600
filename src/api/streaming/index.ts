/**
 * Streaming turns from inside their durable workflow as Letta's SSE, and turns as Letta's runs.
 * Token deltas reach the server over PostgreSQL LISTEN/NOTIFY (src/db/turn-events.ts); what the
 * stream shows is decided by ./turn-relay.ts; the end is always read from the turn record.
 * @module
 */
export { lettaErrorMessage, lettaRun, messageIdOfRun, runIdOf, RunSchema, stopReasonOf, type LettaRun } from './letta-run.ts';
export { TurnRelay, type LettaChunk, type TurnRelayOptions } from './turn-relay.ts';
export { DEFAULT_KEEPALIVE_MS, streamTurn, type StreamDeps, type StreamingOptions, type StreamRequest } from './turn-stream.ts';
