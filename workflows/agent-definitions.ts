/**
 * The agent workflow's messages, shared by the workflow and its callers.
 * @module
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CompactionResult } from '../src/domain/compaction.ts';
import type { AgentWorkflowStatus, TurnRequest, TurnResult } from '../src/domain/turn.ts';

/** Answer a stored user message. The update id is the message id, so a resend is deduplicated. */
export const sendMessageUpdate = defineUpdate<TurnResult, [TurnRequest]>('sendMessage');

/**
 * Compact the agent's context now (`memloom agent compact`): runs in the agent's mailbox, between
 * turns. The update id is `compact/<requestId>`, so a resend is deduplicated.
 */
export const compactUpdate = defineUpdate<CompactionResult, [{ requestId: string }]>('compact');

export function compactUpdateId(requestId: string): string {
  return `compact/${requestId}`;
}

/** What the agent is doing now, for the UI and `memloom agent show`. */
export const statusQuery = defineQuery<AgentWorkflowStatus>('status');

/** The agent was renamed: the workflow updates its `AgentName` search attribute and details. */
export const agentRenamedSignal = defineSignal<[{ name: string }]>('agentRenamed');

/**
 * Stop a turn (by its message id): a queued turn ends before its first step, a running one at
 * its next step boundary, abandoning a model call in flight (tools already called finish). The
 * turn's record ends `cancelled` with stop reason `cancelled`.
 */
export const cancelTurnSignal = defineSignal<[{ messageId: string }]>('cancelTurn');

export const AGENT_WORKFLOW_TYPE = 'agentWorkflow';
