import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import OpenAI, {
  APIConnectionError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  RateLimitError,
} from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/dev/scripted-model-server.ts';

const model = 'scripted-model';
const userSays = (content: string) => [{ role: 'user' as const, content }];

/** Raw POST, for what the SDK hides: the bytes of a cut stream, 404s, invalid JSON. */
function rawPost(url: string, body: string): Promise<{ status: number; text: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (piece: string) => (text += piece));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, complete: true }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, text, complete: false }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, text, complete: false }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('scripted model server', () => {
  let server: ScriptedModelServer;
  let openai: OpenAI;

  before(async () => {
    server = await startScriptedModelServer({ models: ['scripted-model', 'scripted-small'] });
    openai = new OpenAI({ baseURL: server.url, apiKey: 'k', maxRetries: 0 });
  });
  beforeEach(() => server.reset());
  after(() => server.close());

  it('answers with the default responder when nothing is queued', async () => {
    const completion = await openai.chat.completions.create({ model, messages: userSays('hello there') });
    const choice = completion.choices[0];
    assert.equal(choice?.message.content, 'OK: hello there');
    assert.equal(choice?.finish_reason, 'stop');
    assert.equal(completion.model, model);
    assert.match(completion.id, /^chatcmpl-/);
    assert.ok((completion.usage?.prompt_tokens ?? 0) > 0);
    assert.equal(completion.usage?.total_tokens, (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0));
  });

  it('plays a queued tool call, then a reply, without streaming', async () => {
    server.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Likes tea' } }] },
      { kind: 'reply', content: 'Noted.', usage: { prompt_tokens: 100, completion_tokens: 3 } },
    );
    const first = await openai.chat.completions.create({ model, messages: userSays('I like tea') });
    const call = first.choices[0]?.message.tool_calls?.[0];
    assert.equal(first.choices[0]?.message.content, null);
    assert.equal(first.choices[0]?.finish_reason, 'tool_calls');
    assert.equal(call?.type, 'function');
    assert.match(call?.id ?? '', /^call_\d+$/);
    assert.ok(call?.type === 'function');
    assert.equal(call.function.name, 'core_memory_append');
    assert.deepEqual(JSON.parse(call.function.arguments), { label: 'human', content: 'Likes tea' });

    const second = await openai.chat.completions.create({ model, messages: userSays('I like tea') });
    assert.equal(second.choices[0]?.message.content, 'Noted.');
    assert.deepEqual(second.usage, { prompt_tokens: 100, completion_tokens: 3, total_tokens: 103 });
    const third = await openai.chat.completions.create({ model, messages: userSays('queue empty') });
    assert.equal(third.choices[0]?.message.content, 'OK: queue empty');
  });

  it('streams a queued tool call, then a reply with usage', async () => {
    server.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'archival_memory_search', arguments: { query: 'tea', page: 0 }, id: 'call_fixed' }] },
      { kind: 'reply', content: 'You like green tea, I remember.' },
    );
    const runner = openai.chat.completions.stream({ model, messages: userSays('what do I like?'), stream_options: { include_usage: true } });
    const first = await runner.finalChatCompletion();
    const call = first.choices[0]?.message.tool_calls?.[0];
    assert.equal(first.choices[0]?.finish_reason, 'tool_calls');
    assert.ok(call?.type === 'function');
    assert.equal(call.id, 'call_fixed');
    assert.equal(call.function.name, 'archival_memory_search');
    assert.deepEqual(JSON.parse(call.function.arguments), { query: 'tea', page: 0 });
    assert.ok((first.usage?.total_tokens ?? 0) > 0);

    const stream = await openai.chat.completions.create({
      model,
      messages: userSays('what do I like?'),
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    assert.equal(text, 'You like green tea, I remember.');
    assert.ok(chunks.filter((chunk) => chunk.choices[0]?.delta.content).length > 1, 'content arrives in pieces');
    assert.equal(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]?.finish_reason, 'stop');
    const last = chunks.at(-1);
    assert.deepEqual(last?.choices, []);
    assert.ok((last?.usage?.completion_tokens ?? 0) > 0);
  });

  it('omits the usage chunk when include_usage is not asked for', async () => {
    const stream = await openai.chat.completions.create({ model, messages: userSays('hi'), stream: true });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.every((chunk) => chunk.usage == null && chunk.choices.length === 1));
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, 'stop');
  });

  it('acts as a LiteLLM proxy: headers on both answers, cost in the usage and its header', async () => {
    const headers = { 'x-litellm-model-id': 'dep-b', 'x-litellm-model-group': 'fallback-group' };
    server.enqueue({ kind: 'reply', content: 'Hi.', headers, cost: 0.0123 }, { kind: 'reply', content: 'Hi.', headers, cost: 0.0123 });

    const { data: completion, response } = await openai.chat.completions.create({ model, messages: userSays('hi') }).withResponse();
    assert.equal(response.headers.get('x-litellm-model-id'), 'dep-b');
    assert.equal(response.headers.get('x-litellm-model-group'), 'fallback-group');
    assert.equal(response.headers.get('x-litellm-response-cost'), '0.0123');
    assert.equal((completion.usage as { cost?: number } | undefined)?.cost, 0.0123);

    const streamed = await openai.chat.completions
      .create({ model, messages: userSays('hi'), stream: true, stream_options: { include_usage: true } })
      .withResponse();
    assert.equal(streamed.response.headers.get('content-type'), 'text/event-stream');
    assert.equal(streamed.response.headers.get('x-litellm-model-id'), 'dep-b');
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of streamed.data) chunks.push(chunk);
    assert.equal((chunks.at(-1)?.usage as { cost?: number } | undefined)?.cost, 0.0123);
    assert.ok(chunks.slice(0, -1).every((chunk) => chunk.usage == null), 'only the final chunk carries usage');
  });

  it('sends no proxy headers or cost unless the step asks for them', async () => {
    const { data: completion, response } = await openai.chat.completions.create({ model, messages: userSays('hi') }).withResponse();
    assert.equal(response.headers.get('x-litellm-response-cost'), null);
    assert.equal(response.headers.get('x-litellm-model-id'), null);
    assert.equal('cost' in (completion.usage ?? {}), false);
  });

  it('sends reasoning as reasoning_content, whole or streamed', async () => {
    const reasoning = 'The user greets me; a greeting back fits.';
    server.enqueue({ kind: 'reply', content: 'Hi!', reasoning }, { kind: 'reply', content: 'Hi!', reasoning });
    const completion = await openai.chat.completions.create({ model, messages: userSays('hi') });
    const message = completion.choices[0]?.message as { reasoning_content?: string } | undefined;
    assert.equal(message?.reasoning_content, reasoning);

    const stream = await openai.chat.completions.create({ model, messages: userSays('hi'), stream: true });
    let streamed = '';
    for await (const chunk of stream) {
      streamed += (chunk.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? '';
    }
    assert.equal(streamed, reasoning);
  });

  it('fails with 429 and Retry-After as a RateLimitError', async () => {
    server.enqueue({ kind: 'error', status: 429, retryAfter: 7, retryAfterMs: 7000 });
    const error = await openai.chat.completions.create({ model, messages: userSays('hi') }).catch((e: unknown) => e);
    assert.ok(error instanceof RateLimitError);
    assert.equal(error.status, 429);
    assert.equal(error.headers?.get('retry-after'), '7');
    assert.equal(error.headers?.get('retry-after-ms'), '7000');
    assert.match(error.message, /litellm\.RateLimitError/);
  });

  it('fails with 500 as an InternalServerError, and with a context overflow as a BadRequestError', async () => {
    server.enqueue({ kind: 'error', status: 500 }, { kind: 'context_overflow' });
    const upstream = await openai.chat.completions.create({ model, messages: userSays('hi') }).catch((e: unknown) => e);
    assert.ok(upstream instanceof InternalServerError);
    assert.match(upstream.message, /scripted upstream failure/);

    const overflow = await openai.chat.completions.create({ model, messages: userSays('hi'), stream: true }).catch((e: unknown) => e);
    assert.ok(overflow instanceof BadRequestError);
    assert.equal(overflow.status, 400);
    assert.match(overflow.message, /ContextWindowExceededError/);
    assert.equal(overflow.code, '400');
    assert.equal(overflow.type, 'invalid_request_error');
  });

  it('cuts a stream after a few content chunks, without finish_reason or [DONE]', async () => {
    server.enqueue({ kind: 'cut_stream', content: 'one two three four five six', afterChunks: 2 });
    const stream = await openai.chat.completions.create({ model, messages: userSays('hi'), stream: true });
    const chunks: ChatCompletionChunk[] = [];
    await (async () => {
      for await (const chunk of stream) chunks.push(chunk);
    })().catch(() => undefined); // ending early or throwing are both what a cut looks like
    assert.ok(chunks.every((chunk) => !chunk.choices[0]?.finish_reason));
    const received = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    assert.ok(received.length > 0 && 'one two three four five six'.startsWith(received) && received.length < 27);

    server.enqueue({ kind: 'cut_stream', afterChunks: 3 });
    const raw = await rawPost(`${server.url}/chat/completions`, JSON.stringify({ model, messages: userSays('hi'), stream: true }));
    assert.equal(raw.status, 200);
    assert.equal(raw.complete, false);
    assert.doesNotMatch(raw.text, /\[DONE\]|finish_reason":"/);
    const contentEvents = raw.text.split('\n\n').filter((event) => /"delta":\{"content":"[^"]+"/.test(event));
    assert.equal(contentEvents.length, 3);
  });

  it('drops a non-streaming request on cut_stream', async () => {
    server.enqueue({ kind: 'cut_stream' });
    const error = await openai.chat.completions.create({ model, messages: userSays('hi') }).catch((e: unknown) => e);
    assert.ok(error instanceof APIConnectionError);
  });

  it('waits delayMs before answering, after recording the request', async () => {
    server.enqueue({ kind: 'reply', content: 'late', delayMs: 300 });
    const started = Date.now();
    const answer = openai.chat.completions.create({ model, messages: userSays('hi') });
    await server.waitForChatRequests(1);
    const arrivedAfter = Date.now() - started;
    const completion = await answer;
    assert.equal(completion.choices[0]?.message.content, 'late');
    assert.ok(Date.now() - started >= 280, 'the answer came after the delay');
    assert.ok(arrivedAfter < Date.now() - started, 'the request was recorded before the answer');
  });

  it('gives queued steps to overlapping requests in arrival order', async () => {
    server.enqueue({ kind: 'reply', content: 'first', delayMs: 150 }, { kind: 'reply', content: 'second' });
    const slow = openai.chat.completions.create({ model, messages: userSays('1') });
    await server.waitForChatRequests(1);
    const fast = await openai.chat.completions.create({ model, messages: userSays('2') });
    assert.equal(fast.choices[0]?.message.content, 'second');
    assert.equal((await slow).choices[0]?.message.content, 'first');
  });

  it('survives a client that aborts during a delay', async () => {
    server.enqueue({ kind: 'reply', content: 'never read', delayMs: 200 });
    const controller = new AbortController();
    const aborted = openai.chat.completions.create({ model, messages: userSays('hi') }, { signal: controller.signal });
    await server.waitForChatRequests(1);
    controller.abort();
    await assert.rejects(aborted);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const next = await openai.chat.completions.create({ model, messages: userSays('still here?') });
    assert.equal(next.choices[0]?.message.content, 'OK: still here?');
  });

  it('asks a responder with the call index when the queue is empty', async () => {
    server.setResponder((request, { callIndex }) => ({ kind: 'reply', content: `${callIndex}:${request.model}` }));
    server.enqueue({ kind: 'reply', content: 'queued' });
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const completion = await openai.chat.completions.create({ model: 'scripted-small', messages: userSays('hi') });
      answers.push(completion.choices[0]?.message.content ?? '');
    }
    assert.deepEqual(answers, ['queued', '1:scripted-small', '2:scripted-small']);
  });

  it('embeds text deterministically, unit length, in the asked dimension', async () => {
    const first = await openai.embeddings.create({ model: 'scripted-embedding', input: ['tea', 'coffee'] });
    const again = await openai.embeddings.create({ model: 'scripted-embedding', input: 'tea', encoding_format: 'float' });
    const [tea, coffee] = first.data.map((item) => item.embedding);
    const teaAgain = again.data[0]?.embedding ?? [];
    assert.equal(tea?.length, 16);
    assert.deepEqual(teaAgain.map((value) => Math.fround(value)), Array.from(tea ?? []));
    assert.notDeepEqual(Array.from(coffee ?? []), Array.from(tea ?? []));
    assert.ok(Math.abs(Math.hypot(...teaAgain) - 1) < 1e-9);
    assert.ok((first.usage.total_tokens ?? 0) > 0);

    const small = await openai.embeddings.create({ model: 'scripted-embedding', input: 'tea', dimensions: 8, encoding_format: 'float' });
    assert.equal(small.data[0]?.embedding.length, 8);
  });

  it('lists the models', async () => {
    const models = await openai.models.list();
    assert.deepEqual(
      models.data.map((entry) => [entry.id, entry.object, entry.owned_by]),
      [
        ['scripted-model', 'model', 'memloom-scripted'],
        ['scripted-small', 'model', 'memloom-scripted'],
      ],
    );
  });

  it('serves chat completions without the /v1 prefix, 404s unknown routes, 400s invalid JSON', async () => {
    const bare = new OpenAI({ baseURL: server.url.replace(/\/v1$/, ''), apiKey: 'k', maxRetries: 0 });
    const completion = await bare.chat.completions.create({ model, messages: userSays('no prefix') });
    assert.equal(completion.choices[0]?.message.content, 'OK: no prefix');

    const missing = await rawPost(`${server.url}/nothing-here`, '{}');
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.text).error.code, '404');
    const invalid = await rawPost(`${server.url}/chat/completions`, '{not json');
    assert.equal(invalid.status, 400);
    assert.equal(JSON.parse(invalid.text).error.type, 'invalid_request_error');
  });

  it('records every request, and the chat request bodies in order', async () => {
    await openai.chat.completions.create({ model, messages: userSays('one'), tools: [{ type: 'function', function: { name: 'noop' } }] });
    await openai.models.list();
    await openai.chat.completions.create({ model, messages: userSays('two'), stream: true }).then(async (stream) => {
      for await (const _ of stream);
    });
    assert.deepEqual(
      server.requests.map((request) => `${request.method} ${request.path}`),
      ['POST /v1/chat/completions', 'GET /v1/models', 'POST /v1/chat/completions'],
    );
    const chats = server.chatRequests();
    assert.deepEqual(chats.map((chat) => chat.messages), [userSays('one'), userSays('two')]);
    assert.equal(chats[0]?.tools?.length, 1);
    assert.equal(chats[1]?.stream, true);
    assert.ok((server.requests[0]?.receivedAt ?? 0) > 0);

    server.reset();
    assert.equal(server.requests.length, 0);
    assert.equal(server.chatRequests().length, 0);
  });
});

describe('scripted model server with an api key', () => {
  let server: ScriptedModelServer;
  before(async () => {
    server = await startScriptedModelServer({ apiKey: 'sk-right' });
  });
  after(() => server.close());

  it('rejects a wrong key with 401 and accepts the right one', async () => {
    const wrong = new OpenAI({ baseURL: server.url, apiKey: 'sk-wrong', maxRetries: 0 });
    const error = await wrong.chat.completions.create({ model, messages: userSays('hi') }).catch((e: unknown) => e);
    assert.ok(error instanceof AuthenticationError);
    assert.equal(error.status, 401);
    assert.equal(error.type, 'auth_error');
    assert.equal(server.chatRequests().length, 0, 'a rejected request does not reach the model');

    const right = new OpenAI({ baseURL: server.url, apiKey: 'sk-right', maxRetries: 0 });
    const completion = await right.chat.completions.create({ model, messages: userSays('hi') });
    assert.equal(completion.choices[0]?.message.content, 'OK: hi');
    assert.deepEqual(
      server.requests.map((request) => request.headers['authorization']),
      ['Bearer sk-wrong', 'Bearer sk-right'],
    );
  });
});

describe('a stalled scripted answer', () => {
  let server: ScriptedModelServer;
  let openai: OpenAI;

  beforeEach(async () => {
    server = await startScriptedModelServer();
    openai = new OpenAI({ baseURL: server.url, apiKey: 'k', maxRetries: 0 });
  });

  it('streams the first chunks, then sends nothing more until the server closes', async () => {
    server.enqueue({ kind: 'stall', content: 'one two three four' });
    const stream = await openai.chat.completions.create({ model, messages: userSays('hi'), stream: true });
    const chunks: ChatCompletionChunk[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) {
        chunks.push(chunk);
        if (chunk.choices[0]?.delta.content) void server.close();
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(failure instanceof Error, 'the stream never ends on its own');
    const received = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    assert.ok(received.length > 0 && 'one two three four'.startsWith(received) && received.length < 18);
    assert.ok(chunks.every((chunk) => !chunk.choices[0]?.finish_reason));
  });

  it('lets the client abort a stalled stream', async () => {
    server.enqueue({ kind: 'stall', afterChunks: 2 });
    const controller = new AbortController();
    const stream = await openai.chat.completions.create({ model, messages: userSays('hi'), stream: true }, { signal: controller.signal });
    let contentChunks = 0;
    // The SDK ends the iteration quietly on an abort by its caller.
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) contentChunks += 1;
      if (contentChunks === 2) controller.abort();
    }
    assert.equal(contentChunks, 2);
    assert.equal(stream.controller.signal.aborted, true);
    await server.close();
  });

  it('never answers a non-streaming request', async () => {
    server.enqueue({ kind: 'stall' });
    const hung = openai.chat.completions.create({ model, messages: userSays('hi') }).catch((e: unknown) => e);
    await server.waitForChatRequests(1);
    await server.close();
    assert.ok((await hung) instanceof APIConnectionError);
  });
});

describe('closing the scripted model server', () => {
  it('returns promptly while a long-delayed request is in flight', async () => {
    const server = await startScriptedModelServer();
    const openai = new OpenAI({ baseURL: server.url, apiKey: 'k', maxRetries: 0 });
    server.enqueue({ kind: 'reply', content: 'an hour later', delayMs: 3_600_000 });
    const hung = openai.chat.completions.create({ model, messages: userSays('hi') }).catch((e: unknown) => e);
    await server.waitForChatRequests(1);
    const waiting = server.waitForChatRequests(2).catch((e: unknown) => e);

    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      server.close().then(() => 'closed'),
      new Promise((resolve) => (timer = setTimeout(resolve, 5000, 'still open'))),
    ]);
    clearTimeout(timer);
    assert.equal(closed, 'closed');
    assert.ok((await hung) instanceof APIConnectionError);
    assert.ok((await waiting) instanceof Error, 'waiters are told the server closed');
  });
});
