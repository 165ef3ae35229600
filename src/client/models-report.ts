/**
 * The live state of a models file's deployments, as `memloom models list` shows it: per group,
 * each deployment with its limits, whether it is cooling down and why, its failures, requests,
 * tokens and calls in flight this minute, its p50 latency and its spend against its budget; and
 * the router settings in effect. Reads the routing tables and the usage ledger, never writes.
 * @module
 */
import { readDeploymentStatus, type DeploymentStatus } from '../db/model-status.ts';
import type { Queryable } from '../db/pool.ts';
import { budgetWindow } from '../domain/budget.ts';
import type { ModelDeployment, ModelsConfig, RouterPolicy } from '../domain/model-policy.ts';
import { redactUrl } from './errors.ts';

/** Whether routing would pick a deployment now. */
export const DeploymentState = {
  Ready: 'ready',
  /** Failed (`allowed_fails` in a minute, or a 429, 401, 404 or timeout) and skipped until `cooling_down_until`. */
  CoolingDown: 'cooling_down',
  /** Its spend in the budget window reached `max_budget`: skipped until the window resets. */
  OverBudget: 'over_budget',
} as const;
export type DeploymentState = (typeof DeploymentState)[keyof typeof DeploymentState];

/** Which calls a deployment's spend counts. */
export const SpendWindowKind = {
  /** `max_budget` with `budget_duration`: the current window of that length, aligned to the Unix epoch (UTC), as routing counts it. */
  Budget: 'budget',
  /** `max_budget` without `budget_duration`: a lifetime budget, every call counts. */
  Lifetime: 'lifetime',
  /** No budget: the last 24 hours. */
  Last24h: 'last 24h',
} as const;
export type SpendWindowKind = (typeof SpendWindowKind)[keyof typeof SpendWindowKind];

export interface SpendWindow {
  kind: SpendWindowKind;
  /** ISO start of the window; null: all time. */
  since: string | null;
  /** ISO end of a budget window, when the spend starts again from 0; null otherwise. */
  resets_at: string | null;
}

/** One deployment in {@link ModelsReport}. JSON-friendly: times are ISO strings, money is USD. */
export interface DeploymentReport {
  id: string;
  /** `litellm_params.model` as written. */
  model: string;
  /** Its api_base without a password; null: OpenAI's own endpoint. */
  api_base: string | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  weight: number | null;
  /** Over budget wins over cooling down: it lasts until the budget window resets. */
  state: DeploymentState;
  cooling_down_until: string | null;
  cooldown_reason: string | null;
  failures_this_minute: number;
  rpm_used: number;
  tpm_used: number;
  in_flight: number;
  /** Median latency of its successful calls in the last hour; null without any. */
  p50_latency_ms: number | null;
  /** USD of the calls in `spend_window` whose cost is known. */
  spend_usd: number;
  spend_window: SpendWindow;
  budget: { max_usd: number; duration: string | null } | null;
}

export interface ModelsReport {
  /** ISO time the report describes. */
  at: string;
  groups: { name: string; deployments: DeploymentReport[] }[];
  /** The router settings in effect, as `memloom models check` shows them. */
  router: RouterPolicy;
}

const DAY_MS = 86_400_000;

/** The calls a deployment's spend counts at `now`: see {@link SpendWindowKind}. */
export function spendWindow(deployment: Pick<ModelDeployment, 'maxBudget' | 'budgetDuration'>, now: Date): SpendWindow {
  if (deployment.maxBudget === null) {
    return { kind: SpendWindowKind.Last24h, since: new Date(now.getTime() - DAY_MS).toISOString(), resets_at: null };
  }
  const window = budgetWindow({ maxBudget: deployment.maxBudget, duration: deployment.budgetDuration?.text ?? null }, now);
  return window.start === null
    ? { kind: SpendWindowKind.Lifetime, since: null, resets_at: null }
    : { kind: SpendWindowKind.Budget, since: window.start.toISOString(), resets_at: window.resetsAt?.toISOString() ?? null };
}

/** An api_base with a password shows it as `***`; any other as written. */
function shownApiBase(apiBase: string | null): string | null {
  if (apiBase === null) return null;
  try {
    return new URL(apiBase).password ? redactUrl(apiBase) : apiBase;
  } catch {
    return apiBase;
  }
}

function deploymentReport(d: ModelDeployment, status: DeploymentStatus, window: SpendWindow): DeploymentReport {
  const overBudget = d.maxBudget !== null && status.spendUsd >= d.maxBudget;
  return {
    id: d.id,
    model: d.model,
    api_base: shownApiBase(d.apiBase),
    rpm_limit: d.rpm,
    tpm_limit: d.tpm,
    weight: d.weight,
    state: overBudget ? DeploymentState.OverBudget : status.coolingDownUntil ? DeploymentState.CoolingDown : DeploymentState.Ready,
    cooling_down_until: status.coolingDownUntil?.toISOString() ?? null,
    cooldown_reason: status.cooldownReason,
    failures_this_minute: status.failuresThisMinute,
    rpm_used: status.requestsThisMinute,
    tpm_used: status.tokensThisMinute,
    in_flight: status.inFlight,
    p50_latency_ms: status.p50LatencyMs,
    spend_usd: status.spendUsd,
    spend_window: window,
    budget: d.maxBudget === null ? null : { max_usd: d.maxBudget, duration: d.budgetDuration?.text ?? null },
  };
}

/**
 * Every group and deployment of `config` with its routing state as of `now`, read from the
 * routing tables and the usage ledger in one query.
 *
 * @example
 * ```ts
 * const { config } = await loadModelsFile('./config.yaml');
 * const report = await modelsReport(client.db, config);
 * for (const d of report.groups.flatMap((g) => g.deployments)) console.log(d.id, d.state, d.spend_usd);
 * ```
 */
export async function modelsReport(db: Queryable, config: ModelsConfig, now: Date = new Date()): Promise<ModelsReport> {
  const deployments = config.groups.flatMap((g) => g.deployments);
  const windows = new Map(deployments.map((d) => [d.id, spendWindow(d, now)]));
  const statuses = await readDeploymentStatus(
    db,
    deployments.map((d) => {
      const since = windows.get(d.id)!.since;
      return { id: d.id, spendSince: since === null ? null : new Date(since) };
    }),
    now,
  );
  const byId = new Map(statuses.map((s) => [s.id, s]));
  return {
    at: now.toISOString(),
    groups: config.groups.map((g) => ({
      name: g.name,
      deployments: g.deployments.map((d) => deploymentReport(d, byId.get(d.id)!, windows.get(d.id)!)),
    })),
    router: config.router,
  };
}
