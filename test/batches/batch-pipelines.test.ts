/**
 * Batch jobs of pipelines on the real stack: a user pipeline run once per agent as a child
 * workflow, one agent's run failing with StageFailed, a repeated job that starts no run twice,
 * and a pipeline that does not exist — as the SDK and `memloom batch` show them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatRequest } from '../../src/dev/scripted-model-server.ts';
import { ValidationError } from '../../src/domain/errors.ts';
import pipelines from '../fixtures/batch-pipelines.ts';
import { runCli } from '../helpers/cli.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack({ startWorker: false });
const { client, model, db } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);
const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };

// a worker with the fixture pipeline (`ask-agent`), as `memloom worker --pipelines` runs one
await stack.startWorker({ pipelines });

function systemOf(request: ChatRequest): string {
  return String(request.messages[0]?.content ?? '');
}

/** The `AGENT:<name>` marker of the agent a request is for. */
function agentOf(request: ChatRequest): string {
  return /AGENT:(\S+)/.exec(systemOf(request))?.[1] ?? '?';
}

async function jobRows(): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM batch_jobs');
  return rows[0]!.n;
}

async function pipelineRunIds(): Promise<string[]> {
  const { rows } = await db.query<{ workflow_id: string }>("SELECT workflow_id FROM pipeline_runs WHERE name = 'ask-agent' ORDER BY workflow_id");
  return rows.map((r) => r.workflow_id);
}

test('a pipeline over 4 agents, one failing with a 401: 3 answered, 1 failed with StageFailed; a repeat starts no run again', async () => {
  const ids = new Map<string, string>();
  for (const name of ['crew-a', 'crew-b', 'crew-c', 'crew-d']) {
    const system = name === 'crew-c' ? 'ROLE:denied. You answer briefly.' : 'You answer briefly.';
    const agent = await client.createAgent({ name, system: `${system} AGENT:${name}`, tags: ['crew'] });
    ids.set(name, agent.id);
  }
  model.setResponder((request) => {
    if (systemOf(request).includes('ROLE:denied')) return { kind: 'error', status: 401 };
    return { kind: 'reply', content: `all good (${agentOf(request)})` };
  });

  const job = await client.startBatch({ pipeline: 'ask-agent', input: { question: 'How was your week?' }, tag: 'crew', concurrency: 2, batchId: 'crew-week' });
  const result = await job.result();
  assert.deepEqual(result.counts, { selected: 4, answered: 3, failed: 1 });

  // each agent was asked the pipeline's question once, by its own run
  const asked = model.chatRequests().filter((r) => agentOf(r).startsWith('crew-'));
  assert.deepEqual(asked.map(agentOf).sort(), ['crew-a', 'crew-b', 'crew-c', 'crew-d']);
  assert.ok(asked.every((r) => JSON.stringify(r.messages).includes('How was your week?')));

  const details = await job.describe();
  assert.equal(details.status, 'COMPLETED');
  assert.deepEqual(details.pipeline, { name: 'ask-agent', input: { question: 'How was your week?' } });
  assert.equal(details.prompt, null);
  assert.deepEqual(
    details.items.map((i) => [i.agentName, i.status, i.errorType]),
    [['crew-c', 'failed', 'StageFailed'], ...['crew-a', 'crew-b', 'crew-d'].map((n) => [n, 'answered', null]).sort((x, y) => ids.get(x[0]!)!.localeCompare(ids.get(y[0]!)!))],
  );
  assert.match(details.items[0]!.errorMessage ?? '', /stage ask failed: agent crew-c answered AuthFailed/);

  // each agent's run is the child workflow pipeline/ask-agent/<batchId>-<agentId>, with its agent in the input
  const runIds = [...ids.values()].map((id) => `pipeline/ask-agent/crew-week-${id}`).sort();
  assert.deepEqual(await pipelineRunIds(), runIds);
  const answered = await client.getPipelineRun(`pipeline/ask-agent/crew-week-${ids.get('crew-a')!}`);
  assert.deepEqual(await answered.result(), { workflowId: answered.workflowId, name: 'ask-agent', output: 'all good (crew-a)' });
  assert.deepEqual((await answered.describe()).input, { question: 'How was your week?', agent: ids.get('crew-a') });
  const failed = await client.getPipelineRun(`pipeline/ask-agent/crew-week-${ids.get('crew-c')!}`);
  assert.equal((await failed.describe()).status, 'FAILED');
  // the runs carry the Pipeline search attribute: `memloom pipeline runs --name ask-agent` lists them
  const listed = await client.pipelineRuns({ name: 'ask-agent' });
  assert.deepEqual(listed.map((r) => r.workflowId).sort(), runIds);

  const shown = await runCli(ENV, ['batch', 'show', 'crew-week']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^pipeline: +ask-agent$/m);
  assert.match(shown.stdout, /^counts: +4\/4 done · answered 3 · failed 1/m);
  assert.match(shown.stdout, /crew-c\s+failed\s+StageFailed: /);

  // the same batch again: every agent is done, no run is started, nobody is asked
  const requests = model.chatRequests().length;
  const again = await client.runBatch({ pipeline: 'ask-agent', input: { question: 'How was your week?' }, tag: 'crew', concurrency: 2, batchId: 'crew-week' });
  assert.deepEqual(again.counts, { selected: 4, answered: 3, failed: 1 });
  assert.equal(model.chatRequests().length, requests, 'no agent was asked again');

  // an agent whose outcome was not stored (a crash after its run started): its run is found and awaited, not started again
  await db.query("UPDATE batch_items SET status = 'running' WHERE batch_id = 'crew-week' AND agent_id = $1", [ids.get('crew-b')]);
  const resumed = await client.runBatch({ pipeline: 'ask-agent', input: { question: 'How was your week?' }, tag: 'crew', concurrency: 2, batchId: 'crew-week' });
  assert.deepEqual(resumed.counts, { selected: 4, answered: 3, failed: 1 });
  assert.equal(model.chatRequests().length, requests, 'no agent was asked again');
  assert.deepEqual(await pipelineRunIds(), runIds, 'no new run');
  const runs = await client.pipelineRuns({ name: 'ask-agent' });
  assert.equal(runs.length, 4, 'no new child workflow');

  // a job with another input under the same id is refused, not mixed
  await assert.rejects(client.startBatch({ pipeline: 'ask-agent', input: { question: 'Other?' }, tag: 'crew', batchId: 'crew-week' }), /exists with another pipeline or input/);
  model.setResponder(undefined);
});

test('bad input: an unknown pipeline, a bad built-in input, an agent field: a clear error and nothing created', async () => {
  await client.createAgent({ name: 'lonely', system: 'You answer briefly. AGENT:lonely', tags: ['lonely'] });
  const before = await jobRows();
  await assert.rejects(
    client.startBatch({ pipeline: 'no-such-pipeline', tag: 'lonely' }),
    (e: unknown) => e instanceof ValidationError && e.issues[0]?.path === 'pipeline' && /no pipeline named "no-such-pipeline"/.test(e.issues[0].message),
  );
  await assert.rejects(client.startBatch({ pipeline: 'research-and-write', input: { topic: '' }, tag: 'lonely' }), (e: unknown) => e instanceof ValidationError && e.issues[0]?.path === 'input.topic');
  await assert.rejects(client.startBatch({ pipeline: 'ask-agent', input: { question: 'Hi', agent: 'x' }, tag: 'lonely' }), (e: unknown) => e instanceof ValidationError && e.issues[0]?.path === 'input');
  await assert.rejects(client.startBatch({ prompt: 'Hi', input: { question: 'Hi' }, tag: 'lonely' }), (e: unknown) => e instanceof ValidationError && e.issues[0]?.path === 'input');

  const cases: [string[], RegExp][] = [
    [['--pipeline', 'no-such-pipeline', '--all'], /--pipeline: no pipeline named "no-such-pipeline"/],
    [['--pipeline', 'research-and-write', '--input', 'topic=', '--all'], /--input topic: must not be empty/],
    [['--prompt', 'hi', '--input', 'question=hi', '--all'], /--input: is for --pipeline/],
  ];
  const runs = await Promise.all(cases.map(([args]) => runCli(ENV, ['batch', 'run', ...args])));
  runs.forEach((run, i) => {
    assert.equal(run.code, 1, `${cases[i]![0].join(' ')}: exit ${run.code}: ${run.stderr}`);
    assert.match(run.stderr, cases[i]![1]);
  });
  assert.equal(await jobRows(), before, 'no job was recorded');
});
