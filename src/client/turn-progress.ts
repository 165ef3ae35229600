/**
 * What a waiting turn is doing, in one line for people: from the agent workflow's status query
 * and Temporal's pending activities (attempt, last failure, next retry) and task-queue pollers.
 * @module
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { AgentWorkflowStatus } from '../domain/turn.ts';
import { agentWorkflowId } from '../domain/ids.ts';
import { statusQuery } from '../../workflows/agent-definitions.ts';

type Timestamp = { seconds?: unknown; nanos?: number | null } | null | undefined;

function toMs(t: Timestamp): number | undefined {
  if (!t || t.seconds === undefined || t.seconds === null) return undefined;
  return Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

const ACTIVITY_NAMES: Record<string, string> = {
  callModel: 'model call',
  runTool: 'tool call',
  beginTurn: 'starting the turn',
  finishTurn: 'recording the outcome',
  recordToolFailure: 'recording a tool failure',
};

/** A pending activity as the note describes it. */
export interface PendingStep {
  name: string;
  attempt: number;
  maximumAttempts: number;
  started: boolean;
  lastFailureType: string | undefined;
  lastFailureMessage: string | undefined;
  nextAttemptInMs: number | undefined;
  runningForMs: number | undefined;
}

/** Pure: the note for a turn that has been waiting, given what Temporal reports. */
export function describeProgress(input: {
  messageId: string;
  status: AgentWorkflowStatus | null;
  pending: PendingStep[];
  hasWorkers: boolean;
  taskQueue: string;
}): string {
  const { status, pending } = input;
  if (!input.hasWorkers) {
    return `no worker is polling task queue "${input.taskQueue}": start one with \`memloom worker\` (or \`memloom dev\`)`;
  }
  if (!status) return 'waiting for the agent workflow to start';
  if (status.currentMessageId !== input.messageId) {
    const ahead = status.currentMessageId ? `another turn (${status.state})` : 'nothing';
    return `queued: the agent is working on ${ahead}; ${status.queuedTurns} turn(s) queued`;
  }
  const step = pending[0];
  const where = `step ${status.currentStep}`;
  const model = status.model;
  if (model?.nextAttemptAt !== null && model?.nextAttemptAt !== undefined) {
    const next = `next in ${Math.max(0, Math.ceil((model.nextAttemptAt - Date.now()) / 1000))} s`;
    if (model.waiting !== 'backoff') return `model call waiting: no deployment is free (${model.waiting}), ${next} (${where})`;
    const failure = model.lastFailure ? `failing: ${model.lastFailure.type}, ` : '';
    const group = model.mode === 'routed' ? ` in ${model.group}` : '';
    return `model call ${failure}attempt ${model.attempt} of ${model.attemptsPerGroup}${group}, ${next} (${where})`;
  }
  if (!step) return `${status.state === 'running_tool' ? 'running a tool' : 'thinking'}, ${where}`;
  if (step.lastFailureType && step.attempt > 1) {
    const of = step.maximumAttempts > 0 ? ` of ${step.maximumAttempts}` : '';
    const next = step.nextAttemptInMs !== undefined ? `, next in ${Math.max(0, Math.ceil(step.nextAttemptInMs / 1000))} s` : '';
    return `${step.name} failing: ${step.lastFailureType}, attempt ${step.attempt}${of}${next} (${where})`;
  }
  if (!step.started) return `${step.name} waiting for a worker to pick it up (${where})`;
  const running = step.runningForMs !== undefined ? ` for ${Math.round(step.runningForMs / 1000)} s` : '';
  return `${step.name} running${running} (${where})`;
}

/** Asks Temporal what the turn `messageId` of `agentId` is doing; one line for people. */
export async function turnProgress(client: Client, namespace: string, taskQueue: string, agentId: string, messageId: string): Promise<string> {
  const pollers = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const hasWorkers = (pollers.pollers ?? []).length > 0;
  // a query needs a worker: without one, say so instead of waiting for it
  if (!hasWorkers) return describeProgress({ messageId, status: null, pending: [], hasWorkers, taskQueue });
  const handle = client.workflow.getHandle(agentWorkflowId(agentId));
  let status: AgentWorkflowStatus | null = null;
  let pending: PendingStep[] = [];
  try {
    const description = await handle.describe();
    const now = Date.now();
    pending = (description.raw.pendingActivities ?? []).map((a) => ({
      name: ACTIVITY_NAMES[a.activityType?.name ?? ''] ?? a.activityType?.name ?? 'activity',
      attempt: a.attempt ?? 1,
      maximumAttempts: a.maximumAttempts ?? 0,
      started: a.state === proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
      lastFailureType: a.lastFailure?.applicationFailureInfo?.type ?? (a.lastFailure?.timeoutFailureInfo ? 'Timeout' : undefined),
      lastFailureMessage: a.lastFailure?.message ?? undefined,
      nextAttemptInMs: ((t) => (t === undefined ? undefined : t - now))(toMs(a.nextAttemptScheduleTime)),
      runningForMs: ((t) => (t === undefined ? undefined : now - t))(toMs(a.lastStartedTime)),
    }));
    if (description.status.name === 'RUNNING') status = await handle.query(statusQuery);
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
  return describeProgress({ messageId, status, pending, hasWorkers, taskQueue });
}
