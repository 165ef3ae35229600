/**
 * Server-sent events for the scripted model server: a resolved reply turned into OpenAI
 * `chat.completion.chunk` events, and the writing of those events.
 */
import type { ServerResponse } from 'node:http';

/** A reply with every default resolved, shared by the JSON and the streaming answer. */
export interface CompletionReply {
  id: string;
  created: number;
  model: string;
  /** `null` when the reply has only tool calls. */
  content: string | null;
  reasoning: string | undefined;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finishReason: 'stop' | 'tool_calls' | 'length';
  /** `null`: the answer reports no usage. */
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

/** The fields every chunk of one completion repeats. */
export type CompletionIdentity = Pick<CompletionReply, 'id' | 'created' | 'model'>;

type Delta = Record<string, unknown>;

/** Splits `text` into at most `count` pieces of near-equal length whose concatenation is `text`. */
export function splitIntoPieces(text: string, count: number): string[] {
  if (text.length === 0) return [];
  const size = Math.ceil(text.length / Math.max(1, count));
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}

function chunk(identity: CompletionIdentity, delta: Delta, finishReason: string | null = null): Record<string, unknown> {
  return {
    id: identity.id,
    object: 'chat.completion.chunk',
    created: identity.created,
    model: identity.model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

/**
 * The chunks OpenAI streams for `reply`: role, reasoning pieces, content pieces, each tool call
 * (header, then argument pieces), the `finish_reason`, then usage when `includeUsage` (and the
 * reply has usage).
 */
export function completionChunks(reply: CompletionReply, includeUsage: boolean): Array<Record<string, unknown>> {
  const chunks = [chunk(reply, { role: 'assistant', content: '' })];
  for (const piece of splitIntoPieces(reply.reasoning ?? '', 3)) {
    chunks.push(chunk(reply, { reasoning_content: piece }));
  }
  for (const piece of splitIntoPieces(reply.content ?? '', 3)) chunks.push(chunk(reply, { content: piece }));
  reply.toolCalls.forEach((call, index) => {
    chunks.push(
      chunk(reply, {
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      }),
    );
    for (const piece of splitIntoPieces(call.arguments, 2)) {
      chunks.push(chunk(reply, { tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  chunks.push(chunk(reply, {}, reply.finishReason));
  if (includeUsage && reply.usage !== null) {
    chunks.push({ ...chunk(reply, {}), choices: [], usage: reply.usage });
  }
  return chunks;
}

/**
 * The chunks of a stream cut off after `afterChunks` content pieces: the role chunk, then the first
 * `afterChunks` of `afterChunks + 1` pieces of `content`, so some content is never sent.
 */
export function cutChunks(
  identity: CompletionIdentity,
  content: string,
  afterChunks: number,
): Array<Record<string, unknown>> {
  const pieces = splitIntoPieces(content, afterChunks + 1).slice(0, afterChunks);
  const role = chunk(identity, { role: 'assistant', content: '' });
  return [role, ...pieces.map((piece) => chunk(identity, { content: piece }))];
}

/** Sends the SSE response headers. */
export function startEventStream(res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
}

/**
 * Writes one `data:` event; `'[DONE]'` is written verbatim. `onFlushed` runs once the event has
 * been handed to the socket. Does nothing once the client is gone.
 */
export function writeEvent(res: ServerResponse, data: Record<string, unknown> | '[DONE]', onFlushed?: () => void): void {
  if (res.destroyed || res.writableEnded) return;
  res.write(`data: ${data === '[DONE]' ? data : JSON.stringify(data)}\n\n`, onFlushed);
}
