/**
 * `memloom pipeline ...` against a `memloom worker --pipelines MODULE` process, as a user runs
 * them: a user pipeline listed, run end to end with --wait, its result and runs; bad input.
 * The worker is a real subprocess (it loads the user's module and stops on SIGTERM); the
 * `pipeline` commands run in this process (the same program, without a process start each).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import type { PipelineInfo, PipelineRunSummary } from '../../src/client/pipeline-runs.ts';
import { CLI, errorOf, parsed, runCliInProcess } from '../helpers/cli.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack({ startWorker: false });
const { client, model, db } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);
const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue, LLM_API_KEY: 'sk-test' };
const PIPELINES = fileURLToPath(new URL('../fixtures/pipelines.ts', import.meta.url));
const BUNDLE = process.env.MEMLOOM_TEST_WORKFLOW_BUNDLE;

const memloom = (...args: string[]) => runCliInProcess(ENV, args);

/** `memloom worker --pipelines test/fixtures/pipelines.ts --json`, ready once it printed its info. */
async function spawnCliWorker(): Promise<{ child: ChildProcess; info: { pipelines: string[] } }> {
  const child = spawn(process.execPath, [CLI, 'worker', '--pipelines', PIPELINES, '--json', ...(BUNDLE ? ['--workflow-bundle', BUNDLE] : [])], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  while (!out.trimEnd().endsWith('}')) {
    const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
    out += chunk.toString();
  }
  return { child, info: JSON.parse(out) as { pipelines: string[] } };
}

const worker = await spawnCliWorker();
after(async () => {
  worker.child.kill('SIGTERM');
  await once(worker.child, 'exit');
});

async function runCount(): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pipeline_runs');
  return rows[0]!.n;
}

test('a user pipeline from --pipelines is listed and runs end to end with --wait', async () => {
  assert.deepEqual(worker.info.pipelines.sort(), ['brief', 'fan-out', 'research-and-write']);
  const list = parsed<PipelineInfo[]>(await memloom('pipeline', 'list', '--json'));
  const brief = list.find((p) => p.name === 'brief');
  assert.ok(brief, JSON.stringify(list.map((p) => p.name)));
  assert.equal(brief.builtIn, false);
  assert.deepEqual(brief.stages, [{ name: 'research', after: [] }, { name: 'write', after: ['research'] }]);
  const text = await memloom('pipeline', 'list');
  assert.match(text.stdout, /^brief\n {2}Research a topic, then write a short brief\n {2}input: +topic \(string, required\), words \(integer\)\n {2}stages: research → write \(after research\)$/m);

  model.setResponder((request) => {
    const system = String(request.messages[0]?.content ?? '');
    const last = String(([...request.messages].reverse().find((m) => m.role === 'user') as { content?: unknown }).content);
    return { kind: 'reply', content: system.includes('ROLE:brief-research') ? `NOTES on ${last.replace('Research: ', '')}` : `BRIEF (${last.match(/at most (\d+) words/)?.[1]} words)` };
  });
  const runId = `cli-${Date.now()}`;
  // "2024" stays text: the pipeline declares topic a string
  const run = await memloom('pipeline', 'run', 'brief', '--input', 'topic=2024', '--input', 'words=50', '--run-id', runId, '--wait');
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'BRIEF (50 words)\n');
  assert.match(run.stderr, new RegExp(`^started pipeline/brief/${runId}$`, 'm'));
  assert.match(run.stderr, /^stage research: completed 1\/1 · brief-researcher$/m);
  assert.match(run.stderr, /^stage write: completed 1\/1 · brief-writer$/m);
  const writer = model.chatRequests().find((r) => String(r.messages[0]?.content).includes('ROLE:brief-write'))!;
  assert.ok(JSON.stringify(writer.messages).includes('NOTES on 2024'), "the writer's request has the research notes");

  assert.deepEqual(parsed<{ output: unknown }>(await memloom('pipeline', 'result', runId, '--json')).output, 'BRIEF (50 words)');
  const show = await memloom('pipeline', 'show', `pipeline/brief/${runId}`);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^status: +completed$/m);
  assert.match(show.stdout, /^ {2}write +1 +brief-writer +completed +\d+ +- +BRIEF \(50 words\)$/m);
  const runs = parsed<PipelineRunSummary[]>(await memloom('pipeline', 'runs', '--name', 'brief', '--status', 'completed', '--json'));
  assert.ok(runs.some((r) => r.workflowId === `pipeline/brief/${runId}` && r.status === 'COMPLETED'), JSON.stringify(runs));
  // a run id is used once: the finished run is not started again
  const twice = await memloom('pipeline', 'run', 'brief', '--input', 'topic=x', '--run-id', runId);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /pipeline run pipeline\/brief\/cli-\d+ exists: a run id is used once/);
  model.setResponder(undefined);
});

test('bad input: a clear error naming the flag or field, exit 1, and no run', async () => {
  const before = await runCount();
  const requests = model.chatRequests().length;
  const cases: [string[], string, RegExp][] = [
    [['nope', '--input', 'topic=x'], '<name>', /no pipeline named "nope" \(known: brief, fan-out, research-and-write\)/],
    [['brief', '--input-json', '{"topic":'], '--input-json', /is not valid JSON/],
    [['brief', '--input-json', '["a"]'], '--input-json', /must be a JSON object/],
    [['brief', '--input', 'topic'], '--input', /must be LABEL=VALUE, got "topic"/],
    [['brief', '--input', 'topic=a', '--input', 'topic=b'], '--input', /"topic" is given twice/],
    [['brief', '--input', 'topic=a', '--max-budget', 'lots'], '--max-budget', /must be a number, got "lots"/],
    [['brief', '--input', 'topic=a', '--max-budget', '-1'], '--max-budget', /must be more than 0/],
    [['brief', '--input', 'topic=a', '--run-id', 'a/b'], '--run-id', /must be letters, digits/],
    [['research-and-write', '--input', 'topic='], '--input topic', /must not be empty/],
    [['research-and-write', '--input-json', '{"topic": "x", "concurrency": 0}'], '--input-json concurrency', /must be at least 1/],
    // a user pipeline's input, checked against the schema its worker published
    [['brief', '--input', 'words=50'], '--input topic', /is required/],
    [['brief', '--input', 'topic=x', '--input', 'words=lots'], '--input words', /must be an integer, got string/],
  ];
  const runs = await Promise.all(cases.map(([args]) => memloom('pipeline', 'run', ...args, '--json')));
  runs.forEach((run, i) => {
    const [args, path, message] = cases[i]!;
    const error = errorOf(run);
    assert.equal(error.code, 'validation_error', `${args.join(' ')}: ${run.stderr}`);
    const issue = error.issues?.find((x) => x.path === path);
    assert.ok(issue, `${args.join(' ')}: no issue at ${path}: ${run.stderr}`);
    assert.match(issue.message, message, args.join(' '));
  });
  const human = await memloom('pipeline', 'run', 'brief', '--max-budget', 'lots');
  assert.equal(human.code, 1);
  assert.equal(human.stderr, 'error: invalid arguments:\n  - --max-budget: must be a number, got "lots"\n');
  const show = await memloom('pipeline', 'show', 'no-such-run');
  assert.equal(show.code, 1);
  assert.match(show.stderr, /pipeline run not found: no-such-run/);
  const status = await memloom('pipeline', 'runs', '--status', 'done', '--json');
  assert.equal(errorOf(status).issues?.[0]?.path, '--status');
  assert.equal(await runCount(), before, 'no run was recorded');
  assert.equal(model.chatRequests().length, requests, 'no agent was asked');
});
