/**
 * Schedules live in Temporal, not in a worker: while the only worker of a task queue is down the
 * schedule keeps starting runs, which wait on the task queue and complete once a new worker
 * starts; and a schedule on a Temporal server persisted to SQLite is still there after the server
 * restarts (`getSchedule`, `memloom schedule list`) and starts runs again that complete.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RestartableTemporal } from '../../bench/chaos/infra.ts';
import type { MemloomClient } from '../../src/client/memloom-client.ts';
import type { ScheduleDetails } from '../../src/client/schedules.ts';
import { runCli } from '../helpers/cli.ts';
import { until } from '../helpers/poll.ts';
import { startTestStack } from '../helpers/stack.ts';

const PIPELINE = 'research-and-write';
const uniqueId = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const action = (topic: string) => ({ type: 'pipeline' as const, name: PIPELINE, input: { topic } });
const reply = (content: string) => () => ({ kind: 'reply' as const, content });


/** Temporal's status of a run (RUNNING, COMPLETED, ...), without asking a worker. */
async function statusOf(client: MemloomClient, workflowId: string): Promise<string> {
  return (await client.temporal.workflow.getHandle(workflowId).describe()).status.name;
}

/** Workflow ids of the runs schedule `id` started, from Temporal visibility. */
async function runsOf(client: MemloomClient, id: string): Promise<string[]> {
  const runs = await client.pipelineRuns({ name: PIPELINE, limit: 1000 });
  return runs.map((r) => r.workflowId).filter((w) => w.startsWith(`pipeline/${PIPELINE}/${id}-`));
}

/**
 * Pauses the schedule, waits until every run it started has completed, and deletes it. The runs
 * are found in visibility: a schedule does not follow the runs of `allow-all` (its `runningRuns`
 * stays empty), and its recent runs are only the last ten.
 */
async function stopSchedule(client: MemloomClient, id: string): Promise<ScheduleDetails> {
  await client.pauseSchedule(id, 'test over');
  const { schedule, runs } = await until(
    'every run in visibility',
    async () => ({ schedule: await client.getSchedule(id), runs: await runsOf(client, id) }),
    ({ schedule, runs }) => schedule.paused && runs.length === schedule.actionsTaken,
  );
  for (const workflowId of runs) await (await client.getPipelineRun(workflowId)).result();
  await client.deleteSchedule(id);
  return schedule;
}

test('worker restart: with no worker the schedule still starts a run every 2 s; the runs wait on the task queue and complete once a new worker starts', async () => {
  const stack = await startTestStack();
  const { client, model } = stack;
  await client.setDefaultLlmConfig(stack.llmConfig);
  model.setResponder(reply('written anyway'));
  const id = uniqueId('outage');
  // allow-all: every due run starts, so runs pile up on the task queue while no worker takes them.
  // Created paused, with one run triggered, so the worker stops with no run in flight (a run it
  // leaves mid-stage is another test's subject: test/pipelines/pipeline-worker-crash.test.ts)
  await client.createSchedule(id, { every: '2s', overlap: 'allow-all', paused: true, action: action('outage') });
  await client.triggerSchedule(id);
  const first = await until('the triggered run', () => client.getSchedule(id), (s) => s.recentRuns.length === 1);
  assert.deepEqual((await (await client.getPipelineRun(first.recentRuns[0]!.workflowId)).result()).output, { notes: ['written anyway'], article: 'written anyway' });

  await stack.worker!.shutdown();
  const down = await client.unpauseSchedule(id, 'running with no worker');
  const outage = await until('two runs taken with no worker', () => client.getSchedule(id), (s) => s.actionsTaken >= down.actionsTaken + 2);
  const waiting = outage.recentRuns.map((r) => r.workflowId).filter((w) => w !== first.recentRuns[0]!.workflowId);
  assert.ok(waiting.length >= 2, `runs taken during the outage: ${JSON.stringify(outage.recentRuns)}`);
  for (const workflowId of waiting) {
    assert.equal(await statusOf(client, workflowId), 'RUNNING', `${workflowId} waits on the task queue`);
  }

  // every run asks the same researcher and writer, one message at a time each: paused now, the
  // schedule leaves the new worker only the outage's runs to catch up on, however slow the machine
  await client.pauseSchedule(id, 'the outage is over');
  await stack.startWorker();
  for (const workflowId of waiting) {
    assert.deepEqual((await (await client.getPipelineRun(workflowId)).result()).output, { notes: ['written anyway'], article: 'written anyway' }, workflowId);
    assert.equal(await statusOf(client, workflowId), 'COMPLETED');
  }
  const settled = await stopSchedule(client, id);
  assert.ok(settled.actionsTaken >= 1 + waiting.length, 'the runs of the outage count as taken');
  assert.equal(settled.skippedOverlap, 0, 'allow-all skips nothing');
  model.setResponder(undefined);
});

test('Temporal server restart: the schedule is still there after the server restarts on its SQLite file, and starts runs again that complete', async () => {
  const cliPath = process.env.TEMPORAL_CLI_PATH;
  assert.ok(cliPath, 'TEMPORAL_CLI_PATH is set by test/run.ts');
  // a server of this test's own, persisted to a SQLite file: stopped and started again on the same port
  const dir = mkdtempSync(join(tmpdir(), 'memloom-schedule-restart-'));
  const temporal = await RestartableTemporal.start({ cliPath, dir });
  const stack = await startTestStack({ temporalAddress: temporal.address });
  // registered after the stack's own cleanup: the worker and the client close before the server stops
  after(async () => {
    await temporal.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const { client, model } = stack;
  await client.setDefaultLlmConfig(stack.llmConfig);
  model.setResponder(reply('survived'));
  const id = uniqueId('restart');
  const created = await client.createSchedule(id, { every: '2s', action: action('restarts'), note: 'across a restart' });
  const first = await until('a first run', () => client.getSchedule(id), (s) => s.recentRuns.length >= 1);
  await (await client.getPipelineRun(first.recentRuns[0]!.workflowId)).result();
  const before = await client.getSchedule(id);

  await temporal.restart();
  const back = new Date();
  const again = await client.getSchedule(id);
  assert.deepEqual(
    { every: again.every, overlap: again.overlap, action: again.action, note: again.note, paused: again.paused, taskQueue: again.taskQueue, createdAt: again.createdAt },
    { every: '2s', overlap: 'skip', action: created.action, note: 'across a restart', paused: false, taskQueue: stack.taskQueue, createdAt: created.createdAt },
  );
  assert.ok(again.actionsTaken >= before.actionsTaken, 'the runs taken before the restart still count');
  for (const run of before.recentRuns) assert.ok(again.recentRuns.some((r) => r.workflowId === run.workflowId), `${run.workflowId} is still among its runs`);

  // listing is eventually consistent: wait until the restarted server's visibility has it
  await until('listed', () => client.listSchedules(), (l) => l.some((s) => s.id === id));
  const env = { ...process.env, TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };
  const list = await runCli(env, ['schedule', 'list']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`^${id} +pipeline ${PIPELINE} +every 2s +active +\\d{4}-`, 'm'));

  // a run started after the restart, by the same schedule, completes on the same worker
  const resumed = await until('a run after the restart', () => client.getSchedule(id), (s) => s.recentRuns.some((r) => r.startedAt >= back));
  const next = resumed.recentRuns.find((r) => r.startedAt >= back)!;
  assert.ok(!before.recentRuns.some((r) => r.workflowId === next.workflowId));
  assert.deepEqual((await (await client.getPipelineRun(next.workflowId)).result()).output, { notes: ['survived'], article: 'survived' });
  const settled = await stopSchedule(client, id);
  assert.ok(settled.actionsTaken > before.actionsTaken);
  model.setResponder(undefined);
});
