/**
 * Read-only view of the routing state of a models file's deployments (migration
 * 005_model_routing): cooldowns, failures this minute, requests and tokens this minute, calls in
 * flight, and from the `usage` ledger the p50 latency and the spend. For `memloom models list`;
 * routing writes these tables, this module never does.
 * @module
 */
import type { Queryable } from './pool.ts';

/** What to read for one deployment. */
export interface DeploymentStatusQuery {
  /** The deployment id of the models file (`usage.deployment`, `deployment_state.deployment_id`). */
  id: string;
  /** Spend counts the calls at or after this time; null: every call. */
  spendSince: Date | null;
}

/** One deployment's live state as of `now`. A deployment never called reads as idle and ready. */
export interface DeploymentStatus {
  id: string;
  /** When its cooldown ends, if it is cooling down at `now`; else null. */
  coolingDownUntil: Date | null;
  /** Why it cooled down (`RateLimited (429)`), while it is cooling down; else null. */
  cooldownReason: string | null;
  /** Failures counted in the minute of `now`. */
  failuresThisMinute: number;
  /** Requests and tokens counted in the minute of `now`. */
  requestsThisMinute: number;
  tokensThisMinute: number;
  /** Calls started and not ended, whose worker is not presumed dead (`expires_at` after `now`). */
  inFlight: number;
  /** Median latency of its successful calls in the hour before `now`, ms; null without any. */
  p50LatencyMs: number | null;
  /** USD of its calls since `spendSince` whose cost is known; 0 without any. */
  spendUsd: number;
}

/** How far back {@link DeploymentStatus.p50LatencyMs} looks. */
export const LATENCY_WINDOW_MS = 3_600_000;

interface Row {
  id: string;
  cooldown_until: Date | null;
  cooldown_reason: string | null;
  fails_this_minute: number;
  requests: number;
  tokens: number;
  in_flight: number;
  p50_latency_ms: number | null;
  spend_usd: number;
}

/** The state of each deployment as of `now`, in the order asked; one query. */
export async function readDeploymentStatus(
  db: Queryable,
  deployments: readonly DeploymentStatusQuery[],
  now: Date,
): Promise<DeploymentStatus[]> {
  if (deployments.length === 0) return [];
  // "this minute" is date_trunc('minute', now), the key routing counts failures, requests and tokens under
  const { rows } = await db.query<Row>(
    `WITH d AS (
       SELECT id, spend_since, ord FROM unnest($1::text[], $2::timestamptz[]) WITH ORDINALITY AS d(id, spend_since, ord)
     )
     SELECT d.id,
            s.cooldown_until, s.cooldown_reason,
            CASE WHEN s.fail_minute = date_trunc('minute', $3::timestamptz) THEN s.fails_in_minute ELSE 0 END AS fails_this_minute,
            coalesce(m.requests, 0) AS requests,
            coalesce(m.tokens, 0) AS tokens,
            (SELECT count(*)::int FROM deployment_inflight i WHERE i.deployment_id = d.id AND i.expires_at > $3) AS in_flight,
            (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY u.latency_ms)::float8 FROM usage u
              WHERE u.deployment = d.id AND u.outcome = 'ok' AND u.created_at > $3::timestamptz - $4 * interval '1 millisecond') AS p50_latency_ms,
            (SELECT coalesce(sum(u.cost), 0)::float8 FROM usage u
              WHERE u.deployment = d.id AND (d.spend_since IS NULL OR u.created_at >= d.spend_since)) AS spend_usd
     FROM d
     LEFT JOIN deployment_state s ON s.deployment_id = d.id
     LEFT JOIN deployment_minute_usage m ON m.deployment_id = d.id AND m.minute = date_trunc('minute', $3::timestamptz)
     ORDER BY d.ord`,
    [deployments.map((d) => d.id), deployments.map((d) => d.spendSince), now, LATENCY_WINDOW_MS],
  );
  return rows.map((r) => {
    const cooling = r.cooldown_until !== null && r.cooldown_until.getTime() > now.getTime();
    return {
      id: r.id,
      coolingDownUntil: cooling ? r.cooldown_until : null,
      cooldownReason: cooling ? r.cooldown_reason : null,
      failuresThisMinute: r.fails_this_minute,
      requestsThisMinute: r.requests,
      tokensThisMinute: r.tokens,
      inFlight: r.in_flight,
      p50LatencyMs: r.p50_latency_ms,
      spendUsd: r.spend_usd,
    };
  });
}
