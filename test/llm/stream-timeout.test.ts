/**
 * The stream idle timeout: a model stream that goes silent is aborted and retried as `Timeout`,
 * against the scripted model server (and, end to end, Temporal and Postgres).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { ModelErrorType, ValidationError } from '../../src/domain/errors.ts';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import { streamChatCompletion, type ChatCallParams } from '../../src/llm/chat-completion.ts';
import { classifyModelError, StreamIdleTimeoutError } from '../../src/llm/error-classification.ts';
import { usageOutcomes } from '../helpers/history.ts';
import { startTestStack } from '../helpers/stack.ts';

const params: ChatCallParams = { model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }], tools: [] };

describe('the stream idle watchdog', () => {
  let server: ScriptedModelServer;
  let openai: OpenAI;

  before(async () => {
    server = await startScriptedModelServer();
    openai = new OpenAI({ baseURL: server.url, apiKey: 'k', maxRetries: 0 });
  });
  after(() => server.close());

  test('aborts a stream that stalls after one chunk, as a retryable Timeout', async () => {
    server.enqueue({ kind: 'stall', content: 'half of an answer', afterChunks: 1 });
    const seen: number[] = [];
    const error = await streamChatCompletion(openai, params, {
      // long enough for the two chunks sent back to back to arrive on a busy machine
      idleTimeoutMs: 1000,
      onProgress: ({ chunks }) => seen.push(chunks),
    }).catch((e: unknown) => e);
    assert.ok(error instanceof StreamIdleTimeoutError, `expected StreamIdleTimeoutError, got ${String(error)}`);
    assert.equal(error.chunks, 2, 'the role chunk and one content chunk arrived before the silence');
    assert.deepEqual(seen, [1, 2]);
    const failure = classifyModelError(error, { baseUrl: server.url });
    assert.equal(failure.type, ModelErrorType.Timeout);
    assert.equal(failure.retryable, true);
    assert.equal(failure.message, `no data from the model for 1 s (stream_idle_timeout) at the model endpoint ${server.url}`);
  });

  test('counts the wait for the first chunk as silence too', async () => {
    server.enqueue({ kind: 'reply', content: 'too late', delayMs: 60_000 });
    const error = await streamChatCompletion(openai, params, { idleTimeoutMs: 200 }).catch((e: unknown) => e);
    assert.ok(error instanceof StreamIdleTimeoutError);
    assert.equal(error.chunks, 0);
  });

  test('lets a stream that keeps sending finish', async () => {
    server.enqueue({ kind: 'reply', content: 'a whole answer' });
    const answer = await streamChatCompletion(openai, params, { idleTimeoutMs: 1000 });
    assert.equal(answer.content, 'a whole answer');
    assert.equal(answer.finishReason, 'stop');
  });

  test("does not take the caller's abort for a silence", async () => {
    server.enqueue({ kind: 'stall' });
    const caller = new AbortController();
    const error = await streamChatCompletion(openai, params, {
      signal: caller.signal,
      idleTimeoutMs: 60_000,
      onProgress: ({ chunks }) => {
        if (chunks === 2) caller.abort();
      },
    }).catch((e: unknown) => e);
    assert.ok(error instanceof Error);
    assert.ok(!(error instanceof StreamIdleTimeoutError));
  });
});

describe('an agent whose model stream stalls', async () => {
  const stack = await startTestStack();
  const { client, model, db } = stack;

  test('retries the call after stream_idle_timeout and answers from the next reply', async () => {
    const agent = await client.createAgent({ name: 'patient', llm_config: { ...stack.llmConfig, stream_idle_timeout: 1 } });
    assert.equal(agent.llm_config.stream_idle_timeout, 1);
    model.enqueue({ kind: 'stall', content: 'I was about to say' }, { kind: 'reply', content: 'the answer, on the second try' });
    const r = await client.userMessage(agent.id, 'hello');
    const reply = r.messages.at(-1);
    assert.ok(reply?.message_type === 'assistant_message');
    assert.equal(reply.text, 'the answer, on the second try');
    assert.deepEqual((await usageOutcomes(db, agent.id)).map((u) => u.outcome), ['Timeout', 'ok']);
  });

  test('rejects a stream_idle_timeout out of range, naming the field', async () => {
    for (const bad of [0, 3601, 1.5]) {
      const error = await client
        .createAgent({ name: `bad-timeout-${String(bad).replace('.', '-')}`, llm_config: { ...stack.llmConfig, stream_idle_timeout: bad } })
        .catch((e: unknown) => e);
      assert.ok(error instanceof ValidationError, `stream_idle_timeout ${bad} was accepted`);
      assert.match(error.message, /llm_config\.stream_idle_timeout/);
    }
  });
});
