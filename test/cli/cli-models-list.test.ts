/**
 * `memloom models list` over a scratch database whose routing tables and usage ledger are seeded
 * the way routing writes them: a deployment cooling down after 429s, one with calls in flight and
 * a latency history, one over its daily budget, one with an all-time budget. Asserts the table and
 * the JSON a user reads, and that no key is printed. The table runs as a real subprocess
 * (`bin/memloom.js`), the rest in this process (the same program, without a process start each).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { DeploymentReport } from '../../src/client/models-report.ts';
import type { ModelsListReport } from '../../src/cli/model-commands.ts';
import type { Db } from '../../src/db/pool.ts';
import { runCli, runCliInProcess, parsed, errorOf } from '../helpers/cli.ts';
import { createTestDatabase, TEMPORAL_ADDRESS } from '../helpers/stack.ts';

const ENV_KEY = `sk-env-${randomUUID()}`;
const SECRETS = new RegExp(`${ENV_KEY}|sk-literal-list-key|s3cret`);
const CONFIG = `
model_list:
  - model_name: smart
    litellm_params: { model: openai/gpt-4o, api_key: os.environ/MEMLOOM_TEST_LIST_KEY, rpm: 60 }
    model_info: { id: smart-a }
  - model_name: smart
    litellm_params: { model: hosted_vllm/llama-3.1-70b, api_base: "http://user:s3cret@127.0.0.1:8000/v1", tpm: 100000, weight: 2 }
    model_info: { id: smart-b }
  - model_name: cheap
    litellm_params: { model: openai/gpt-4o-mini, api_key: sk-literal-list-key, max_budget: 0.01, budget_duration: 1d }
    model_info: { id: cheap-a }
  - model_name: cheap
    litellm_params: { model: litellm_proxy/cheap, api_base: "http://127.0.0.1:4000", max_budget: 5 }
    model_info: { id: cheap-proxy }
router_settings:
  routing_strategy: least-busy
  num_retries: 1
  allowed_fails: 2
  cooldown_time: 30
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
`;

const dir = await mkdtemp(join(tmpdir(), 'memloom-models-list-'));
after(() => rm(dir, { recursive: true, force: true }));
const FILE = join(dir, 'config.yaml');
await writeFile(FILE, CONFIG);

const { url, db } = await createTestDatabase();
const ENV: NodeJS.ProcessEnv = {
  ...process.env,
  DATABASE_URL: url,
  TEMPORAL_ADDRESS,
  MEMLOOM_LOG_LEVEL: 'warn',
  MEMLOOM_TEST_LIST_KEY: ENV_KEY,
  MEMLOOM_MODELS: FILE,
};

/** Runs `memloom ...args` in this process, with `env` over the file's environment. */
function memloom(env: NodeJS.ProcessEnv, ...args: string[]) {
  return runCliInProcess({ ...ENV, ...env }, args);
}

/** Runs `memloom ...args` as a subprocess, as a user does. */
function memloomProcess(env: NodeJS.ProcessEnv, ...args: string[]) {
  return runCli({ ...ENV, ...env }, args);
}

/** The database's clock, to the minute. */
async function currentMinute(pool: Db): Promise<string> {
  const { rows } = await pool.query<{ m: string }>("SELECT date_trunc('minute', clock_timestamp())::text AS m");
  return rows[0]!.m;
}

/**
 * Failures, requests and tokens count per minute (and the daily budget per UTC day): `read` must
 * see the seeded state in the minute it was seeded. Seeds, reads, and when a minute began in
 * between (the reading may have seen the counters reset), clears the seed and does both again.
 */
async function seededAndRead<T>(pool: Db, read: () => Promise<T>): Promise<{ cooldownUntil: Date; result: T }> {
  for (let attempt = 1; ; attempt++) {
    const minute = await currentMinute(pool);
    const cooldownUntil = await seed(pool);
    const result = await read();
    if ((await currentMinute(pool)) === minute) return { cooldownUntil, result };
    assert.ok(attempt < 3, 'seeding and reading never fit in one minute');
    await pool.query('TRUNCATE deployment_state, deployment_minute_usage, deployment_inflight, usage');
  }
}

async function usage(pool: Db, deployment: string, rows: { ago: string; latencyMs: number; cost: number | null; outcome?: string }[]) {
  for (const r of rows) {
    await pool.query(
      `INSERT INTO usage (agent_id, model_group, deployment, latency_ms, outcome, cost, created_at)
       VALUES ('agent-seed', 'seed', $1, $2, $3, $4, now() - $5::interval)`,
      [deployment, r.latencyMs, r.outcome ?? 'ok', r.cost, r.ago],
    );
  }
}

/** Routing state as routing writes it; returns smart-a's cooldown end. */
async function seed(pool: Db): Promise<Date> {
  const { rows } = await pool.query<{ cooldown_until: Date }>(
    `INSERT INTO deployment_state (deployment_id, model_group, cooldown_until, cooldown_reason, fail_minute, fails_in_minute)
     VALUES ('smart-a', 'smart', now() + interval '10 minutes', 'RateLimited (429)', date_trunc('minute', now()), 3)
     RETURNING cooldown_until`,
  );
  // a cooldown that has ended and failures of an earlier minute no longer count
  await pool.query(
    `INSERT INTO deployment_state (deployment_id, model_group, cooldown_until, cooldown_reason, fail_minute, fails_in_minute)
     VALUES ('smart-b', 'smart', now() - interval '1 minute', 'Upstream5xx (503)', date_trunc('minute', now()) - interval '1 minute', 5)`,
  );
  await pool.query(
    `INSERT INTO deployment_minute_usage (deployment_id, minute, requests, tokens) VALUES
       ('smart-b', date_trunc('minute', now()), 4, 1200),
       ('smart-b', date_trunc('minute', now()) - interval '1 minute', 50, 99999)`,
  );
  await pool.query(
    `INSERT INTO deployment_inflight (call_id, deployment_id, expires_at) VALUES
       ('call-1', 'smart-b', now() + interval '5 minutes'),
       ('call-2', 'smart-b', now() + interval '5 minutes'),
       ('call-of-a-dead-worker', 'smart-b', now() - interval '1 minute')`,
  );
  // p50 of the last hour's successful calls: 200 ms; spend of the last 24h: 0.003 + 0.5
  await usage(pool, 'smart-b', [
    { ago: '10 minutes', latencyMs: 100, cost: 0.001 },
    { ago: '20 minutes', latencyMs: 300, cost: 0.001 },
    { ago: '30 minutes', latencyMs: 200, cost: 0.001 },
    { ago: '5 minutes', latencyMs: 5000, cost: null, outcome: 'Upstream5xx' },
    { ago: '2 hours', latencyMs: 9000, cost: 0.5 },
    { ago: '25 hours', latencyMs: 100, cost: 7 },
  ]);
  // over its $0.01 a day today; yesterday's spend is another window
  await usage(pool, 'cheap-a', [
    { ago: '0 seconds', latencyMs: 400, cost: 0.02 },
    { ago: '2 days', latencyMs: 400, cost: 1 },
  ]);
  // a budget without budget_duration never resets
  await usage(pool, 'cheap-proxy', [
    { ago: '40 days', latencyMs: 400, cost: 1 },
    { ago: '0 seconds', latencyMs: 400, cost: 0.5 },
  ]);
  return rows[0]!.cooldown_until;
}

const clock = (d: Date): string => [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');

describe('memloom models list', () => {
  test('the table and --json: cooling down, failures, rpm/tpm, in flight, p50, spend and budgets; no key', async () => {
    const { cooldownUntil, result: [table, json] } = await seededAndRead(db, () =>
      Promise.all([memloomProcess({}, 'models', 'list'), memloom({}, 'models', 'list', '--json')]),
    );

    assert.equal(table.code, 0, table.stderr);
    const out = table.stdout;
    assert.match(out, new RegExp(`^Deployments of ${FILE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} at \\d\\d:\\d\\d:\\d\\d:$`, 'm'));
    assert.match(out, /^GROUP +DEPLOYMENT +STATE +FAILS\/MIN +RPM +TPM +IN FLIGHT +P50 +SPEND$/m);
    const until = clock(cooldownUntil);
    assert.match(out, new RegExp(`^smart +smart-a +cooling down until ${until} \\(RateLimited \\(429\\)\\) +3 +0/60 +0 +0 +- +\\$0\\.0000 \\(24h\\)$`, 'm'));
    assert.match(out, /^smart +smart-b +ready +0 +4 +1200\/100000 +2 +200 ms +\$0\.5030 \(24h\)$/m);
    assert.match(out, /^cheap +cheap-a +over budget \(resets \d{4}-\d\d-\d\d 00:00 UTC\) +0 +0 +0 +0 +400 ms +\$0\.0200 of \$0\.01\/1d$/m);
    assert.match(out, /^cheap +cheap-proxy +ready +0 +0 +0 +0 +400 ms +\$1\.5000 of \$5\.00 \(lifetime\)$/m);
    assert.match(out, /^SPEND \(USD\): in the window of max_budget per budget_duration/m);
    assert.match(out, /router settings in effect:\n {2}routing_strategy +least-busy \(router_settings\)/);
    assert.match(out, /allowed_fails +2 \(router_settings\)/);
    assert.match(out, /cooldown_time +30s \(router_settings\)/);
    assert.doesNotMatch(out + table.stderr, SECRETS);

    const report = parsed<ModelsListReport>(json);
    assert.equal(report.file, FILE);
    assert.deepEqual(report.groups.map((g) => [g.name, g.deployments.map((d) => d.id)]), [
      ['smart', ['smart-a', 'smart-b']],
      ['cheap', ['cheap-a', 'cheap-proxy']],
    ]);
    const byId = new Map<string, DeploymentReport>(report.groups.flatMap((g) => g.deployments.map((d) => [d.id, d])));
    const smartA = byId.get('smart-a')!;
    assert.deepEqual(
      {
        state: smartA.state,
        until: smartA.cooling_down_until,
        reason: smartA.cooldown_reason,
        fails: smartA.failures_this_minute,
        rpm: [smartA.rpm_used, smartA.rpm_limit],
        model: smartA.model,
        api_base: smartA.api_base,
      },
      {
        state: 'cooling_down',
        until: cooldownUntil.toISOString(),
        reason: 'RateLimited (429)',
        fails: 3,
        rpm: [0, 60],
        model: 'openai/gpt-4o',
        api_base: null,
      },
    );
    const smartB = byId.get('smart-b')!;
    assert.deepEqual(
      {
        state: smartB.state,
        until: smartB.cooling_down_until,
        fails: smartB.failures_this_minute,
        rpm_used: smartB.rpm_used,
        tpm: [smartB.tpm_used, smartB.tpm_limit],
        weight: smartB.weight,
        in_flight: smartB.in_flight,
        p50: smartB.p50_latency_ms,
        window: smartB.spend_window.kind,
        budget: smartB.budget,
        api_base: smartB.api_base,
      },
      {
        state: 'ready',
        until: null,
        fails: 0,
        rpm_used: 4,
        tpm: [1200, 100000],
        weight: 2,
        in_flight: 2,
        p50: 200,
        window: 'last 24h',
        budget: null,
        api_base: 'http://user:***@127.0.0.1:8000/v1',
      },
    );
    assert.ok(Math.abs(smartB.spend_usd - 0.503) < 1e-9, String(smartB.spend_usd));
    const cheapA = byId.get('cheap-a')!;
    assert.equal(cheapA.state, 'over_budget');
    assert.deepEqual(cheapA.budget, { max_usd: 0.01, duration: '1d' });
    assert.equal(cheapA.spend_window.kind, 'budget');
    assert.match(cheapA.spend_window.since!, /T00:00:00\.000Z$/);
    assert.equal(Date.parse(cheapA.spend_window.resets_at!) - Date.parse(cheapA.spend_window.since!), 86_400_000);
    assert.ok(Math.abs(cheapA.spend_usd - 0.02) < 1e-9, String(cheapA.spend_usd));
    const cheapProxy = byId.get('cheap-proxy')!;
    assert.deepEqual([cheapProxy.state, cheapProxy.spend_window, cheapProxy.budget], [
      'ready',
      { kind: 'lifetime', since: null, resets_at: null },
      { max_usd: 5, duration: null },
    ]);
    assert.ok(Math.abs(cheapProxy.spend_usd - 1.5) < 1e-9, String(cheapProxy.spend_usd));
    assert.equal(report.router.routingStrategy, 'least-busy');
    assert.equal(report.router.numRetries, 1);
    assert.doesNotMatch(json.stdout + json.stderr, SECRETS);
  });

  test('--models FILE wins over MEMLOOM_MODELS', async () => {
    const run = await memloom({ MEMLOOM_MODELS: join(dir, 'missing.yaml') }, 'models', 'list', '--models', FILE, '--json');
    assert.deepEqual(parsed<ModelsListReport>(run).groups.map((g) => g.name), ['smart', 'cheap']);
  });

  test('without a models file: exit 1, saying how to set one', async () => {
    const run = await memloom({ MEMLOOM_MODELS: undefined }, 'models', 'list');
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^error: no models file is configured: set MEMLOOM_MODELS to a LiteLLM config\.yaml, or pass --models FILE/);
    const error = errorOf(await memloom({ MEMLOOM_MODELS: undefined }, 'models', 'list', '--json'));
    assert.equal(error.code, 'config_error');
    assert.match(error.message, /MEMLOOM_MODELS/);
  });

  test('a bad models file: exit 1, every problem named by its path, before the database is asked', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'model_list:\n  - model_name: x\n    litellm_params: { model: openai/x, api_base: not-a-url }\n');
    const run = await memloom({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nowhere' }, 'models', 'list', '--models', bad);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /invalid models file .*bad\.yaml:\n {2}- model_list\[0\]\.litellm_params\.api_base: must be a URL/);
  });
});
