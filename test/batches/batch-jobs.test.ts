/**
 * Batch jobs on the real stack: one message over 50 agents with bounded concurrency where two
 * agents fail, a repeated job that asks nobody twice, continue-as-new with small pages, and bad
 * input that starts nothing — as the SDK and `memloom batch` show them. The `memloom` commands
 * run in this process (the same program as `bin/memloom.js`, without a process start each).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchDetails } from '../../src/client/batches.ts';
import type { ChatRequest } from '../../src/dev/scripted-model-server.ts';
import { ValidationError } from '../../src/domain/errors.ts';
import { parsed, runCliInProcess } from '../helpers/cli.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, model, db } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);
const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };
const memloom = (...args: string[]) => runCliInProcess(ENV, args);

function systemOf(request: ChatRequest): string {
  return String(request.messages[0]?.content ?? '');
}

/** The `AGENT:<name>` marker of the agent a request is for. */
function agentOf(request: ChatRequest): string {
  return /AGENT:(\S+)/.exec(systemOf(request))?.[1] ?? '?';
}

async function createAgents(prefix: string, n: number, tag: string, system: (i: number) => string = () => 'You answer briefly.'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-${String(i).padStart(2, '0')}`;
    await client.createAgent({ name, system: `${system(i)} AGENT:${name}`, tags: [tag] });
  }
}

async function jobRows(): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM batch_jobs');
  return rows[0]!.n;
}

test('50 agents, concurrency 5, two fail with a 401: the job completes with 48 answered and 2 failed; a repeat asks nobody again', async () => {
  await createAgents('fleet', 50, 'fleet', (i) => (i === 7 || i === 31 ? 'ROLE:denied. You answer briefly.' : 'You answer briefly.'));
  let inFlight = 0;
  let maxInFlight = 0;
  const asked = new Map<string, number>();
  model.setResponder(async (request) => {
    asked.set(agentOf(request), (asked.get(agentOf(request)) ?? 0) + 1);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await sleep(60);
    inFlight--;
    if (systemOf(request).includes('ROLE:denied')) return { kind: 'error', status: 401 };
    return { kind: 'reply', content: `noted (${agentOf(request)})` };
  });

  const job = await client.startBatch({ prompt: 'Summarize your week.', tag: 'fleet', concurrency: 5, batchId: 'fleet-week' });
  assert.equal(job.workflowId, 'batch/fleet-week');
  const result = await job.result();
  assert.deepEqual(result.counts, { selected: 50, answered: 48, failed: 2 });
  assert.ok(maxInFlight <= 5, `at most 5 model requests in flight, saw ${maxInFlight}`);
  assert.ok(maxInFlight >= 2, `requests ran side by side, saw ${maxInFlight}`);
  assert.equal(asked.size, 50);
  assert.deepEqual([...asked.values()].filter((n) => n !== 1), [], 'each agent was asked once');

  const details = await job.describe();
  assert.equal(details.status, 'COMPLETED');
  assert.deepEqual(details.counts, { selected: 50, answered: 48, failed: 2, queued: 0, running: 0 });
  // failures first, with their type
  assert.deepEqual(
    details.items
      .slice(0, 2)
      .map((i) => [i.agentName, i.status, i.errorType])
      .sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    [
      ['fleet-07', 'failed', 'AuthFailed'],
      ['fleet-31', 'failed', 'AuthFailed'],
    ],
  );
  assert.ok(details.items.slice(2).every((i) => i.status === 'answered'));
  // the message went through each agent's mailbox, under the item's message id
  const turn = await client.getTurn(details.items[2]!.messageId);
  assert.equal(turn.status, 'completed');

  const shown = await memloom('batch', 'show', 'fleet-week');
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^status: +completed$/m);
  assert.match(shown.stdout, /^counts: +50\/50 done · answered 48 · failed 2/m);
  assert.match(shown.stdout, /outcomes \(failures first\):\n.*AGENT.*\n\s+fleet-(07|31)\s+failed\s+AuthFailed: /);
  const json = parsed<BatchDetails>(await memloom('batch', 'show', 'batch/fleet-week', '--json'));
  assert.equal(json.items.filter((i) => i.status === 'failed').length, 2);

  // the same batch again: every agent is done, nobody is asked, the counts stand
  const requests = model.chatRequests().length;
  const again = await client.runBatch({ prompt: 'Summarize your week.', tag: 'fleet', concurrency: 5, batchId: 'fleet-week' });
  assert.deepEqual(again.counts, { selected: 50, answered: 48, failed: 2 });
  assert.equal(model.chatRequests().length, requests, 'no agent was asked again');
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM turns t JOIN batch_items i ON i.message_id = t.message_id WHERE i.batch_id = 'fleet-week'");
  assert.equal(rows[0]!.n, 50, 'one turn per agent');
  model.setResponder(undefined);
});

test('a job resumed after some agents answered asks only the others', async () => {
  await createAgents('resume', 6, 'resume');
  const first = await client.runBatch({ prompt: 'Hello', agents: ['resume-00', 'resume-01', 'resume-02'], batchId: 'resume-part' });
  assert.deepEqual(first.counts, { selected: 3, answered: 3, failed: 0 });
  // a job over the same agents with another prompt is refused, not mixed
  await assert.rejects(client.startBatch({ prompt: 'Other', agents: ['resume-00', 'resume-01', 'resume-02'], batchId: 'resume-part' }), /exists with another prompt/);
  // mark one agent as not done, as a crash before its answer would leave it
  await db.query("UPDATE batch_items SET status = 'queued' WHERE batch_id = 'resume-part' AND agent_id = (SELECT id FROM agents WHERE name = 'resume-01')");
  const requests = model.chatRequests().length;
  const again = await client.runBatch({ prompt: 'Hello', agents: ['resume-02', 'resume-01', 'resume-00'], batchId: 'resume-part' });
  assert.deepEqual(again.counts, { selected: 3, answered: 3, failed: 0 });
  // resume-01's message id was answered already: its turn's answer is reused, the model is not asked
  assert.equal(model.chatRequests().length, requests);
});

test('continue-as-new with small pages: the job goes on through several runs and completes', async () => {
  await createAgents('paged', 11, 'paged');
  const job = await client.startBatch({ prompt: 'Ping', tag: 'paged', concurrency: 3, batchId: 'paged', pageSize: 2, pagesPerRun: 2 });
  const result = await job.result();
  assert.deepEqual(result.counts, { selected: 11, answered: 11, failed: 0 });
  // 11 agents in pages of 2, two pages a run: 3 runs
  assert.equal(result.runs, 3);
  const names = model.chatRequests().map(agentOf).filter((a) => a.startsWith('paged-'));
  assert.equal(names.length, 11);
  assert.equal(new Set(names).size, 11, 'each agent was asked once');
});

test('bad input: a clear error naming the flag or field, and nothing created', async () => {
  const before = await jobRows();
  const cases: [string[], RegExp][] = [
    [['--prompt', 'hi'], /--agents: choose the agents: give agents, a tag, or all/],
    [['--prompt', 'hi', '--pipeline', 'brief', '--all'], /--pipeline: give one of a built-in job, --prompt and --pipeline: --prompt and --pipeline were both given/],
    [['--all'], /--prompt: is required/],
    [['memory-consolidation', '--prompt', 'hi', '--all'], /--prompt: give one of a built-in job, --prompt and --pipeline/],
    [['sleep-time', '--all'], /<builtin>: must be a built-in job \(memory-consolidation\), got "sleep-time"/],
    [['memory-consolidation', '--all', '--input', 'a=b'], /--input: is for --pipeline/],
    [['--prompt', 'hi', '--tag', 'nobody-has-this'], /--tag: no agent has the tag "nobody-has-this"/],
    [['--prompt', 'hi', '--all', '--concurrency', '0'], /--concurrency: must be at least 1/],
    [['--prompt', 'hi', '--all', '--concurrency', '101'], /--concurrency: must be at most 100/],
    [['--prompt', 'hi', '--all', '--concurrency', 'abc'], /--concurrency: must be an integer/],
    [['--prompt', 'hi', '--all', '--tag', 'fleet'], /--all: choose the agents one way: tag and all were both given/],
    [['--prompt', 'hi', '--agents', 'fleet-00,no-such-agent'], /--agents: no agent "no-such-agent"/],
    [['--prompt', '   ', '--all'], /--prompt: must not be empty/],
  ];
  for (const [args, message] of cases) {
    const run = await memloom('batch', 'run', ...args);
    assert.equal(run.code, 1, `${args.join(' ')}: exit ${run.code}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
  await assert.rejects(client.startBatch({ prompt: 'hi', tag: 'nobody' }), (e: unknown) => e instanceof ValidationError && e.issues[0]?.path === 'tag');
  assert.equal(await jobRows(), before, 'no job was recorded');
  const missing = await memloom('batch', 'show', 'no-such-batch');
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /batch job not found: no-such-batch/);
});
