/**
 * The `beginTurn` activity: puts the turn's stored user message into the agent's recall.
 * @module
 */
import { ApplicationFailure } from '@temporalio/common';
import { sequenceUserMessage } from '../src/db/message-store.ts';
import { loadAgentOrFail, type ActivityDeps } from './activity-deps.ts';

export function createTurnActivities(deps: ActivityDeps) {
  const { db } = deps;

  /** `resumed`: this turn was begun before (a redelivered update); its writes are reused. */
  async function beginTurn(input: { agentId: string; messageId: string }): Promise<{ seq: number; resumed: boolean }> {
    await loadAgentOrFail(db, input.agentId);
    const begun = await sequenceUserMessage(db, input.agentId, input.messageId);
    if (begun === null) {
      throw ApplicationFailure.nonRetryable(
        `message ${input.messageId} is not a stored user message of agent ${input.agentId}`,
        'InvalidPayload',
      );
    }
    return begun;
  }

  return { beginTurn };
}
