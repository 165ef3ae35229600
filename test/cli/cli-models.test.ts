/**
 * `memloom models check FILE` and `memloom worker --models FILE`: what a user reads, the exit code,
 * and that no API key is ever printed. `worker` runs as a real subprocess (`bin/memloom.js`), as
 * does one `models check`; the other checks run in this process (the same program).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ModelsCheckReport } from '../../src/cli/model-commands.ts';
import { startTestStack, TEMPORAL_ADDRESS } from '../helpers/stack.ts';
import { CLI, runCli, runCliInProcess, type CliRun } from '../helpers/cli.ts';

const GOOD = fileURLToPath(new URL('../fixtures/models/good.yaml', import.meta.url));
const BAD = fileURLToPath(new URL('../fixtures/models/bad.yaml', import.meta.url));
const BUNDLE = process.env.MEMLOOM_TEST_WORKFLOW_BUNDLE;
/** The value behind good.yaml's `os.environ/MEMLOOM_TEST_SMART_KEY`, and its literal key. */
const ENV_KEY = `sk-env-${randomUUID()}`;
const SECRETS = new RegExp(`${ENV_KEY}|sk-literal-in-the-file`);
const BAD_PATHS = [
  'model_list[1].litellm_params.api_base',
  'model_list[2].litellm_params.model',
  'model_list[3].litellm_params.api_base',
  'router_settings.routing_strategy',
  'router_settings.fallbacks[0].smart[0]',
];

const stack = await startTestStack({ startWorker: false });
const ENV = {
  ...process.env,
  DATABASE_URL: stack.databaseUrl,
  TEMPORAL_ADDRESS,
  MEMLOOM_LOG_LEVEL: 'warn',
  MEMLOOM_TEST_SMART_KEY: ENV_KEY,
};

type Run = CliRun;

/** Runs `memloom ...args` in this process, with `env` over the file's environment. */
function memloom(env: Record<string, string | undefined>, ...args: string[]): Promise<Run> {
  return runCliInProcess({ ...ENV, ...env }, args);
}

/** Runs `memloom ...args` as a subprocess, as a user does. */
function memloomProcess(env: Record<string, string | undefined>, ...args: string[]): Promise<Run> {
  return runCli({ ...ENV, ...env }, args);
}

describe('memloom models check', () => {
  test('a good file: exit 0, its groups, deployment ids, router settings, fallbacks and ignored keys; no key', async () => {
    const run = await memloomProcess({}, 'models', 'check', GOOD);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /OK, 2 model group\(s\), 3 deployment\(s\)/);
    assert.match(run.stdout, /group smart:\n {2}- smart-openai: openai\/gpt-4o at OpenAI \(no api_base\)\n.*key os\.environ\/MEMLOOM_TEST_SMART_KEY, rpm 60/);
    assert.match(run.stdout, /group fast:\n {2}- [0-9a-f]{16} \(derived id\): litellm_proxy\/fast at http:\/\/127\.0\.0\.1:4000/);
    assert.match(run.stdout, /routing_strategy +latency-based-routing \(router_settings\)/);
    assert.match(run.stdout, /num_retries +1 \(router_settings\)/);
    assert.match(run.stdout, /fallbacks +smart -> fast/);
    assert.match(run.stdout, /model_list\[2\]\.litellm_params\.api_key: literal key in the file/);
    assert.match(run.stdout, /ignored keys \(memloom does not use them\):\n {2}- general_settings\n {2}- model_list\[0\]\.litellm_params\.temperature/);
    assert.doesNotMatch(run.stdout + run.stderr, SECRETS);
  });

  test('--json: one document with the groups, and no key', async () => {
    const run = await memloom({}, 'models', 'check', GOOD, '--json');
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as ModelsCheckReport;
    assert.deepEqual(
      report.groups.map((g) => [g.name, g.deployments.map((d) => d.apiKey)]),
      [
        ['smart', ['os.environ/MEMLOOM_TEST_SMART_KEY', 'none']],
        ['fast', ['literal key in the file']],
      ],
    );
    assert.equal(report.groups[0]!.deployments[0]!.id, 'smart-openai');
    assert.ok(report.ignored.includes('general_settings'));
    assert.doesNotMatch(run.stdout + run.stderr, SECRETS);
  });

  test('a bad file: exit 1, every problem named by its path', async () => {
    const run = await memloom({}, 'models', 'check', BAD);
    assert.equal(run.code, 1, run.stdout);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^error: invalid models file .*bad\.yaml:/);
    for (const path of BAD_PATHS) assert.ok(run.stderr.includes(`  - ${path}: `), `${path} in ${run.stderr}`);
    assert.match(run.stderr, /api_base: must be a URL/);
    assert.match(run.stderr, /behind a LiteLLM proxy and point api_base at it/);

    const json = await memloom({}, 'models', 'check', BAD, '--json');
    assert.equal(json.code, 1);
    const { error } = JSON.parse(json.stderr) as { error: { code: string; issues: { path: string }[] } };
    assert.equal(error.code, 'validation_error');
    for (const path of BAD_PATHS) assert.ok(error.issues.some((i) => i.path === path), path);
  });
});

describe('memloom worker --models', () => {
  // workers that must fail at start: started together, each test reads its own
  let failing: Record<'badFile' | 'badEnvFile' | 'unsetKey', Promise<Run>>;
  before(() => {
    failing = {
      badFile: memloomProcess({}, 'worker', '--models', BAD),
      badEnvFile: memloomProcess({ MEMLOOM_MODELS: BAD }, 'worker'),
      unsetKey: memloomProcess({ MEMLOOM_TEST_SMART_KEY: undefined }, 'worker', '--models', GOOD),
    };
  });

  test('a bad file fails the worker at start naming the paths, before it serves', async () => {
    const run = await failing.badFile;
    assert.equal(run.code, 1);
    assert.match(run.stderr, /invalid models file .*bad\.yaml/);
    for (const path of BAD_PATHS) assert.ok(run.stderr.includes(path), path);
    assert.doesNotMatch(run.stderr + run.stdout, /serving/);
  });

  test('MEMLOOM_MODELS names the file too', async () => {
    const run = await failing.badEnvFile;
    assert.equal(run.code, 1);
    assert.match(run.stderr, /model_list\[1\]\.litellm_params\.api_base: must be a URL/);
  });

  test('an os.environ/ variable that is not set fails the worker at start naming the path and the variable', async () => {
    const run = await failing.unsetKey;
    assert.equal(run.code, 1);
    assert.match(run.stderr, /model_list\[0\]\.litellm_params\.api_key: environment variable MEMLOOM_TEST_SMART_KEY is not set/);
    assert.doesNotMatch(run.stderr + run.stdout, /serving|sk-literal/);
  });

  test('a good file: the startup banner lists the groups and their deployment ids, and no key', async () => {
    const taskQueue = `memloom-cli-models-${randomUUID()}`;
    const args = [CLI, 'worker', '--models', GOOD, '--task-queue', taskQueue, ...(BUNDLE ? ['--workflow-bundle', BUNDLE] : [])];
    const child = spawn(process.execPath, args, { env: ENV });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        output += d.toString();
        if (/Stop with Ctrl-C/.test(output)) resolve();
      });
      void exited.then((code) => reject(new Error(`worker exited with ${code}: ${output}`)));
    });
    assert.match(output, /models file: +.*good\.yaml \(routing its groups\)/);
    assert.match(output, /model groups: +smart \(smart-openai, [0-9a-f]{16}\); fast \([0-9a-f]{16}\)/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.doesNotMatch(output, SECRETS);
  });
});
