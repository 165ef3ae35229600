/**
 * `memloom usage` over turns the scripted model answered: calls, tokens, cost, failed calls and
 * p50 latency per agent, model, deployment and day. The table for people runs as a real
 * subprocess (`bin/memloom.js`), the rest in this process (the same program).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { UsageReport } from '../../src/client/memloom-client.ts';
import { startTestStack } from '../helpers/stack.ts';
import { runCli, runCliInProcess, parsed, errorOf, type CliRun } from '../helpers/cli.ts';

const stack = await startTestStack();
const { client, model } = stack;

const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue, MEMLOOM_LOG_LEVEL: 'silent' };

type Run = CliRun;

/** Runs `memloom ...args` in this process. */
function memloom(...args: string[]): Promise<Run> {
  return runCliInProcess(ENV, args);
}

/** Runs `memloom ...args` as a subprocess, as a user does. */
function memloomProcess(...args: string[]): Promise<Run> {
  return runCli(ENV, args);
}

const today = (): string => new Date().toISOString().slice(0, 10);
const daysSeen = [today()];

const alice = await client.createAgent({ name: 'usage-alice', llm_config: stack.llmConfig });
const bob = await client.createAgent({ name: 'usage-bob', llm_config: stack.llmConfig });
await client.createAgent({ name: 'usage-carol', llm_config: stack.llmConfig });

// alice: one call a proxy priced and named its deployment; then a 500 the workflow retries
model.enqueue({ kind: 'reply', content: 'Hello Alice.', usage: { prompt_tokens: 100, completion_tokens: 20 }, cost: 0.0125, headers: { 'x-litellm-model-id': 'deploy-a' } });
await client.userMessage('usage-alice', 'hi');
model.enqueue({ kind: 'error', status: 500 }, { kind: 'reply', content: 'Back again.', usage: { prompt_tokens: 50, completion_tokens: 10 } });
await client.userMessage('usage-alice', 'still there?');
// bob: one cheaper priced call; carol: one call with no cost reported
model.enqueue({ kind: 'reply', content: 'Hi Bob.', usage: { prompt_tokens: 30, completion_tokens: 5 }, cost: 0.002 });
await client.userMessage('usage-bob', 'hi');
model.enqueue({ kind: 'reply', content: 'Hi Carol.', usage: { prompt_tokens: 40, completion_tokens: 8 } });
await client.userMessage('usage-carol', 'hi');
daysSeen.push(today());

const pick = <T extends object>(row: T, keys: (keyof T)[]): Partial<T> => Object.fromEntries(keys.map((k) => [k, row[k]])) as Partial<T>;
const TOKENS = ['label', 'calls', 'failed_calls', 'prompt_tokens', 'completion_tokens', 'total_tokens'] as const;

describe('memloom usage', () => {
  test('by agent (the default): names, calls, failed calls, tokens and cost, most expensive first, and a total', async () => {
    const report = parsed<UsageReport>(await memloom('usage', '--json'));
    assert.equal(report.by, 'agent');
    assert.equal(report.since, null);
    assert.equal(report.agent, null);
    assert.deepEqual(
      report.rows.map((r) => pick(r, [...TOKENS])),
      [
        { label: 'usage-alice', calls: 3, failed_calls: 1, prompt_tokens: 150, completion_tokens: 30, total_tokens: 180 },
        { label: 'usage-bob', calls: 1, failed_calls: 0, prompt_tokens: 30, completion_tokens: 5, total_tokens: 35 },
        { label: 'usage-carol', calls: 1, failed_calls: 0, prompt_tokens: 40, completion_tokens: 8, total_tokens: 48 },
      ],
    );
    assert.deepEqual(report.rows.slice(0, 2).map((r) => r.key), [alice.id, bob.id]);
    assert.ok(Math.abs(report.rows[0]!.cost! - 0.0125) < 1e-9, String(report.rows[0]!.cost));
    assert.ok(Math.abs(report.rows[1]!.cost! - 0.002) < 1e-9, String(report.rows[1]!.cost));
    assert.equal(report.rows[2]!.cost, null, 'no cost reported: null, not 0');
    for (const r of report.rows) assert.equal(typeof r.p50_latency_ms, 'number');
    assert.deepEqual(pick(report.total, ['calls', 'failed_calls', 'prompt_tokens', 'completion_tokens', 'total_tokens']), {
      calls: 5,
      failed_calls: 1,
      prompt_tokens: 220,
      completion_tokens: 43,
      total_tokens: 263,
    });
    assert.ok(Math.abs(report.total.cost! - 0.0145) < 1e-9, String(report.total.cost));
  });

  test('the table for people: one line per agent, cost in USD, and a total line', async () => {
    const run = await memloomProcess('usage');
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^Model calls by agent, all time$/);
    assert.match(lines[1]!, /^AGENT\s+CALLS\s+FAILED\s+PROMPT\s+COMPLETION\s+TOTAL\s+COST \(USD\)\s+P50 LATENCY$/);
    assert.match(lines[2]!, /^usage-alice\s+3\s+1\s+150\s+30\s+180\s+\$0\.0125\s+\d+ ms$/);
    assert.match(lines[3]!, /^usage-bob\s+1\s+0\s+30\s+5\s+35\s+\$0\.0020\s+\d+ ms$/);
    assert.match(lines[4]!, /^usage-carol\s+1\s+0\s+40\s+8\s+48\s+-\s+\d+ ms$/);
    assert.match(lines[5]!, /^total\s+5\s+1\s+220\s+43\s+263\s+\$0\.0145\s+\d+ ms$/);
  });

  test('by model, deployment and day', async () => {
    const byModel = parsed<UsageReport>(await memloom('usage', '--by', 'model', '--json'));
    assert.deepEqual(byModel.rows.map((r) => pick(r, ['key', 'label', 'calls', 'failed_calls'])), [
      { key: 'scripted-model', label: 'scripted-model', calls: 5, failed_calls: 1 },
    ]);

    const byDeployment = parsed<UsageReport>(await memloom('usage', '--by', 'deployment', '--json'));
    assert.equal(byDeployment.rows.length, 2, JSON.stringify(byDeployment.rows));
    const [proxied, direct] = byDeployment.rows;
    assert.deepEqual(pick(proxied!, ['key', 'calls', 'failed_calls', 'total_tokens']), { key: 'deploy-a', calls: 1, failed_calls: 0, total_tokens: 120 });
    assert.deepEqual(pick(direct!, ['calls', 'failed_calls', 'total_tokens']), { calls: 4, failed_calls: 1, total_tokens: 143 });
    assert.match(direct!.key, /^http:\/\/127\.0\.0\.1:\d+/, 'without a proxy deployment id, the endpoint');

    const byDay = parsed<UsageReport>(await memloom('usage', '--by', 'day', '--json'));
    assert.equal(byDay.rows.length, 1, JSON.stringify(byDay.rows));
    assert.ok(daysSeen.includes(byDay.rows[0]!.key), `${byDay.rows[0]!.key} is a UTC day of the turns`);
    assert.equal(byDay.rows[0]!.calls, 5);
  });

  test('--agent by name or id, and --since a duration or an ISO date', async () => {
    for (const ref of ['usage-alice', alice.id]) {
      const report = parsed<UsageReport>(await memloom('usage', '--agent', ref, '--by', 'model', '--json'));
      assert.deepEqual(report.agent, { id: alice.id, name: 'usage-alice' });
      assert.deepEqual(report.rows.map((r) => pick(r, ['key', 'calls', 'failed_calls'])), [{ key: 'scripted-model', calls: 3, failed_calls: 1 }]);
    }
    const recent = parsed<UsageReport>(await memloom('usage', '--since', '1h', '--json'));
    assert.equal(recent.total.calls, 5);
    assert.ok(recent.since !== null && Date.now() - Date.parse(recent.since) >= 3_600_000, recent.since ?? 'null');

    const future = parsed<UsageReport>(await memloom('usage', '--since', '2999-01-01', '--json'));
    assert.equal(future.since, '2999-01-01T00:00:00.000Z');
    assert.deepEqual(future.rows, []);
    assert.deepEqual(future.total, { calls: 0, failed_calls: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cost: null, p50_latency_ms: null });
    const empty = await memloom('usage', '--since', '2999-01-01');
    assert.match(empty.stdout, /^Model calls by agent, since 2999-01-01T00:00:00\.000Z: none\n/);
  });

  test('bad flags: the error names the flag; an unknown agent is not found', async () => {
    const since = errorOf(await memloom('usage', '--since', '7x', '--json'));
    assert.equal(since.code, 'validation_error');
    assert.equal(since.issues?.[0]?.path, '--since');
    assert.match(since.issues?.[0]?.message ?? '', /duration such as 1h, 7d or 30d, or an ISO date/);

    const by = await memloom('usage', '--by', 'week');
    assert.equal(by.code, 1);
    assert.match(by.stderr, /--by <group>.*'week' is invalid.*agent, model, deployment, day/);

    const unknown = errorOf(await memloom('usage', '--agent', 'nobody', '--json'));
    assert.equal(unknown.code, 'not_found');
    assert.match(unknown.message, /nobody/);
  });
});
