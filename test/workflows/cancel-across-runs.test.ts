/**
 * A cancel that reaches an agent's run while it closes for continue-as-new is carried to the next
 * run with the turn it stops: that run starts from `carried` and `cancelled`, as the closing run
 * hands them over, and ends the turn `cancelled` before any model call.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admitTurn, findTurn } from '../../src/db/turn-store.ts';
import { withTransaction } from '../../src/db/pool.ts';
import { agentWorkflowId, IdPrefix, newId } from '../../src/domain/ids.ts';
import { AGENT_WORKFLOW_TYPE } from '../../workflows/agent-definitions.ts';
import { until } from '../helpers/poll.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, db, model } = stack;

test('a turn carried over continue-as-new with its cancel request ends cancelled, and the agent answers the next message', async () => {
  const agent = await client.createAgent({ name: 'carried-cancel', llm_config: stack.llmConfig });
  const messageId = newId(IdPrefix.Message);
  await withTransaction(db, (tx) => admitTurn(tx, { messageId, agentId: agent.id, text: 'Stop me.', tokens: 10, maxSteps: 10 }));
  // the run the closing one would start: the forwarded turn, and the cancel that came for it
  await client.temporal.workflow.start(AGENT_WORKFLOW_TYPE, {
    workflowId: agentWorkflowId(agent.id),
    taskQueue: stack.taskQueue,
    args: [{ agentId: agent.id, agentName: agent.name, carried: [{ messageId, attempt: 1 }], cancelled: [messageId] }],
  });
  const turn = await until('the carried turn', () => findTurn(db, messageId), (t) => t?.status === 'cancelled' || t?.status === 'completed', 30_000);
  assert.equal(turn?.status, 'cancelled');
  assert.equal(turn?.stopReason, 'cancelled');
  assert.equal(model.chatRequests().length, 0, 'the model was never called');

  const next = await client.userMessage(agent.id, 'Still there?');
  assert.equal(next.stop_reason.stop_reason, 'end_turn');
});
