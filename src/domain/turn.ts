/**
 * Payloads between the agent workflow, its activities and the client. They carry ids, counters
 * and small results only: message text and memory never pass through workflow history.
 * @module
 */
import { z } from 'zod';
import type { ModelPlan } from './model-chain.ts';
import { AgentIdSchema, MessageIdSchema } from './ids.ts';
import type { StopReason, Usage } from './letta-message.ts';

/** @default 10, Letta's is 50; a turn that needs more steps is usually a loop. */
export const DEFAULT_MAX_STEPS = 10;
export const MAX_MAX_STEPS = 100;

export const MaxStepsSchema = z
  .number()
  .int('must be an integer')
  .min(1, 'must be at least 1')
  .max(MAX_MAX_STEPS, `must be at most ${MAX_MAX_STEPS}`);

/** Where a turn is. `completed`, `failed` and `cancelled` are final for their attempt. */
export const TurnStatus = {
  Queued: 'queued',
  Running: 'running',
  Completed: 'completed',
  Failed: 'failed',
  Cancelled: 'cancelled',
} as const;
export type TurnStatus = (typeof TurnStatus)[keyof typeof TurnStatus];

export function isFinalTurnStatus(status: TurnStatus): boolean {
  return status === TurnStatus.Completed || status === TurnStatus.Failed || status === TurnStatus.Cancelled;
}

/**
 * The update argument: which attempt of which stored turn to run. The turn's max steps come
 * from its record, so a resend cannot change them.
 */
export const TurnRequestSchema = z.object({
  messageId: MessageIdSchema,
  /** @default 1; an explicit retry asks for the next attempt. */
  attempt: z.number().int().min(1).default(1),
});
export type TurnRequest = z.input<typeof TurnRequestSchema>;

/** The update id of one attempt of a turn: the message id for the first, so old callers still dedupe. */
export function turnUpdateId(messageId: string, attempt: number): string {
  return attempt === 1 ? messageId : `${messageId}/attempt-${attempt}`;
}

/**
 * The failure type of a turn stopped by a cancel request (`client.cancelTurn`): its record is
 * `cancelled` with stop reason `cancelled`, and its sender's update fails with this type.
 */
export const TURN_CANCELLED_FAILURE = 'Cancelled';

/** The failure type of an update refused because this run takes no more turns; the caller sends it again. */
export const RUN_CLOSING_FAILURE = 'AgentRunClosing';

/** The update result. The client loads the turn's messages from Postgres by `messageId`. */
export interface TurnResult {
  agentId: string;
  messageId: string;
  attempt: number;
  /** Steps of earlier attempts; this attempt's messages have step > stepBase. */
  stepBase: number;
  stepCount: number;
  stopReason: StopReason;
  usage: Usage;
}

export const AgentWorkflowInputSchema = z.object({
  agentId: AgentIdSchema,
  /** The agent's name when the run started (or was last renamed), for the UI. */
  agentName: z.string().optional(),
  /** Turns answered by earlier runs of this workflow (carried over continue-as-new). */
  turnsCompleted: z.number().int().nonnegative().default(0),
  /** Turns that failed in earlier runs (carried over continue-as-new). */
  turnsFailed: z.number().int().nonnegative().default(0),
  /** The run ends after this long without a turn; the next message starts a new one. @default 1 h */
  idleTimeoutMs: z.number().int().positive().default(3_600_000),
  /** Turns sent while the previous run was closing, in arrival order: this run runs them first. */
  carried: z.array(z.object({ messageId: MessageIdSchema, attempt: z.number().int().min(1) })).default([]),
  /** Carried turns asked to stop while the previous run was closing (message ids). */
  cancelled: z.array(MessageIdSchema).default([]),
});
export type AgentWorkflowInput = z.input<typeof AgentWorkflowInputSchema>;

export interface AgentWorkflowStatus {
  agentId: string;
  /** `idle`, or the turn and step being worked on (`compacting`: summarizing old messages to make room). */
  state: 'idle' | 'thinking' | 'running_tool' | 'compacting';
  currentMessageId: string | null;
  currentStep: number;
  queuedTurns: number;
  turnsCompleted: number;
  turnsFailed: number;
  /** True once this run takes no new turns (it is about to continue as new or end). */
  closing: boolean;
  /** The current step's model call chain; null between steps and in runs before routing. */
  model?: ModelCallStatus | null;
}

/** Where the current step's model call is in its chain of attempts. */
export interface ModelCallStatus {
  /** `routed` by the models file, or `direct` to one endpoint. */
  mode: 'routed' | 'direct';
  group: string;
  /** Attempts a group gets: 1 + `num_retries`. */
  attemptsPerGroup: number;
  /** The deployment of the current (or last) attempt. */
  deploymentId: string | null;
  /** The current attempt, or the next one while waiting. */
  attempt: number;
  /** Why the current attempt is made: `first try`, `retry after RateLimited`, ... */
  reason: string;
  lastFailure: { type: string; message: string } | null;
  /** Epoch ms the next attempt starts (a backoff or a wait for a cooldown to end); null: running. */
  nextAttemptAt: number | null;
  /** Why it waits: `backoff`, or every deployment is unavailable. */
  waiting: string | null;
}

/** The deployment id of a direct call (no models file group): LLM_BASE_URL or the agent's model_endpoint. */
export const DIRECT_DEPLOYMENT = 'direct';

/** One model call attempt as the workflow orders it: where and why. */
export interface ModelRoute {
  group: string;
  /** A deployment id of the models file, or {@link DIRECT_DEPLOYMENT}. */
  deploymentId: string;
  /** 1-based place in the step's chain. */
  chainAttempt: number;
  reason: string;
}

/** What the router says about the next attempt. */
export type PickOutcome =
  | { kind: 'picked'; group: string; deploymentId: string }
  /** No deployment of the offered groups can take it before `until` (epoch ms); `reason` says why. */
  | { kind: 'unavailable'; until: number; reason: string; overBudget: boolean };

export type PlanOutcome =
  | { kind: 'plan'; plan: ModelPlan; pick: PickOutcome }
  /** The turn may not call a model: its agent is over budget. */
  | { kind: 'refused'; type: string; message: string };

export interface PickInput extends StepKey {
  groups: string[];
  avoid?: string;
  requireOther: boolean;
  /** The attempt the pick is for: seeds the choice among equals. */
  chainAttempt: number;
}

/** Identifies one model step of one attempt of a turn. */
export interface StepKey {
  agentId: string;
  turnId: string;
  /** The turn attempt this step belongs to: writes of an attempt that lost its turn are refused. */
  attempt: number;
  step: number;
}

/** `callModel`'s input: the step, and (from runs with routing) where and why to call. */
export interface CallModelInput extends StepKey {
  route?: ModelRoute;
  /**
   * Check first that the in-context messages fit the window; when they do not, call no model and
   * answer `contextFull` (the workflow compacts and asks again). Unset in runs from before
   * compaction, which send the newest messages that fit.
   */
  contextCheck?: boolean;
}

export interface CallModelResult {
  messageId: string;
  /** The step's tool calls in order; `runTool` addresses them by position. */
  toolCalls: {
    name: string;
    timeoutMs: number;
    /** The task queue of the workers that have this user tool; unset: the agent's own queue. */
    taskQueue?: string;
  }[];
  finishReason: 'stop' | 'tool_calls' | 'length' | 'content_filter' | 'unknown';
  usage: Usage;
  /** Set when the model was not called: the in-context messages (counted tokens) exceed the window's budget for them. */
  contextFull?: { tokens: number; budget: number };
}

export interface RunToolInput extends StepKey {
  /** 1-based position of the tool call in the step. */
  index: number;
}

export interface RunToolResult {
  messageId: string;
  status: 'success' | 'error';
}

/** What `beginTurn` found: run the attempt, or answer from the record without running anything. */
export type BeginTurnResult =
  | { kind: 'run'; maxSteps: number; stepBase: number }
  | { kind: 'completed'; result: TurnResult }
  | { kind: 'failed'; errorType: string; errorMessage: string };

/** How an attempt ended, as `finishTurn` records it. */
export type TurnOutcome =
  | { status: 'completed'; stepCount: number; stopReason: StopReason; usage: Usage }
  | { status: 'failed'; stepCount: number; usage: Usage; errorType: string; errorMessage: string }
  /** Stopped at a step boundary by a cancel request; recorded with stop reason `cancelled`. */
  | { status: 'cancelled'; stepCount: number; usage: Usage };

export interface FinishTurnInput {
  agentId: string;
  messageId: string;
  attempt: number;
  outcome: TurnOutcome;
}
