/**
 * The embedding model of agents, set as a user does: `memloom defaults embedding`, `agent create /
 * update --embedding` and the SDK's `setDefaultEmbeddingConfig`, `embedding` and
 * `embedding_config`. Bad input is an error naming the field or the flag, and writes nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AgentState } from '../../src/domain/agent.ts';
import { ValidationError } from '../../src/domain/errors.ts';
import type { EmbeddingConfig } from '../../src/domain/llm-config.ts';
import { errorOf, parsed, runCliInProcess, type CliRun } from '../helpers/cli.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack({ startWorker: false });
const { client, db } = stack;
const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };
const model = ['--model', stack.llmConfig.model, '--model-endpoint', stack.llmConfig.model_endpoint];

function memloom(...args: string[]): Promise<CliRun> {
  return runCliInProcess(ENV, args);
}

/** What bad input must not change: the settings and every agent's embedding_config. */
async function snapshot(): Promise<unknown> {
  const settings = await db.query('SELECT key, value FROM settings ORDER BY key');
  const agents = await db.query('SELECT name, embedding_config FROM agents ORDER BY name');
  return { settings: settings.rows, agents: agents.rows };
}

async function validationIssues(promise: Promise<unknown>): Promise<{ path: string; message: string }[]> {
  let caught: unknown;
  await promise.catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof ValidationError, `expected a ValidationError, got ${String(caught)}`);
  return caught.issues;
}

describe('embedding config: CLI', () => {
  test('defaults embedding shows, sets (a known model needs no --dim) and merges', async () => {
    assert.equal(parsed<EmbeddingConfig | null>(await memloom('defaults', 'embedding', '--json')), null);
    assert.match((await memloom('defaults', 'embedding')).stdout, /no default embedding_config: set one with `memloom defaults embedding --model NAME`/);

    const set = parsed<EmbeddingConfig>(await memloom('defaults', 'embedding', '--model', 'text-embedding-3-small', '--endpoint', 'http://localhost:4000', '--json'));
    assert.deepEqual(set, { embedding_model: 'text-embedding-3-small', embedding_endpoint_type: 'openai', embedding_endpoint: 'http://localhost:4000', embedding_dim: 1536 });
    assert.deepEqual(await client.getDefaultEmbeddingConfig(), set);
    const shown = await memloom('defaults', 'embedding');
    assert.match(shown.stdout, /default embedding_config: text-embedding-3-small \(openai, http:\/\/localhost:4000, dim 1536\)/);

    // another model: the endpoint stays, the dimension is the new model's
    const other = parsed<EmbeddingConfig>(await memloom('defaults', 'embedding', '--model', 'nomic-embed-text', '--dim', '768', '--json'));
    assert.deepEqual(other, { embedding_model: 'nomic-embed-text', embedding_endpoint_type: 'openai', embedding_endpoint: 'http://localhost:4000', embedding_dim: 768 });
    const dimOnly = parsed<EmbeddingConfig>(await memloom('defaults', 'embedding', '--dim', '1024', '--json'));
    assert.equal(dimOnly.embedding_model, 'nomic-embed-text');
    assert.equal(dimOnly.embedding_dim, 1024);

    // new agents get the default; --embedding chooses another model on the same endpoint
    const plain = parsed<AgentState>(await memloom('agent', 'create', '--name', 'emb-default', ...model, '--json'));
    assert.deepEqual(plain.embedding_config, dimOnly);
    const chosen = parsed<AgentState>(await memloom('agent', 'create', '--name', 'emb-chosen', ...model, '--embedding', 'text-embedding-3-large', '--json'));
    assert.deepEqual(chosen.embedding_config, { embedding_model: 'text-embedding-3-large', embedding_endpoint_type: 'openai', embedding_endpoint: 'http://localhost:4000', embedding_dim: 3072 });
    assert.match((await memloom('agent', 'show', 'emb-chosen')).stdout, /embedding: +text-embedding-3-large \(dim 3072\)/);

    const updated = parsed<AgentState>(
      await memloom('agent', 'update', 'emb-chosen', '--embedding', 'bge-m3', '--embedding-dim', '1024', '--embedding-endpoint', 'http://127.0.0.1:11434/v1', '--json'),
    );
    assert.deepEqual(updated.embedding_config, { embedding_model: 'bge-m3', embedding_endpoint_type: 'openai', embedding_endpoint: 'http://127.0.0.1:11434/v1', embedding_dim: 1024 });
    // only the dimension: model and endpoint stay
    const redim = parsed<AgentState>(await memloom('agent', 'update', 'emb-chosen', '--embedding-dim', '512', '--json'));
    assert.deepEqual(redim.embedding_config, { ...updated.embedding_config, embedding_dim: 512 });
  });

  test('bad flags name the flag, exit 1 and write nothing', async () => {
    parsed<AgentState>(await memloom('agent', 'create', '--name', 'emb-bad', ...model, '--embedding', 'text-embedding-3-small', '--json'));
    const before = await snapshot();
    const cases: [string[], RegExp][] = [
      [['defaults', 'embedding', '--model', 'my-embedder'], /--dim: is required: memloom does not know the dimension of "my-embedder" .*: pass --dim N/],
      [['defaults', 'embedding', '--model', 'm', '--dim', 'abc'], /--dim: must be an integer, got "abc"/],
      [['defaults', 'embedding', '--model', 'm', '--dim', '0'], /--dim: must be positive/],
      [['defaults', 'embedding', '--model', 'm', '--dim', '5000'], /--dim: must be at most 4096/],
      [['defaults', 'embedding', '--model', 'text-embedding-3-small', '--endpoint', 'localhost:4000'], /--endpoint: must be an http\(s\) URL/],
      [['defaults', 'embedding', '--model', ' '], /--model: must name a model/],
      [['agent', 'create', '--name', 'emb-x', ...model, '--embedding', 'custom-embedder'], /--embedding-dim: is required: memloom does not know the dimension of "custom-embedder"/],
      [['agent', 'create', '--name', 'emb-x', ...model, '--embedding', 'text-embedding-3-small', '--embedding-dim', '-3'], /--embedding-dim: must be positive/],
      [['agent', 'create', '--name', 'emb-x', ...model, '--embedding', 'text-embedding-3-small', '--embedding-endpoint', 'ftp://x'], /--embedding-endpoint: must be an http\(s\) URL/],
      [['agent', 'update', 'emb-bad', '--embedding', 'custom-embedder'], /--embedding-dim: is required/],
      [['agent', 'update', 'emb-bad', '--embedding-dim', '1.5'], /--embedding-dim: must be an integer, got "1.5"/],
    ];
    for (const [args, expected] of cases) {
      const run = await memloom(...args);
      const name = `memloom ${args.join(' ')}`;
      assert.equal(run.code, 1, `${name}: exit ${run.code}; stdout ${run.stdout}`);
      assert.equal(run.stdout, '', name);
      assert.match(run.stderr.replace(/\n {2}- /g, ' '), expected, `${name}: ${run.stderr}`);
    }
    // --json errors carry the flag as the issue's path
    const json = errorOf(await memloom('defaults', 'embedding', '--model', 'm', '--dim', '0', '--json'));
    assert.deepEqual(json.issues?.map((i) => i.path), ['--dim']);
    assert.deepEqual(await snapshot(), before, 'nothing was written');
    assert.equal((await client.listAgents({ name: 'emb-x' })).length, 0);
  });
});

describe('embedding config: SDK', () => {
  test('embedding (a model name) or embedding_config on createAgent and updateAgent', async () => {
    await client.setDefaultEmbeddingConfig({ embedding_model: 'text-embedding-3-small', embedding_endpoint: 'http://localhost:4000' });
    assert.equal((await client.getDefaultEmbeddingConfig())?.embedding_dim, 1536, 'a known model needs no embedding_dim');

    const named = await client.createAgent({ name: 'sdk-named', llm_config: stack.llmConfig, embedding: 'text-embedding-3-large' });
    assert.deepEqual(named.embedding_config, { embedding_model: 'text-embedding-3-large', embedding_endpoint_type: 'openai', embedding_endpoint: 'http://localhost:4000', embedding_dim: 3072 });
    const full = await client.createAgent({
      name: 'sdk-full',
      llm_config: stack.llmConfig,
      embedding_config: { embedding_model: 'nomic-embed-text', embedding_endpoint: 'http://127.0.0.1:11434/v1', embedding_dim: 768 },
    });
    assert.equal(full.embedding_config?.embedding_dim, 768);

    // updateAgent with a name: the agent's endpoint stays
    const renamed = await client.updateAgent('sdk-full', { embedding: 'text-embedding-3-small' });
    assert.deepEqual(renamed.embedding_config, { embedding_model: 'text-embedding-3-small', embedding_endpoint_type: 'openai', embedding_endpoint: 'http://127.0.0.1:11434/v1', embedding_dim: 1536 });
    const replaced = await client.updateAgent('sdk-full', { embedding_config: { embedding_model: 'e5', embedding_dim: 384 } });
    assert.deepEqual(replaced.embedding_config, { embedding_model: 'e5', embedding_endpoint_type: 'openai', embedding_dim: 384 });
  });

  test('bad input: a ValidationError naming the field, nothing written', async () => {
    await client.createAgent({ name: 'sdk-bad', llm_config: stack.llmConfig, embedding: 'text-embedding-3-small' });
    const before = await snapshot();
    const cases: [() => Promise<unknown>, string, RegExp][] = [
      [() => client.setDefaultEmbeddingConfig({ embedding_model: 'my-embedder' }), 'embedding_config.embedding_dim', /is required: memloom does not know the dimension of "my-embedder"/],
      [() => client.setDefaultEmbeddingConfig({ embedding_model: 'e', embedding_dim: 0 }), 'embedding_config.embedding_dim', /must be positive/],
      [() => client.setDefaultEmbeddingConfig({ embedding_model: 'e', embedding_dim: 8, embedding_endpoint: 'not a url' }), 'embedding_config.embedding_endpoint', /http\(s\) URL/],
      [() => client.createAgent({ name: 'sdk-x', llm_config: stack.llmConfig, embedding: 'custom-embedder' }), 'embedding', /does not know the dimension of "custom-embedder".*give embedding_config with its embedding_dim/],
      [() => client.createAgent({ name: 'sdk-x', llm_config: stack.llmConfig, embedding: '' }), 'embedding', /must name a model/],
      [
        () => client.createAgent({ name: 'sdk-x', llm_config: stack.llmConfig, embedding: 'text-embedding-3-small', embedding_config: { embedding_model: 'e', embedding_dim: 8 } }),
        'embedding',
        /give embedding \(a model name\) or embedding_config, not both/,
      ],
      [() => client.updateAgent('sdk-bad', { embedding: 'custom-embedder' }), 'embedding', /does not know the dimension/],
      [() => client.updateAgent('sdk-bad', { embedding_config: { embedding_model: 'e', embedding_dim: 9999 } }), 'embedding_config.embedding_dim', /must be at most 4096/],
    ];
    for (const [call, path, message] of cases) {
      const issues = await validationIssues(call());
      assert.deepEqual(issues.map((i) => i.path), [path], JSON.stringify(issues));
      assert.match(issues[0]!.message, message);
    }
    assert.deepEqual(await snapshot(), before, 'nothing was written');
    assert.equal((await client.listAgents({ name: 'sdk-x' })).length, 0);
  });
});
