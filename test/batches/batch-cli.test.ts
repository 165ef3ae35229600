/**
 * `memloom batch` as a user drives it on the real stack: `run --wait` prints the counts as they
 * change and then the job; `cancel` stops a job so no further agent is asked; the built-in
 * `memory-consolidation` job has each agent rewrite its core memory from its conversation, with
 * nothing shown in its messages, and skips an agent with nothing new. The commands run in this
 * process (the same program as `bin/memloom.js`, without a process start each).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchDetails } from '../../src/client/batches.ts';
import type { ChatRequest } from '../../src/dev/scripted-model-server.ts';
import { parsed, runCliInProcess } from '../helpers/cli.ts';
import { until } from '../helpers/poll.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, model } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);
const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };
const memloom = (...args: string[]) => runCliInProcess(ENV, args);

/** The `AGENT:<name>` marker of the agent a request is for. */
function agentOf(request: ChatRequest): string {
  return /AGENT:(\S+)/.exec(String(request.messages[0]?.content ?? ''))?.[1] ?? '?';
}

async function createAgents(prefix: string, n: number): Promise<string[]> {
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  for (const name of names) {
    await client.createAgent({
      name,
      system: `You answer briefly. AGENT:${name}`,
      tags: [prefix],
      memory_blocks: [
        { label: 'human', value: 'Name: unknown.' },
        { label: 'persona', value: 'I am a helpful assistant.' },
      ],
    });
  }
  return names;
}


test('batch run --wait: the counts on stderr as they change, then the job on stdout', async () => {
  const prefix = `wait-${randomUUID().slice(0, 6)}`;
  const names = await createAgents(prefix, 3);
  model.setResponder(async (request) => {
    await sleep(300);
    return { kind: 'reply', content: `done (${agentOf(request)})` };
  });
  const run = await memloom('batch', 'run', '--prompt', 'Report.', '--agents', names.join(','), '--concurrency', '1', '--wait', '--json');
  assert.equal(run.code, 0, run.stderr);
  const job = parsed<BatchDetails>(run);
  assert.equal(job.status, 'COMPLETED');
  assert.equal(job.kind, 'prompt');
  assert.deepEqual(job.counts, { selected: 3, answered: 3, failed: 0, queued: 0, running: 0 });
  assert.deepEqual(job.items.map((i) => [i.agentName, i.status]).sort(), names.map((n) => [n, 'answered']));
  assert.equal(run.stderr, '', 'with --json, stderr holds no progress notes');

  const text = await memloom('batch', 'run', '--prompt', 'Again.', '--tag', prefix, '--concurrency', '1', '--wait');
  assert.equal(text.code, 0, text.stderr);
  // progress on stderr: the start, then counts as they change, up to 3/3
  assert.match(text.stderr, /^started batch\//m);
  const counts = text.stderr.split('\n').filter((l) => / done · /.test(l));
  assert.ok(counts.length >= 2, `counts printed as they changed: ${text.stderr}`);
  assert.match(counts.at(-1)!, /^3\/3 done · answered 3 · failed 0 · in flight 0$/);
  assert.match(text.stdout, /^status: +completed$/m);
  assert.match(text.stdout, /^counts: +3\/3 done · answered 3 · failed 0/m);
  model.setResponder(undefined);
});

test('batch cancel: the agent already asked still answers, no further agent is asked, the job ends cancelled', async () => {
  const prefix = `cancel-${randomUUID().slice(0, 6)}`;
  await createAgents(prefix, 5);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const asked: string[] = [];
  model.setResponder(async (request) => {
    asked.push(agentOf(request));
    await gate;
    return { kind: 'reply', content: 'late answer' };
  });
  const started = await memloom('batch', 'run', '--prompt', 'Slow one.', '--tag', prefix, '--concurrency', '1', '--json');
  assert.equal(started.code, 0, started.stderr);
  const { batchId } = parsed<{ batchId: string }>(started);
  await until('the first agent asked', async () => asked.length, (n) => n === 1);

  const cancelled = await memloom('batch', 'cancel', batchId);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  assert.match(cancelled.stdout, new RegExp(`cancelling batch ${batchId}: no further agent is asked`));
  const shown = await until('the job cancelled', async () => parsed<BatchDetails>(await memloom('batch', 'show', batchId, '--json')), (d) => d.status === 'CANCELLED');
  release();
  const first = asked[0]!;
  assert.deepEqual(asked, [first], 'only the first agent was asked');
  assert.deepEqual([shown.counts.answered, shown.counts.queued], [0, 4], 'four agents were never asked');
  const text = await memloom('batch', 'show', batchId);
  assert.match(text.stdout, /^status: +cancelled$/m);
  // the message already with its agent is answered there
  const answered = await until('the first agent answers', () => client.listMessages(first), (m) => m.some((x) => x.message_type === 'assistant_message'));
  assert.ok(answered.some((m) => m.message_type === 'assistant_message' && m.content === 'late answer'));
  assert.deepEqual(asked, [first], 'still only the first agent');

  const again = await memloom('batch', 'cancel', batchId);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /is cancelled: there is nothing to cancel/);
  model.setResponder(undefined);
});

test('memory-consolidation: agents with new messages rewrite their memory, unseen in their messages; one with nothing new is not asked', async () => {
  const prefix = `sleep-${randomUUID().slice(0, 6)}`;
  const names = await createAgents(prefix, 3);
  model.setResponder((request) => ({ kind: 'reply', content: `hello (${agentOf(request)})` }));
  // two agents talk; the third has no message at all
  for (const name of names.slice(0, 2)) await client.userMessage(name, `Hi, I am the user of ${name}.`);

  const asked: string[] = [];
  model.setResponder((request) => {
    asked.push(agentOf(request));
    const last = request.messages.at(-1)!;
    if (last['role'] === 'tool') return { kind: 'reply', content: 'Updated human.' };
    assert.match(String(last['content']), /^\[memory consolidation\]/);
    return {
      kind: 'reply',
      toolCalls: [{ name: 'core_memory_replace', arguments: { label: 'human', old_content: 'Name: unknown.', new_content: `Name: the user of ${agentOf(request)}.` } }],
    };
  });
  const run = await memloom('batch', 'run', 'memory-consolidation', '--tag', prefix, '--wait', '--json');
  assert.equal(run.code, 0, run.stderr);
  const job = parsed<BatchDetails>(run);
  assert.equal(job.kind, 'memory-consolidation');
  assert.equal(job.prompt, null);
  assert.deepEqual(job.counts, { selected: 3, answered: 3, failed: 0, queued: 0, running: 0 });
  assert.deepEqual([...new Set(asked)].sort(), names.slice(0, 2), 'the agent with nothing new was not asked');

  for (const name of names.slice(0, 2)) {
    const human = (await client.getMemory(name)).find((b) => b.label === 'human');
    assert.equal(human?.value, `Name: the user of ${name}.`);
    // the user sees their conversation only
    const shown = (await client.listMessages(name)).map((m) => m.message_type);
    assert.deepEqual(shown, ['user_message', 'assistant_message']);
  }
  assert.equal((await client.getMemory(names[2]!)).find((b) => b.label === 'human')?.value, 'Name: unknown.');

  const text = await memloom('batch', 'show', job.batchId);
  assert.match(text.stdout, /^job: +memory-consolidation$/m);

  // again at once: nothing new anywhere, nobody is asked
  const before = asked.length;
  const again = parsed<BatchDetails>(await memloom('batch', 'run', 'memory-consolidation', '--tag', prefix, '--wait', '--json'));
  assert.deepEqual(again.counts, { selected: 3, answered: 3, failed: 0, queued: 0, running: 0 });
  assert.equal(asked.length, before);
  model.setResponder(undefined);
});
