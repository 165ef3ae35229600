/**
 * Token estimates for context assembly. A byte heuristic (~4 characters a token, as Letta uses
 * for OpenAI-compatible endpoints): cheap, deterministic, and calibrated against the usage the
 * endpoint reports rather than a tokenizer that may not match the proxied model.
 * @module
 */

/** Per-message framing tokens of the chat format. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function estimateMessageTokens(parts: {
  content?: string | null;
  reasoning?: string | null;
  toolCalls?: readonly { name: string; arguments: string }[] | null;
}): number {
  let chars = (parts.content ?? '').length;
  for (const call of parts.toolCalls ?? []) chars += call.name.length + call.arguments.length + 16;
  return MESSAGE_OVERHEAD_TOKENS + Math.ceil(chars / 4);
}
