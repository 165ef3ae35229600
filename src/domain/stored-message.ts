/**
 * A message as recall memory stores it: one row of the `messages` table.
 * @module
 */

export const MessageRole = {
  User: 'user',
  Assistant: 'assistant',
  Tool: 'tool',
  System: 'system',
} as const;
export type MessageRole = (typeof MessageRole)[keyof typeof MessageRole];

export interface StoredToolCall {
  id: string;
  name: string;
  /** JSON text, exactly as the model produced it. */
  arguments: string;
}

export type ToolStatus = 'success' | 'error';

/** A conversation message, or the summary a compaction wrote (`src/domain/compaction.ts`). */
export type MessageKind = 'message' | 'summary';

export interface StoredMessage {
  id: string;
  agentId: string;
  /** Position in the agent's recall; null while the message waits for its turn. */
  seq: number | null;
  /** Id of the user message that started the turn. */
  turnId: string;
  /** 0 for the user message, 1.. for model steps. */
  step: number;
  /** 0 for the user or assistant message of a step, 1.. for its tool returns. */
  idx: number;
  role: MessageRole;
  content: string | null;
  reasoning: string | null;
  toolCalls: StoredToolCall[] | null;
  toolCallId: string | null;
  toolName: string | null;
  toolStatus: ToolStatus | null;
  /** Estimated prompt tokens of this message. */
  tokens: number;
  /** @default 'message' (rows written before compaction existed) */
  kind?: MessageKind;
  createdAt: Date;
}
