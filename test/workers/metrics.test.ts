/**
 * `memloom worker --metrics-port`: one Prometheus endpoint with memloom's metrics and the
 * Temporal SDK's. The worker runs as the real CLI in its own process, so that the process-wide
 * Temporal runtime is installed with metrics, as it is for a user.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { createClient } from '../../src/client/memloom-client.ts';
import { createLogger } from '../../src/config/logger.ts';
import { TurnFailedError } from '../../src/domain/errors.ts';
import { createDb } from '../../src/db/pool.ts';
import { startScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import { freePort } from '../../src/dev/temporal-cli.ts';
import { startMetricsServer } from '../../src/metrics/metrics-server.ts';
import { createPrometheusMetrics } from '../../src/metrics/prometheus.ts';
import { createMemloomWorker } from '../../workers/agent-worker.ts';
import { installRuntime } from '../../workers/runtime.ts';
import { CLI, errorOf, runCli } from '../helpers/cli.ts';
import { ADMIN_DATABASE_URL, TEMPORAL_ADDRESS, createTestDatabase } from '../helpers/stack.ts';

const BUNDLE = process.env.MEMLOOM_TEST_WORKFLOW_BUNDLE;

/** The value of the series `name{labels}` in a scrape, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** Starts `memloom worker` and resolves once it printed its banner (it polls then). */
async function startCliWorker(env: NodeJS.ProcessEnv, args: string[]): Promise<{ child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [CLI, 'worker', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const onData = (): void => {
      if (!stderr.includes('Stop with Ctrl-C')) return;
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
      resolve();
    };
    const onExit = (code: number | null): void => reject(new Error(`worker exited with ${code}: ${stderr}`));
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
  return { child, stderr: () => stderr };
}

describe('worker metrics', () => {
  test('memloom worker --metrics-port serves turns, cooldowns and the Temporal SDK metrics on one port', async () => {
    const { url, db } = await createTestDatabase();
    const model = await startScriptedModelServer();
    after(() => model.close());
    const taskQueue = `memloom-test-${randomUUID()}`;
    const port = await freePort();
    const env = {
      PATH: process.env.PATH,
      TEMPORAL_ADDRESS,
      DATABASE_URL: url,
      MEMLOOM_TASK_QUEUE: taskQueue,
      LLM_API_KEY: 'sk-test',
      MEMLOOM_LOG_LEVEL: 'silent',
    };
    const { child, stderr } = await startCliWorker(env, ['--metrics-port', String(port), ...(BUNDLE ? ['--workflow-bundle', BUNDLE] : [])]);
    assert.match(stderr(), new RegExp(`metrics: +http://localhost:${port}/metrics \\(memloom and Temporal SDK\\)`));

    const before = await scrape(port);
    assert.equal(sample(before, 'memloom_turns_total{outcome="completed"}'), 0);

    const client = await createClient({ temporalAddress: TEMPORAL_ADDRESS, databaseUrl: url, taskQueue });
    const agent = await client.createAgent({
      name: 'metered',
      llm_config: { model: 'scripted-model', model_endpoint_type: 'openai', model_endpoint: model.url, context_window: 8192 },
    });
    model.enqueue({ kind: 'reply', content: 'Hello there.' });
    const answered = await client.userMessage(agent.id, 'hi');
    assert.equal(answered.stop_reason.stop_reason, 'end_turn');
    // a 401 fails the turn at once
    model.enqueue({ kind: 'error', status: 401 });
    await assert.rejects(client.userMessage(agent.id, 'again'), TurnFailedError);
    // before the database is dropped
    await client.close();

    // routing state as workers share it: one deployment of "smart" cooling down, "fast" not
    await db.query(
      `INSERT INTO deployment_state (deployment_id, model_group, cooldown_until) VALUES
         ('smart-a', 'smart', now() + interval '1 hour'), ('smart-b', 'smart', NULL), ('fast-a', 'fast', now() - interval '1 minute')`,
    );

    const text = await scrape(port);
    assert.equal(sample(text, 'memloom_turns_total{outcome="completed"}'), 1);
    assert.equal(sample(text, 'memloom_turns_total{outcome="failed"}'), 1);
    // the model calls the activities reported: the answer, then the refused key
    assert.match(text, /^memloom_model_calls_total\{group="scripted-model",deployment="[^"]+",outcome="ok"\} 1$/m);
    assert.match(text, /^memloom_model_calls_total\{group="scripted-model",deployment="[^"]+",outcome="AuthFailed"\} 1$/m);
    assert.match(text, /^memloom_model_tokens_total\{group="scripted-model",deployment="[^"]+",kind="completion"\} [1-9]\d*$/m);
    assert.match(text, /^memloom_model_call_duration_seconds_count\{group="scripted-model",deployment="[^"]+"\} 2$/m);
    assert.equal(sample(text, 'memloom_deployments_cooling_down{group="smart"}'), 1);
    assert.equal(sample(text, 'memloom_deployments_cooling_down{group="fast"}'), 0);
    // the Temporal SDK's own metrics, from the same port
    assert.match(text, /^temporal_\w+/m);
    assert.match(text, /^# TYPE memloom_model_call_duration_seconds histogram$/m);
    assert.doesNotMatch(text, /sk-test/);

    // Ctrl-C stops the worker and its metrics port with it
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    assert.equal(await exit, 0);
    assert.match(stderr(), /memloom worker stopped/);
  });

  test('a bad --metrics-port is an error naming the flag, before anything starts', async () => {
    const env = { PATH: process.env.PATH, TEMPORAL_ADDRESS: '127.0.0.1:1', DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none' };
    const plain = await runCli(env, ['worker', '--metrics-port', 'abc']);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /--metrics-port/);
    assert.match(plain.stderr, /must be an integer, got "abc"/);

    const error = errorOf(await runCli(env, ['worker', '--metrics-port', '70000', '--json']));
    assert.deepEqual(error.issues, [{ path: '--metrics-port', message: 'must be a port number from 1 to 65535' }]);

    const fromEnv = await runCli({ ...env, MEMLOOM_METRICS_PORT: 'x9' }, ['worker']);
    assert.equal(fromEnv.code, 1);
    assert.match(fromEnv.stderr, /MEMLOOM_METRICS_PORT: must be a port number from 1 to 65535 \(got "x9"\)/);
  });

  test('model calls count by group, deployment and outcome; no credentials in labels; a failing cooldown read skips only its gauge', async () => {
    // the admin database has no deployment_state table: the gauge's query fails for real
    const db = createDb({ connectionString: ADMIN_DATABASE_URL });
    after(() => db.end());
    const metrics = createPrometheusMetrics({ db, logger: createLogger('silent') });
    const server = await startMetricsServer({ port: 0, metrics, temporal: { unavailable: 'off in this test' }, logger: createLogger('silent') });
    after(() => server.close());

    const deployment = 'http://user:hunter2@127.0.0.1:4000/v1?api_key=sk-secret';
    metrics.modelCall({ group: 'smart', deployment, outcome: 'ok', promptTokens: 120, completionTokens: 30, cost: 0.0025, latencyMs: 800 });
    metrics.modelCall({ group: 'smart', deployment, outcome: 'RateLimited', promptTokens: 0, completionTokens: 0, cost: null, latencyMs: 50 });
    metrics.modelCall({ group: 'fast', deployment: 'fast-a', outcome: 'ok', promptTokens: 10, completionTokens: 5, cost: null, latencyMs: 2000 });

    const text = await scrape(server.port);
    const d = 'deployment="http://127.0.0.1:4000/v1"';
    assert.equal(sample(text, `memloom_model_calls_total{group="smart",${d},outcome="ok"}`), 1);
    assert.equal(sample(text, `memloom_model_calls_total{group="smart",${d},outcome="RateLimited"}`), 1);
    assert.equal(sample(text, 'memloom_model_calls_total{group="fast",deployment="fast-a",outcome="ok"}'), 1);
    assert.equal(sample(text, `memloom_model_tokens_total{group="smart",${d},kind="prompt"}`), 120);
    assert.equal(sample(text, `memloom_model_tokens_total{group="smart",${d},kind="completion"}`), 30);
    assert.equal(sample(text, `memloom_model_cost_usd_total{group="smart",${d}}`), 0.0025);
    assert.equal(sample(text, `memloom_model_call_duration_seconds_count{group="smart",${d}}`), 2);
    const seconds = sample(text, `memloom_model_call_duration_seconds_sum{group="smart",${d}}`);
    assert.ok(seconds !== undefined && Math.abs(seconds - 0.85) < 1e-9, `sum ${seconds}`);
    assert.equal(sample(text, 'memloom_model_call_duration_seconds_bucket{le="2.5",group="fast",deployment="fast-a"}'), 1);
    assert.doesNotMatch(text, /hunter2|sk-secret|api_key/);
    assert.doesNotMatch(text, /^memloom_deployments_cooling_down\{/m);
    assert.match(text, /^# Temporal SDK metrics: off in this test$/m);

    const other = await fetch(`http://127.0.0.1:${server.port}/`);
    assert.equal(other.status, 404);
    assert.match(await other.text(), /\/metrics/);
  });

  test('a worker in a process whose Temporal runtime has no metrics serves memloom\'s and says why the SDK\'s are missing', async () => {
    const { url } = await createTestDatabase();
    // as an embedding application (or an earlier worker) would have
    installRuntime(createLogger('silent'));
    const worker = await createMemloomWorker({
      config: { temporalAddress: TEMPORAL_ADDRESS, databaseUrl: url, taskQueue: `memloom-test-${randomUUID()}`, metricsPort: await freePort() },
      logger: createLogger('silent'),
      ...(BUNDLE ? { workflowBundle: { codePath: BUNDLE } } : {}),
    });
    const running = worker.run();
    try {
      assert.ok(worker.metricsServer);
      assert.deepEqual(worker.metricsServer.temporal, {
        unavailable: 'not enabled when the Temporal runtime of this process was installed',
      });
      const text = await scrape(worker.metricsServer.port);
      assert.equal(sample(text, 'memloom_turns_total{outcome="completed"}'), 0);
      assert.match(text, /^# Temporal SDK metrics: not enabled when the Temporal runtime of this process was installed$/m);
      assert.doesNotMatch(text, /^temporal_/m);
    } finally {
      await worker.shutdown();
      await running;
    }
  });
});
