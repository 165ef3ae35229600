/**
 * A dropped Postgres connection (pg_terminate_backend, a failover) never fails a send: the
 * client and the activities retry the steps that are safe to retry, and every message is
 * stored and answered once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { describeProgress } from '../../src/client/turn-progress.ts';
import { ADMIN_DATABASE_URL, startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, model } = stack;

async function terminateConnections(): Promise<number> {
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ pid: number }>(
      'SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [new URL(stack.databaseUrl).pathname.slice(1)],
    );
    return rows.length;
  } finally {
    await admin.end();
  }
}

test('sends go on while every connection to the database is terminated, again and again', async () => {
  const agent = await client.createAgent({ name: 'survivor', llm_config: stack.llmConfig, memory_blocks: [{ label: 'human', value: '' }] });
  model.setResponder((req) => {
    const last = [...req.messages].reverse().find((m) => m.role === 'user') as { content: string } | undefined;
    return { kind: 'reply', content: `re: ${last?.content ?? ''}`, delayMs: 30 };
  });
  try {
    let stop = false;
    let killed = 0;
    const killer = (async () => {
      while (!stop) {
        await sleep(150);
        killed += await terminateConnections();
      }
    })();
    const texts = Array.from({ length: 12 }, (_, i) => `survive ${i}`);
    const answers = [];
    for (const text of texts) answers.push(await client.userMessage(agent.id, text));
    stop = true;
    await killer;
    // the test's own check below runs on a pool whose idle connections were just killed
    await sleep(500);
    assert.ok(killed > 0, 'connections were terminated during the sends');
    assert.deepEqual(
      answers.map((a) => {
        const last = a.messages.at(-1);
        return last?.message_type === 'assistant_message' ? last.content : '';
      }),
      texts.map((t) => `re: ${t}`),
    );
    const { rows } = await stack.db.query<{ role: string; n: number }>(
      'SELECT role, count(*)::int AS n FROM messages WHERE agent_id = $1 GROUP BY role ORDER BY role',
      [agent.id],
    );
    assert.deepEqual(rows, [
      { role: 'assistant', n: texts.length },
      { role: 'user', n: texts.length },
    ]);
  } finally {
    model.setResponder(undefined);
  }
});

test('the waiting note says what the turn is doing', () => {
  const status = {
    agentId: 'agent-x',
    state: 'thinking' as const,
    currentMessageId: 'message-1',
    currentStep: 1,
    queuedTurns: 0,
    turnsCompleted: 3,
    turnsFailed: 0,
    closing: false,
  };
  const step = {
    name: 'model call',
    attempt: 3,
    maximumAttempts: 6,
    started: false,
    lastFailureType: 'RateLimited',
    lastFailureMessage: '429',
    nextAttemptInMs: 3600,
    runningForMs: undefined,
  };
  const base = { messageId: 'message-1', status, pending: [step], hasWorkers: true, taskQueue: 'memloom' };
  assert.equal(describeProgress(base), 'model call failing: RateLimited, attempt 3 of 6, next in 4 s (step 1)');
  assert.equal(
    describeProgress({ ...base, hasWorkers: false }),
    'no worker is polling task queue "memloom": start one with `memloom worker` (or `memloom dev`)',
  );
  assert.equal(
    describeProgress({ ...base, status: { ...status, currentMessageId: 'message-0', queuedTurns: 2 } }),
    'queued: the agent is working on another turn (thinking); 2 turn(s) queued',
  );
  assert.equal(
    describeProgress({ ...base, pending: [{ ...step, attempt: 1, lastFailureType: undefined, started: true, runningForMs: 21_000 }] }),
    'model call running for 21 s (step 1)',
  );
});

test('turnProgress reads a retrying model call from Temporal while the sender waits', async () => {
  const agent = await client.createAgent({ name: 'patient', llm_config: stack.llmConfig });
  model.enqueue({ kind: 'error', status: 429, retryAfter: 4 }, { kind: 'reply', content: 'finally' });
  const messageId = `message-${crypto.randomUUID()}`;
  const answer = client.userMessage(agent.id, 'hello', { messageId });
  let note = '';
  for (let i = 0; i < 40 && !/failing/.test(note); i++) {
    await sleep(100);
    note = await client.turnProgress(messageId);
  }
  assert.match(note, /^model call failing: RateLimited, attempt 2 of 6, next in [1-4] s \(step 1\)$/);
  await answer;
  assert.equal(await client.turnProgress(messageId), 'turn completed');
});
