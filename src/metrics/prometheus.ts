/**
 * memloom's own Prometheus metrics: turns, model calls, tokens, cost and latency as activities
 * report them, and the deployments cooling down, read from Postgres at scrape time.
 *
 * Labels carry model group names, deployment ids and outcome types only: never keys, URLs'
 * credentials or message text.
 * @module
 */
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queryable } from '../db/pool.ts';
import type { ModelCallMetric, WorkerMetrics } from './worker-metrics.ts';

export interface PrometheusMetricsOptions {
  /** Where the cooling-down gauge reads `deployment_state`. */
  db: Queryable;
  /** Where a failed read of the gauge is reported (the scrape goes on without it). */
  logger: Logger;
  /**
   * Also export Node's process metrics (`process_*`, `nodejs_*`: CPU, memory, event loop lag).
   * @default true
   */
  processMetrics?: boolean;
}

/** {@link WorkerMetrics} that count into a Prometheus registry. */
export interface PrometheusMetrics extends WorkerMetrics {
  readonly registry: Registry;
  /** The registry in Prometheus' text format, the cooling-down gauge read just now. */
  scrape(): Promise<string>;
}

/** Seconds: a model call takes from a few hundred milliseconds to minutes. */
const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320];

export function createPrometheusMetrics(options: PrometheusMetricsOptions): PrometheusMetrics {
  const { db, logger } = options;
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const turns = new Counter({
    name: 'memloom_turns_total',
    help: 'Turns finished, by outcome (completed or failed).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  // both series exist from the start, so rate() and alerts see a 0 rather than nothing
  for (const outcome of ['completed', 'failed'] as const) turns.inc({ outcome }, 0);

  const calls = new Counter({
    name: 'memloom_model_calls_total',
    help: 'Model call attempts, by model group, deployment and outcome (ok, or the failure type).',
    labelNames: ['group', 'deployment', 'outcome'] as const,
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'memloom_model_tokens_total',
    help: 'Tokens of model calls, by model group, deployment and kind (prompt or completion).',
    labelNames: ['group', 'deployment', 'kind'] as const,
    registers: [registry],
  });
  const cost = new Counter({
    name: 'memloom_model_cost_usd_total',
    help: 'Cost of model calls in USD, by model group and deployment (calls of unknown cost add nothing).',
    labelNames: ['group', 'deployment'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'memloom_model_call_duration_seconds',
    help: 'Duration of model call attempts, by model group and deployment.',
    labelNames: ['group', 'deployment'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'memloom_deployments_cooling_down',
    help: 'Deployments cooling down now (taking no calls), by model group; shared by all workers.',
    labelNames: ['group'] as const,
    registers: [registry],
    async collect() {
      // groups that no longer exist drop out; a failed read leaves the gauge empty, not stale
      this.reset();
      try {
        const { rows } = await db.query<{ model_group: string; cooling: number }>(
          `SELECT model_group, count(*) FILTER (WHERE cooldown_until > now())::int AS cooling
             FROM deployment_state GROUP BY 1`,
        );
        for (const row of rows) this.set({ group: row.model_group }, row.cooling);
      } catch (error) {
        logger.warn({ err: error }, 'metrics: cannot read deployment cooldowns; memloom_deployments_cooling_down skipped');
      }
    },
  });

  return {
    registry,
    turnFinished(outcome) {
      turns.inc({ outcome });
    },
    modelCall(call: ModelCallMetric) {
      const group = call.group;
      const deployment = deploymentLabel(call.deployment);
      calls.inc({ group, deployment, outcome: call.outcome });
      if (call.promptTokens > 0) tokens.inc({ group, deployment, kind: 'prompt' }, call.promptTokens);
      if (call.completionTokens > 0) tokens.inc({ group, deployment, kind: 'completion' }, call.completionTokens);
      if (call.cost !== null && call.cost > 0) cost.inc({ group, deployment }, call.cost);
      if (call.latencyMs >= 0) duration.observe({ group, deployment }, call.latencyMs / 1000);
    },
    scrape() {
      return registry.metrics();
    },
  };
}

/**
 * A deployment id as a label. Without a models file the deployment is the endpoint's URL: keep
 * its origin and path, never its user, password or query (where keys hide).
 */
export function deploymentLabel(deployment: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(deployment)) return deployment;
  try {
    const url = new URL(deployment);
    return `${url.origin}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}
