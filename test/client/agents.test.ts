import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createClient } from '../../src/client/memloom-client.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { agentWorkflowId } from '../../src/domain/ids.ts';
import { startTestStack, TEMPORAL_ADDRESS } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, db } = stack;

async function count(table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

async function rejectsWith<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  let caught: unknown;
  await promise.catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  return caught;
}

describe('agents: create, list, get, update, delete', () => {
  test('Letta fields round-trip; ids are agent-<uuid>; lookup by id or name', async () => {
    const agent = await client.createAgent({
      name: 'crud',
      system: 'You are terse.',
      description: 'test agent',
      memory_blocks: [
        { label: 'human', value: 'Bob', limit: 100, description: 'about the user' },
        { label: 'persona', value: 'terse', read_only: true },
      ],
      llm_config: { ...stack.llmConfig, temperature: 0.2, max_tokens: 256 },
      embedding_config: { embedding_model: 'text-embedding-3-small', embedding_dim: 16 },
      tools: ['search_web'],
      tags: ['team-a', 'test'],
    });
    assert.match(agent.id, /^agent-[0-9a-f-]{36}$/);
    assert.equal(agent.agent_type, 'letta_v1_agent');
    assert.deepEqual(agent.blocks.map((b) => [b.label, b.value, b.limit, b.read_only]), [
      ['human', 'Bob', 100, false],
      ['persona', 'terse', 5000, true],
    ]);
    assert.equal(agent.blocks[0]?.description, 'about the user');
    assert.equal(agent.llm_config.model_endpoint_type, 'openai');
    assert.equal(agent.llm_config.temperature, 0.2);
    assert.ok(agent.tools.includes('search_web') && agent.tools.includes('core_memory_append'));
    assert.deepEqual(await client.getAgent('crud'), agent);
    assert.deepEqual(await client.getAgent(agent.id), agent);
    assert.deepEqual((await client.listAgents({ tags: ['team-a'] })).map((a) => a.id), [agent.id]);

    const updated = await client.updateAgent('crud', { name: 'crud-renamed', system: 'You are verbose.', tags: ['b'] });
    assert.equal(updated.name, 'crud-renamed');
    assert.equal(updated.system, 'You are verbose.');
    assert.deepEqual(updated.tags, ['b']);

    const block = await client.updateBlock(agent.id, 'human', { value: 'Bob, a gardener' });
    assert.equal(block.value, 'Bob, a gardener');
    assert.equal(block.version, 2);

    await client.deleteAgent('crud-renamed');
    await rejectsWith(client.getAgent(agent.id), NotFoundError);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM blocks');
    assert.equal(rows[0]?.n, 0, 'the agent’s unshared blocks are deleted with it');
  });

  test('default llm/embedding configs are persisted and used by new agents', async () => {
    await client.setDefaultLlmConfig({ model: 'gpt-4', model_endpoint_type: 'openai', model_endpoint: 'http://localhost:4000', context_window: 8192 });
    await client.setDefaultEmbeddingConfig({ embedding_model: 'text-embedding-3-small', embedding_dim: 1536 });
    const other = await createClient({ temporalAddress: TEMPORAL_ADDRESS, databaseUrl: stack.databaseUrl, taskQueue: stack.taskQueue });
    try {
      assert.deepEqual(await other.getDefaultLlmConfig(), {
        model: 'gpt-4',
        model_endpoint_type: 'openai',
        model_endpoint: 'http://localhost:4000',
        context_window: 8192,
      });
      const agent = await other.createAgent({ name: 'defaulted' });
      assert.equal(agent.llm_config.model, 'gpt-4');
      assert.equal(agent.embedding_config?.embedding_dim, 1536);
    } finally {
      await other.close();
    }
  });
});

describe('bad input: a clear error naming the field, and nothing written', () => {
  test('unknown agent', async () => {
    const before = await count('messages');
    const error = await rejectsWith(client.userMessage('no-such-agent', 'hello'), NotFoundError);
    assert.match(error.message, /agent not found: no-such-agent/);
    await rejectsWith(client.userMessage('agent-00000000-0000-4000-8000-000000000000', 'hello'), NotFoundError);
    assert.equal(await count('messages'), before);
  });

  test('empty message', async () => {
    const agent = await client.createAgent({ name: 'quiet', llm_config: stack.llmConfig });
    for (const text of ['', '   \n ']) {
      const error = await rejectsWith(client.userMessage(agent.id, text), ValidationError);
      assert.deepEqual(error.issues, [{ path: 'text', message: 'must not be empty' }]);
    }
    assert.equal(await count('messages'), 0);
    // no workflow was started for the agent
    await assert.rejects(client.temporal.workflow.getHandle(agentWorkflowId(agent.id)).describe(), /not found/i);
    await rejectsWith(client.userMessage(agent.id, 'hi', { maxSteps: 0 }), ValidationError);
  });

  test('invalid llm_config', async () => {
    const before = await count('agents');
    const error = await rejectsWith(
      client.createAgent({ name: 'broken', llm_config: { model: '', context_window: -5, model_endpoint: 'not a url' } }),
      ValidationError,
    );
    const paths = error.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['llm_config.context_window', 'llm_config.model', 'llm_config.model_endpoint']);
    assert.match(error.message, /llm_config\.context_window: must be at least 512 tokens/);
    await rejectsWith(client.setDefaultLlmConfig({ model: 'x', context_window: 1.5 }), ValidationError);
    assert.equal(await count('agents'), before);
  });

  test('missing llm_config with no default set', async () => {
    const fresh = await startTestStack({ startWorker: false });
    const error = await rejectsWith(fresh.client.createAgent({ name: 'nomodel' }), ValidationError);
    assert.equal(error.issues[0]?.path, 'llm_config');
    assert.equal((await fresh.db.query('SELECT 1 FROM agents')).rowCount, 0);
  });

  test('block over its limit, at create and on edit', async () => {
    const before = await count('agents');
    const error = await rejectsWith(
      client.createAgent({ name: 'overfull', llm_config: stack.llmConfig, memory_blocks: [{ label: 'human', value: 'x'.repeat(11), limit: 10 }] }),
      ValidationError,
    );
    assert.deepEqual(error.issues, [{ path: 'memory_blocks.0.value', message: "is 11 characters, over the block's limit of 10" }]);
    assert.equal(await count('agents'), before);

    const agent = await client.createAgent({ name: 'small', llm_config: stack.llmConfig, memory_blocks: [{ label: 'human', value: 'ok', limit: 10 }] });
    const edit = await rejectsWith(client.updateBlock(agent.id, 'human', { value: 'far too long for it' }), ValidationError);
    assert.match(edit.message, /over the block's limit of 10/);
    assert.equal((await client.getMemory(agent.id))[0]?.value, 'ok');
    await rejectsWith(client.updateBlock(agent.id, 'nope', { value: 'x' }), NotFoundError);
  });

  test('duplicate names and labels', async () => {
    await client.createAgent({ name: 'twin', llm_config: stack.llmConfig });
    await rejectsWith(client.createAgent({ name: 'twin', llm_config: stack.llmConfig }), ConflictError);
    const error = await rejectsWith(
      client.createAgent({ name: 'labels', llm_config: stack.llmConfig, memory_blocks: [{ label: 'a' }, { label: 'a' }] }),
      ValidationError,
    );
    assert.equal(error.issues[0]?.path, 'memory_blocks.1.label');
    await rejectsWith(client.createAgent({ name: 'agent-1234', llm_config: stack.llmConfig }), ValidationError);
  });
});
