/**
 * What keeps `memloom serve` safe to expose and to retry against: bearer auth, Letta's error
 * shapes (401, 404, 413, 422) with `x-should-retry`, a resent `otid` or `Idempotency-Key`
 * answered by the first turn, request logs with ids and without keys or bodies, and openapi.json.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuthenticationError, NotFoundError, UnprocessableEntityError } from '@letta-ai/letta-client';
import { startTestStack } from '../helpers/stack.ts';
import { startApiServer } from './api-stack.ts';

const API_KEY = 'mk-test-2f9c41d7a8b35e06';
const stack = await startTestStack();
const open = await startApiServer(stack);
const guarded = await startApiServer(stack, { apiKey: API_KEY });
const letta = open.letta();
const llmConfig = { ...stack.llmConfig, model_endpoint_type: 'openai' as const };
const agent = await letta.agents.create({ name: 'safety', llm_config: llmConfig, memory_blocks: [{ label: 'human', value: '' }] });

async function rejectsWith<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  let caught: unknown;
  await promise.catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  return caught;
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

async function userMessages(text: string): Promise<number> {
  const { rows } = await stack.db.query<{ n: number }>("SELECT count(*)::int AS n FROM messages WHERE agent_id = $1 AND role = 'user' AND content = $2", [agent.id, text]);
  return rows[0]!.n;
}

describe('auth', () => {
  test('with MEMLOOM_API_KEY every request needs the bearer key: 401 in Letta’s shape, never retried', async () => {
    const none = await fetch(`${guarded.server.url}/v1/agents/`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('x-should-retry'), 'false');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.match(((await none.json()) as { detail: string }).detail, /missing API key.*Authorization: Bearer/);
    await rejectsWith(guarded.letta({ apiKey: 'mk-wrong' }).agents.list(), AuthenticationError);
    await rejectsWith(guarded.letta({ apiKey: null }).health(), AuthenticationError);
    const listed = await guarded.letta().agents.list();
    assert.deepEqual(listed.getPaginatedItems().map((a) => a.id), [agent.id]);
    assert.ok(!guarded.logText().includes(API_KEY) && !guarded.logText().includes('mk-wrong'), 'no key in the logs');
  });

  test('without a key the server refuses any host but loopback', async () => {
    const { startServer } = await import('../../src/api/index.ts');
    await assert.rejects(
      startServer({ client: stack.client, logger: (await import('pino')).pino({ level: 'silent' }), host: '0.0.0.0', port: 0 }),
      /refusing to listen on 0\.0\.0\.0 without an API key.*MEMLOOM_API_KEY/,
    );
  });
});

describe('errors in Letta’s shapes', () => {
  test('an unknown agent is a 404 the client does not retry', async () => {
    await rejectsWith(letta.agents.retrieve('agent-00000000-0000-4000-8000-000000000000'), NotFoundError);
    const res = await post(`${open.server.url}/v1/agents/agent-00000000-0000-4000-8000-000000000000/messages`, { input: 'hello?' });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('x-should-retry'), 'false');
    assert.match(((await res.json()) as { detail: string }).detail, /agent not found: agent-00000000/);
  });

  test('an invalid message names each field (FastAPI’s detail), and nothing is sent', async () => {
    const before = stack.model.chatRequests().length;
    const error = await rejectsWith(
      letta.agents.messages.create(agent.id, { messages: [{ role: 'assistant', content: [{ type: 'image', source: { type: 'url', url: 'http://x/y.png' } }] }], max_steps: 0 }),
      UnprocessableEntityError,
    );
    const detail = (error.error as { detail: { loc: unknown[]; msg: string; type: string }[] }).detail;
    assert.deepEqual(
      detail.map((d) => d.loc),
      [
        ['body', 'messages', 0, 'role'],
        ['body', 'messages', 0, 'content', 0, 'type'],
        ['body', 'max_steps'],
      ],
    );
    assert.equal(error.headers.get('x-should-retry'), 'false');
    const notJson = await post(`${open.server.url}/v1/agents/${agent.id}/messages`, '{"input": ');
    assert.equal(notJson.status, 422);
    assert.deepEqual(await notJson.json(), { detail: [{ loc: ['body'], msg: 'the body is not valid JSON', type: 'json_invalid' }] });
    assert.equal(stack.model.chatRequests().length, before);
  });

  test('a body over the limit is a 413', async () => {
    const res = await post(`${open.server.url}/v1/agents/${agent.id}/messages`, { input: 'x'.repeat(5 * 1024 * 1024) });
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { detail: string }).detail, /over 4194304 bytes/);
    assert.equal(await userMessages('x'.repeat(5 * 1024 * 1024)), 0);
  });

  test('a turn that fails at the model endpoint is a 502 naming the failure and its message, not retried', async () => {
    stack.model.enqueue({ kind: 'error', status: 401, message: 'Incorrect API key provided' });
    const res = await post(`${open.server.url}/v1/agents/${agent.id}/messages`, { input: 'This turn fails.' });
    assert.equal(res.status, 502);
    assert.equal(res.headers.get('x-should-retry'), 'false');
    const body = (await res.json()) as { detail: string; error_type: string; message_id: string };
    assert.equal(body.error_type, 'AuthFailed');
    assert.match(body.message_id, /^message-/);
    assert.match(body.detail, /turn failed \(AuthFailed\)/);
    const line = open.logs.find((l) => l.msg === 'turn failed' && l.message_id === body.message_id);
    assert.equal(line?.error_type, 'AuthFailed');
  });

  test('a run id that is not one is a 422, an unknown run a 404, listing runs a 501', async () => {
    const bad = await fetch(`${open.server.url}/v1/runs/run-123`);
    assert.equal(bad.status, 422);
    assert.match(JSON.stringify(await bad.json()), /run-<uuid>/);
    const unknown = await fetch(`${open.server.url}/v1/runs/run-00000000-0000-4000-8000-000000000000`);
    assert.equal(unknown.status, 404);
    const list = await fetch(`${open.server.url}/v1/runs/`);
    assert.equal(list.status, 501);
  });
});

describe('a resent message is answered once', () => {
  test('Letta’s client retries after its timeout with the same otid: one turn, one model call', async () => {
    const text = 'Tell me something slow.';
    const before = stack.model.chatRequests().length;
    // the model answers after the client's first attempt timed out: the client sends the request again
    stack.model.enqueue({ kind: 'reply', content: 'Here is something slow.', delayMs: 2000 });
    const impatient = open.letta({ timeout: 1000, maxRetries: 4 });
    const response = await impatient.agents.messages.create(agent.id, { messages: [{ role: 'user', content: text, otid: 'otid-slow-1' }] });
    assert.equal(response.messages.at(-1)?.message_type, 'assistant_message');
    const sends = open.logs.filter((l) => l.method === 'POST' && l.path === `/v1/agents/${agent.id}/messages`);
    assert.ok(sends.length >= 2, `the client sent the request more than once (${sends.length})`);
    assert.equal(stack.model.chatRequests().length, before + 1, 'the model was asked once');
    assert.equal(await userMessages(text), 1, 'one user message stored');

    // sent again later, it is answered from the same turn
    const again = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: text, otid: 'otid-slow-1' }] });
    assert.deepEqual(again.messages.map((m) => m.id), response.messages.map((m) => m.id));
    assert.equal(stack.model.chatRequests().length, before + 1);
  });

  test('an Idempotency-Key header does the same for a message without otid', async () => {
    const before = stack.model.chatRequests().length;
    stack.model.enqueue({ kind: 'reply', content: 'Once.' });
    const send = () => post(`${open.server.url}/v1/agents/${agent.id}/messages`, { input: 'Answer once.' }, { 'Idempotency-Key': 'req-42' });
    const first = (await (await send()).json()) as { messages: { id: string }[] };
    const second = (await (await send()).json()) as { messages: { id: string }[] };
    assert.deepEqual(second.messages.map((m) => m.id), first.messages.map((m) => m.id));
    assert.equal(stack.model.chatRequests().length, before + 1);
    assert.equal(await userMessages('Answer once.'), 1);
  });

  test('the same otid with another text is a conflict the client does not retry', async () => {
    stack.model.enqueue({ kind: 'reply', content: 'First.' });
    await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'First text.', otid: 'otid-reused' }] });
    const res = await post(`${open.server.url}/v1/agents/${agent.id}/messages`, { messages: [{ role: 'user', content: 'Other text.', otid: 'otid-reused' }] });
    assert.equal(res.status, 409);
    assert.equal(res.headers.get('x-should-retry'), 'false');
  });
});

describe('logs and openapi.json', () => {
  test('one line per request with its id (also sent back), never a message body or a key', async () => {
    const secret = 'my card number is 4111 1111 1111 1111';
    stack.model.enqueue({ kind: 'reply', content: 'Noted.' });
    const res = await post(`${open.server.url}/v1/agents/${agent.id}/messages?search=${encodeURIComponent('query text')}`, { input: secret }, { 'X-Request-Id': 'trace-abc-123' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'trace-abc-123');
    const line = open.logs.find((l) => l.req_id === 'trace-abc-123');
    assert.deepEqual(
      line && { method: line.method, path: line.path, status: line.status, timed: typeof line.duration_ms === 'number' },
      { method: 'POST', path: `/v1/agents/${agent.id}/messages`, status: 200, timed: true },
    );
    for (const l of open.logs.filter((l) => l.msg === 'request')) assert.match(String(l.req_id), /\S/);
    assert.ok(!open.logText().includes('4111'), 'no message body in the logs');
    assert.ok(!open.logText().includes('query text'), 'no query string in the logs');
    assert.ok(!open.logText().toLowerCase().includes('authorization'));
  });

  test('openapi.json is OpenAPI 3.1 generated from the routes’ schemas', async () => {
    const doc = (await (await fetch(`${open.server.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, unknown> } };
    assert.equal(doc.openapi, '3.1.0');
    const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    for (const route of [
      'POST /v1/agents/',
      'GET /v1/agents/',
      'GET /v1/agents/{agent_id}',
      'PATCH /v1/agents/{agent_id}',
      'DELETE /v1/agents/{agent_id}',
      'POST /v1/agents/{agent_id}/messages',
      'GET /v1/agents/{agent_id}/messages',
      'GET /v1/agents/{agent_id}/core-memory/blocks',
      'GET /v1/agents/{agent_id}/core-memory/blocks/{block_label}',
      'PATCH /v1/agents/{agent_id}/core-memory/blocks/{block_label}',
      'POST /v1/agents/{agent_id}/archival-memory',
      'GET /v1/agents/{agent_id}/archival-memory',
      'GET /v1/agents/{agent_id}/archival-memory/search',
      'DELETE /v1/agents/{agent_id}/archival-memory/{memory_id}',
      'GET /v1/tools/',
      'GET /v1/tools/{tool_id}',
      'GET /v1/health/',
      'GET /v1/models/',
    ]) {
      assert.ok(routes.includes(route), `${route} is documented`);
    }
    const block = doc.components.schemas.BlockUpdate as { properties: { limit: { anyOf?: { maximum?: number }[] } } };
    assert.ok(JSON.stringify(block).includes('200000'), 'the block limit of the domain schema is in the document');
    assert.ok(doc.components.schemas.CreateAgentRequest && doc.components.schemas.LettaResponse);
  });
});
