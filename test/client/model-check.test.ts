/**
 * `createAgent` / `updateAgent` check the model against the endpoint's `GET /v1/models`: a list
 * without the model is a ValidationError at `llm_config.model` naming what the endpoint serves,
 * and nothing is written; an endpoint that cannot answer the question does not stop the agent.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { createClient } from '../../src/client/memloom-client.ts';
import { startScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import { runCliInProcess } from '../helpers/cli.ts';
import { GOOD_MODELS_FILE as GOOD, startModelCheckStack, validationError } from '../helpers/model-check.ts';
import { TEMPORAL_ADDRESS } from '../helpers/stack.ts';

const stack = await startModelCheckStack();
const { client, agentCount, modelsAsked } = stack;

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('the model is checked against the endpoint’s /v1/models', () => {
  test('a model the endpoint does not list fails at llm_config.model naming the served models; nothing is written', async () => {
    const before = await agentCount();
    const error = await validationError(
      client.createAgent({ name: 'unknown-model', llm_config: { ...stack.llmConfig, model: 'gpt-4o-nope' } }),
    );
    assert.equal(error.issues[0]?.path, 'llm_config.model');
    assert.match(error.message, /"gpt-4o-nope" is not served by .*: it serves scripted-model/);
    assert.equal(await agentCount(), before);
  });

  test('a served model is accepted', async () => {
    const agent = await client.createAgent({ name: 'served-model', llm_config: stack.llmConfig });
    assert.equal(agent.llm_config.model, 'scripted-model');
  });

  test('an error lists at most 20 of the served models', async () => {
    const many = await startScriptedModelServer({ models: Array.from({ length: 25 }, (_, i) => `m${i}`) });
    after(() => many.close());
    const error = await validationError(
      client.createAgent({ name: 'many-models', llm_config: { ...stack.llmConfig, model: 'x', model_endpoint: many.url } }),
    );
    assert.match(error.message, /it serves m0, m1, .*m19 and 5 more$/);
    assert.doesNotMatch(error.message, /m20/);
  });

  test('an unreachable endpoint, a 401 or a 404 on /models: the agent is created, with a note', async () => {
    const locked = await startScriptedModelServer({ apiKey: 'sk-locked' });
    const noModels = createServer((_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}'));
    await new Promise<void>((resolve) => noModels.listen(0, '127.0.0.1', resolve));
    after(async () => {
      await locked.close();
      await new Promise<void>((resolve) => noModels.close(() => resolve()));
    });
    const endpoints = [
      [`http://127.0.0.1:${await closedPort()}/v1`, /cannot reach it/],
      [locked.url, /answered 401/],
      [`http://127.0.0.1:${(noModels.address() as AddressInfo).port}/v1`, /answered 404/],
    ] as const;
    for (const [i, [endpoint, reason]] of endpoints.entries()) {
      const notes: string[] = [];
      const agent = await client.createAgent(
        { name: `unchecked-${i}`, llm_config: { ...stack.llmConfig, model: 'anything', model_endpoint: endpoint } },
        { onModelUnchecked: (note) => notes.push(note) },
      );
      assert.equal(agent.llm_config.model, 'anything');
      assert.equal(notes.length, 1, endpoint);
      assert.match(notes[0]!, reason);
      assert.match(notes[0]!, /model "anything" not checked/);
    }
  });

  test('updateAgent checks a changed model; an unchanged one is not asked about', async () => {
    const agent = await client.createAgent({ name: 'to-update', llm_config: stack.llmConfig });
    const error = await validationError(
      client.updateAgent(agent.id, { llm_config: { ...agent.llm_config, model: 'gpt-4o-nope' } }),
    );
    assert.equal(error.issues[0]?.path, 'llm_config.model');
    assert.equal((await client.getAgent(agent.id)).llm_config.model, 'scripted-model');
    const asked = modelsAsked();
    await client.updateAgent(agent.id, { llm_config: { ...agent.llm_config, temperature: 0.5 } });
    assert.equal(modelsAsked(), asked);
  });

  test('the CLI prints a one-line note when it could not check, and creates the agent', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}/v1`;
    const env = { ...process.env, DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS, MEMLOOM_LOG_LEVEL: 'warn' };
    const run = await runCliInProcess(env, ['agent', 'create', '--name', 'cli-unchecked', '--model', 'anything', '--model-endpoint', endpoint]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /created agent cli-unchecked/);
    assert.match(run.stderr, /^note: model "anything" not checked: .*cannot reach it$/m);
  });

  test('with a models file (MEMLOOM_MODELS) the model must be one of its groups, whatever the endpoint serves', async () => {
    const withModels = await createClient({ temporalAddress: TEMPORAL_ADDRESS, databaseUrl: stack.databaseUrl, taskQueue: stack.taskQueue, modelsFile: GOOD });
    after(() => withModels.close());
    const error = await validationError(
      withModels.createAgent({ name: 'not-a-group', llm_config: stack.llmConfig }),
    );
    assert.equal(error.issues[0]?.path, 'llm_config.model');
    assert.match(error.message, /"scripted-model" is not a model group of .*good\.yaml: the groups are smart, fast/);
    const agent = await withModels.createAgent({ name: 'a-group', llm_config: { ...stack.llmConfig, model: 'smart' } });
    assert.equal(agent.llm_config.model, 'smart');
  });
});
