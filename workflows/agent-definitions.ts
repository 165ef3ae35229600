/**
 * The agent workflow's messages, shared by the workflow and its callers.
 * @module
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { AgentWorkflowStatus, TurnRequest, TurnResult } from '../src/domain/turn.ts';

/** Answer a stored user message. The update id is the message id, so a resend is deduplicated. */
export const sendMessageUpdate = defineUpdate<TurnResult, [TurnRequest]>('sendMessage');

/** What the agent is doing now, for the UI and `memloom agent show`. */
export const statusQuery = defineQuery<AgentWorkflowStatus>('status');

export const AGENT_WORKFLOW_TYPE = 'agentWorkflow';
