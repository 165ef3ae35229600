/**
 * Letta's official TypeScript client, unchanged, against `memloom serve` on the real stack: the
 * guide's flow (an agent with memory blocks, a message, the messages, a block update, archival
 * insert and search), paging, tools, models and health.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NotFoundError, UnprocessableEntityError } from '@letta-ai/letta-client';
import { rollDice } from '../cli/fixtures/tools.ts';
import { startTestStack } from '../helpers/stack.ts';
import { startApiServer } from './api-stack.ts';

const stack = await startTestStack({ tools: [rollDice] });
const api = await startApiServer(stack);
const letta = api.letta();
const { model } = stack;
const llmConfig = { ...stack.llmConfig, model_endpoint_type: 'openai' as const };
const embeddingConfig = { embedding_model: 'text-embedding-3-small', embedding_endpoint_type: 'openai' as const, embedding_endpoint: model.url, embedding_dim: 16 };

async function rejectsWith<E extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  let caught: unknown;
  await promise.catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  return caught;
}

describe('the guide’s flow through the Letta client', () => {
  test('create an agent with memory blocks, talk to it, read its messages, edit a block, use archival memory', async () => {
    const agent = await letta.agents.create({
      name: 'guide-assistant',
      memory_blocks: [
        { label: 'human', value: 'The user has not said their name yet.' },
        { label: 'persona', value: 'I am a helpful assistant.', limit: 2000 },
      ],
      llm_config: llmConfig,
      embedding_config: embeddingConfig,
      tags: ['guide'],
    });
    assert.match(agent.id, /^agent-[0-9a-f-]{36}$/);
    assert.equal(agent.agent_type, 'letta_v1_agent');
    assert.deepEqual(agent.memory.blocks.map((b) => b.label), ['human', 'persona']);
    assert.ok(agent.tools.some((t) => t.name === 'core_memory_append' && t.tool_type === 'letta_memory_core' && /^tool-/.test(t.id)));
    assert.deepEqual(agent.tags, ['guide']);

    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'core_memory_replace', arguments: { label: 'human', old_content: 'The user has not said their name yet.', new_content: 'Name: Alice.' } }] },
      { kind: 'reply', content: 'Nice to meet you, Alice!' },
    );
    const response = await letta.agents.messages.create(agent.id, { messages: [{ role: 'user', content: 'Hi! My name is Alice.' }] });
    assert.deepEqual(
      response.messages.map((m) => m.message_type),
      ['tool_call_message', 'tool_return_message', 'assistant_message'],
    );
    const reply = response.messages.at(-1);
    assert.ok(reply?.message_type === 'assistant_message');
    assert.equal(reply.content, 'Nice to meet you, Alice!');
    assert.equal(response.stop_reason.stop_reason, 'end_turn');
    assert.equal(response.usage.step_count, 2);

    const human = await letta.agents.blocks.retrieve('human', { agent_id: agent.id });
    assert.equal(human.value, 'Name: Alice.', 'the memory tool edited the block');

    const listed = [];
    for await (const m of letta.agents.messages.list(agent.id, { order: 'asc', limit: 2 })) listed.push(m);
    assert.deepEqual(
      listed.map((m) => m.message_type),
      ['user_message', 'tool_call_message', 'tool_return_message', 'assistant_message'],
      'pages of 2 stored messages, followed with after=<last id>, add up to the conversation',
    );
    const newest = await letta.agents.messages.list(agent.id, { limit: 1 });
    assert.deepEqual(
      newest.getPaginatedItems().map((m) => m.message_type),
      ['assistant_message'],
      'newest first by default',
    );

    const updated = await letta.agents.blocks.update('human', { agent_id: agent.id, value: 'Name: Alice. Likes sailing.' });
    assert.equal(updated.value, 'Name: Alice. Likes sailing.');
    const blocks = await letta.agents.blocks.list(agent.id);
    assert.equal(blocks.getPaginatedItems().find((b) => b.label === 'human')?.value, 'Name: Alice. Likes sailing.');
    model.enqueue({ kind: 'reply', content: 'You like sailing.' });
    await letta.agents.messages.create(agent.id, { input: 'What do I like?' });
    const system = model.chatRequests().at(-1)!.messages[0] as { content: string };
    assert.match(system.content, /Likes sailing/, 'the next turn’s prompt shows the updated block');

    const [inserted] = await letta.agents.passages.create(agent.id, { text: 'Alice keeps her sailboat at the Brest marina.', tags: ['boats'] });
    assert.match(inserted!.id!, /^passage-/);
    await letta.agents.passages.create(agent.id, { text: 'Alice’s favourite author is Ursula K. Le Guin.' });
    const found = await letta.agents.passages.search(agent.id, { query: 'where is the sailboat', top_k: 1 });
    assert.equal(found.count, 1);
    assert.equal(found.results[0]?.content, 'Alice keeps her sailboat at the Brest marina.');
    assert.deepEqual(found.results[0]?.tags, ['boats']);
    const tagged = await letta.agents.passages.search(agent.id, { query: 'author', tags: ['boats'] });
    assert.ok(tagged.results.every((r) => r.tags?.includes('boats')));

    const all = await letta.agents.passages.list(agent.id);
    assert.deepEqual(all.map((p) => p.text), ['Alice keeps her sailboat at the Brest marina.', 'Alice’s favourite author is Ursula K. Le Guin.']);
    const page = await letta.agents.passages.list(agent.id, { after: all[0]!.id!, limit: 5 });
    assert.deepEqual(page.map((p) => p.id), [all[1]!.id]);
    await letta.agents.passages.delete(all[0]!.id!, { agent_id: agent.id });
    assert.deepEqual((await letta.agents.passages.list(agent.id)).map((p) => p.id), [all[1]!.id]);
    await rejectsWith(letta.agents.passages.delete(all[0]!.id!, { agent_id: agent.id }), NotFoundError);
  });
});

describe('agents', () => {
  test('list pages newest first with after=<last id>; filters by name and tags; update and delete', async () => {
    const made = [];
    for (const i of [1, 2, 3]) made.push(await letta.agents.create({ name: `pager-${i}`, llm_config: llmConfig, tags: ['pager', `n${i}`] }));
    const names = [];
    for await (const a of letta.agents.list({ tags: ['pager'], limit: 2 })) names.push(a.name);
    assert.deepEqual(names, ['pager-3', 'pager-2', 'pager-1']);
    const any = await letta.agents.list({ tags: ['n1', 'n3'] });
    assert.deepEqual(any.getPaginatedItems().map((a) => a.name).sort(), ['pager-1', 'pager-3'], 'any of the tags by default, as Letta');
    const all = await letta.agents.list({ tags: ['n1', 'pager'], match_all_tags: true });
    assert.deepEqual(all.getPaginatedItems().map((a) => a.name), ['pager-1']);
    assert.deepEqual((await letta.agents.list({ name: 'pager-2' })).getPaginatedItems().map((a) => a.id), [made[1]!.id]);

    const updated = await letta.agents.update(made[0]!.id, { name: 'pager-one', system: 'Be brief.', tags: ['renamed'], context_window_limit: 4096 });
    assert.equal(updated.name, 'pager-one');
    assert.equal(updated.system, 'Be brief.');
    assert.equal(updated.llm_config.context_window, 4096);
    assert.equal((await letta.agents.retrieve(made[0]!.id)).name, 'pager-one');

    await letta.agents.delete(made[0]!.id);
    await rejectsWith(letta.agents.retrieve(made[0]!.id), NotFoundError);
  });

  test('`model` handles and `context_window_limit`; the default llm_config without either', async () => {
    const byHandle = await letta.agents.create({ name: 'by-handle', model: 'openai/gpt-4o-mini', context_window_limit: 16_000 });
    assert.equal(byHandle.llm_config.model, 'gpt-4o-mini');
    assert.equal(byHandle.llm_config.model_endpoint_type, 'openai');
    assert.equal(byHandle.llm_config.context_window, 16_000);
    assert.equal(byHandle.model, 'gpt-4o-mini');

    await stack.client.setDefaultLlmConfig(llmConfig);
    const defaulted = await letta.agents.create({ memory_blocks: [{ label: 'human', value: '' }], context_window_limit: 6000 });
    assert.match(defaulted.name, /^agent_[0-9a-f]{8}$/, 'a name is generated, as Letta does');
    assert.equal(defaulted.llm_config.model, 'scripted-model');
    assert.equal(defaulted.llm_config.context_window, 6000);

    const models = await letta.models.list();
    assert.deepEqual(
      models.map((m) => [m.handle, m.context_window]),
      [['scripted-model', 8192]],
      'the default llm_config is the model listed without a models file',
    );
  });

  test('invalid bodies name each field; Letta’s fields memloom cannot honour are refused by name', async () => {
    const error = await rejectsWith(
      letta.agents.create({ name: 'bad', llm_config: llmConfig, memory_blocks: [{ label: 'not a label', value: 'x' }, { label: 'human', value: 'y'.repeat(30), limit: 10 }] }),
      UnprocessableEntityError,
    );
    const detail = (error.error as { detail: { loc: (string | number)[]; msg: string }[] }).detail;
    assert.deepEqual(
      detail.map((d) => d.loc),
      [
        ['body', 'memory_blocks', 0, 'label'],
        ['body', 'memory_blocks', 1, 'value'],
      ],
    );
    assert.match(detail[1]!.msg, /over the block's limit of 10/);

    const refused = await rejectsWith(letta.agents.create({ name: 'ruled', llm_config: llmConfig, tool_rules: [{ tool_name: 'x', type: 'exit_loop' }] }), UnprocessableEntityError);
    assert.deepEqual((refused.error as { detail: { loc: unknown[] }[] }).detail.map((d) => d.loc), [['body', 'tool_rules']]);
    assert.equal((await stack.db.query("SELECT count(*)::int AS n FROM agents WHERE name IN ('bad', 'ruled')")).rows[0].n, 0, 'nothing written');
  });
});

describe('tools, models and health', () => {
  test('the memory tools and published user tools are listed; creating a tool from Python source is a 422 that says how', async () => {
    const tools = [];
    for await (const t of letta.tools.list({ limit: 3 })) tools.push(t);
    assert.deepEqual(
      tools.map((t) => [t.name, t.tool_type]),
      [
        ['core_memory_append', 'letta_memory_core'],
        ['core_memory_replace', 'letta_memory_core'],
        ['memory_insert', 'letta_memory_core'],
        ['memory_replace', 'letta_memory_core'],
        ['archival_memory_insert', 'letta_core'],
        ['archival_memory_search', 'letta_core'],
        ['conversation_search', 'letta_core'],
        ['roll_dice', 'custom'],
      ],
      'pages of 3, followed with after=<last id>',
    );
    const dice = tools.at(-1)!;
    assert.deepEqual(dice.json_schema?.parameters, { type: 'object', properties: { sides: { type: 'integer', minimum: 2 } }, required: ['sides'], additionalProperties: false });
    const withDice = await letta.agents.create({ name: 'dice-player', llm_config: llmConfig, tool_ids: [dice.id], include_base_tools: false });
    assert.deepEqual(withDice.tools.map((t) => t.name), ['roll_dice']);
    const one = await letta.tools.retrieve(tools[0]!.id);
    assert.deepEqual(one, tools[0]);
    await rejectsWith(letta.tools.retrieve('tool-00000000-0000-5000-8000-000000000000'), NotFoundError);
    const error = await rejectsWith(letta.tools.create({ source_code: 'def roll_dice() -> int:\n    return 4' }), UnprocessableEntityError);
    const [problem] = (error.error as { detail: { loc: unknown[]; msg: string }[] }).detail;
    assert.deepEqual(problem?.loc, ['body', 'source_code']);
    assert.match(problem!.msg, /TypeScript modules registered on a worker.*memloom worker --tools/);
  });

  test('health', async () => {
    const health = await letta.health();
    assert.equal(health.status, 'ok');
    assert.match(health.version, /^\d+\.\d+\.\d+/);
  });
});
