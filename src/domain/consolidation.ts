/**
 * Memory consolidation, Letta's sleep-time memory rewriting: a turn of its own kind, admitted
 * into the agent's mailbox like a user message (so it never races the user's turns), whose
 * "user message" is {@link CONSOLIDATION_INSTRUCTION}. The model reads the conversation since
 * the last consolidation and rewrites the core memory blocks with the memory tools; nothing of
 * the turn is shown to the user or enters the context of later turns. Pure: the instruction, the
 * tools that edit blocks, and which blocks a finished consolidation changed.
 * @module
 */
import type { UsageStatistics } from './letta-message.ts';
import type { StoredMessage } from './stored-message.ts';

/** What a turn answers: a user message, or a memory consolidation. */
export const TurnKind = {
  Message: 'message',
  Consolidation: 'consolidation',
} as const;
export type TurnKind = (typeof TurnKind)[keyof typeof TurnKind];

/** The memory tools that change a core memory block (Letta's names); each takes a `label`. */
export const BLOCK_EDIT_TOOL_NAMES: readonly string[] = ['core_memory_append', 'core_memory_replace', 'memory_replace', 'memory_insert'];

/**
 * The consolidation turn's "user message". Constant on purpose: a resent message id is checked
 * against the stored text, and the conversation to review is the turn's context, not this text.
 */
export const CONSOLIDATION_INSTRUCTION = [
  '[memory consolidation] This message comes from the memory system, not from the user, and the user sees nothing of this turn.',
  'The messages before it are your conversation since your memory was last consolidated.',
  'Review them and rewrite your core memory blocks (shown in the system prompt) with the memory tools ' +
    '(core_memory_replace, core_memory_append, memory_replace, memory_insert):',
  '- keep durable facts about the user (name, preferences, plans, people, circumstances) and about your own persona;',
  '- update facts the conversation changed, and remove facts that are stale or contradicted;',
  '- merge duplicates and keep each block concise and within its character limit;',
  '- leave out small talk and one-off details.',
  'Do not reply to the user. When your memory is up to date, stop: answer with one short line saying what you changed ' +
    '(or "no changes") and no tool call.',
].join('\n');

/**
 * The labels of the blocks a consolidation's tool calls changed, in the order they were first
 * changed: every successful call of a {@link BLOCK_EDIT_TOOL_NAMES} tool, its label read from
 * the call's arguments. `messages` are the turn's messages (any order).
 */
export function changedBlockLabels(messages: readonly StoredMessage[]): string[] {
  const calls = new Map<number, StoredMessage>();
  for (const m of messages) if (m.role === 'assistant') calls.set(m.step, m);
  const labels: string[] = [];
  const ordered = [...messages].sort((a, b) => a.step - b.step || a.idx - b.idx);
  for (const m of ordered) {
    if (m.role !== 'tool' || m.toolStatus !== 'success' || m.toolName === null || !BLOCK_EDIT_TOOL_NAMES.includes(m.toolName)) continue;
    const call = calls.get(m.step)?.toolCalls?.[m.idx - 1];
    const label = call ? labelOf(call.arguments) : undefined;
    if (label !== undefined && !labels.includes(label)) labels.push(label);
  }
  return labels;
}

function labelOf(args: string): string | undefined {
  try {
    const parsed = JSON.parse(args) as { label?: unknown };
    return typeof parsed.label === 'string' ? parsed.label : undefined;
  } catch {
    return undefined;
  }
}

/** How a consolidation ended. */
export const ConsolidationStatus = {
  /** A consolidation turn reviewed the new messages (it may have changed no block). */
  Consolidated: 'consolidated',
  /** No message since the last consolidation: no turn ran, no model was called. */
  NothingNew: 'nothing-new',
} as const;
export type ConsolidationStatus = (typeof ConsolidationStatus)[keyof typeof ConsolidationStatus];

/** What `client.consolidateMemory` did. */
export interface ConsolidationResult {
  agentId: string;
  agentName: string;
  /** The consolidation turn (its instruction message id, for `getTurn`); null when nothing was new. */
  messageId: string | null;
  status: ConsolidationStatus;
  /** Messages the turn was offered: the agent's messages since the previous consolidation. */
  reviewedMessages: number;
  /** Labels of the blocks the turn's memory tool calls changed, in the order first changed. */
  blocksChanged: string[];
  /** Tokens and steps of the turn's model calls (zero when nothing was new). */
  usage: UsageStatistics;
}
