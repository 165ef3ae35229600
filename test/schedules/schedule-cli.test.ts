/**
 * `memloom schedule ...` as a user runs it: create, show, list, update, pause, unpause, trigger,
 * backfill and delete with --json; bad flags are errors naming the flag, exit 1, nothing created.
 * The commands run in this process (the same program as `bin/memloom.js`, without a process
 * start each): nothing here is about the process boundary, which test/cli/cli.test.ts samples.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { PipelineScheduleAction, ScheduleDetails } from '../../src/client/schedules.ts';
import { buildProgram } from '../../src/cli/program.ts';
import { errorOf, parsed, runCliInProcess } from '../helpers/cli.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, model } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);
const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };
const memloom = (...args: string[]) => runCliInProcess(ENV, args);

test('every schedule command says what it does in --help and takes --json', () => {
  const schedule = buildProgram().commands.find((c) => c.name() === 'schedule')!;
  const purposes: Record<string, RegExp> = {
    create: /Create a schedule that starts a pipeline run \(--pipeline\) or a batch job \(--batch.*on a cron expression \(--cron\) or an interval \(--every\)/,
    list: /List the schedules whose runs go to this client's task queue/,
    show: /Show a schedule/,
    pause: /Pause a schedule: no run starts until it is unpaused/,
    unpause: /Unpause a schedule/,
    trigger: /Start one run of the schedule now/,
    backfill: /Take the runs the schedule would have taken between --from and --to/,
    update: /Change a schedule: only what the flags give/,
    delete: /Delete a schedule/,
  };
  assert.deepEqual(schedule.commands.map((c) => c.name()).sort(), Object.keys(purposes).sort());
  for (const command of schedule.commands) {
    const help = command.helpInformation().replace(/\s+/g, ' ');
    assert.match(help, purposes[command.name()]!, command.name());
    assert.match(help, /--json/, `${command.name()} takes --json`);
  }
  const create = schedule.commands.find((c) => c.name() === 'create')!.helpInformation();
  for (const flag of ['--cron', '--every', '--timezone', '--pipeline', '--input', '--input-json', '--max-budget', '--overlap', '--catchup-window', '--paused', '--note', '--max-runs', '--batch', '--prompt', '--agents', '--tag', '--all', '--concurrency', '--max-steps']) {
    assert.match(create, new RegExp(`${flag} `), `create has ${flag}`);
  }
});

test('bad flags: an error naming each flag, exit 1, and no schedule', async () => {
  const id = `bad-${randomUUID().slice(0, 8)}`;
  const cases: [string[], string, RegExp][] = [
    [['--every', 'often', '--pipeline', 'research-and-write', '--input', 'topic=x'], '--every', /must be a duration/],
    [['--every', '2s', '--pipeline', 'no-such', '--input', 'topic=x'], '--pipeline', /no pipeline named "no-such"/],
    [['--every', '2s', '--pipeline', 'research-and-write', '--input', 'topic='], '--input topic', /must not be empty/],
    [['--every', '2s', '--pipeline', 'research-and-write', '--input-json', '{"topic": 1}'], '--input-json topic', /./],
    [['--cron', '0 3 * * *', '--timezone', 'Atlantis/Sunken', '--pipeline', 'research-and-write', '--input', 'topic=x'], '--timezone', /unknown time zone/],
    [['--every', '2s', '--input', 'topic=x'], '--pipeline', /is required/],
  ];
  const runs = await Promise.all(cases.map(([flags]) => memloom('schedule', 'create', id, ...flags, '--json')));
  runs.forEach((run, i) => {
    const [flags, flag, message] = cases[i]!;
    const error = errorOf(run);
    assert.equal(error.code, 'validation_error', flags.join(' '));
    const issue = error.issues?.find((x) => x.path === flag);
    assert.ok(issue, `${flags.join(' ')}: no issue at ${flag} in ${JSON.stringify(error.issues)}`);
    assert.match(issue.message, message);
  });
  const text = await memloom('schedule', 'create', id, '--cron', '61 * * * *', '--pipeline', 'research-and-write', '--input', 'topic=x');
  assert.equal(text.code, 1);
  assert.match(text.stderr, /^error: invalid schedule:\n {2}- --cron: minute field "61": 61 is out of range: must be 0-59$/m);
  assert.deepEqual(parsed<ScheduleDetails[]>(await memloom('schedule', 'list', '--json')), []);
  assert.match(errorOf(await memloom('schedule', 'show', id, '--json')).message, new RegExp(`schedule not found: ${id}`));
});

test('create, show, list, update, pause, unpause, trigger, backfill and delete a schedule', async () => {
  model.setResponder(() => ({ kind: 'reply', content: 'from the cli' }));
  const id = `cli-${randomUUID().slice(0, 8)}`;
  const created = parsed<ScheduleDetails>(
    await memloom('schedule', 'create', id, '--cron', '0 3 * * 1-5', '--timezone', 'Europe/Paris', '--pipeline', 'research-and-write', '--input', 'topic=2024', '--max-budget', '0.5', '--overlap', 'buffer-one', '--catchup-window', '10m', '--paused', '--note', 'not yet', '--json'),
  );
  assert.deepEqual(
    { cron: created.cron, timezone: created.timezone, action: created.action, overlap: created.overlap, catchup: created.catchupWindow, paused: created.paused, note: created.note },
    { cron: '0 3 * * 1-5', timezone: 'Europe/Paris', action: { type: 'pipeline', name: 'research-and-write', input: { topic: '2024' }, maxBudget: 0.5 }, overlap: 'buffer-one', catchup: '10m', paused: true, note: 'not yet' },
  );

  const shown = await memloom('schedule', 'show', id);
  assert.match(shown.stdout, /^action: {5}pipeline research-and-write$/m);
  assert.match(shown.stdout, /^when: {7}cron 0 3 \* \* 1-5 \(Europe\/Paris\)$/m);
  assert.match(shown.stdout, /^state: {6}paused \(not yet\)$/m);

  const updated = parsed<ScheduleDetails>(await memloom('schedule', 'update', id, '--every', '1h', '--input', 'topic=tides', '--json'));
  assert.equal(updated.every, '1h');
  assert.equal(updated.cron, null);
  assert.deepEqual(updated.action?.input, { topic: 'tides' });
  assert.equal((updated.action as PipelineScheduleAction | null)?.maxBudget, 0.5, 'what update does not give stays');
  assert.equal(errorOf(await memloom('schedule', 'update', id, '--cron', 'nope', '--json')).issues?.[0]?.path, '--cron');

  assert.equal(parsed<ScheduleDetails>(await memloom('schedule', 'unpause', id, '--json')).paused, false);
  assert.equal(parsed<ScheduleDetails>(await memloom('schedule', 'pause', id, '--note', 'quiet', '--json')).note, 'quiet');
  await memloom('schedule', 'trigger', id, '--json');
  const triggered = await client.getSchedule(id);
  assert.equal(triggered.actionsTaken, 1);
  const run = await client.getPipelineRun(triggered.recentRuns[0]!.workflowId);
  assert.deepEqual((await run.result()).output, { notes: ['from the cli'], article: 'from the cli' });

  const backwards = errorOf(await memloom('schedule', 'backfill', id, '--from', '2025-02-01T00:00:00Z', '--to', '2025-01-01T00:00:00Z', '--json'));
  assert.deepEqual(backwards.issues, [{ path: '--to', message: 'must be after from' }]);

  // listing is eventually consistent: wait until Temporal's visibility has it
  while (!(await client.listSchedules()).some((s) => s.id === id)) await new Promise((r) => setTimeout(r, 200));
  const list = await memloom('schedule', 'list');
  assert.match(list.stdout, new RegExp(`^${id} +pipeline research-and-write +every 1h \\(Europe/Paris\\) +paused +-$`, 'm'));
  assert.equal(parsed<{ id: string; deleted: boolean }>(await memloom('schedule', 'delete', id, '--json')).deleted, true);
  model.setResponder(undefined);
});
