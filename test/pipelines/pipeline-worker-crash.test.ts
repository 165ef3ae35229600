/** A worker SIGKILLed in the middle of a pipeline stage: the run completes on another, each stage asked once. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack({ startWorker: false });
const { client, model, db } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);

async function spawnWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../fixtures/pipeline-worker-process.ts', import.meta.url))], {
    env: { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue, LLM_API_KEY: 'sk-test' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  assert.match(line.toString(), /ready/);
  return child;
}

test('a worker SIGKILLed mid-stage: the run completes on another worker, each stage message answered once', async () => {
  model.setResponder((request, { callIndex }) => {
    const system = String(request.messages[0]?.content ?? '');
    if (system.includes('ROLE:brief-research')) {
      // the first worker dies while this call is in flight
      return callIndex === 0 ? { kind: 'reply', content: 'never delivered', delayMs: 60_000 } : { kind: 'reply', content: 'NOTES on crashes' };
    }
    return { kind: 'reply', content: 'BRIEF on crashes' };
  });
  const first = await spawnWorker();
  const run = await client.startPipeline('brief', { topic: 'crashes' });
  await model.waitForChatRequests(1, 30_000);
  first.kill('SIGKILL');
  await once(first, 'exit');

  const second = await spawnWorker();
  try {
    const { output } = await run.result();
    assert.equal(output, 'BRIEF on crashes');
    const details = await run.describe();
    assert.equal(details.status, 'COMPLETED');
    assert.deepEqual(details.stages.map((s) => [s.stage, s.agentName, s.status, s.output]), [
      ['research', 'brief-researcher', 'completed', 'NOTES on crashes'],
      ['write', 'brief-writer', 'completed', 'BRIEF on crashes'],
    ]);
    // each agent got its stage's message once and answered it once
    const { rows } = await db.query<{ name: string; role: string; n: number }>(
      `SELECT a.name, m.role, count(*)::int AS n FROM messages m JOIN agents a ON a.id = m.agent_id
       WHERE m.role IN ('user', 'assistant') GROUP BY a.name, m.role ORDER BY a.name, m.role`,
    );
    assert.deepEqual(rows, [
      { name: 'brief-researcher', role: 'assistant', n: 1 },
      { name: 'brief-researcher', role: 'user', n: 1 },
      { name: 'brief-writer', role: 'assistant', n: 1 },
      { name: 'brief-writer', role: 'user', n: 1 },
    ]);
    const turns = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM turns');
    assert.equal(turns.rows[0]!.n, 2);
  } finally {
    model.setResponder(undefined);
    second.kill('SIGTERM');
    await once(second, 'exit');
  }
});
