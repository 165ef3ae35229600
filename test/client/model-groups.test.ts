/**
 * With a models config (a LiteLLM config.yaml, given to createClient or named by MEMLOOM_MODELS)
 * an agent's `llm_config.model` is one of its model groups: an unknown group is a ValidationError
 * listing the known ones, nothing is written and no endpoint is asked; a `context_window` left
 * out is the group's `max_input_tokens` (the smallest of its deployments).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createClient } from '../../src/client/memloom-client.ts';
import { parseModelsConfig } from '../../src/config/models-file.ts';
import type { AgentState } from '../../src/domain/agent.ts';
import { errorOf, parsed, runCliInProcess } from '../helpers/cli.ts';
import { GOOD_MODELS_FILE as GOOD, startModelCheckStack, validationError } from '../helpers/model-check.ts';
import { TEMPORAL_ADDRESS } from '../helpers/stack.ts';

const stack = await startModelCheckStack();
const { db, agentCount, modelsAsked } = stack;

const MODELS = parseModelsConfig(
  `
model_list:
  - model_name: smart
    litellm_params: { model: openai/gpt-4o, api_base: ${stack.model.url} }
    model_info: { max_input_tokens: 128000 }
  - model_name: smart
    litellm_params: { model: hosted_vllm/llama, api_base: ${stack.model.url} }
    model_info: { max_input_tokens: 32000 }
  - model_name: fast
    litellm_params: { model: openai/gpt-4o-mini, api_base: ${stack.model.url} }
  - model_name: tiny
    litellm_params: { model: openai/tiny, api_base: ${stack.model.url} }
    model_info: { max_input_tokens: 100 }
`,
  'inline',
).config;

const client = await createClient({ temporalAddress: TEMPORAL_ADDRESS, databaseUrl: stack.databaseUrl, taskQueue: stack.taskQueue, db, models: MODELS });
after(() => client.close());

describe('agents name a model group of the models config', () => {
  test('an unknown group on create or update is a ValidationError at llm_config.model listing the groups; nothing is written', async () => {
    const before = await agentCount();
    const asked = modelsAsked();
    const error = await validationError(client.createAgent({ name: 'g-unknown', llm_config: { model: 'gpt-5', context_window: 8192 } }));
    assert.deepEqual(error.issues, [
      { path: 'llm_config.model', message: '"gpt-5" is not a model group of the models config: the groups are smart, fast, tiny' },
    ]);
    assert.equal(await agentCount(), before);

    const agent = await client.createAgent({ name: 'g-known', llm_config: { model: 'fast', context_window: 8192 } });
    const update = await validationError(client.updateAgent(agent.id, { llm_config: { ...agent.llm_config, model: 'gpt-5' } }));
    assert.equal(update.issues[0]?.path, 'llm_config.model');
    assert.match(update.message, /^invalid agent update: llm_config\.model: "gpt-5" is not a model group .*: the groups are smart, fast, tiny$/);
    assert.equal((await client.getAgent(agent.id)).llm_config.model, 'fast');
    assert.equal(modelsAsked(), asked, 'no endpoint is asked: the config answers');
  });

  test('context_window defaults to the smallest max_input_tokens of the group; a given one is kept', async () => {
    const smart = await client.createAgent({ name: 'g-smart', llm_config: { model: 'smart' } });
    assert.equal(smart.llm_config.context_window, 32_000);
    const wide = await client.createAgent({ name: 'g-wide', llm_config: { model: 'smart', context_window: 100_000 } });
    assert.equal(wide.llm_config.context_window, 100_000);

    // the window decides the block limits, as an explicit one does
    const blocks = await validationError(
      client.createAgent({ name: 'g-blocks', llm_config: { model: 'smart' }, memory_blocks: [{ label: 'notes', limit: 100_000 }] }),
    );
    assert.match(blocks.message, /agent g-blocks's context window is 32000 tokens, so a block limit may be at most 64000/);
  });

  test('a group without max_input_tokens needs a context_window, or the caller’s default; too small a group window is named', async () => {
    const error = await validationError(client.createAgent({ name: 'g-fast', llm_config: { model: 'fast' } }));
    assert.deepEqual(error.issues, [
      { path: 'llm_config.context_window', message: 'is required: model group "fast" sets no model_info.max_input_tokens' },
    ]);
    const fast = await client.createAgent({ name: 'g-fast', llm_config: { model: 'fast' } }, { defaultContextWindow: 4096 });
    assert.equal(fast.llm_config.context_window, 4096);

    const tiny = await validationError(client.createAgent({ name: 'g-tiny', llm_config: { model: 'tiny' } }));
    assert.equal(tiny.issues[0]?.path, 'llm_config.context_window');
    assert.match(tiny.issues[0]!.message, /must be at least 512 tokens \(the max_input_tokens of model group "tiny"\)/);
  });

  test('an update to another group takes its window; without one, the agent keeps its own', async () => {
    const agent = await client.createAgent({ name: 'g-move', llm_config: { model: 'fast', context_window: 16_000 } });
    const moved = await client.updateAgent(agent.id, { llm_config: { model: 'smart' } });
    assert.equal(moved.llm_config.context_window, 32_000);
    const back = await client.updateAgent(agent.id, { llm_config: { model: 'fast', temperature: 0.3 } });
    assert.deepEqual([back.llm_config.model, back.llm_config.context_window, back.llm_config.temperature], ['fast', 32_000, 0.3]);
  });

  test('without a models config, context_window stays required and the endpoint is asked', async () => {
    const error = await validationError(stack.client.createAgent({ name: 'g-plain', llm_config: { model: 'scripted-model', model_endpoint: stack.model.url } }));
    assert.deepEqual(error.issues, [{ path: 'llm_config.context_window', message: 'is required: no models file (MEMLOOM_MODELS) gives one' }]);
    const asked = modelsAsked();
    await stack.client.createAgent({ name: 'g-plain', llm_config: stack.llmConfig });
    assert.equal(modelsAsked(), asked + 1);
  });
});

describe('the CLI with MEMLOOM_MODELS', () => {
  const env = { ...process.env, DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS, MEMLOOM_MODELS: GOOD, MEMLOOM_LOG_LEVEL: 'warn' };

  test('agent create --model GROUP takes the group’s max_input_tokens; an unknown group names --model and the groups', async () => {
    const [created, unknown, explicit] = await Promise.all([
      runCliInProcess(env, ['agent', 'create', '--name', 'g-cli', '--model', 'smart', '--json']),
      runCliInProcess(env, ['agent', 'create', '--name', 'g-cli-bad', '--model', 'gpt-5', '--json']),
      runCliInProcess(env, ['agent', 'create', '--name', 'g-cli-fast', '--model', 'fast', '--json']),
    ]);
    assert.equal(parsed<AgentState>(created).llm_config.context_window, 128_000);
    const error = errorOf(unknown);
    assert.equal(error.issues?.[0]?.path, '--model');
    assert.match(error.issues?.[0]?.message ?? '', /"gpt-5" is not a model group of .*good\.yaml: the groups are smart, fast$/);
    // a group without max_input_tokens: the CLI's default window, as without a models file
    assert.equal(parsed<AgentState>(explicit).llm_config.context_window, 8192);

    const updated = parsed<AgentState>(await runCliInProcess(env, ['agent', 'update', 'g-cli-fast', '--model', 'smart', '--json']));
    assert.equal(updated.llm_config.context_window, 128_000);
    const kept = parsed<AgentState>(await runCliInProcess(env, ['agent', 'update', 'g-cli-fast', '--temperature', '0.5', '--json']));
    assert.equal(kept.llm_config.context_window, 128_000);
  });
});
