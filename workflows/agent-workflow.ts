/**
 * One entity workflow per agent (`agent/<agentId>`): a thin FIFO mailbox of turns. Messages
 * arrive as Updates (update id = message id, one per attempt), run one at a time in arrival
 * order, and each turn is a loop of `callModel` and `runTool` activities that read and write
 * Postgres. The turn record in Postgres (`beginTurn` / `finishTurn`) is what makes a message id
 * answered once, ever: a redelivery in a later run answers from the record. Workflow state and
 * history hold ids and counters only: no message text, no memory.
 * @module
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  TimeoutFailure,
  workflowInfo,
  type ActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { CompactionTrigger, MAX_COMPACTIONS_PER_STEP, type CompactionResult } from '../src/domain/compaction.ts';
import { ModelErrorType, NON_RETRYABLE_FAILURE_TYPES, RETRYABLE_MODEL_ERRORS } from '../src/domain/errors.ts';
import { describeReason, ModelChain, retryDelayMs, type NextAttempt } from '../src/domain/model-chain.ts';
import { StopReason, type Usage } from '../src/domain/letta-message.ts';
import { MODEL_CALL_START_TO_CLOSE_MS, toolActivityStartToCloseMs } from '../src/domain/timeouts.ts';
import {
  AgentWorkflowInputSchema,
  RUN_CLOSING_FAILURE,
  TURN_CANCELLED_FAILURE,
  TurnRequestSchema,
  turnUpdateId,
  DIRECT_DEPLOYMENT,
  type AgentWorkflowInput,
  type AgentWorkflowStatus,
  type CallModelResult,
  type ModelCallStatus,
  type PickOutcome,
  type StepKey,
  type TurnResult,
} from '../src/domain/turn.ts';
import { AgentNameKey, FailedTurnsKey, LastFailedTurnKey } from '../src/domain/search-attributes.ts';
import { agentRenamedSignal, cancelTurnSignal, compactUpdate, sendMessageUpdate, statusQuery } from './agent-definitions.ts';
import { FifoLock } from './fifo-lock.ts';

const retry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 6,
  nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES],
};

/** A model call heartbeats while it streams; 10 s of silence means its worker is gone. */
const MODEL_CALL: ActivityOptions = { startToCloseTimeout: MODEL_CALL_START_TO_CLOSE_MS, heartbeatTimeout: '10 seconds', retry };
const TOOL_CALL: ActivityOptions = { heartbeatTimeout: '30 seconds', retry };
/** How long a user tool's call waits for a worker that has the tool. */
const TOOL_WORKER_WAIT = '1 minute';
/** Turn records must be written even through a long Postgres outage: about 10 minutes of retries. */
const BOOKKEEPING: ActivityOptions = { startToCloseTimeout: '30 seconds', retry: { ...retry, maximumAttempts: 25 } };

const { callModel } = proxyActivities<Activities>(MODEL_CALL);
/**
 * One attempt of a routed chain: model failures come back to the workflow at once (the chain
 * decides what next); Temporal retries only what is not the model's (a lost worker, Postgres).
 */
const MODEL_ATTEMPT: ActivityOptions = {
  ...MODEL_CALL,
  retry: { ...retry, maximumAttempts: 3, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES, ...RETRYABLE_MODEL_ERRORS] },
};
/** Routing decisions read a few rows of Postgres: local activities, next to the workflow task. */
const { planModelCall, pickDeployment } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { ...retry, maximumAttempts: 10 },
});
/** Runs from before routing call the model with Temporal's retries; later runs with the chain. */
const MODEL_POLICY_PATCH = 'model-policy-chain';
const { runTool } = proxyActivities<Activities>({ ...TOOL_CALL, startToCloseTimeout: '2 minutes' });
const { beginTurn, finishTurn, recordToolFailure } = proxyActivities<Activities>(BOOKKEEPING);
/** A compaction is a model call (the summarizer's) and a write: the model call's timeouts and retries. */
const COMPACTION: ActivityOptions = { ...MODEL_CALL };
const { compactContext } = proxyActivities<Activities>(COMPACTION);
/** Runs from before compaction send the newest messages that fit; later runs compact first. */
const COMPACTION_PATCH = 'context-compaction';

/**
 * Temporal terminates a run at 51,200 events. Continue-as-new is suggested long before; this is
 * the backstop should the suggestion never come (e.g. a server configured without it).
 */
const HISTORY_EVENTS_BACKSTOP = 20_000;

/** The failure a caller sees when a turn cannot finish; always fails the update, never the workflow. */
function turnFailure(error: unknown): ApplicationFailure {
  if (error instanceof ActivityFailure) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure) {
      return ApplicationFailure.create({ type: cause.type ?? 'Error', message: cause.message, nonRetryable: true });
    }
    if (cause instanceof TimeoutFailure) {
      return ApplicationFailure.create({
        type: 'Timeout',
        message: `${error.activityType} timed out (${cause.timeoutType})`,
        nonRetryable: true,
      });
    }
    return ApplicationFailure.create({ type: 'Error', message: cause?.message ?? error.message, nonRetryable: true });
  }
  if (error instanceof ApplicationFailure) return error;
  return ApplicationFailure.create({ type: 'Error', message: String(error), nonRetryable: true });
}

/** One line on why a tool's activity gave up, for the error result the model reads. */
function toolFailureReason(error: ActivityFailure): string {
  const cause = error.cause;
  if (cause instanceof TimeoutFailure) {
    return cause.timeoutType === 'SCHEDULE_TO_START'
      ? 'no worker that has this tool is running (start `memloom worker --tools ...` with it)'
      : `its activity timed out (${cause.timeoutType})`;
  }
  return cause?.message ?? error.message;
}

export async function agentWorkflow(rawInput: AgentWorkflowInput): Promise<void> {
  const input = AgentWorkflowInputSchema.parse(rawInput);
  const { agentId, idleTimeoutMs } = input;
  let agentName = input.agentName;
  const lock = new FifoLock();
  /** Turns this run took over from the run before it, by update id: a resend joins them. */
  const carried = new Map<string, Promise<TurnResult>>();
  /** Turns sent while this run was closing, in arrival order: the next run runs them first. */
  const forwarded: { messageId: string; attempt: number }[] = [];
  /** Set when the run ends idle: from then on nothing is accepted. */
  let ending = false;
  /** Turns accepted by this run and not yet finished (queued or running). */
  let active = 0;
  /** Turns asked to stop (message ids), and the scope of the model step a running one is in. */
  const cancelRequested = new Set<string>(input.cancelled);
  const modelScopes = new Map<string, CancellationScope>();
  const status: AgentWorkflowStatus = {
    agentId,
    state: 'idle',
    currentMessageId: null,
    currentStep: 0,
    queuedTurns: 0,
    turnsCompleted: input.turnsCompleted,
    turnsFailed: input.turnsFailed,
    closing: false,
  };

  const show = (): void => {
    const counts = `${status.turnsCompleted} answered, ${status.turnsFailed} failed`;
    const who = agentName ? `Agent **${agentName}** · ` : '';
    const m = status.model;
    const call = !m?.deploymentId
      ? ''
      : ` (${m.group}${m.deploymentId === DIRECT_DEPLOYMENT ? '' : ` · ${m.deploymentId}`}, attempt ${m.attempt}: ${m.reason}${m.waiting ? `; waiting: ${m.waiting}` : ''})`;
    setCurrentDetails(
      status.currentMessageId
        ? `${who}**${status.state}**: turn \`${status.currentMessageId}\`, step ${status.currentStep}${call}; ${status.queuedTurns} queued; ${counts}`
        : `${who}**${status.closing ? 'closing' : 'idle'}**; ${counts}`,
    );
  };

  const mustContinueAsNew = (): boolean =>
    workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= HISTORY_EVENTS_BACKSTOP;

  async function runTurn(messageId: string, attempt: number): Promise<TurnResult> {
    status.queuedTurns--;
    status.currentMessageId = messageId;
    status.currentStep = 0;
    status.state = 'thinking';
    show();
    try {
      const begun = await beginTurn({ agentId, messageId, attempt });
      // a message id answered before (in this run or an earlier one) answers from its record
      if (begun.kind === 'completed') return begun.result;
      if (begun.kind === 'failed') {
        throw ApplicationFailure.create({ type: begun.errorType, message: begun.errorMessage, nonRetryable: true });
      }
      return await runSteps(messageId, attempt, begun.maxSteps, begun.stepBase);
    } catch (error) {
      throw turnFailure(error);
    } finally {
      cancelRequested.delete(messageId);
      status.currentMessageId = null;
      status.currentStep = 0;
      status.state = 'idle';
      show();
    }
  }

  /** The model call of one step: one attempt, or (since routing) a chain of them. */
  async function modelStep(key: StepKey, contextCheck: boolean): Promise<CallModelResult> {
    if (!patched(MODEL_POLICY_PATCH)) {
      return callModel.executeWithOptions({ ...MODEL_CALL, summary: `model call, step ${key.step}` }, [key]);
    }
    try {
      return await modelChain(key, contextCheck);
    } finally {
      status.model = null;
    }
  }

  /**
   * The step's chain of attempts: each is one `callModel` activity whose summary names the group,
   * the deployment, the attempt and why; a retry waits out its backoff, and when no deployment of
   * any candidate group is free, the chain waits on a timer until the first one is.
   */
  async function modelChain(key: StepKey, contextCheck: boolean): Promise<CallModelResult> {
    const planned = await planModelCall(key);
    if (planned.kind === 'refused') throw ApplicationFailure.create({ type: planned.type, message: planned.message, nonRetryable: true });
    const { plan } = planned;
    const chain = new ModelChain(plan);
    const deadline = Date.now() + plan.deadlineMs;
    let next: NextAttempt = chain.first();
    let pick: PickOutcome = planned.pick;
    let last: { deploymentId: string; retryAfterMs: number | undefined; error: unknown } | null = null;
    let waited = false;
    const model: ModelCallStatus = {
      mode: plan.mode,
      group: plan.group,
      attemptsPerGroup: plan.numRetries + 1,
      deploymentId: null,
      attempt: 1,
      reason: 'first try',
      lastFailure: null,
      nextAttemptAt: null,
      waiting: null,
    };
    status.model = model;
    const repick = (attempt: NextAttempt): Promise<PickOutcome> =>
      plan.mode === 'direct'
        ? Promise.resolve({ kind: 'picked', group: plan.group, deploymentId: DIRECT_DEPLOYMENT })
        : pickDeployment({ ...key, groups: attempt.groups, ...(attempt.avoid !== undefined ? { avoid: attempt.avoid } : {}), requireOther: attempt.requireOther, chainAttempt: chain.attempts + 1 });
    for (;;) {
      if (pick.kind === 'unavailable') {
        if (pick.until > deadline) {
          if (last) throw last.error;
          throw ApplicationFailure.create({
            type: pick.overBudget ? 'BudgetExceeded' : 'RateLimited',
            message: `no deployment can take the call before the step's deadline: ${pick.reason}`,
            nonRetryable: true,
          });
        }
        model.nextAttemptAt = pick.until;
        model.waiting = pick.reason;
        show();
        await sleep(Math.max(1, pick.until - Date.now()), { summary: `waiting for a deployment of ${next.groups.join(', ')}: ${pick.reason}`.slice(0, 200) });
        model.waiting = null;
        model.nextAttemptAt = null;
        // the wait for a free deployment stands in for the backoff
        waited = true;
        pick = await repick(next);
        continue;
      }
      chain.attempted(pick.group);
      const reason = describeReason(next.reason);
      if (last && !waited) {
        const delay = retryDelayMs({
          sameDeployment: pick.deploymentId === last.deploymentId,
          triesInGroup: chain.triesInGroup - 1,
          retryAfterMs: plan.retryAfterMs,
          hintMs: last.retryAfterMs,
        });
        if (delay > 0) {
          if (Date.now() + delay > deadline) throw last.error;
          Object.assign(model, { group: pick.group, attempt: chain.triesInGroup, nextAttemptAt: Date.now() + delay, waiting: 'backoff' });
          show();
          await sleep(delay, { summary: `backoff before attempt ${chain.attempts} (${reason})` });
          model.nextAttemptAt = null;
          model.waiting = null;
        }
      }
      Object.assign(model, { group: pick.group, deploymentId: pick.deploymentId, attempt: chain.triesInGroup, reason });
      show();
      const where = pick.deploymentId === DIRECT_DEPLOYMENT ? pick.group : `${pick.group} · ${pick.deploymentId}`;
      let answer: CallModelResult;
      try {
        answer = await callModel.executeWithOptions(
          { ...MODEL_ATTEMPT, summary: `model call · step ${key.step} · ${where} · attempt ${chain.attempts} · ${reason}` },
          [{ ...key, route: { group: pick.group, deploymentId: pick.deploymentId, chainAttempt: chain.attempts, reason }, ...(contextCheck ? { contextCheck } : {}) }],
        );
      } catch (error) {
        const failure = modelFailure(error);
        if (!failure) throw error;
        model.lastFailure = { type: failure.type, message: failure.message };
        const after = chain.next({ type: failure.type, group: pick.group, deploymentId: pick.deploymentId });
        if (!after) throw error;
        last = { deploymentId: pick.deploymentId, retryAfterMs: failure.retryAfterMs, error };
        waited = false;
        next = after;
        pick = await repick(next);
        continue;
      }
      if (!answer.contextFull) return answer;
      // the context does not fit this group's window: its context_window_fallbacks come before a compaction
      const after = chain.next({ type: ModelErrorType.ContextWindowExceeded, group: pick.group, deploymentId: pick.deploymentId });
      if (!after) return answer;
      model.lastFailure = { type: ModelErrorType.ContextWindowExceeded, message: `the context (${answer.contextFull.tokens} tokens) does not fit ${pick.group}` };
      waited = true; // nothing was called: no backoff
      next = after;
      pick = await repick(next);
    }
  }

  /**
   * The step's model call, compacting the context first when it would not fit (the model is not
   * called) and when the endpoint still answers with a context overflow; at most
   * MAX_COMPACTIONS_PER_STEP times, then the newest messages that fit are sent.
   */
  async function modelStepWithRoom(key: StepKey): Promise<CallModelResult> {
    if (!patched(COMPACTION_PATCH)) return modelStep(key, false);
    let check = true;
    for (let round = 1; ; round++) {
      let trigger: CompactionTrigger;
      let overflow: unknown = null;
      try {
        const answer = await modelStep(key, check && round <= MAX_COMPACTIONS_PER_STEP);
        if (!answer.contextFull) return answer;
        trigger = CompactionTrigger.ContextFull;
      } catch (error) {
        if (round > MAX_COMPACTIONS_PER_STEP || modelFailure(error)?.type !== ModelErrorType.ContextWindowExceeded) throw error;
        trigger = CompactionTrigger.ContextOverflow;
        overflow = error;
      }
      status.state = 'compacting';
      show();
      const done = await compactContext.executeWithOptions(
        { ...COMPACTION, summary: `compaction · step ${key.step} · round ${round} · ${trigger}` },
        [{ agentId, trigger, turnId: key.turnId, attempt: key.attempt, step: key.step, round }],
      );
      status.state = 'thinking';
      show();
      if (done.evictedMessages === 0) {
        // nothing older to summarize: the newest messages alone are too many for the window;
        // after an overflow, the endpoint's own error is the step's
        if (overflow !== null) throw overflow;
        check = false;
      }
    }
  }

  /** A turn's model step, in a scope that a cancel request of the turn cancels. */
  function cancellable<T>(messageId: string, fn: () => Promise<T>): Promise<T> {
    const scope = new CancellationScope();
    modelScopes.set(messageId, scope);
    return scope.run(fn).finally(() => modelScopes.delete(messageId));
  }

  async function runSteps(messageId: string, attempt: number, maxSteps: number, stepBase: number): Promise<TurnResult> {
    const usage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
    let stopReason: StopReason = StopReason.MaxSteps;
    let stepCount = 0;
    try {
      for (let n = 1; n <= maxSteps; n++) {
        const step = stepBase + n;
        // a step boundary: a cancel request stops the turn here
        if (cancelRequested.has(messageId)) throw new CancelledFailure('the turn was cancelled');
        status.state = 'thinking';
        status.currentStep = step;
        show();
        const answer = await cancellable(messageId, () => modelStepWithRoom({ agentId, turnId: messageId, attempt, step }));
        stepCount = n;
        usage.prompt_tokens += answer.usage.prompt_tokens;
        usage.completion_tokens += answer.usage.completion_tokens;
        usage.total_tokens += answer.usage.total_tokens;
        if (answer.toolCalls.length === 0) {
          stopReason = answer.finishReason === 'length' ? StopReason.MaxTokensExceeded : StopReason.EndTurn;
          break;
        }
        status.state = 'running_tool';
        show();
        // one after another: memory edits apply in the order the model asked for them
        for (const [i, call] of answer.toolCalls.entries()) {
          const key = { agentId, turnId: messageId, attempt, step, index: i + 1 };
          try {
            await runTool.executeWithOptions(
              {
                ...TOOL_CALL,
                startToCloseTimeout: toolActivityStartToCloseMs(call.timeoutMs),
                summary: `${call.name}, step ${step}`,
                // a user tool runs on a worker that has it; if none polls its queue, the model
                // hears so instead of the turn waiting forever
                ...(call.taskQueue ? { taskQueue: call.taskQueue, scheduleToStartTimeout: TOOL_WORKER_WAIT } : {}),
              },
              [key],
            );
          } catch (error) {
            if (!(error instanceof ActivityFailure) || !(error.cause instanceof TimeoutFailure || isRetryableCause(error))) throw error;
            // the tool's activity gave up (timeouts, lost workers): the model reads an error
            // result instead of a dangling call, and the turn goes on
            await recordToolFailure({ ...key, reason: toolFailureReason(error) });
          }
        }
      }
    } catch (error) {
      if (cancelRequested.has(messageId) && isCancellation(error)) {
        await finishTurn({ agentId, messageId, attempt, outcome: { status: 'cancelled', stepCount, usage } });
        throw ApplicationFailure.create({ type: TURN_CANCELLED_FAILURE, message: 'the turn was cancelled before it finished', nonRetryable: true });
      }
      const failure = turnFailure(error);
      await finishTurn({
        agentId,
        messageId,
        attempt,
        outcome: { status: 'failed', stepCount, usage, errorType: failure.type ?? 'Error', errorMessage: failure.message },
      });
      status.turnsFailed++;
      // failed turns are findable in the UI: `FailedTurns > 0`
      upsertSearchAttributes([
        { key: FailedTurnsKey, value: status.turnsFailed },
        { key: LastFailedTurnKey, value: messageId },
      ]);
      throw failure;
    }
    await finishTurn({ agentId, messageId, attempt, outcome: { status: 'completed', stepCount, stopReason, usage } });
    status.turnsCompleted++;
    return { agentId, messageId, attempt, stepBase, stepCount, stopReason, usage };
  }

  /** A compaction on demand, in the mailbox like a turn: never while a turn runs. */
  async function runCompaction(requestId: string): Promise<CompactionResult> {
    status.queuedTurns--;
    status.state = 'compacting';
    show();
    try {
      return await compactContext.executeWithOptions({ ...COMPACTION, summary: 'compaction · on demand' }, [
        { agentId, trigger: CompactionTrigger.Manual, requestId },
      ]);
    } catch (error) {
      throw turnFailure(error);
    } finally {
      status.state = 'idle';
      show();
    }
  }

  const enqueue = (messageId: string, attempt: number): Promise<TurnResult> => {
    active++;
    status.queuedTurns++;
    show();
    return lock.run(() => runTurn(messageId, attempt)).finally(() => active--);
  };
  const closingFailure = (): ApplicationFailure =>
    ApplicationFailure.create({
      type: RUN_CLOSING_FAILURE,
      message: 'this run of the agent takes no new turns (it continues as new or ends); send again',
      nonRetryable: true,
    });

  // turns forwarded by the previous run go first, before any update handler runs: the order in
  // which messages reached the agent survives continue-as-new
  for (const t of input.carried) {
    const turn = enqueue(t.messageId, t.attempt);
    turn.catch(() => undefined); // its sender reads the failure when it sends again
    carried.set(turnUpdateId(t.messageId, t.attempt), turn);
  }

  setHandler(
    sendMessageUpdate,
    (request) => {
      const { messageId, attempt } = TurnRequestSchema.parse(request);
      const key = turnUpdateId(messageId, attempt);
      const joined = carried.get(key);
      if (joined) return joined;
      if (status.closing) {
        // draining before continue-as-new: the next run runs this turn first; its sender,
        // told to send again, joins it there
        if (!forwarded.some((t) => turnUpdateId(t.messageId, t.attempt) === key)) forwarded.push({ messageId, attempt });
        return Promise.reject(closingFailure());
      }
      return enqueue(messageId, attempt);
    },
    {
      validator: (request) => {
        TurnRequestSchema.parse(request);
        // Only recorded state decides: a rejected update leaves no event, so a rejection that
        // read workflowInfo() here could change what the run does in a task replay never sees.
        if (ending) throw closingFailure();
      },
      description: 'Answer a user message already stored in Postgres with its turn: { messageId, attempt? }',
    },
  );
  setHandler(
    compactUpdate,
    ({ requestId }) => {
      if (status.closing) return Promise.reject(closingFailure());
      active++;
      status.queuedTurns++;
      show();
      return lock.run(() => runCompaction(requestId)).finally(() => active--);
    },
    {
      validator: (request) => {
        if (typeof request?.requestId !== 'string' || request.requestId === '') throw new Error('requestId: must be a non-empty string');
        if (ending) throw closingFailure();
      },
      description: "Compact the agent's context now (summarize the oldest in-context messages): { requestId }",
    },
  );
  setHandler(
    cancelTurnSignal,
    ({ messageId }) => {
      if (typeof messageId !== 'string') return;
      cancelRequested.add(messageId);
      modelScopes.get(messageId)?.cancel();
    },
    { description: 'Stop a queued or running turn at its next step boundary, abandoning its model call: { messageId }' },
  );
  setHandler(statusQuery, () => ({ ...status }), { description: 'What the agent is doing now' });
  setHandler(
    agentRenamedSignal,
    ({ name }) => {
      agentName = name;
      upsertSearchAttributes([{ key: AgentNameKey, value: name }]);
      show();
    },
    { description: 'The agent was renamed: { name }' },
  );
  show();

  for (;;) {
    const busy = await condition(() => active > 0 || mustContinueAsNew(), idleTimeoutMs);
    if (!busy && active === 0) {
      // idle: end now, in this activation; a later message starts a new run
      ending = true;
      status.closing = true;
      show();
      return;
    }
    if (mustContinueAsNew()) {
      // under sustained load too: admit nothing new, finish what was accepted, then continue
      status.closing = true;
      show();
      await condition(() => active === 0 && allHandlersFinished());
      const cancelled = forwarded.filter((t) => cancelRequested.has(t.messageId)).map((t) => t.messageId);
      await continueAsNew<typeof agentWorkflow>({
        agentId,
        turnsCompleted: status.turnsCompleted,
        turnsFailed: status.turnsFailed,
        idleTimeoutMs,
        carried: forwarded,
        ...(agentName !== undefined ? { agentName } : {}),
        // a cancel of a forwarded turn reached this run: the next run, which runs the turn, keeps it
        ...(cancelled.length > 0 ? { cancelled } : {}),
      });
    }
    await condition(() => active === 0 || mustContinueAsNew());
  }
}

/**
 * The model failure of a failed attempt (its type, message and the provider's Retry-After), or
 * null for failures that are not the model's. A timeout that outlived Temporal's retries is one.
 */
function modelFailure(error: unknown): { type: string; message: string; retryAfterMs: number | undefined } | null {
  if (!(error instanceof ActivityFailure)) return null;
  const cause = error.cause;
  if (cause instanceof TimeoutFailure) return { type: 'Timeout', message: `the model call timed out (${cause.timeoutType})`, retryAfterMs: undefined };
  if (!(cause instanceof ApplicationFailure) || cause.type === null || cause.type === undefined) return null;
  const details = cause.details?.[0] as { retryAfterMs?: number | null } | undefined;
  return { type: cause.type, message: cause.message, retryAfterMs: details?.retryAfterMs ?? undefined };
}

/** A tool activity that failed with a retryable cause has exhausted its retries. */
function isRetryableCause(error: ActivityFailure): boolean {
  const cause = error.cause;
  return !(cause instanceof ApplicationFailure) || !cause.nonRetryable;
}
