/**
 * A memory edit is applied once however often its activity runs: retried after it committed,
 * or run twice at the same time (a heartbeat timeout while the first attempt still works).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities/index.ts';
import { createLogger } from '../../src/config/logger.ts';
import { getBlocks, insertAgent } from '../../src/db/agent-store.ts';
import { insertMessageOnce, insertPendingUserMessage, sequenceUserMessage } from '../../src/db/message-store.ts';
import { newId, IdPrefix } from '../../src/domain/ids.ts';
import { ModelClients } from '../../src/llm/model-client.ts';
import { BASE_TOOL_NAMES } from '../../src/tools/memory-tools.ts';
import { ToolRegistry } from '../../src/tools/registry.ts';
import { createTestDatabase } from '../helpers/stack.ts';

const { db } = await createTestDatabase();
const activities = createActivities({
  db,
  logger: createLogger('silent'),
  tools: new ToolRegistry(),
  models: new ModelClients({ defaultBaseUrl: undefined, apiKey: undefined }),
});
const agent = await insertAgent(db, {
  name: 'once',
  system: 'x',
  llm_config: { model: 'm', model_endpoint_type: 'openai', context_window: 8192 },
  memory_blocks: [{ label: 'human', value: '', limit: 5000, read_only: false }],
  tools: [...BASE_TOOL_NAMES],
  tags: [],
});

/** A turn whose step 1 asked for these tool calls. */
async function turnWithCalls(calls: { name: string; args: object }[]): Promise<{ turnId: string; ids: string[] }> {
  const turnId = newId(IdPrefix.Message);
  await insertPendingUserMessage(db, { id: turnId, agentId: agent.id, text: 'remember', tokens: 5 });
  await sequenceUserMessage(db, agent.id, turnId);
  const ids = calls.map((_, i) => `call_${turnId}_${i}`);
  await insertMessageOnce(db, {
    agentId: agent.id,
    turnId,
    step: 1,
    idx: 0,
    role: 'assistant',
    toolCalls: calls.map((c, i) => ({ id: ids[i]!, name: c.name, arguments: JSON.stringify(c.args) })),
    tokens: 10,
    sequenced: true,
  });
  return { turnId, ids };
}

const run = (turnId: string, toolCallId: string, index = 1) =>
  new MockActivityEnvironment().run(activities.runTool, { agentId: agent.id, turnId, step: 1, index, toolCallId });

async function human(): Promise<string> {
  return (await getBlocks(db, agent.id)).find((b) => b.label === 'human')!.value;
}

test('a retried memory edit applies once and returns the first result', async () => {
  const { turnId, ids } = await turnWithCalls([{ name: 'core_memory_append', args: { label: 'human', content: 'Likes tea.' } }]);
  const first = await run(turnId, ids[0]!);
  const second = await run(turnId, ids[0]!);
  assert.deepEqual(second, first);
  assert.equal(await human(), 'Likes tea.');
});

test('two attempts at the same time: one edit, one tool return', async () => {
  const { turnId, ids } = await turnWithCalls([{ name: 'core_memory_append', args: { label: 'human', content: 'Owns a cat.' } }]);
  const [a, b] = await Promise.all([run(turnId, ids[0]!), run(turnId, ids[0]!)]);
  assert.deepEqual(a, b);
  assert.equal(await human(), 'Likes tea.\nOwns a cat.');
  const { rows } = await db.query('SELECT 1 FROM messages WHERE turn_id = $1 AND role = $2', [turnId, 'tool']);
  assert.equal(rows.length, 1);
});

test('a retried archival insert stores one passage', async () => {
  const { turnId, ids } = await turnWithCalls([{ name: 'archival_memory_insert', args: { content: 'The cat is called Miso.' } }]);
  await Promise.all([run(turnId, ids[0]!), run(turnId, ids[0]!)]);
  await run(turnId, ids[0]!);
  const { rows } = await db.query('SELECT text FROM passages WHERE agent_id = $1', [agent.id]);
  assert.deepEqual(rows, [{ text: 'The cat is called Miso.' }]);
});
