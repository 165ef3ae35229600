/**
 * One entity workflow per agent (`agent/<agentId>`): a thin serializer of turns. Messages
 * arrive as Updates (update id = message id), run one at a time in arrival order, and each turn
 * is a loop of `callModel` and `runTool` activities that read and write Postgres. Workflow state
 * and history hold ids and counters only: no message text, no memory.
 * @module
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  TimeoutFailure,
  workflowInfo,
  type ActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../src/domain/errors.ts';
import { StopReason, type Usage } from '../src/domain/letta-message.ts';
import {
  AgentWorkflowInputSchema,
  TurnRequestSchema,
  type AgentWorkflowInput,
  type AgentWorkflowStatus,
  type TurnResult,
} from '../src/domain/turn.ts';
import { sendMessageUpdate, statusQuery } from './agent-definitions.ts';
import { FifoLock } from './fifo-lock.ts';

const retry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 6,
  nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES],
};

/** A model call heartbeats every second; 10 s of silence means its worker is gone. */
const MODEL_CALL: ActivityOptions = { startToCloseTimeout: '5 minutes', heartbeatTimeout: '10 seconds', retry };
const TOOL_CALL: ActivityOptions = { startToCloseTimeout: '2 minutes', heartbeatTimeout: '30 seconds', retry };
const BOOKKEEPING: ActivityOptions = { startToCloseTimeout: '30 seconds', retry };

const { callModel } = proxyActivities<Activities>(MODEL_CALL);
const { runTool } = proxyActivities<Activities>(TOOL_CALL);
const { beginTurn } = proxyActivities<Activities>(BOOKKEEPING);

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

export async function agentWorkflow(rawInput: AgentWorkflowInput): Promise<void> {
  const { agentId, turnsCompleted: carried } = AgentWorkflowInputSchema.parse(rawInput);
  const lock = new FifoLock();
  const status: AgentWorkflowStatus = {
    agentId,
    state: 'idle',
    currentMessageId: null,
    currentStep: 0,
    queuedTurns: 0,
    turnsCompleted: carried,
  };

  const show = (): void => {
    setCurrentDetails(
      status.currentMessageId
        ? `**${status.state}**: turn \`${status.currentMessageId}\`, step ${status.currentStep}; ${status.queuedTurns} queued; ${status.turnsCompleted} answered`
        : `**idle**; ${status.turnsCompleted} turns answered`,
    );
  };

  async function runTurn(messageId: string, maxSteps: number): Promise<TurnResult> {
    status.queuedTurns--;
    status.currentMessageId = messageId;
    status.state = 'thinking';
    show();
    const usage: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
    let stopReason: StopReason = StopReason.MaxSteps;
    let stepCount = 0;
    let resumed = false;
    try {
      // a redelivered turn (e.g. an update retried across continue-as-new) finds its earlier
      // writes: every step below returns what is stored instead of doing it again
      ({ resumed } = await beginTurn({ agentId, messageId }));
      for (let step = 1; step <= maxSteps; step++) {
        status.state = 'thinking';
        status.currentStep = step;
        show();
        const answer = await callModel.executeWithOptions({ ...MODEL_CALL, summary: `model call, step ${step}` }, [
          { agentId, turnId: messageId, step },
        ]);
        stepCount = step;
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
          await runTool.executeWithOptions({ ...TOOL_CALL, summary: `${call.name}, step ${step}` }, [
            { agentId, turnId: messageId, step, index: i + 1, toolCallId: call.toolCallId },
          ]);
        }
      }
    } catch (error) {
      throw turnFailure(error);
    } finally {
      if (!resumed) status.turnsCompleted++;
      status.currentMessageId = null;
      status.currentStep = 0;
      status.state = 'idle';
      show();
    }
    return { agentId, messageId, stepCount, stopReason, usage };
  }

  setHandler(
    sendMessageUpdate,
    (request) => {
      const { messageId, maxSteps } = TurnRequestSchema.parse(request);
      status.queuedTurns++;
      return lock.run(() => runTurn(messageId, maxSteps));
    },
    {
      validator: (request) => {
        TurnRequestSchema.parse(request);
      },
      description: 'Answer a user message already stored in Postgres: { messageId, maxSteps? }',
    },
  );
  setHandler(statusQuery, () => ({ ...status }), { description: 'What the agent is doing now' });
  show();

  // continue-as-new keeps history O(recent turns); never with a turn running or queued
  await condition(() => workflowInfo().continueAsNewSuggested && allHandlersFinished());
  await continueAsNew<typeof agentWorkflow>({ agentId, turnsCompleted: status.turnsCompleted });
}
