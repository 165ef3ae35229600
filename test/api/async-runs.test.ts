/**
 * Async messages and runs through Letta's official client: `createAsync` answers a `Run` at once,
 * `runs.retrieve` follows it to its end (a run is the message's turn record), and
 * `messages.cancel` stops a slow turn, which ends `cancelled`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NotFoundError, UnprocessableEntityError } from '@letta-ai/letta-client';
import { startTestStack } from '../helpers/stack.ts';
import { until } from '../helpers/poll.ts';
import { startApiServer } from './api-stack.ts';

const stack = await startTestStack();
const api = await startApiServer(stack, { streaming: { keepaliveMs: 100 } });
const letta = api.letta();
const { model } = stack;
const llmConfig = { ...stack.llmConfig, model_endpoint_type: 'openai' as const };

async function newAgent(name: string): Promise<string> {
  const agent = await letta.agents.create({ name, llm_config: llmConfig, memory_blocks: [{ label: 'human', value: '' }] });
  return agent.id;
}

const finished = (status: string | undefined): boolean => status === 'completed' || status === 'failed' || status === 'cancelled';

describe('messages.createAsync and runs', () => {
  test('a Run at once, polled to completed; its messages', async () => {
    const agentId = await newAgent('async-run');
    model.enqueue({ kind: 'reply', content: 'Answered in the background.', delayMs: 500 });
    const run = await letta.agents.messages.createAsync(agentId, { messages: [{ role: 'user', content: 'Answer when you can.' }] });
    assert.match(run.id, /^run-[0-9a-f-]{36}$/);
    assert.equal(run.agent_id, agentId);
    assert.ok(run.status === 'created' || run.status === 'running', `not finished yet: ${run.status}`);
    const done = await until('the run', () => letta.runs.retrieve(run.id), (r) => finished(r.status));
    assert.equal(done.status, 'completed');
    assert.equal(done.stop_reason, 'end_turn');
    assert.ok(done.completed_at);
    const messages = (await letta.runs.messages.list(run.id)).getPaginatedItems();
    assert.deepEqual(
      messages.map((m) => m.message_type),
      ['user_message', 'assistant_message'],
    );
    const [newest] = (await letta.agents.messages.list(agentId, { limit: 1 })).getPaginatedItems();
    assert.ok(newest?.message_type === 'assistant_message' && newest.content === 'Answered in the background.');
  });

  test('the same otid sent again is the same run, one turn', async () => {
    const agentId = await newAgent('async-otid');
    const before = model.chatRequests().length;
    const body = { messages: [{ role: 'user' as const, content: 'Once only.', otid: 'client-otid-1' }] };
    const first = await letta.agents.messages.createAsync(agentId, body);
    const again = await letta.agents.messages.createAsync(agentId, body);
    assert.equal(again.id, first.id);
    await until('the run', () => letta.runs.retrieve(first.id), (r) => finished(r.status));
    assert.equal(model.chatRequests().length - before, 1);
  });

  test('callback_url is refused by name; an unknown run is a 404', async () => {
    const agentId = await newAgent('async-bad');
    const refused = await letta.agents.messages.createAsync(agentId, { input: 'x', callback_url: 'https://example.com/hook' }).catch((e: unknown) => e);
    assert.ok(refused instanceof UnprocessableEntityError);
    assert.match(JSON.stringify(refused.error), /callback_url/);
    const missing = await letta.runs.retrieve('run-00000000-0000-4000-8000-000000000000').catch((e: unknown) => e);
    assert.ok(missing instanceof NotFoundError);
  });
});

describe('messages.cancel', () => {
  test('a slow turn asked to stop ends cancelled; the agent answers the next message', async () => {
    const agentId = await newAgent('cancel-slow');
    model.enqueue({ kind: 'reply', content: 'This answer comes too late.', delayMs: 30_000 });
    const before = model.chatRequests().length;
    const run = await letta.agents.messages.createAsync(agentId, { input: 'Think for a long time.' });
    await model.waitForChatRequests(before + 1, 15_000);
    const answer = await letta.agents.messages.cancel(agentId, { run_ids: [run.id] });
    assert.deepEqual(answer, { [run.id]: 'cancelled' });
    const done = await until('the run', () => letta.runs.retrieve(run.id), (r) => finished(r.status));
    assert.equal(done.status, 'cancelled');
    assert.equal(done.stop_reason, 'cancelled');

    model.enqueue({ kind: 'reply', content: 'Back to normal.' });
    const next = await letta.agents.messages.create(agentId, { input: 'Still there?' });
    assert.equal(next.stop_reason.stop_reason, 'end_turn');
    const messages = (await letta.agents.messages.list(agentId, { order: 'asc' })).getPaginatedItems();
    assert.ok(!messages.some((m) => m.message_type === 'assistant_message' && m.content === 'This answer comes too late.'));
  });

  test('a streaming turn cancelled ends its stream with stop_reason cancelled', async () => {
    const agentId = await newAgent('cancel-stream');
    model.enqueue({ kind: 'reply', content: 'Never shown.', delayMs: 30_000 });
    const before = model.chatRequests().length;
    const stream = await letta.agents.messages.create(agentId, { input: 'Stream, then stop.', streaming: true, stream_tokens: true });
    const chunks: Record<string, unknown>[] = [];
    let cancelled = false;
    for await (const chunk of stream) {
      chunks.push(chunk as Record<string, unknown>);
      if (!cancelled) {
        cancelled = true;
        await model.waitForChatRequests(before + 1, 15_000);
        // no run ids: every queued or running run of the agent
        const answer = await letta.agents.messages.cancel(agentId);
        assert.deepEqual(Object.values(answer), ['cancelled']);
      }
    }
    const types = chunks.filter((c) => c.message_type !== 'ping').map((c) => c.message_type);
    assert.deepEqual(types, ['stop_reason', 'usage_statistics']);
    assert.equal(chunks.find((c) => c.message_type === 'stop_reason')?.stop_reason, 'cancelled');
  });

  test('a turn cancelled while its sender waits answers with stop_reason cancelled', async () => {
    const agentId = await newAgent('cancel-waiting');
    model.enqueue({ kind: 'reply', content: 'Never sent.', delayMs: 30_000 });
    const before = model.chatRequests().length;
    const waiting = letta.agents.messages.create(agentId, { input: 'Wait for me.' });
    await model.waitForChatRequests(before + 1, 15_000);
    assert.deepEqual(Object.values(await letta.agents.messages.cancel(agentId)), ['cancelled']);
    const response = await waiting;
    assert.equal(response.stop_reason.stop_reason, 'cancelled');
    assert.ok(!response.messages.some((m) => m.message_type === 'assistant_message'));
  });

  test('a finished run answers its status; another agent’s run is not_found', async () => {
    const agentId = await newAgent('cancel-done');
    const other = await newAgent('cancel-other');
    model.enqueue({ kind: 'reply', content: 'Done already.' });
    const run = await letta.agents.messages.createAsync(agentId, { input: 'Quick one.' });
    await until('the run', () => letta.runs.retrieve(run.id), (r) => finished(r.status));
    assert.deepEqual(await letta.agents.messages.cancel(agentId, { run_ids: [run.id] }), { [run.id]: 'completed' });
    assert.deepEqual(await letta.agents.messages.cancel(other, { run_ids: [run.id] }), { [run.id]: 'not_found' });
  });
});
