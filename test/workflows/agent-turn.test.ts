import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ToolCallMessage, ToolReturnMessage } from '../../src/domain/letta-message.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

const ALICE = 'Hi! My name is Alice and I love reading science fiction books.';

const stack: TestStack = await startTestStack();

describe('agent turns', () => {

  test('the Alice conversation: memory written in turn 1 is in the system prompt of turn 2', async () => {
    const { client, model } = stack;
    await client.setDefaultLlmConfig({ ...stack.llmConfig, model_endpoint_type: 'openai' });
    const agent = await client.createAgent({
      name: 'alice-assistant',
      system: 'You are a helpful assistant with persistent memory.',
      memory_blocks: [
        { label: 'human', value: '' },
        { label: 'persona', value: 'I am a helpful assistant.' },
      ],
    });
    model.enqueue(
      { kind: 'reply', reasoning: 'The user told me their name and interests; I should remember them.', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Name: Alice. Loves reading science fiction books.' } }] },
      { kind: 'reply', content: 'Nice to meet you, Alice! Science fiction is a great genre.' },
    );
    const first = await client.userMessage(agent.id, ALICE);
    assert.equal(first.stop_reason.stop_reason, 'end_turn');
    assert.deepEqual(
      first.messages.map((m) => m.message_type),
      ['reasoning_message', 'tool_call_message', 'tool_return_message', 'assistant_message'],
    );
    const reply = first.messages.at(-1);
    assert.equal(reply?.message_type, 'assistant_message');
    assert.equal(reply.text, 'Nice to meet you, Alice! Science fiction is a great genre.');
    assert.equal(reply.content, reply.text);
    assert.equal((first.messages[2] as ToolReturnMessage).status, 'success');
    assert.equal(first.usage.step_count, 2);
    assert.ok(first.usage.total_tokens > 0);
    assert.equal(first.usage.total_tokens, first.usage.prompt_tokens + first.usage.completion_tokens);
    for (const m of first.messages) {
      assert.match(m.id, /^message-/);
      assert.ok(!Number.isNaN(Date.parse(m.date)));
    }

    const memory = await client.getMemory(agent.id);
    assert.equal(memory.find((b) => b.label === 'human')?.value, 'Name: Alice. Loves reading science fiction books.');

    model.enqueue({ kind: 'reply', content: 'You told me you love reading science fiction books.' });
    const second = await client.userMessage('alice-assistant', 'What did I tell you about my interests?');
    assert.equal(second.messages.at(-1)?.message_type, 'assistant_message');

    const requests = model.chatRequests();
    assert.equal(requests.length, 3);
    const turn2 = requests[2]!;
    const system = turn2.messages[0] as { role: string; content: string };
    assert.equal(system.role, 'system');
    assert.match(system.content, /<human>[\s\S]*Name: Alice\. Loves reading science fiction books\.[\s\S]*<\/human>/);
    // turn 2 also sees turn 1's messages, its tool call paired with its return
    const roles = turn2.messages.map((m) => (m as { role: string }).role);
    assert.deepEqual(roles, ['system', 'user', 'assistant', 'tool', 'assistant', 'user']);
    // the model was offered the memory tools with JSON schemas
    const toolNames = (turn2.tools ?? []).map((t) => (t as { function: { name: string } }).function.name);
    assert.ok(toolNames.includes('core_memory_append'));
    assert.ok(toolNames.includes('conversation_search'));

    const recall = await client.listMessages(agent.id);
    assert.deepEqual(
      recall.map((m) => m.message_type),
      ['user_message', 'reasoning_message', 'tool_call_message', 'tool_return_message', 'assistant_message', 'user_message', 'assistant_message'],
    );
    assert.equal(recall[0]?.message_type === 'user_message' && recall[0].content, ALICE);
  });

  test('memory tools report errors the model can read: read-only block, over the limit', async () => {
    const { client, model } = stack;
    const agent = await client.createAgent({
      name: 'strict-memory',
      llm_config: stack.llmConfig,
      memory_blocks: [
        { label: 'persona', value: 'Fixed persona.', read_only: true },
        { label: 'human', value: '', limit: 20 },
      ],
    });
    model.enqueue(
      {
        kind: 'reply',
        toolCalls: [
          { name: 'core_memory_append', arguments: { label: 'persona', content: 'I changed.' } },
          { name: 'core_memory_append', arguments: { label: 'human', content: 'A very long fact that does not fit.' } },
          { name: 'memory_insert', arguments: { label: 'human', new_string: 'Short.' } },
        ],
      },
      { kind: 'reply', content: 'Done.' },
    );
    const r = await client.userMessage(agent.id, 'Remember things.');
    const returns = r.messages.filter((m): m is ToolReturnMessage => m.message_type === 'tool_return_message');
    assert.deepEqual(returns.map((m) => m.status), ['error', 'error', 'success']);
    assert.match(returns[0]!.tool_return, /read-only/);
    assert.match(returns[1]!.tool_return, /Exceeds 20 character limit/);
    const blocks = await client.getMemory(agent.id);
    assert.equal(blocks.find((b) => b.label === 'persona')?.value, 'Fixed persona.');
    assert.equal(blocks.find((b) => b.label === 'human')?.value, 'Short.');
    // the model saw the error texts in its next request
    const last = model.chatRequests().at(-1)!;
    const toolMessages = last.messages.filter((m) => (m as { role: string }).role === 'tool') as { content: string }[];
    assert.match(toolMessages[0]!.content, /read-only/);
  });

  test('archival memory and conversation search round-trip through tools', async () => {
    const { client, model } = stack;
    const agent = await client.createAgent({ name: 'archivist', llm_config: stack.llmConfig });
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'archival_memory_insert', arguments: { content: 'The launch code word is marmalade.', tags: ['secret'] } }] },
      { kind: 'reply', toolCalls: [{ name: 'archival_memory_search', arguments: { query: 'launch code' } }] },
      { kind: 'reply', toolCalls: [{ name: 'conversation_search', arguments: { query: 'pineapple' } }] },
      { kind: 'reply', content: 'Stored and found.' },
    );
    const r = await client.userMessage(agent.id, 'Remember the pineapple password hint for later.');
    const returns = r.messages.filter((m): m is ToolReturnMessage => m.message_type === 'tool_return_message');
    assert.equal(returns.length, 3);
    assert.ok(returns.every((m) => m.status === 'success'), JSON.stringify(returns));
    assert.match(returns[1]!.tool_return, /marmalade/);
    assert.match(returns[2]!.tool_return, /pineapple password hint/);
    const passages = await client.searchArchivalMemory(agent.id, 'marmalade');
    assert.equal(passages.length, 1);
    assert.deepEqual(passages[0]!.tags, ['secret']);
    const calls = r.messages.filter((m): m is ToolCallMessage => m.message_type === 'tool_call_message');
    assert.deepEqual(calls.map((c) => c.tool_call.name), ['archival_memory_insert', 'archival_memory_search', 'conversation_search']);
  });

  test('max_steps stops a turn that keeps calling tools', async () => {
    const { client, model } = stack;
    const agent = await client.createAgent({ name: 'looper', llm_config: stack.llmConfig });
    model.setResponder(() => ({ kind: 'reply', toolCalls: [{ name: 'conversation_search', arguments: { query: 'x' } }] }));
    try {
      const r = await client.userMessage(agent.id, 'Loop forever.', { maxSteps: 3 });
      assert.equal(r.stop_reason.stop_reason, 'max_steps');
      assert.equal(r.usage.step_count, 3);
      assert.equal(r.messages.filter((m) => m.message_type === 'tool_return_message').length, 3);
    } finally {
      model.setResponder(undefined);
    }
  });

  test('sending the same message id twice answers once', async () => {
    const { client, model } = stack;
    const agent = await client.createAgent({ name: 'idempotent', llm_config: stack.llmConfig });
    const messageId = 'message-00000000-0000-4000-8000-000000000001';
    model.enqueue({ kind: 'reply', content: 'first and only answer' });
    const a = await client.userMessage(agent.id, 'hello', { messageId });
    const b = await client.userMessage(agent.id, 'hello', { messageId });
    assert.deepEqual(b.messages, a.messages);
    const recall = await client.listMessages(agent.id);
    assert.equal(recall.length, 2);
    await assert.rejects(client.userMessage(agent.id, 'a different text', { messageId }), /already sent with a different text/);
  });
});
