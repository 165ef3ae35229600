/**
 * What a LiteLLM proxy reports about each call (the deployment and group that answered, retries,
 * fallbacks, call id, cost) reaches the `usage` table and `getUsage`; the agent id goes out as
 * the request's `user`; the provider's renamed Retry-After delays the retry. The scripted model
 * server stands in for the proxy, with a real Temporal and Postgres behind the worker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import { streamChatCompletion, type ChatCallParams } from '../../src/llm/chat-completion.ts';
import { readRetryAfter } from '../../src/llm/error-classification.ts';
import { readProxyMeta } from '../../src/llm/litellm-metadata.ts';
import { startTestStack } from '../helpers/stack.ts';
import { usageRows } from '../helpers/usage.ts';

const PROXY_HEADERS = {
  'x-litellm-model-id': 'dep-b',
  'x-litellm-model-group': 'fallback-group',
  'x-litellm-model-api-base': 'https://fallback.example/v1',
  'x-litellm-attempted-retries': '0',
  'x-litellm-attempted-fallbacks': '1',
  'x-litellm-call-id': 'call-7f3a',
};

describe('reading the proxy report', () => {
  test('takes the stream cost over the header; None and junk are unknown', () => {
    const headers = new Headers({ ...PROXY_HEADERS, 'x-litellm-response-cost': '0.5' });
    assert.deepEqual(readProxyMeta(headers, 0.0123), {
      modelId: 'dep-b',
      modelGroup: 'fallback-group',
      apiBase: 'https://fallback.example/v1',
      attemptedRetries: 0,
      attemptedFallbacks: 1,
      callId: 'call-7f3a',
      cost: 0.0123,
    });
    assert.equal(readProxyMeta(headers).cost, 0.5);
    const plain = readProxyMeta(new Headers({ 'x-litellm-model-id': 'None', 'x-litellm-attempted-retries': 'x', 'x-litellm-response-cost': 'None' }));
    assert.deepEqual(Object.values(plain), [null, null, null, null, null, null, null]);
  });

  test("reads the provider's Retry-After as LiteLLM renames it, after the proxy's own", () => {
    assert.equal(readRetryAfter(new Headers({ 'llm_provider-retry-after': '2' })), 2000);
    assert.equal(readRetryAfter({ 'llm_provider-retry-after-ms': '750' }), 750);
    assert.equal(readRetryAfter({ 'retry-after': '60', 'llm_provider-retry-after': '2' }), 60_000);
    assert.equal(readRetryAfter({ 'llm_provider-retry-after': new Date(10_000).toUTCString() }, '', 4_000), 6000);
  });
});

describe('a streamed call behind a proxy', () => {
  let server: ScriptedModelServer;
  let openai: OpenAI;
  const params: ChatCallParams = { model: 'scripted-model', messages: [{ role: 'user', content: 'hi' }], tools: [], user: 'agent-x' };

  before(async () => {
    server = await startScriptedModelServer();
    openai = new OpenAI({ baseURL: server.url, apiKey: 'k', maxRetries: 0 });
  });
  after(() => server.close());

  test('returns the headers and the last chunk cost with the answer, and sends `user`', async () => {
    server.enqueue({ kind: 'reply', content: 'Hello.', headers: PROXY_HEADERS, cost: 0.0123 });
    const answer = await streamChatCompletion(openai, params);
    assert.equal(answer.content, 'Hello.');
    assert.equal(answer.meta?.modelId, 'dep-b');
    assert.equal(answer.meta?.modelGroup, 'fallback-group');
    assert.equal(answer.meta?.callId, 'call-7f3a');
    assert.equal(answer.meta?.attemptedFallbacks, 1);
    assert.equal(answer.meta?.cost, 0.0123);
    assert.equal(server.chatRequests().at(-1)?.['user'], 'agent-x');
  });

  test('reports nothing it was not told by a plain endpoint', async () => {
    const answer = await streamChatCompletion(openai, { ...params, user: undefined });
    assert.equal(answer.meta?.modelId, null);
    assert.equal(answer.meta?.cost, null);
    assert.equal('user' in (server.chatRequests().at(-1) ?? {}), false);
  });
});

describe('usage of an agent behind a proxy', async () => {
  const stack = await startTestStack();
  const { client, model, db } = stack;
  const agent = await client.createAgent({ name: 'proxied', llm_config: stack.llmConfig });

  const agentUsage = () => usageRows(db, agent.id);

  test('records the deployment and group that answered a fallback, its cost and call id', async () => {
    model.enqueue({ kind: 'reply', content: 'Served by the fallback.', headers: PROXY_HEADERS, cost: 0.0123 });
    const r = await client.userMessage(agent.id, 'hello');
    assert.equal(r.stop_reason.stop_reason, 'end_turn');
    const [row] = await agentUsage();
    assert.ok(row);
    assert.equal(row.outcome, 'ok');
    assert.equal(row.model_group, 'scripted-model', 'the group the agent asked for');
    assert.equal(row.model_group_served, 'fallback-group');
    assert.equal(row.deployment, 'dep-b');
    assert.equal(row.endpoint, model.url);
    assert.equal(row.api_base, 'https://fallback.example/v1');
    assert.equal(row.call_id, 'call-7f3a');
    assert.equal(row.attempted_retries, 0);
    assert.equal(row.attempted_fallbacks, 1);
    assert.equal(Number(row.cost), 0.0123);
    assert.equal(model.chatRequests().at(-1)?.['user'], agent.id);
  });

  test("waits for the provider's Retry-After the proxy passed on, then sums the cost", async () => {
    model.enqueue(
      { kind: 'error', status: 429, headers: { 'llm_provider-retry-after': '2' } },
      { kind: 'reply', content: 'after the wait', cost: 0.001 },
    );
    const r = await client.userMessage(agent.id, 'again');
    assert.equal(r.stop_reason.stop_reason, 'end_turn');
    const calls = model.requests.filter((q) => q.path.endsWith('/chat/completions')).slice(-2);
    const gap = calls[1]!.receivedAt - calls[0]!.receivedAt;
    // the default first retry interval is 1 s; only the provider's Retry-After explains ~2 s
    assert.ok(gap >= 1800, `second attempt came ${gap} ms after the 429`);

    const rows = await agentUsage();
    assert.deepEqual(rows.map((u) => u.outcome), ['ok', 'RateLimited', 'ok']);
    // no proxy headers: the endpoint is the deployment, as without a proxy
    assert.equal(rows[2]?.deployment, model.url);
    assert.equal(rows[1]?.cost, null);

    const usage = await client.getUsage(agent.id);
    assert.equal(usage.calls, 3);
    assert.ok(usage.cost !== null && Math.abs(usage.cost - 0.0133) < 1e-9, `summed cost ${usage.cost}`);
  });

  test('an agent no call reported a cost for has an unknown cost', async () => {
    const other = await client.createAgent({ name: 'unpriced', llm_config: stack.llmConfig });
    await client.userMessage(other.id, 'hi');
    const usage = await client.getUsage(other.id);
    assert.equal(usage.calls, 1);
    assert.equal(usage.cost, null);
  });
});
