import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatRequest } from '../../src/dev/scripted-model-server.ts';
import { agentWorkflowId } from '../../src/domain/ids.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, model } = stack;

function lastUserText(request: ChatRequest): string {
  const users = request.messages.filter((m) => m.role === 'user');
  return String(users.at(-1)?.content ?? '');
}

test('20 concurrent messages to one agent: all answered, one at a time, none lost or duplicated', async () => {
  const agent = await client.createAgent({ name: 'busy', llm_config: stack.llmConfig });
  let inFlight = 0;
  let maxInFlight = 0;
  model.setResponder(async (request) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 20));
    inFlight--;
    return { kind: 'reply', content: `answer to ${lastUserText(request)}` };
  });

  const texts = Array.from({ length: 20 }, (_, i) => `question ${i}`);
  const replies = await Promise.all(texts.map((t) => client.userMessage(agent.id, t)));

  replies.forEach((r, i) => {
    const last = r.messages.at(-1);
    assert.ok(last?.message_type === 'assistant_message');
    assert.equal(last.text, `answer to question ${i}`);
  });
  assert.equal(maxInFlight, 1, 'turns of one agent never overlap');

  const recall = await client.listMessages(agent.id, { limit: 1000 });
  assert.equal(recall.length, 40);
  // strictly alternating: each question immediately followed by its own answer
  for (let i = 0; i < recall.length; i += 2) {
    const q = recall[i];
    const a = recall[i + 1];
    assert.ok(q?.message_type === 'user_message' && a?.message_type === 'assistant_message');
    assert.equal(a.text, `answer to ${q.content}`);
    assert.equal(a.turn_id, q.id);
  }
  assert.deepEqual(
    new Set(recall.filter((m) => m.message_type === 'user_message').map((m) => (m.message_type === 'user_message' ? m.content : ''))),
    new Set(texts),
  );

  // the test server suggests continue-as-new after 150 events: the agent continued as new and
  // carried its count across runs
  const status = await client.getStatus(agent.id);
  assert.equal(status?.turnsCompleted, 20);
  assert.equal(status?.queuedTurns, 0);
  assert.equal(status?.state, 'idle');
  const runs = [];
  for await (const w of client.temporal.workflow.list({ query: `WorkflowId = '${agentWorkflowId(agent.id)}'` })) runs.push(w);
  assert.ok(runs.length >= 2, `expected continue-as-new, saw ${runs.length} run(s)`);
  model.setResponder(undefined);
});
