/**
 * One streamed chat completion, accumulated into a single result. Streaming lets the activity
 * heartbeat on progress and tells a finished answer from a cut stream.
 * @module
 */
import type OpenAI from 'openai';
import type { ChatCompletionCreateParamsStreaming, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { Usage } from '../domain/letta-message.ts';
import type { StoredToolCall } from '../domain/stored-message.ts';
import { StreamIncompleteError } from './error-classification.ts';

export interface ChatCallParams {
  model: string;
  messages: ChatCompletionMessageParam[];
  tools: ChatCompletionTool[];
  temperature?: number | undefined;
  maxTokens?: number | undefined;
}

export interface ChatCallResult {
  content: string | null;
  reasoning: string | null;
  toolCalls: StoredToolCall[];
  finishReason: 'stop' | 'tool_calls' | 'length' | 'content_filter' | 'unknown';
  /** As reported by the endpoint; null if it sent none. */
  usage: Usage | null;
}

interface ToolCallAccumulator {
  id: string;
  name: string;
  arguments: string;
}

export async function streamChatCompletion(
  client: OpenAI,
  params: ChatCallParams,
  options: { signal?: AbortSignal | undefined; onProgress?: (() => void) | undefined } = {},
): Promise<ChatCallResult> {
  const body: ChatCompletionCreateParamsStreaming = {
    model: params.model,
    messages: params.messages,
    stream: true,
    stream_options: { include_usage: true },
    ...(params.tools.length > 0 ? { tools: params.tools, tool_choice: 'auto' as const } : {}),
    ...(params.temperature !== undefined ? { temperature: params.temperature } : {}),
    ...(params.maxTokens !== undefined ? { max_tokens: params.maxTokens } : {}),
  };
  const stream = await client.chat.completions.create(body, { signal: options.signal });

  let content = '';
  let reasoning = '';
  let finishReason: string | null = null;
  let usage: Usage | null = null;
  const calls = new Map<number, ToolCallAccumulator>();

  for await (const chunk of stream) {
    options.onProgress?.();
    if (chunk.usage) {
      usage = {
        prompt_tokens: chunk.usage.prompt_tokens,
        completion_tokens: chunk.usage.completion_tokens,
        total_tokens: chunk.usage.total_tokens,
      };
    }
    const choice = chunk.choices[0];
    if (!choice) continue;
    const delta = choice.delta as typeof choice.delta & { reasoning_content?: string | null; reasoning?: string | null };
    if (delta.content) content += delta.content;
    const thought = delta.reasoning_content ?? delta.reasoning;
    if (thought) reasoning += thought;
    for (const tc of delta.tool_calls ?? []) {
      const acc = calls.get(tc.index) ?? { id: '', name: '', arguments: '' };
      if (tc.id) acc.id = tc.id;
      if (tc.function?.name) acc.name += tc.function.name;
      if (tc.function?.arguments) acc.arguments += tc.function.arguments;
      calls.set(tc.index, acc);
    }
    if (choice.finish_reason) finishReason = choice.finish_reason;
  }

  if (finishReason === null) throw new StreamIncompleteError();
  const toolCalls = [...calls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, c]) => ({ id: c.id || `call_${index}`, name: c.name, arguments: c.arguments || '{}' }));
  return {
    content: content === '' ? null : content,
    reasoning: reasoning === '' ? null : reasoning,
    toolCalls,
    finishReason: normalizeFinish(finishReason, toolCalls.length),
    usage,
  };
}

function normalizeFinish(reason: string, toolCalls: number): ChatCallResult['finishReason'] {
  if (toolCalls > 0) return 'tool_calls';
  if (reason === 'stop' || reason === 'length' || reason === 'content_filter' || reason === 'tool_calls') return reason;
  return reason === 'function_call' ? 'tool_calls' : 'unknown';
}
