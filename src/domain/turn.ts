/**
 * Payloads between the agent workflow, its activities and the client. They carry ids, counters
 * and small results only: message text and memory never pass through workflow history.
 * @module
 */
import { z } from 'zod';
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

/** The update argument: which stored user message to answer. */
export const TurnRequestSchema = z.object({
  messageId: MessageIdSchema,
  maxSteps: MaxStepsSchema.default(DEFAULT_MAX_STEPS),
});
export type TurnRequest = z.input<typeof TurnRequestSchema>;

/** The update result. The client loads the turn's messages from Postgres by `messageId`. */
export interface TurnResult {
  agentId: string;
  messageId: string;
  stepCount: number;
  stopReason: StopReason;
  usage: Usage;
}

export const AgentWorkflowInputSchema = z.object({
  agentId: AgentIdSchema,
  /** Turns answered by earlier runs of this workflow (carried over continue-as-new). */
  turnsCompleted: z.number().int().nonnegative().default(0),
});
export type AgentWorkflowInput = z.input<typeof AgentWorkflowInputSchema>;

export interface AgentWorkflowStatus {
  agentId: string;
  /** `idle`, or the turn and step being worked on. */
  state: 'idle' | 'thinking' | 'running_tool';
  currentMessageId: string | null;
  currentStep: number;
  queuedTurns: number;
  turnsCompleted: number;
}

/** Identifies one model step of one turn. */
export interface StepKey {
  agentId: string;
  turnId: string;
  step: number;
}

export interface CallModelResult {
  messageId: string;
  toolCalls: { toolCallId: string; name: string }[];
  finishReason: 'stop' | 'tool_calls' | 'length' | 'content_filter' | 'unknown';
  usage: Usage;
}

export interface RunToolInput extends StepKey {
  /** 1-based position of the tool call in the step. */
  index: number;
  toolCallId: string;
}

export interface RunToolResult {
  messageId: string;
  status: 'success' | 'error';
}
