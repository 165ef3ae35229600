/** Routing strategies, cooldown rules and the attempt chain, as pure functions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseModelsConfig } from '../../src/config/models-file.ts';
import { ModelChain, retryDelayMs, type ModelPlan } from '../../src/domain/model-chain.ts';
import type { ModelGroup, RoutingStrategy } from '../../src/domain/model-policy.ts';
import { cooldownAfterFailure, IDLE_LOAD, pickDeployment, seededRandom, type DeploymentLoad } from '../../src/domain/routing.ts';

const NOW = Date.parse('2026-11-26T10:00:30Z');

function group(deployments: Record<string, Record<string, unknown>>): ModelGroup {
  const models = parseModelsConfig(
    JSON.stringify({
      model_list: Object.entries(deployments).map(([id, params]) => ({
        model_name: 'g',
        litellm_params: { model: 'openai/m', api_base: `http://${id}.local/v1`, ...params },
        model_info: { id },
      })),
    }),
    'test',
  );
  return models.config.groups[0]!;
}

function counts(g: ModelGroup, strategy: RoutingStrategy, loads: Record<string, Partial<DeploymentLoad>>, n = 2000): Record<string, number> {
  const loadMap = new Map(Object.entries(loads).map(([id, l]) => [id, { ...IDLE_LOAD, ...l }]));
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const pick = pickDeployment(g, loadMap, { strategy, now: NOW, random: seededRandom(`turn-${i}`) });
    assert.equal(pick.kind, 'picked');
    if (pick.kind === 'picked') out[pick.deployment.id] = (out[pick.deployment.id] ?? 0) + 1;
  }
  return out;
}

test('simple-shuffle follows weight, else rpm (seeded, within 5 points)', () => {
  const byWeight = counts(group({ a: { weight: 3 }, b: { weight: 1 } }), 'simple-shuffle', {});
  assert.ok(Math.abs(byWeight.a! / 2000 - 0.75) < 0.05, JSON.stringify(byWeight));
  const byRpm = counts(group({ a: { rpm: 100 }, b: { rpm: 900 } }), 'simple-shuffle', {});
  assert.ok(Math.abs(byRpm.b! / 2000 - 0.9) < 0.05, JSON.stringify(byRpm));
  const even = counts(group({ a: {}, b: {} }), 'simple-shuffle', {});
  assert.ok(Math.abs(even.a! / 2000 - 0.5) < 0.05, JSON.stringify(even));
  // the same seed picks the same deployment
  const g = group({ a: {}, b: {}, c: {} });
  const once = (seed: string) => pickDeployment(g, new Map(), { strategy: 'simple-shuffle', now: NOW, random: seededRandom(seed) });
  assert.deepEqual(once('x'), once('x'));
});

test('least-busy, usage-based-routing-v2 and latency-based-routing pick by their measure; ties split', () => {
  const g = group({ a: {}, b: {}, c: {} });
  assert.deepEqual(counts(g, 'least-busy', { a: { inFlight: 3 }, b: { inFlight: 1 }, c: { inFlight: 2 } }, 50), { b: 50 });
  assert.deepEqual(counts(g, 'usage-based-routing-v2', { a: { tokensThisMinute: 10 }, b: { tokensThisMinute: 900 }, c: { tokensThisMinute: 50 } }, 50), { a: 50 });
  assert.deepEqual(counts(g, 'latency-based-routing', { a: { latencyMs: 300 }, b: { latencyMs: 120 }, c: { latencyMs: 200 } }, 50), { b: 50 });
  // a deployment without a latency yet is tried first
  assert.deepEqual(counts(g, 'latency-based-routing', { a: { latencyMs: 300 }, b: { latencyMs: 120 } }, 50), { c: 50 });
  const tied = counts(g, 'least-busy', { a: { inFlight: 1 }, b: { inFlight: 1 }, c: { inFlight: 5 } });
  assert.ok(Math.abs(tied.a! / 2000 - 0.5) < 0.05, JSON.stringify(tied));
});

test('cooling down, rpm/tpm limits and budgets take a deployment out; when none is left, the first to free up says when', () => {
  const g = group({ a: { rpm: 10 }, b: { tpm: 1000 }, c: { max_budget: 1, budget_duration: '1d' } });
  const loads = new Map<string, DeploymentLoad>([
    ['a', { ...IDLE_LOAD, requestsThisMinute: 10 }],
    ['b', { ...IDLE_LOAD, cooldownUntil: NOW + 5000, cooldownReason: 'RateLimited (429)' }],
    ['c', { ...IDLE_LOAD, spend: 1.5, budgetWindowStart: Date.parse('2026-11-26T00:00:00Z') }],
  ]);
  const pick = pickDeployment(g, loads, { strategy: 'simple-shuffle', now: NOW, random: seededRandom('s') });
  assert.equal(pick.kind, 'unavailable');
  if (pick.kind !== 'unavailable') return;
  assert.equal(pick.until, NOW + 5000);
  assert.deepEqual(pick.blocked.map((b) => [b.deploymentId, b.reason]), [
    ['a', 'at its rpm limit (10)'],
    ['b', 'cooling down after RateLimited (429)'],
    ['c', 'over its budget ($1.5000 of $1)'],
  ]);
  assert.equal(pick.blocked[0]!.until, Date.parse('2026-11-26T10:01:00Z'), 'an rpm limit frees up at the next minute');
  assert.equal(pick.blocked[2]!.until, Date.parse('2026-11-27T00:00:00Z'), 'a budget frees up when its window resets');
  // b's cooldown over: b takes it
  const later = pickDeployment(g, loads, { strategy: 'simple-shuffle', now: NOW + 6000, random: seededRandom('s') });
  assert.equal(later.kind === 'picked' && later.deployment.id, 'b');
});

test('after a failure another deployment is preferred; requireOther refuses the same one', () => {
  const g = group({ a: {}, b: {} });
  for (let i = 0; i < 50; i++) {
    const pick = pickDeployment(g, new Map(), { strategy: 'simple-shuffle', now: NOW, random: seededRandom(`${i}`), avoid: 'a' });
    assert.equal(pick.kind === 'picked' && pick.deployment.id, 'b');
  }
  const single = group({ a: {} });
  assert.equal(pickDeployment(single, new Map(), { strategy: 'simple-shuffle', now: NOW, random: Math.random, avoid: 'a' }).kind, 'picked');
  assert.equal(pickDeployment(single, new Map(), { strategy: 'simple-shuffle', now: NOW, random: Math.random, avoid: 'a', requireOther: true }).kind, 'no-other');
});

test("cooldowns follow LiteLLM: at once on 429/401/404/timeouts (Retry-After's length), else after allowed_fails", () => {
  const policy = { allowedFails: 3, cooldownTimeMs: 5000 };
  assert.equal(cooldownAfterFailure({ type: 'RateLimited', retryAfterMs: 12_000 }, policy, 2).coolNowMs, 12_000);
  assert.equal(cooldownAfterFailure({ type: 'AuthFailed' }, policy, 2).coolNowMs, 5000);
  assert.equal(cooldownAfterFailure({ type: 'Timeout' }, policy, 2).coolNowMs, 5000);
  const fiveHundred = cooldownAfterFailure({ type: 'Upstream5xx' }, policy, 2);
  assert.deepEqual([fiveHundred.coolNowMs, fiveHundred.counts, fiveHundred.allowedFails], [null, true, 3]);
  assert.equal(cooldownAfterFailure({ type: 'BadRequest' }, policy, 2).counts, false, 'a bad request says nothing about the deployment');
  // a group's only deployment: a 429 alone
  assert.equal(cooldownAfterFailure({ type: 'AuthFailed' }, policy, 1).coolNowMs, null);
  assert.equal(cooldownAfterFailure({ type: 'RateLimited' }, policy, 1).coolNowMs, 5000);
});

const plan: ModelPlan = {
  mode: 'routed',
  group: 'smart',
  numRetries: 1,
  retryAfterMs: 0,
  deadlineMs: 600_000,
  fallbacks: ['fast', 'cheap'],
  contextWindowFallbacks: ['big'],
  contentPolicyFallbacks: [],
};

test('the chain: retries in the group, then fallbacks in order, then gives up', () => {
  const chain = new ModelChain(plan);
  const walk: string[] = [];
  let next = chain.first();
  for (let i = 0; i < 10; i++) {
    const group = next.groups[0]!;
    chain.attempted(group);
    walk.push(`${group}:${next.reason.kind}`);
    const after = chain.next({ type: 'Upstream5xx', group, deploymentId: `${group}-1` });
    if (!after) break;
    next = after;
  }
  assert.deepEqual(walk, ['smart:first', 'smart:retry', 'fast:fallback', 'fast:retry', 'cheap:fallback', 'cheap:retry']);
});

test('the chain: a context overflow goes to context_window_fallbacks; a bad request or a direct auth failure ends it', () => {
  const chain = new ModelChain(plan);
  chain.attempted('smart');
  const next = chain.next({ type: 'ContextWindowExceeded', group: 'smart', deploymentId: 's1' });
  assert.deepEqual(next && [next.groups, next.reason], [['big'], { kind: 'context_window_fallback', from: 'smart' }]);
  chain.attempted('big');
  assert.equal(chain.next({ type: 'ContextWindowExceeded', group: 'big', deploymentId: 'b1' }), null);

  const bad = new ModelChain(plan);
  bad.attempted('smart');
  assert.equal(bad.next({ type: 'BadRequest', group: 'smart', deploymentId: 's1' }), null);

  const auth = new ModelChain(plan);
  auth.attempted('smart');
  const other = auth.next({ type: 'AuthFailed', group: 'smart', deploymentId: 's1' });
  assert.deepEqual(other && [other.requireOther, other.avoid], [true, 's1']);
  const direct = new ModelChain({ ...plan, mode: 'direct', fallbacks: [] });
  direct.attempted('smart');
  assert.equal(direct.next({ type: 'AuthFailed', group: 'smart', deploymentId: 'direct' }), null);
});

test('the backoff before a retry: Retry-After when given, else 1 s, 2 s, 4 s … capped at 30 s; none on another deployment', () => {
  const delay = (sameDeployment: boolean, triesInGroup: number, hintMs?: number) => retryDelayMs({ sameDeployment, triesInGroup, retryAfterMs: 0, hintMs });
  assert.deepEqual([1, 2, 3, 6, 10].map((n) => delay(true, n)), [1000, 2000, 4000, 30_000, 30_000]);
  assert.equal(delay(true, 1, 7000), 7000);
  assert.equal(delay(false, 3, 7000), 0);
  assert.equal(retryDelayMs({ sameDeployment: false, triesInGroup: 1, retryAfterMs: 500, hintMs: undefined }), 500);
});
