/**
 * The attempt chain of one model step, as the agent workflow runs it: retries across the group's
 * deployments (`num_retries`), then the group's `fallbacks` in order, then `default_fallbacks`;
 * `context_window_fallbacks` on a context overflow and `content_policy_fallbacks` on a content
 * refusal. Pure and deterministic (the workflow imports it): it decides which groups the next
 * attempt may go to and why; which deployment takes it is the router's (`pickDeployment`).
 * @module
 */
import { ModelErrorType } from './errors.ts';

/** The policy for one step of one agent, as `planModelCall` resolves it (no keys, no URLs). */
export interface ModelPlan {
  /**
   * `routed`: the group is in the models file; each attempt picks a deployment.
   * `direct`: one implicit deployment (LLM_BASE_URL or the agent's model_endpoint).
   */
  mode: 'routed' | 'direct';
  /** The agent's model group. */
  group: string;
  /** Attempts per group after the first. */
  numRetries: number;
  /** Least wait before a retry (ms): `retry_after`. */
  retryAfterMs: number;
  /** The step's model calls end by this long after its first attempt (ms). */
  deadlineMs: number;
  /** Groups tried, in order, after the agent's group: its `fallbacks` (or `*`), then `default_fallbacks`. */
  fallbacks: string[];
  contextWindowFallbacks: string[];
  contentPolicyFallbacks: string[];
}

export type ChainLane = 'primary' | 'context_window' | 'content_policy';

/** Why an attempt is made: shown in the activity's summary and stored with the call. */
export type AttemptReason =
  | { kind: 'first' }
  | { kind: 'retry'; after: string }
  | { kind: 'fallback'; from: string; after: string }
  | { kind: 'context_window_fallback'; from: string }
  | { kind: 'content_policy_fallback'; from: string };

export function describeReason(reason: AttemptReason): string {
  switch (reason.kind) {
    case 'first':
      return 'first try';
    case 'retry':
      return `retry after ${reason.after}`;
    case 'fallback':
      return `fallback from ${reason.from} after ${reason.after}`;
    case 'context_window_fallback':
      return `context-window fallback from ${reason.from}`;
    case 'content_policy_fallback':
      return `content-policy fallback from ${reason.from}`;
  }
}

/** How a failure moves the chain. */
export type FailureClass =
  /** Another attempt may succeed, on any deployment of the group. */
  | 'transient'
  /** This deployment cannot answer (key, model name, its budget): another deployment might. */
  | 'deployment'
  | 'context_window'
  | 'content_policy'
  /** Nothing else can help: the request itself, or memloom's configuration. */
  | 'fatal';

export function classifyFailure(type: string): FailureClass {
  switch (type) {
    case ModelErrorType.RateLimited:
    case ModelErrorType.Timeout:
    case ModelErrorType.Upstream5xx:
    case ModelErrorType.Connection:
      return 'transient';
    case ModelErrorType.AuthFailed:
    case ModelErrorType.ModelNotFound:
    case ModelErrorType.BudgetExceeded:
      return 'deployment';
    case ModelErrorType.ContextWindowExceeded:
      return 'context_window';
    case ModelErrorType.ContentPolicy:
      return 'content_policy';
    default:
      return 'fatal';
  }
}

/** The next attempt: the groups it may go to (the first with a free deployment takes it). */
export interface NextAttempt {
  groups: string[];
  reason: AttemptReason;
  /** The deployment must differ from the one that just failed (else move on). */
  requireOther: boolean;
  /** The deployment that just failed, avoided when another is free. */
  avoid: string | undefined;
}

/** One failed attempt as the chain sees it. */
export interface AttemptFailure {
  type: string;
  group: string;
  deploymentId: string;
}

/**
 * The chain's position: the lane (which fallback list), the group within it, and how many
 * attempts that group has had.
 */
export class ModelChain {
  #lane: ChainLane = 'primary';
  #groups: string[];
  #index = 0;
  #triesInGroup = 0;
  #attempts = 0;
  readonly #tried = new Set<string>();

  constructor(readonly plan: ModelPlan) {
    this.#groups = unique([plan.group, ...plan.fallbacks]);
  }

  /** Attempts made so far. */
  get attempts(): number {
    return this.#attempts;
  }

  /** Attempts made in the current group (for its backoff). */
  get triesInGroup(): number {
    return this.#triesInGroup;
  }

  /** The first attempt. */
  first(): NextAttempt {
    return { groups: this.#groups.slice(this.#index), reason: { kind: 'first' }, requireOther: false, avoid: undefined };
  }

  /** An attempt was made in `group`, which the router picked from the offered groups. */
  attempted(group: string): void {
    const at = this.#groups.indexOf(group, this.#index);
    if (at > this.#index) {
      this.#index = at;
      this.#triesInGroup = 0;
    }
    this.#triesInGroup++;
    this.#attempts++;
    this.#tried.add(group);
  }

  /** The groups after the current one in its lane: where to go when it has no free deployment. */
  remaining(): string[] {
    return this.#groups.slice(this.#index);
  }

  /** After a failed attempt: the next one, or null when the chain gives up (the failure is the step's). */
  next(failure: AttemptFailure): NextAttempt | null {
    const kind = classifyFailure(failure.type);
    const direct = this.plan.mode === 'direct';
    switch (kind) {
      case 'fatal':
        return null;
      case 'context_window':
      case 'content_policy': {
        const list = kind === 'context_window' ? this.plan.contextWindowFallbacks : this.plan.contentPolicyFallbacks;
        const groups = unique(list).filter((g) => !this.#tried.has(g));
        if (this.#lane === kind) {
          // already in this lane: the next group of it
          return this.#advance({ kind: `${kind}_fallback`, from: failure.group }, failure);
        }
        if (direct || groups.length === 0) return null;
        this.#lane = kind;
        this.#groups = groups;
        this.#index = 0;
        this.#triesInGroup = 0;
        return { groups, reason: { kind: `${kind}_fallback`, from: failure.group }, requireOther: false, avoid: undefined };
      }
      case 'deployment':
        // the same deployment would fail the same way: another of the group, else the next group
        if (direct) return null;
        if (this.#triesInGroup <= this.plan.numRetries) {
          return { groups: this.remaining(), reason: { kind: 'retry', after: failure.type }, requireOther: true, avoid: failure.deploymentId };
        }
        return this.#advance({ kind: 'fallback', from: failure.group, after: failure.type }, failure);
      case 'transient':
        if (this.#triesInGroup <= this.plan.numRetries) {
          return { groups: this.remaining(), reason: { kind: 'retry', after: failure.type }, requireOther: false, avoid: failure.deploymentId };
        }
        return this.#advance({ kind: 'fallback', from: failure.group, after: failure.type }, failure);
    }
  }

  /** The group after the current one in the lane, or null at its end. */
  #advance(reason: AttemptReason, failure: AttemptFailure): NextAttempt | null {
    if (this.#index + 1 >= this.#groups.length) return null;
    this.#index++;
    this.#triesInGroup = 0;
    return { groups: this.remaining(), reason, requireOther: false, avoid: failure.deploymentId };
  }

  /**
   * The group has no deployment other than the one that failed: a 'deployment' failure moves on.
   * Returns the next attempt, or null at the lane's end.
   */
  noOther(failure: AttemptFailure): NextAttempt | null {
    return this.#advance({ kind: 'fallback', from: failure.group, after: failure.type }, failure);
  }
}

/**
 * The wait before a retry on the same deployment: the provider's Retry-After or `retry_after`
 * when longer, else exponential backoff (1 s, 2 s, 4 s, ... capped at 30 s) by the attempts the
 * group has had. A different deployment waits only `retry_after`.
 */
export function retryDelayMs(options: { sameDeployment: boolean; triesInGroup: number; retryAfterMs: number; hintMs: number | undefined }): number {
  const { sameDeployment, triesInGroup, retryAfterMs, hintMs } = options;
  if (!sameDeployment) return retryAfterMs;
  const backoff = Math.min(30_000, 1000 * 2 ** Math.max(0, triesInGroup - 1));
  return Math.max(retryAfterMs, hintMs ?? backoff);
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}
