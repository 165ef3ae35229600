import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack({ startWorker: false });
const { client, model, db } = stack;

async function spawnWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../fixtures/worker-process.ts', import.meta.url))], {
    env: { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue, LLM_API_KEY: 'sk-test' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  assert.match(line.toString(), /ready/);
  return child;
}

test('a worker SIGKILLed during a model call: the turn completes on another worker, every write once', async () => {
  const agent = await client.createAgent({
    name: 'survivor',
    llm_config: stack.llmConfig,
    memory_blocks: [{ label: 'human', value: '' }],
  });
  model.enqueue(
    { kind: 'reply', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Likes durable systems.' } }] },
    // the worker dies while this call is in flight
    { kind: 'reply', content: 'never delivered', delayMs: 60_000 },
    { kind: 'reply', content: 'Noted: you like durable systems.' },
  );

  const first = await spawnWorker();
  const reply = client.userMessage(agent.id, 'I like durable systems.');
  await model.waitForChatRequests(2, 30_000);
  first.kill('SIGKILL');
  await once(first, 'exit');
  const killedAt = Date.now();

  const second = await spawnWorker();
  try {
    const r = await reply;
    const recoveredMs = Date.now() - killedAt;
    console.log(`turn resumed on a new worker ${(recoveredMs / 1000).toFixed(1)} s after the first was killed`);
    assert.deepEqual(
      r.messages.map((m) => m.message_type),
      ['tool_call_message', 'tool_return_message', 'assistant_message'],
    );
    const last = r.messages.at(-1);
    assert.ok(last?.message_type === 'assistant_message');
    assert.equal(last.text, 'Noted: you like durable systems.');

    const blocks = await client.getMemory(agent.id);
    assert.equal(blocks.find((b) => b.label === 'human')?.value, 'Likes durable systems.');
    const { rows } = await db.query<{ role: string; n: number }>(
      'SELECT role, count(*)::int AS n FROM messages WHERE agent_id = $1 GROUP BY role ORDER BY role',
      [agent.id],
    );
    assert.deepEqual(rows, [
      { role: 'assistant', n: 2 },
      { role: 'tool', n: 1 },
      { role: 'user', n: 1 },
    ]);
    assert.equal(model.chatRequests().length, 3);
  } finally {
    second.kill('SIGTERM');
    await once(second, 'exit');
  }
});
