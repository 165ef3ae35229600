/**
 * The routing state every worker shares (migration 005): one read per pick
 * ({@link readDeploymentLoads}), one write when a call starts ({@link beginDeploymentCall}) and
 * one when it ends ({@link endDeploymentCall}). Times are the database's, so workers with
 * skewed clocks agree on cooldowns and minutes. The three run on every routed call: they are
 * named, so each connection plans them once.
 * @module
 */
import type { DeploymentLoad, FailureEffect } from '../domain/routing.ts';
import type { Queryable } from './pool.ts';

interface LoadRow {
  id: string;
  cooldown_until: Date | null;
  cooldown_reason: string | null;
  fails: number;
  latency_ms: number | null;
  in_flight: number;
  requests: number;
  tokens: number;
  spend: number | null;
  since: Date | null;
  now: Date;
}

/** A deployment to read, with the start of its budget window when it has a budget. */
export interface LoadQuery {
  id: string;
  budgetWindowMs: number | null;
  hasBudget: boolean;
}

/**
 * The load of each deployment now, and the database's clock (epoch ms). A budget window is
 * aligned to fixed periods since the epoch (`budget_duration`), or all time without a duration.
 */
export async function readDeploymentLoads(db: Queryable, deployments: readonly LoadQuery[]): Promise<{ now: number; loads: Map<string, DeploymentLoad> }> {
  const { rows } = await db.query<LoadRow>({
    name: 'routing-read-loads',
    text: `WITH d AS (
       SELECT id, has_budget, window_ms,
              CASE WHEN has_budget THEN
                CASE WHEN window_ms IS NULL THEN 'epoch'::timestamptz
                     ELSE to_timestamp(floor(extract(epoch FROM now()) * 1000 / window_ms) * window_ms / 1000) END
              END AS since
       FROM unnest($1::text[], $2::boolean[], $3::float8[]) AS t(id, has_budget, window_ms)
     )
     SELECT d.id, s.cooldown_until, s.cooldown_reason,
            CASE WHEN s.fail_minute = date_trunc('minute', now()) THEN s.fails_in_minute ELSE 0 END AS fails,
            s.latency_ms,
            (SELECT count(*) FROM deployment_inflight i WHERE i.deployment_id = d.id AND i.expires_at > now())::int AS in_flight,
            coalesce(m.requests, 0) AS requests, coalesce(m.tokens, 0) AS tokens,
            CASE WHEN d.has_budget THEN
              (SELECT coalesce(sum(u.cost), 0) FROM usage u WHERE u.deployment = d.id AND u.created_at >= d.since)::float8
            END AS spend,
            d.since, now() AS now
     FROM d
     LEFT JOIN deployment_state s ON s.deployment_id = d.id
     LEFT JOIN deployment_minute_usage m ON m.deployment_id = d.id AND m.minute = date_trunc('minute', now())`,
    values: [deployments.map((d) => d.id), deployments.map((d) => d.hasBudget), deployments.map((d) => d.budgetWindowMs)],
  });
  const loads = new Map<string, DeploymentLoad>();
  let now = Date.now();
  for (const r of rows) {
    now = r.now.getTime();
    loads.set(r.id, {
      cooldownUntil: r.cooldown_until?.getTime() ?? null,
      cooldownReason: r.cooldown_reason,
      failsThisMinute: r.fails,
      inFlight: r.in_flight,
      requestsThisMinute: r.requests,
      tokensThisMinute: r.tokens,
      latencyMs: r.latency_ms,
      spend: r.spend,
      budgetWindowStart: r.since?.getTime() ?? null,
    });
  }
  return { now, loads };
}

/** A call starts: it counts as in flight (until `expiresInMs`, should its worker die) and as a request this minute. */
export async function beginDeploymentCall(
  db: Queryable,
  call: { callId: string; deploymentId: string; expiresInMs: number },
): Promise<void> {
  await db.query({
    name: 'routing-begin-call',
    text: `WITH inflight AS (
       INSERT INTO deployment_inflight (call_id, deployment_id, expires_at)
       VALUES ($1, $2, now() + $3 * interval '1 millisecond')
       ON CONFLICT (call_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
     )
     INSERT INTO deployment_minute_usage (deployment_id, minute, requests) VALUES ($2, date_trunc('minute', now()), 1)
     ON CONFLICT (deployment_id, minute) DO UPDATE SET requests = deployment_minute_usage.requests + 1`,
    values: [call.callId, call.deploymentId, call.expiresInMs],
  });
}

export type CallEnd =
  | { ok: true; latencyMs: number; tokens: number }
  | { ok: false; reason: string; effect: FailureEffect };

/** How much a new latency moves the average. */
const LATENCY_WEIGHT = 0.2;

/**
 * A call ended: it leaves the in-flight set; a success adds its tokens to the minute and its
 * latency to the average; a failure counts toward the minute's failures and may cool the
 * deployment down (never shortening a cooldown already set). Returns the cooldown end, if any.
 */
export async function endDeploymentCall(
  db: Queryable,
  call: { callId: string; deploymentId: string; group: string },
  end: CallEnd,
): Promise<{ cooldownUntil: number | null }> {
  if (end.ok) {
    await db.query({
      name: 'routing-end-call-ok',
      text: `WITH gone AS (DELETE FROM deployment_inflight WHERE call_id = $1),
       minute AS (
         INSERT INTO deployment_minute_usage (deployment_id, minute, tokens) VALUES ($2, date_trunc('minute', now()), $5::int)
         ON CONFLICT (deployment_id, minute) DO UPDATE SET tokens = deployment_minute_usage.tokens + $5::int
       )
       INSERT INTO deployment_state AS s (deployment_id, model_group, latency_ms) VALUES ($2, $3, $4::float8)
       ON CONFLICT (deployment_id) DO UPDATE
         SET latency_ms = CASE WHEN s.latency_ms IS NULL THEN $4::float8 ELSE s.latency_ms * (1 - $6::float8) + $4::float8 * $6::float8 END,
             model_group = $3, updated_at = now()`,
      values: [call.callId, call.deploymentId, call.group, end.latencyMs, end.tokens, LATENCY_WEIGHT],
    });
    return { cooldownUntil: null };
  }
  const { effect } = end;
  const { rows } = await db.query<{ cooldown_until: Date | null }>({
    name: 'routing-end-call-failed',
    text: `WITH gone AS (DELETE FROM deployment_inflight WHERE call_id = $1)
     INSERT INTO deployment_state AS s (deployment_id, model_group, fail_minute, fails_in_minute, cooldown_until, cooldown_reason)
     VALUES ($2, $3, date_trunc('minute', now()), CASE WHEN $4::boolean THEN 1 ELSE 0 END,
             CASE WHEN $5::float8 IS NOT NULL THEN now() + $5 * interval '1 millisecond'
                  WHEN $4::boolean AND 1 > $6::float8 THEN now() + $7::float8 * interval '1 millisecond' END,
             CASE WHEN $5::float8 IS NOT NULL OR ($4::boolean AND 1 > $6::float8) THEN $8 END)
     ON CONFLICT (deployment_id) DO UPDATE SET
       fails_in_minute = CASE WHEN NOT $4::boolean THEN s.fails_in_minute
                              WHEN s.fail_minute = date_trunc('minute', now()) THEN s.fails_in_minute + 1 ELSE 1 END,
       fail_minute = CASE WHEN $4::boolean THEN date_trunc('minute', now()) ELSE s.fail_minute END,
       cooldown_until = CASE
         WHEN $5::float8 IS NOT NULL THEN greatest(s.cooldown_until, now() + $5 * interval '1 millisecond')
         WHEN $4::boolean AND (CASE WHEN s.fail_minute = date_trunc('minute', now()) THEN s.fails_in_minute + 1 ELSE 1 END) > $6::float8
           THEN greatest(s.cooldown_until, now() + $7::float8 * interval '1 millisecond')
         ELSE s.cooldown_until END,
       cooldown_reason = CASE
         WHEN $5::float8 IS NOT NULL THEN $8
         WHEN $4::boolean AND (CASE WHEN s.fail_minute = date_trunc('minute', now()) THEN s.fails_in_minute + 1 ELSE 1 END) > $6::float8 THEN $8
         ELSE s.cooldown_reason END,
       model_group = $3,
       updated_at = now()
     RETURNING cooldown_until`,
    values: [call.callId, call.deploymentId, call.group, effect.counts, effect.coolNowMs, effect.allowedFails, effect.cooldownTimeMs, end.reason],
  });
  const until = rows[0]?.cooldown_until?.getTime() ?? null;
  return { cooldownUntil: until !== null && until > Date.now() - 1000 ? until : null };
}

/** Drops minute rows older than an hour and expired in-flight rows; cheap, run now and then. */
export async function pruneRoutingState(db: Queryable): Promise<void> {
  await db.query(
    `WITH m AS (DELETE FROM deployment_minute_usage WHERE minute < now() - interval '1 hour')
     DELETE FROM deployment_inflight WHERE expires_at < now() - interval '1 hour'`,
  );
}
