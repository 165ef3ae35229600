/**
 * A memory edit is applied once however often its activity runs: retried after it committed,
 * or run twice at the same time (a heartbeat timeout while the first attempt still works).
 * An attempt that lost its turn writes nothing (fencing).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities/index.ts';
import { createLogger } from '../../src/config/logger.ts';
import { getBlocks, insertAgent } from '../../src/db/agent-store.ts';
import { insertMessageOnce } from '../../src/db/message-store.ts';
import { withTransaction } from '../../src/db/pool.ts';
import { admitTurn, claimTurn, finishTurn, findTurn } from '../../src/db/turn-store.ts';
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
async function turnWithCalls(
  calls: { name: string; args: object; id?: string }[],
): Promise<{ turnId: string; ids: string[] }> {
  const turnId = newId(IdPrefix.Message);
  await withTransaction(db, async (tx) => {
    await admitTurn(tx, { messageId: turnId, agentId: agent.id, text: 'remember', tokens: 5, maxSteps: 10 });
    await claimTurn(tx, agent.id, turnId, 1);
  });
  const ids = calls.map((c, i) => c.id ?? `call_${turnId}_${i}`);
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

const run = (turnId: string, index = 1) =>
  new MockActivityEnvironment().run(activities.runTool, { agentId: agent.id, turnId, attempt: 1, step: 1, index });

async function human(): Promise<string> {
  return (await getBlocks(db, agent.id)).find((b) => b.label === 'human')!.value;
}

test('a retried memory edit applies once and returns the first result', async () => {
  const { turnId } = await turnWithCalls([{ name: 'core_memory_append', args: { label: 'human', content: 'Likes tea.' } }]);
  const first = await run(turnId);
  const second = await run(turnId);
  assert.deepEqual(second, first);
  assert.equal(await human(), 'Likes tea.');
});

test('two attempts at the same time: one edit, one tool return', async () => {
  const { turnId } = await turnWithCalls([{ name: 'core_memory_append', args: { label: 'human', content: 'Owns a cat.' } }]);
  const [a, b] = await Promise.all([run(turnId), run(turnId)]);
  assert.deepEqual(a, b);
  assert.equal(await human(), 'Likes tea.\nOwns a cat.');
  const { rows } = await db.query('SELECT 1 FROM messages WHERE turn_id = $1 AND role = $2', [turnId, 'tool']);
  assert.equal(rows.length, 1);
});

test('a retried archival insert stores one passage', async () => {
  const { turnId } = await turnWithCalls([{ name: 'archival_memory_insert', args: { content: 'The cat is called Miso.' } }]);
  await Promise.all([run(turnId), run(turnId)]);
  await run(turnId);
  const { rows } = await db.query('SELECT text FROM passages WHERE agent_id = $1', [agent.id]);
  assert.deepEqual(rows, [{ text: 'The cat is called Miso.' }]);
});

test('a tool attempt whose turn has failed meanwhile writes nothing: no edit, no tool return', async () => {
  const { turnId } = await turnWithCalls([{ name: 'core_memory_append', args: { label: 'human', content: 'Too late.' } }]);
  const before = await human();
  await withTransaction(db, (tx) =>
    finishTurn(tx, {
      agentId: agent.id,
      messageId: turnId,
      attempt: 1,
      outcome: { status: 'failed', stepCount: 1, usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }, errorType: 'Timeout', errorMessage: 'gave up' },
    }),
  );
  await assert.rejects(run(turnId), (e: Error) => e.name === 'ApplicationFailure' && /no longer owns the turn/.test(e.message));
  assert.equal(await human(), before);
  const { rows } = await db.query('SELECT 1 FROM messages WHERE turn_id = $1 AND role = $2', [turnId, 'tool']);
  assert.equal(rows.length, 0);
  assert.equal((await findTurn(db, turnId))?.status, 'failed');
});

test('tool calls are addressed by position: two calls with the same id both run, each once', async () => {
  const { turnId } = await turnWithCalls([
    { name: 'archival_memory_insert', args: { content: 'First of twins.' }, id: 'call_0' },
    { name: 'archival_memory_insert', args: { content: 'Second of twins.' }, id: 'call_0' },
  ]);
  await run(turnId, 1);
  await run(turnId, 2);
  await run(turnId, 2);
  const { rows } = await db.query<{ text: string }>(
    "SELECT text FROM passages WHERE agent_id = $1 AND text LIKE '%of twins.' ORDER BY created_at",
    [agent.id],
  );
  assert.deepEqual(rows.map((r) => r.text), ['First of twins.', 'Second of twins.']);
});
