import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, readModelApiKey } from '../../src/config/env.ts';

test('defaults, environment, then explicit options', () => {
  const defaults = loadConfig({}, {});
  assert.equal(defaults.temporalAddress, '127.0.0.1:7233');
  assert.equal(defaults.temporalNamespace, 'default');
  assert.equal(defaults.taskQueue, 'memloom');
  assert.equal(defaults.home, '.memloom');
  assert.equal(defaults.llmBaseUrl, undefined);
  const env = { TEMPORAL_ADDRESS: 'temporal:7233', OPENAI_BASE_URL: 'http://openai', LLM_BASE_URL: 'http://litellm:4000', MEMLOOM_TASK_QUEUE: ' q ' };
  const fromEnv = loadConfig({}, env);
  assert.equal(fromEnv.temporalAddress, 'temporal:7233');
  assert.equal(fromEnv.llmBaseUrl, 'http://litellm:4000', 'LLM_BASE_URL wins over OPENAI_BASE_URL');
  assert.equal(fromEnv.taskQueue, 'q');
  assert.equal(loadConfig({ temporalAddress: 'x:1', taskQueue: undefined }, env).temporalAddress, 'x:1');
  assert.equal(loadConfig({ taskQueue: undefined }, env).taskQueue, 'q');
});

test('the model key is read apart from the configuration, LLM_API_KEY first', () => {
  assert.equal(readModelApiKey({ OPENAI_API_KEY: 'a', LLM_API_KEY: 'b' }), 'b');
  assert.equal(readModelApiKey({ OPENAI_API_KEY: 'a' }), 'a');
  assert.equal(readModelApiKey({ LLM_API_KEY: '' }), undefined);
  assert.ok(!JSON.stringify(loadConfig({}, { LLM_API_KEY: 'sk-secret' })).includes('sk-secret'));
});
