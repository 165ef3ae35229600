/**
 * Schedules on the real dev server: an interval starts runs, `skip` skips while a slow run is
 * still going, pause stops runs, trigger starts one, backfill takes past runs, update changes
 * the spec, delete removes it; every bad input is a clear error and creates nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { PipelineScheduleAction, ScheduleDetails } from '../../src/client/schedules.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { until } from '../helpers/poll.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, model } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);

const PIPELINE = 'research-and-write';
const uniqueId = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;
const action = (topic: string) => ({ type: 'pipeline' as const, name: PIPELINE, input: { topic } });


/** Runs of the schedule, from Temporal visibility. */
async function runsOf(id: string): Promise<string[]> {
  const runs = await client.pipelineRuns({ name: PIPELINE, limit: 1000 });
  return runs.map((r) => r.workflowId).filter((w) => w.startsWith(`pipeline/${PIPELINE}/${id}-`));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  );
}

test('bad input: a ValidationError naming each field, a Conflict for an existing id, and nothing created', async () => {
  const id = uniqueId('bad');
  const bad: [string, Record<string, unknown>, string, RegExp][] = [
    ['minute out of range', { cron: '61 * * * *', action: action('t') }, 'cron', /minute field "61": 61 is out of range: must be 0-59/],
    ['too few fields', { cron: '* * *', action: action('t') }, 'cron', /must have 5 fields/],
    ['zero step', { cron: '*/0 * * * *', action: action('t') }, 'cron', /step "0"/],
    ['bad month name', { cron: '0 0 1 FOO *', action: action('t') }, 'cron', /month field/],
    ['bad duration', { every: 'soon', action: action('t') }, 'every', /must be a duration such as 30s/],
    ['interval under 1s', { every: '10ms', action: action('t') }, 'every', /at least 1s/],
    ['both cron and every', { cron: '* * * * *', every: '2s', action: action('t') }, 'every', /either cron or every, not both/],
    ['neither cron nor every', { action: action('t') }, 'cron', /either cron or every/],
    ['unknown time zone', { cron: '0 3 * * *', timezone: 'Mars/Olympus', action: action('t') }, 'timezone', /unknown time zone "Mars\/Olympus"/],
    ['unknown overlap', { every: '2s', overlap: 'sometimes', action: action('t') }, 'overlap', /must be one of skip, buffer-one/],
    ['short catchup window', { every: '2s', catchupWindow: '1s', action: action('t') }, 'catchupWindow', /at least 10s/],
    ['unknown pipeline', { every: '2s', action: { type: 'pipeline', name: 'no-such-pipeline' } }, 'action.name', /no pipeline named "no-such-pipeline"/],
    ['bad built-in input', { every: '2s', action: { type: 'pipeline', name: PIPELINE, input: { topic: '' } } }, 'action.input.topic', /must not be empty/],
    ['missing built-in input', { every: '2s', action: { type: 'pipeline', name: PIPELINE } }, 'action.input.topic', /./],
    ['negative budget', { every: '2s', action: { ...action('t'), maxBudget: -1 } }, 'action.maxBudget', /more than 0/],
  ];
  for (const [what, options, path, message] of bad) {
    const error = await rejection(client.createSchedule(id, options as never));
    assert.ok(error instanceof ValidationError, `${what}: ${String(error)}`);
    const issue = error.issues.find((i) => i.path === path);
    assert.ok(issue, `${what}: no issue at ${path} in ${JSON.stringify(error.issues)}`);
    assert.match(issue.message, message, what);
    assert.ok(error.message.includes(path), `${what}: ${error.message}`);
  }
  // several bad fields: one error names them all
  const many = await rejection(client.createSchedule(id, { cron: '0 25 * * *', timezone: 'Nowhere', action: { type: 'pipeline', name: PIPELINE, input: {} } }));
  assert.ok(many instanceof ValidationError);
  assert.deepEqual(many.issues.map((i) => i.path).sort(), ['action.input.topic', 'cron', 'timezone']);
  assert.ok((await rejection(client.createSchedule('a/b', { every: '2s', action: action('t') }))) instanceof ValidationError);
  assert.ok((await rejection(client.getSchedule(id))) instanceof NotFoundError, 'nothing was created');
  assert.deepEqual(await client.listSchedules(), []);

  const taken = uniqueId('taken');
  await client.createSchedule(taken, { every: '1h', paused: true, action: action('t') });
  const conflict = await rejection(client.createSchedule(taken, { every: '2s', action: action('other') }));
  assert.ok(conflict instanceof ConflictError, String(conflict));
  assert.match(conflict.message, new RegExp(`schedule ${taken} already exists`));
  assert.equal((await client.getSchedule(taken)).every, '1h', 'the existing schedule is unchanged');
  const backwards = await rejection(client.backfillSchedule(taken, { from: '2025-01-02T00:00:00Z', to: '2025-01-01T00:00:00Z' }));
  assert.ok(backwards instanceof ValidationError);
  assert.deepEqual(backwards.issues, [{ path: 'to', message: 'must be after from' }]);
  assert.ok((await rejection(client.pauseSchedule(uniqueId('missing')))) instanceof NotFoundError);
  await client.deleteSchedule(taken);
});

test('--every 2s starts runs; pause stops them; trigger starts one; delete removes the schedule', async () => {
  model.setResponder(() => ({ kind: 'reply', content: 'done' }));
  const id = uniqueId('every');
  const created = await client.createSchedule(id, { every: '2s', action: action('tides'), note: 'twice' });
  assert.equal(created.every, '2s');
  assert.equal(created.overlap, 'skip');
  assert.equal(created.taskQueue, stack.taskQueue);
  assert.deepEqual(created.action, { type: 'pipeline', name: PIPELINE, input: { topic: 'tides' }, maxBudget: null });

  const runs = await until('two runs', () => runsOf(id), (r) => r.length >= 2);
  for (const workflowId of runs) assert.match(workflowId, new RegExp(`^pipeline/${PIPELINE}/${id}-\\d{4}-\\d\\d-\\d\\dT`));
  const finished = await (await client.getPipelineRun(runs[0]!)).result();
  assert.deepEqual(finished.output, { notes: ['done'], article: 'done' });
  const listed = await until('listed', () => client.listSchedules(), (l) => l.some((s) => s.id === id));
  assert.equal((listed.find((s) => s.id === id)!.action as PipelineScheduleAction | null)?.name, PIPELINE);

  const paused = await client.pauseSchedule(id, 'enough for now');
  assert.equal(paused.paused, true);
  assert.equal(paused.note, 'enough for now');
  // let every run it started end, then three intervals pass without a new one
  const taken = (await until('no run running', () => client.getSchedule(id), (s) => s.runningRuns.length === 0)).actionsTaken;
  await new Promise((r) => setTimeout(r, 6_000));
  assert.equal((await client.getSchedule(id)).actionsTaken, taken, 'no run while paused');

  await client.triggerSchedule(id);
  const triggered = await until('the triggered run', () => client.getSchedule(id), (s) => s.actionsTaken === taken + 1);
  assert.equal(triggered.paused, true, 'a trigger does not unpause');
  await (await client.getPipelineRun(triggered.recentRuns.at(-1)!.workflowId)).result();

  await client.deleteSchedule(id);
  assert.ok((await rejection(client.getSchedule(id))) instanceof NotFoundError);
  await until('gone from the list', () => client.listSchedules(), (l) => !l.some((s) => s.id === id));
  model.setResponder(undefined);
});

test('--overlap skip: a run due while a slow one still runs is skipped', async () => {
  // the research stage is slow; the run then ends on its own, so nothing runs on after the test
  model.setResponder((request) => ({ kind: 'reply', content: 'slow', delayMs: String(request.messages[0]?.content).includes('researcher') ? 3_000 : 0 }));
  const id = uniqueId('skip');
  await client.createSchedule(id, { every: '1s', overlap: 'skip', action: action('slow') });
  const skipping = await until('a skipped run', () => client.getSchedule(id), (s) => s.skippedOverlap >= 1);
  assert.equal(skipping.runningRuns.length, 1, 'one run at a time');
  assert.equal(skipping.actionsTaken, 1);
  await client.deleteSchedule(id);
  const [run] = skipping.runningRuns;
  assert.deepEqual((await (await client.getPipelineRun(run!)).result()).output, { notes: ['slow'], article: 'slow' });
  model.setResponder(undefined);
});

test('update changes the spec and the input; backfill takes the runs of a past range now', async () => {
  model.setResponder(() => ({ kind: 'reply', content: 'ok' }));
  const id = uniqueId('update');
  await client.createSchedule(id, { every: '1h', paused: true, action: action('first'), overlap: 'allow-all' });
  const bad = await rejection(client.updateSchedule(id, { cron: '0 3 * * 9', action: { input: { topic: '' } } }));
  assert.ok(bad instanceof ValidationError);
  assert.deepEqual(bad.issues.map((i) => i.path).sort(), ['action.input.topic', 'cron']);

  const updated: ScheduleDetails = await client.updateSchedule(id, { cron: '@daily', timezone: 'Europe/Paris', action: { input: { topic: 'second' }, maxBudget: 2 } });
  assert.equal(updated.cron, '@daily');
  assert.equal(updated.every, null);
  assert.equal(updated.timezone, 'Europe/Paris');
  assert.equal(updated.paused, true, 'what update does not give stays');
  assert.equal(updated.overlap, 'allow-all');
  assert.deepEqual(updated.action, { type: 'pipeline', name: PIPELINE, input: { topic: 'second' }, maxBudget: 2 });

  await client.backfillSchedule(id, { from: '2024-12-31T12:00:00Z', to: '2025-01-03T12:00:00Z' });
  const filled = await until('three backfilled runs', () => client.getSchedule(id), (s) => s.actionsTaken >= 3);
  assert.equal(filled.actionsTaken, 3, 'one per day of the range: Jan 1, 2 and 3 at midnight in Paris');
  await client.deleteSchedule(id);
  for (const r of filled.recentRuns) {
    const run = await client.getPipelineRun(r.workflowId);
    assert.deepEqual((await run.result()).output, { notes: ['ok'], article: 'ok' });
    assert.deepEqual((await run.describe()).maxBudget, 2);
  }
  model.setResponder(undefined);
});
