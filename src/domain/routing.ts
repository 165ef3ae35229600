/**
 * Routing as LiteLLM's router does it, over the shared state of the deployments: which
 * deployment of a group takes a call ({@link pickDeployment}, by the group's routing strategy,
 * skipping deployments cooling down, over their rpm/tpm limit this minute or over budget), and
 * what a failed call does to its deployment ({@link cooldownAfterFailure}). Pure: the state is
 * read and written by `src/db/routing-store.ts`.
 * @module
 */
import { ModelErrorType } from './errors.ts';
import { RoutingStrategy, type ModelDeployment, type ModelGroup } from './model-policy.ts';

/** What the shared routing state says about one deployment now. */
export interface DeploymentLoad {
  /** Epoch ms until which it takes no calls; null or past: none. */
  cooldownUntil: number | null;
  cooldownReason: string | null;
  /** Failures in the current minute. */
  failsThisMinute: number;
  inFlight: number;
  requestsThisMinute: number;
  tokensThisMinute: number;
  /** Moving average of successful calls' latency; null: no call yet. */
  latencyMs: number | null;
  /** USD spent in its budget window; null when it has no budget. */
  spend: number | null;
  /** Epoch ms the budget window started (when it has a budget). */
  budgetWindowStart: number | null;
}

export const IDLE_LOAD: DeploymentLoad = {
  cooldownUntil: null,
  cooldownReason: null,
  failsThisMinute: 0,
  inFlight: 0,
  requestsThisMinute: 0,
  tokensThisMinute: 0,
  latencyMs: null,
  spend: null,
  budgetWindowStart: null,
};

/** Why a deployment cannot take a call now, and when it can again (epoch ms). */
export interface Unavailable {
  deploymentId: string;
  until: number;
  reason: string;
  /** Over its `max_budget`: waiting is rarely worth it. */
  overBudget: boolean;
}

export type PickResult =
  | { kind: 'picked'; deployment: ModelDeployment }
  /** Every deployment is unavailable (`blocked` says why, each); the first becomes free at `until`. */
  | { kind: 'unavailable'; until: number; blocked: Unavailable[] }
  /** `requireOther` and the avoided deployment is the only one that could take the call. */
  | { kind: 'no-other' };

export interface PickOptions {
  strategy: RoutingStrategy;
  /** Epoch ms, as the database sees it. */
  now: number;
  /** [0, 1): the choice among equals (seeded per call, so a pick can be repeated). */
  random: () => number;
  /** A deployment that just failed: others are preferred when there are any. */
  avoid?: string;
  /** Pick a deployment other than `avoid`, or none (after a failure another attempt there cannot fix). */
  requireOther?: boolean;
}

const MINUTE_MS = 60_000;

/** Why `deployment` cannot take a call now, or null when it can. */
export function unavailability(deployment: ModelDeployment, load: DeploymentLoad, now: number): Unavailable | null {
  const nextMinute = Math.floor(now / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const blocked = (until: number, reason: string, overBudget = false): Unavailable => ({ deploymentId: deployment.id, until, reason, overBudget });
  if (deployment.maxBudget !== null && load.spend !== null && load.spend >= deployment.maxBudget) {
    const until = deployment.budgetDuration && load.budgetWindowStart !== null ? load.budgetWindowStart + deployment.budgetDuration.ms : Number.POSITIVE_INFINITY;
    return blocked(until, `over its budget ($${load.spend.toFixed(4)} of $${deployment.maxBudget})`, true);
  }
  if (load.cooldownUntil !== null && load.cooldownUntil > now) {
    return blocked(load.cooldownUntil, `cooling down${load.cooldownReason ? ` after ${load.cooldownReason}` : ''}`);
  }
  if (deployment.rpm !== null && load.requestsThisMinute >= deployment.rpm) return blocked(nextMinute, `at its rpm limit (${deployment.rpm})`);
  if (deployment.tpm !== null && load.tokensThisMinute >= deployment.tpm) return blocked(nextMinute, `at its tpm limit (${deployment.tpm})`);
  return null;
}

/**
 * The deployment of `group` that takes the next call, by the strategy:
 * - `simple-shuffle`: weighted random, by `weight`, else `rpm`, else `tpm`, else evenly;
 * - `least-busy`: the fewest calls in flight;
 * - `usage-based-routing-v2`: the fewest tokens this minute;
 * - `latency-based-routing`: the lowest average latency, deployments without one first.
 * Ties are broken at random.
 */
export function pickDeployment(group: ModelGroup, loads: ReadonlyMap<string, DeploymentLoad>, options: PickOptions): PickResult {
  const { now, avoid } = options;
  const blocked: Unavailable[] = [];
  let ready: ModelDeployment[] = [];
  for (const deployment of group.deployments) {
    const why = unavailability(deployment, loads.get(deployment.id) ?? IDLE_LOAD, now);
    if (why) blocked.push(why);
    else ready.push(deployment);
  }
  if (avoid !== undefined && ready.some((d) => d.id !== avoid)) ready = ready.filter((d) => d.id !== avoid);
  else if (options.requireOther && ready.every((d) => d.id === avoid)) return ready.length > 0 ? { kind: 'no-other' } : unavailable(blocked);
  if (ready.length === 0) return unavailable(blocked);
  return { kind: 'picked', deployment: choose(ready, loads, options) };
}

function unavailable(blocked: Unavailable[]): PickResult {
  return { kind: 'unavailable', until: Math.min(...blocked.map((b) => b.until)), blocked };
}

function choose(ready: ModelDeployment[], loads: ReadonlyMap<string, DeploymentLoad>, options: PickOptions): ModelDeployment {
  const load = (d: ModelDeployment): DeploymentLoad => loads.get(d.id) ?? IDLE_LOAD;
  switch (options.strategy) {
    case RoutingStrategy.SimpleShuffle:
      return weighted(ready, options.random);
    case RoutingStrategy.LeastBusy:
      return lowest(ready, (d) => load(d).inFlight, options.random);
    case RoutingStrategy.UsageBasedV2:
      return lowest(ready, (d) => load(d).tokensThisMinute, options.random);
    case RoutingStrategy.LatencyBased:
      return lowest(ready, (d) => load(d).latencyMs ?? -1, options.random);
  }
}

/** LiteLLM's simple-shuffle weights: `weight`, else `rpm`, else `tpm`, when every deployment sets it. */
function weighted(ready: ModelDeployment[], random: () => number): ModelDeployment {
  const by = (['weight', 'rpm', 'tpm'] as const).find((key) => ready.every((d) => d[key] !== null));
  const weights = ready.map((d) => (by ? (d[by] as number) : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  if (total <= 0) return ready[Math.floor(random() * ready.length)]!;
  let r = random() * total;
  for (const [i, w] of weights.entries()) {
    if (r < w) return ready[i]!;
    r -= w;
  }
  return ready[ready.length - 1]!;
}

function lowest(ready: ModelDeployment[], score: (d: ModelDeployment) => number, random: () => number): ModelDeployment {
  const best = Math.min(...ready.map(score));
  const tied = ready.filter((d) => score(d) === best);
  return tied[Math.floor(random() * tied.length)]!;
}

/** mulberry32: a small, seedable [0, 1) generator. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A deterministic [0, 1) generator from a string seed (mulberry32 over an FNV-1a hash). */
export function seededRandom(seed: string): () => number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  return mulberry32(h);
}

/** Failure types that cool a deployment down at once, as LiteLLM does for 429, 401, 404 and timeouts. */
const COOL_AT_ONCE: ReadonlySet<string> = new Set([
  ModelErrorType.RateLimited,
  ModelErrorType.AuthFailed,
  ModelErrorType.ModelNotFound,
  ModelErrorType.Timeout,
]);

/** Failures that say something about the deployment (not the request): they count toward `allowed_fails`. */
const DEPLOYMENT_FAILURES: ReadonlySet<string> = new Set([
  ...COOL_AT_ONCE,
  ModelErrorType.Upstream5xx,
  ModelErrorType.Connection,
  ModelErrorType.BudgetExceeded,
]);

/** What one failed call does to its deployment's state. */
export interface FailureEffect {
  /** Whether the failure counts toward the deployment's failures this minute. */
  counts: boolean;
  /** Cool down now for this long (ms), whatever the count. */
  coolNowMs: number | null;
  /** Cool down for `cooldownTimeMs` once the failures this minute exceed this many. */
  allowedFails: number;
  cooldownTimeMs: number;
}

/**
 * LiteLLM's cooldown rule: a 429, 401, 404 or timeout cools the deployment at once (for the
 * provider's Retry-After when it sent one, else `cooldown_time`); other deployment failures cool
 * it once they exceed `allowed_fails` in a minute. A group's only deployment cools down on a 429
 * alone: with nowhere else to send its calls, other failures are left to the retries.
 */
export function cooldownAfterFailure(
  failure: { type: string; retryAfterMs?: number | undefined },
  policy: { allowedFails: number; cooldownTimeMs: number },
  groupSize: number,
): FailureEffect {
  const counts = DEPLOYMENT_FAILURES.has(failure.type);
  const cooldownMs = failure.retryAfterMs ?? policy.cooldownTimeMs;
  if (groupSize <= 1) {
    return {
      counts,
      coolNowMs: failure.type === ModelErrorType.RateLimited && cooldownMs > 0 ? cooldownMs : null,
      allowedFails: Number.MAX_SAFE_INTEGER,
      cooldownTimeMs: policy.cooldownTimeMs,
    };
  }
  return {
    counts,
    coolNowMs: COOL_AT_ONCE.has(failure.type) && cooldownMs > 0 ? cooldownMs : null,
    allowedFails: policy.allowedFails,
    cooldownTimeMs: policy.cooldownTimeMs,
  };
}
