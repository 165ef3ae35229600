/**
 * Schedules whose action is a batch job (`memloom schedule create ID --every 2s --batch --prompt
 * ... --tag T --max-runs 2`): each run is the job `batch/<id>-<time>`, recorded by the workflow
 * itself, shown by `memloom batch show`; the action round-trips through `schedule show` and
 * `update`; bad batch flags are errors naming the flag, and create nothing. The commands run
 * in this process (the same program as `bin/memloom.js`, without a process start each).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { BatchDetails } from '../../src/client/batches.ts';
import type { ScheduleDetails } from '../../src/client/schedules.ts';
import { NotFoundError } from '../../src/domain/errors.ts';
import { errorOf, parsed, runCliInProcess } from '../helpers/cli.ts';
import { until } from '../helpers/poll.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, model } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);
const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };
const memloom = (...args: string[]) => runCliInProcess(ENV, args);

test('a schedule of batch jobs: two runs, each a job over the tagged agents, shown by batch show; then the action changes', async () => {
  const tag = `sched-${randomUUID().slice(0, 6)}`;
  const names = [`${tag}-a`, `${tag}-b`];
  for (const name of names) await client.createAgent({ name, system: `You answer briefly. AGENT:${name}`, tags: [tag] });
  model.setResponder((request) => ({ kind: 'reply', content: `status ok (${/AGENT:(\S+)/.exec(String(request.messages[0]?.content))?.[1]})` }));

  const id = `sb-${randomUUID().slice(0, 8)}`;
  const created = parsed<ScheduleDetails>(await memloom('schedule', 'create', id, '--every', '2s', '--batch', '--prompt', 'Status?', '--tag', tag, '--concurrency', '2', '--max-runs', '2', '--json'));
  assert.deepEqual(created.action, { type: 'batch', prompt: 'Status?', tag, concurrency: 2, maxSteps: 10 });
  assert.equal(created.remainingRuns, 2);

  const shown = await memloom('schedule', 'show', id);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`^action: +batch: prompt "Status\\?" for tag ${tag}$`, 'm'));

  // two runs, then no more: the schedule had two
  const done = await until('two runs started', () => client.getSchedule(id), (s) => s.recentRuns.length >= 2 && s.runningRuns.length === 0);
  assert.equal(done.remainingRuns, 0);
  const runs = done.recentRuns.map((r) => r.workflowId);
  for (const workflowId of runs) assert.match(workflowId, new RegExp(`^batch/${id}-\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z$`));
  for (const workflowId of runs) {
    const batchId = workflowId.slice('batch/'.length);
    const job = parsed<BatchDetails>(await memloom('batch', 'show', batchId, '--json'));
    assert.equal(job.status, 'COMPLETED');
    assert.equal(job.kind, 'prompt');
    assert.equal(job.prompt, 'Status?');
    assert.deepEqual(job.counts, { selected: 2, answered: 2, failed: 0, queued: 0, running: 0 });
  }
  // each agent got the prompt once per run, through its own mailbox
  for (const name of names) {
    const sent = (await client.listMessages(name)).filter((m) => m.message_type === 'user_message');
    assert.equal(sent.length, 2, `${name} got the prompt once per run`);
  }

  // the action changes: the built-in job, same agents; then other agents
  const updated = parsed<ScheduleDetails>(await memloom('schedule', 'update', id, '--batch', 'memory-consolidation', '--json'));
  assert.deepEqual(updated.action, { type: 'batch', builtin: 'memory-consolidation', tag, concurrency: 2, maxSteps: 10 });
  const agents = parsed<ScheduleDetails>(await memloom('schedule', 'update', id, '--agents', names[0]!, '--json'));
  const agentId = (await client.getAgent(names[0]!)).id;
  assert.deepEqual(agents.action, { type: 'batch', builtin: 'memory-consolidation', agents: [agentId], concurrency: 2, maxSteps: 10 });

  assert.equal((await memloom('schedule', 'delete', id)).code, 0);
  await assert.rejects(client.getSchedule(id), NotFoundError);
  model.setResponder(undefined);
});

test('a batch action from the SDK: agents by name are stored as ids; a tag or all is read at each run', async () => {
  const name = `sdk-${randomUUID().slice(0, 6)}`;
  const agent = await client.createAgent({ name, system: 'You answer briefly.' });
  const id = `sdk-${randomUUID().slice(0, 8)}`;
  const created = await client.createSchedule(id, {
    cron: '0 4 * * *',
    paused: true,
    action: { type: 'batch', prompt: 'Good morning', agents: [name] },
  });
  assert.deepEqual(created.action, { type: 'batch', prompt: 'Good morning', agents: [agent.id], concurrency: 4, maxSteps: 10 });
  const all = await client.updateSchedule(id, { action: { type: 'batch', all: true } });
  assert.deepEqual(all.action, { type: 'batch', prompt: 'Good morning', all: true, concurrency: 4, maxSteps: 10 });
  await client.deleteSchedule(id);
});

test('bad batch flags: an error naming each flag, exit 1, and no schedule', async () => {
  const id = `badb-${randomUUID().slice(0, 8)}`;
  const cases: [string[], string, RegExp][] = [
    [['--every', '1h', '--batch', '--prompt', 'hi', '--agents', 'no-such-agent'], '--agents', /no agent "no-such-agent"/],
    [['--every', '1h', '--batch', 'sleep-time', '--all'], '--batch', /must be a built-in job \(memory-consolidation\)/],
    [['--every', '1h', '--batch', '--all'], '--prompt', /is required/],
    [['--every', '1h', '--batch', '--prompt', 'hi'], '--agents', /choose the agents/],
    [['--every', '1h', '--batch', '--prompt', 'hi', '--tag', 'nobody-has-this'], '--tag', /no agent has the tag "nobody-has-this"/],
    [['--every', '1h', '--batch', '--prompt', 'hi', '--all', '--concurrency', '500'], '--concurrency', /at most 100/],
    [['--every', '1h', '--batch', '--prompt', 'hi', '--all', '--max-budget', '1'], '--max-budget', /is for a pipeline schedule/],
    [['--every', '1h', '--batch', 'memory-consolidation', '--prompt', 'hi', '--all'], '--batch', /give one of prompt, pipeline and builtin/],
  ];
  for (const [flags, flag, message] of cases) {
    const run = await memloom('schedule', 'create', id, ...flags, '--json');
    assert.equal(run.code, 1, `${flags.join(' ')}: ${run.stderr}`);
    const error = errorOf(run);
    const issue = error.issues?.find((x) => x.path === flag);
    assert.ok(issue, `${flags.join(' ')}: no issue at ${flag} in ${JSON.stringify(error)}`);
    assert.match(issue.message, message);
  }
  await assert.rejects(client.getSchedule(id), NotFoundError);
});
