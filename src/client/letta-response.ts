/**
 * Builds Letta's `LettaResponse` for a finished turn from its stored messages.
 * @module
 */
import { toLettaMessages, type LettaResponse } from '../domain/letta-message.ts';
import type { StoredMessage } from '../domain/stored-message.ts';
import type { TurnResult } from '../domain/turn.ts';

export function buildLettaResponse(turn: TurnResult, rows: readonly StoredMessage[]): LettaResponse {
  return {
    // the user's own message is not echoed, as in Letta; earlier attempts' steps are not this answer
    messages: rows.filter((r) => r.step > turn.stepBase).flatMap(toLettaMessages),
    stop_reason: { message_type: 'stop_reason', stop_reason: turn.stopReason },
    usage: { message_type: 'usage_statistics', ...turn.usage, step_count: turn.stepCount },
  };
}
