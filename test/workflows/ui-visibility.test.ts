/**
 * What a newcomer sees in the Temporal UI: a renamed agent's workflow carries its new
 * `AgentName`, and an agent with a failed turn is found with `FailedTurns > 0`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TurnFailedError } from '../../src/domain/errors.ts';
import { agentWorkflowId, IdPrefix, newId } from '../../src/domain/ids.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, model } = stack;

/** Workflow ids matching a visibility query, polled until `want` is met (visibility lags a little). */
async function listIds(query: string, want: (ids: string[]) => boolean): Promise<string[]> {
  let ids: string[] = [];
  for (let i = 0; i < 50; i++) {
    ids = [];
    for await (const w of client.temporal.workflow.list({ query })) ids.push(w.workflowId);
    if (want(ids)) return ids;
    await sleep(200);
  }
  return ids;
}

test('a renamed agent: its running workflow is found under the new AgentName, not the old one', async () => {
  const agent = await client.createAgent({ name: 'old-name', llm_config: stack.llmConfig });
  model.enqueue({ kind: 'reply', content: 'hello' });
  await client.userMessage(agent.id, 'hi');
  await client.updateAgent(agent.id, { name: 'new-name' });
  const wid = agentWorkflowId(agent.id);
  assert.deepEqual(await listIds('AgentName = "new-name"', (ids) => ids.includes(wid)), [wid]);
  assert.deepEqual(await listIds('AgentName = "old-name"', (ids) => ids.length === 0), []);
});

test('an agent whose turn failed is found with FailedTurns > 0 and LastFailedTurn', async () => {
  const agent = await client.createAgent({ name: 'stumbles', llm_config: stack.llmConfig });
  const messageId = newId(IdPrefix.Message);
  model.enqueue({ kind: 'error', status: 401 });
  await assert.rejects(client.userMessage(agent.id, 'hi', { messageId }), TurnFailedError);
  const wid = agentWorkflowId(agent.id);
  assert.ok((await listIds(`FailedTurns > 0 AND AgentId = "${agent.id}"`, (ids) => ids.includes(wid))).includes(wid));
  assert.ok((await listIds(`LastFailedTurn = "${messageId}"`, (ids) => ids.includes(wid))).includes(wid));
});

test('the UI lists the status query and the rename signal with their descriptions, and details carry the current name', async () => {
  const agent = await client.createAgent({ name: 'described', llm_config: stack.llmConfig });
  model.enqueue({ kind: 'reply', content: 'hello' });
  await client.userMessage(agent.id, 'hi');
  await client.updateAgent(agent.id, { name: 'described-renamed' });
  const handle = client.temporal.workflow.getHandle(agentWorkflowId(agent.id));
  // the Temporal UI reads this built-in query to offer a workflow's queries and signals
  const meta = await handle.query<{
    definition: { queryDefinitions: { name: string; description: string }[]; signalDefinitions: { name: string }[]; updateDefinitions: { name: string }[] };
    currentDetails: string;
  }>('__temporal_workflow_metadata');
  assert.ok(meta.definition.queryDefinitions.some((q) => q.name === 'status' && /doing now/.test(q.description)));
  assert.ok(meta.definition.signalDefinitions.some((s) => s.name === 'agentRenamed'));
  assert.ok(meta.definition.updateDefinitions.some((u) => u.name === 'sendMessage'));
  assert.match(meta.currentDetails, /Agent \*\*described-renamed\*\*/);
});
