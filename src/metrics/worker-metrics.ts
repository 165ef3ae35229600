/**
 * What a worker counts, as activities report it. The Prometheus implementation serves these on
 * `memloom worker --metrics-port`; without it, {@link NO_METRICS} drops them.
 * @module
 */

/** One model call attempt as the metrics see it. */
export interface ModelCallMetric {
  /** The model group asked for. */
  group: string;
  /** The deployment called (its id in the models file, or the endpoint URL without one). */
  deployment: string;
  /** `ok`, or the failure type (`RateLimited`, `Upstream5xx`, ...). */
  outcome: string;
  promptTokens: number;
  completionTokens: number;
  /** USD; null when unknown. */
  cost: number | null;
  latencyMs: number;
}

export interface WorkerMetrics {
  /** A turn finished: answered or failed. */
  turnFinished(outcome: 'completed' | 'failed'): void;
  /** A model call attempt ended. */
  modelCall(call: ModelCallMetric): void;
}

export const NO_METRICS: WorkerMetrics = {
  turnFinished() {},
  modelCall() {},
};

/** Reports to each of `sinks`, in order. */
export function fanOutMetrics(...sinks: WorkerMetrics[]): WorkerMetrics {
  const live = sinks.filter((s) => s !== NO_METRICS);
  if (live.length <= 1) return live[0] ?? NO_METRICS;
  return {
    turnFinished: (outcome) => live.forEach((s) => s.turnFinished(outcome)),
    modelCall: (call) => live.forEach((s) => s.modelCall(call)),
  };
}
