/**
 * Letta's message and response shapes (`LettaMessage`, `LettaResponse`), built from stored rows.
 * @module
 */
import { parseSummaryMessage, type CompactionStats } from './compaction.ts';
import type { StoredMessage } from './stored-message.ts';

interface LettaMessageBase {
  id: string;
  date: string;
  /** Position in the agent's recall memory. */
  seq_id: number | null;
  /** Id of the user message whose turn produced this message. */
  turn_id: string;
}

export interface UserMessage extends LettaMessageBase {
  message_type: 'user_message';
  content: string;
}
export interface AssistantMessage extends LettaMessageBase {
  message_type: 'assistant_message';
  content: string;
  /** Same as `content`: the reply as plain text. */
  text: string;
}
export interface ReasoningMessage extends LettaMessageBase {
  message_type: 'reasoning_message';
  reasoning: string;
  source: 'reasoner_model';
}
export interface ToolCall {
  name: string;
  /** JSON text. */
  arguments: string;
  tool_call_id: string;
}
export interface ToolCallMessage extends LettaMessageBase {
  message_type: 'tool_call_message';
  tool_call: ToolCall;
  tool_calls: ToolCall[];
}
export interface ToolReturn {
  tool_call_id: string;
  status: 'success' | 'error';
  tool_return: string;
  type: 'tool';
}
export interface ToolReturnMessage extends LettaMessageBase {
  message_type: 'tool_return_message';
  name: string | null;
  tool_return: string;
  status: 'success' | 'error';
  tool_call_id: string;
  tool_returns: ToolReturn[];
}
export interface SystemMessage extends LettaMessageBase {
  message_type: 'system_message';
  content: string;
}

/**
 * Letta's `summary_message`: the summary a compaction wrote of the messages it took out of the
 * context (they stay in recall). The model reads it as a user message at the start of its context.
 */
export interface SummaryMessage extends LettaMessageBase {
  message_type: 'summary_message';
  /** The summary text, without the notice around it. */
  summary: string;
  /** How many messages this compaction took out of the context (memloom's; null when the notice does not say). */
  evicted_messages: number | null;
  /** What the compaction did; absent for a summary stored without them. */
  compaction_stats?: CompactionStats;
}

export type LettaMessage =
  | UserMessage
  | AssistantMessage
  | ReasoningMessage
  | ToolCallMessage
  | ToolReturnMessage
  | SystemMessage
  | SummaryMessage;

export const StopReason = {
  EndTurn: 'end_turn',
  MaxSteps: 'max_steps',
  MaxTokensExceeded: 'max_tokens_exceeded',
  Error: 'error',
  /** The turn was cancelled (`POST /v1/agents/{id}/messages/cancel`, `client.cancelTurn`). */
  Cancelled: 'cancelled',
} as const;
export type StopReason = (typeof StopReason)[keyof typeof StopReason];

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface UsageStatistics extends Usage {
  message_type: 'usage_statistics';
  step_count: number;
}

/** What a turn returns: Letta's `LettaResponse`. The user's own message is not echoed. */
export interface LettaResponse {
  messages: LettaMessage[];
  stop_reason: { message_type: 'stop_reason'; stop_reason: StopReason };
  usage: UsageStatistics;
}

/** Letta's view of one stored row: an assistant row may yield reasoning, tool calls and text. */
export function toLettaMessages(row: StoredMessage): LettaMessage[] {
  const base = { id: row.id, date: row.createdAt.toISOString(), seq_id: row.seq, turn_id: row.turnId };
  if (row.kind === 'summary') {
    const parsed = parseSummaryMessage(row.content);
    return [
      {
        ...base,
        message_type: 'summary_message',
        summary: parsed?.summary ?? row.content ?? '',
        evicted_messages: parsed?.evicted ?? null,
        ...(parsed?.stats ? { compaction_stats: parsed.stats } : {}),
      },
    ];
  }
  switch (row.role) {
    case 'user':
      return [{ ...base, message_type: 'user_message', content: row.content ?? '' }];
    case 'system':
      return [{ ...base, message_type: 'system_message', content: row.content ?? '' }];
    case 'tool': {
      const ret: ToolReturn = {
        tool_call_id: row.toolCallId ?? '',
        status: row.toolStatus ?? 'success',
        tool_return: row.content ?? '',
        type: 'tool',
      };
      return [
        {
          ...base,
          message_type: 'tool_return_message',
          name: row.toolName,
          tool_return: ret.tool_return,
          status: ret.status,
          tool_call_id: ret.tool_call_id,
          tool_returns: [ret],
        },
      ];
    }
    case 'assistant': {
      const out: LettaMessage[] = [];
      if (row.reasoning) {
        out.push({ ...base, message_type: 'reasoning_message', reasoning: row.reasoning, source: 'reasoner_model' });
      }
      if (row.content) {
        out.push({ ...base, message_type: 'assistant_message', content: row.content, text: row.content });
      }
      for (const call of row.toolCalls ?? []) {
        const toolCall = { name: call.name, arguments: call.arguments, tool_call_id: call.id };
        out.push({ ...base, message_type: 'tool_call_message', tool_call: toolCall, tool_calls: [toolCall] });
      }
      return out;
    }
  }
}
