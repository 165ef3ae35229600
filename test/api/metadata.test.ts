/**
 * Letta's agent `metadata`, a free-form JSON object: set on create, returned wherever the agent
 * is, replaced on update; through Letta's official client and through the SDK. What is not a JSON
 * object of at most 64 KiB is refused, naming `metadata`, and nothing is written.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UnprocessableEntityError } from '@letta-ai/letta-client';
import { ValidationError } from '../../src/domain/errors.ts';
import { startTestStack } from '../helpers/stack.ts';
import { startApiServer } from './api-stack.ts';

const stack = await startTestStack({ startWorker: false });
const api = await startApiServer(stack);
const letta = api.letta();
const llmConfig = { ...stack.llmConfig, model_endpoint_type: 'openai' as const };

async function rejection<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  let caught: unknown;
  await promise.catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  return caught;
}

/** The `loc`s and messages of a 422. */
function problems(error: UnprocessableEntityError): { loc: unknown[]; msg: string }[] {
  return (error.error as { detail: { loc: unknown[]; msg: string }[] }).detail.map(({ loc, msg }) => ({ loc, msg }));
}

describe('agent metadata through the Letta client', () => {
  test('create keeps it; retrieve and list return it; update replaces it as a whole, null or no metadata leaves it', async () => {
    const metadata = { project: 'guide', owner: { name: 'Alice', teams: ['boats', 'books'] }, version: 3, beta: true, note: null };
    const created = await letta.agents.create({ name: 'meta-agent', llm_config: llmConfig, metadata });
    assert.deepEqual(created.metadata, metadata);
    assert.deepEqual((await letta.agents.retrieve(created.id)).metadata, metadata);
    const listed = await letta.agents.list({ name: 'meta-agent' });
    assert.deepEqual(listed.getPaginatedItems().map((a) => a.metadata), [metadata]);

    const replaced = await letta.agents.update(created.id, { metadata: { project: 'sailing' } });
    assert.deepEqual(replaced.metadata, { project: 'sailing' }, 'the new object replaces the old one, keys and all');
    assert.deepEqual((await letta.agents.update(created.id, { tags: ['kept'] })).metadata, { project: 'sailing' });
    assert.deepEqual((await letta.agents.update(created.id, { metadata: null })).metadata, { project: 'sailing' }, 'null is Letta’s “not given”');
    assert.deepEqual((await letta.agents.update(created.id, { metadata: {} })).metadata, {});
    // the SDK sees what the REST API stored
    assert.deepEqual((await stack.client.getAgent('meta-agent')).metadata, {});

    const plain = await letta.agents.create({ name: 'no-meta-agent', llm_config: llmConfig });
    assert.equal(plain.metadata, null);
  });

  test('not a JSON object, or over 64 KiB: a 422 naming metadata, and no agent', async () => {
    const tooLarge = await rejection(
      letta.agents.create({ name: 'meta-too-large', llm_config: llmConfig, metadata: { blob: 'x'.repeat(64 * 1024) } }),
      UnprocessableEntityError,
    );
    assert.deepEqual(problems(tooLarge), [{ loc: ['body', 'metadata'], msg: 'is 65547 bytes as JSON, over the limit of 65536 (64 KiB)' }]);
    assert.deepEqual((await letta.agents.list({ name: 'meta-too-large' })).getPaginatedItems(), []);

    const res = await fetch(`${api.server.url}/v1/agents/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'meta-array', llm_config: llmConfig, metadata: ['not', 'an', 'object'] }),
    });
    assert.equal(res.status, 422);
    const body = (await res.json()) as { detail: { loc: unknown[]; msg: string }[] };
    assert.deepEqual(body.detail.map(({ loc, msg }) => ({ loc, msg })), [{ loc: ['body', 'metadata'], msg: 'must be a JSON object' }]);

    const agent = await letta.agents.create({ name: 'meta-kept', llm_config: llmConfig, metadata: { project: 'guide' } });
    const nul = await rejection(letta.agents.update(agent.id, { metadata: { 'bad\u0000key': 1 } }), UnprocessableEntityError);
    assert.deepEqual(problems(nul).map((p) => p.loc), [['body', 'metadata', 'bad\u0000key']]);
    assert.match(problems(nul)[0]!.msg, /key must not contain NUL characters/);
    assert.deepEqual((await letta.agents.retrieve(agent.id)).metadata, { project: 'guide' }, 'a refused update changes nothing');
  });
});

describe('agent metadata through the SDK', () => {
  test('set, replaced and removed with null; what JSON cannot hold faithfully is a ValidationError naming the field', async () => {
    const { client } = stack;
    const agent = await client.createAgent({ name: 'sdk-meta', llm_config: stack.llmConfig, metadata: { source: 'sdk', n: 1.5 } });
    assert.deepEqual(agent.metadata, { source: 'sdk', n: 1.5 });
    assert.deepEqual((await client.updateAgent('sdk-meta', { metadata: { source: 'sdk', n: 2 } })).metadata, { source: 'sdk', n: 2 });
    assert.equal((await client.updateAgent('sdk-meta', { metadata: null })).metadata, null, 'null removes it');

    const cases: [unknown, RegExp][] = [
      [{ when: new Date(0) }, /^metadata\.when: must be a JSON value, got a Date$/],
      [{ missing: undefined }, /^metadata\.missing: must be a JSON value, got undefined$/],
      [{ ratio: Number.POSITIVE_INFINITY }, /^metadata\.ratio: must be a finite number, got Infinity$/],
      [{ blob: 'é'.repeat(40_000) }, /^metadata: is 80011 bytes as JSON, over the limit of 65536 \(64 KiB\)$/],
      ['a string', /^metadata: must be a JSON object$/],
    ];
    for (const [metadata, message] of cases) {
      const error = await rejection(client.createAgent({ name: 'sdk-meta-bad', llm_config: stack.llmConfig, metadata: metadata as Record<string, unknown> }), ValidationError);
      assert.equal(error.issues.length, 1, error.message);
      assert.match(`${error.issues[0]!.path}: ${error.issues[0]!.message}`, message);
    }
    const nested = await rejection(client.updateAgent('sdk-meta', { metadata: JSON.parse(`${'{"a":'.repeat(33)}1${'}'.repeat(33)}`) as Record<string, unknown> }), ValidationError);
    assert.match(nested.message, /metadata(\.a)+: is nested deeper than 32 levels/);
    assert.deepEqual(await client.listAgents({ name: 'sdk-meta-bad' }), []);
    assert.equal((await client.getAgent('sdk-meta')).metadata, null);
  });
});
