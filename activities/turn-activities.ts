/**
 * Turn bookkeeping: `beginTurn` claims a turn record for an attempt and puts its user message
 * into recall; `finishTurn` records the outcome; `recordToolFailure` turns a tool call whose
 * activity gave up into an error result the model reads.
 * @module
 */
import { ApplicationFailure } from '@temporalio/common';
import { findTurnMessage, insertMessageOnce } from '../src/db/message-store.ts';
import { withTransaction } from '../src/db/pool.ts';
import { claimTurn, finishTurn as recordFinish } from '../src/db/turn-store.ts';
import { announceTurnEvent } from '../src/db/turn-events.ts';
import type { BeginTurnResult, FinishTurnInput, RunToolInput, RunToolResult } from '../src/domain/turn.ts';
import { estimateMessageTokens } from '../src/llm/token-count.ts';
import { NO_METRICS } from '../src/metrics/worker-metrics.ts';
import { loadAgentOrFail, type ActivityDeps } from './activity-deps.ts';
import { withTurn } from './turn-fence.ts';

export function createTurnActivities(deps: ActivityDeps) {
  const { db } = deps;
  const metrics = deps.metrics ?? NO_METRICS;

  async function beginTurn(input: { agentId: string; messageId: string; attempt: number }): Promise<BeginTurnResult> {
    await loadAgentOrFail(db, input.agentId);
    const begun = await withTransaction(db, (tx) => claimTurn(tx, input.agentId, input.messageId, input.attempt));
    if (begun === null) {
      throw ApplicationFailure.nonRetryable(
        `message ${input.messageId} is not a stored user message of agent ${input.agentId}`,
        'InvalidPayload',
      );
    }
    return begun;
  }

  /** Records the attempt's outcome; false if another attempt owns the turn. */
  async function finishTurn(input: FinishTurnInput): Promise<boolean> {
    const finished = await withTransaction(db, (tx) => recordFinish(tx, input));
    // counted once per turn: an attempt that no longer owns the turn records nothing
    if (finished && input.outcome.status !== 'cancelled') metrics.turnFinished(input.outcome.status);
    if (finished) announceTurnEvent(db, { kind: 'finished', turnId: input.messageId, attempt: input.attempt, status: input.outcome.status }, deps.logger);
    return finished;
  }

  /** The error tool result for a call whose `runTool` activity failed for good (timeouts, crashes). */
  async function recordToolFailure(input: RunToolInput & { reason: string }): Promise<RunToolResult> {
    const { agentId, turnId, attempt, step, index } = input;
    const row = await withTurn(db, turnId, attempt, async (tx) => {
      const done = await findTurnMessage(tx, agentId, turnId, step, index);
      if (done) return done;
      const call = (await findTurnMessage(tx, agentId, turnId, step, 0))?.toolCalls?.[index - 1];
      const content = `Error: tool ${call?.name ?? `#${index}`} failed: ${input.reason}`;
      return insertMessageOnce(tx, {
        agentId,
        turnId,
        step,
        idx: index,
        role: 'tool',
        content,
        toolCallId: call?.id ?? null,
        toolName: call?.name ?? null,
        toolStatus: 'error',
        tokens: estimateMessageTokens({ content }),
        sequenced: true,
      });
    });
    announceTurnEvent(db, { kind: 'stored', turnId, attempt, step }, deps.logger);
    return { messageId: row.id, status: row.toolStatus ?? 'error' };
  }

  return { beginTurn, finishTurn, recordToolFailure };
}
