/**
 * A LiteLLM config.yaml as memloom reads it: what it understands, every problem named by its
 * path, ignored keys listed, and API keys that stay references until the worker resolves them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadModelsFile, parseModelsConfig, resolveDeploymentKeys } from '../../src/config/models-file.ts';
import { ConfigError, ValidationError, type FieldIssue } from '../../src/domain/errors.ts';
import { parseBudgetDuration } from '../../src/domain/model-policy.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/models/${name}`, import.meta.url));
const GOOD = fixture('good.yaml');
const LITERAL_KEY = 'sk-literal-in-the-file';

/** The issues of a file that fails the check. */
function issuesOf(yaml: string): FieldIssue[] {
  try {
    parseModelsConfig(yaml, 'config.yaml');
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    assert.match(error.message, /^invalid models file config\.yaml: /);
    return error.issues;
  }
  assert.fail('the file passed the check');
}

const deployment = (params: string, extra = ''): string =>
  `model_list:\n  - model_name: smart\n    litellm_params:\n${params
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n')}\n${extra}`;

describe('models file: a good config.yaml', () => {
  test('groups, deployments and ids, router settings in effect, fallbacks, ignored keys', async () => {
    const { config, ignored, literalKeys, source } = await loadModelsFile(GOOD);
    assert.equal(source, GOOD);
    assert.deepEqual(
      config.groups.map((g) => [g.name, g.deployments.map((d) => [d.model, d.provider, d.upstreamModel, d.apiBase])]),
      [
        [
          'smart',
          [
            ['openai/gpt-4o', 'openai', 'gpt-4o', null],
            ['hosted_vllm/meta-llama/Llama-3.1-70B-Instruct', 'hosted_vllm', 'meta-llama/Llama-3.1-70B-Instruct', 'http://127.0.0.1:8000/v1'],
          ],
        ],
        ['fast', [['litellm_proxy/fast', 'litellm_proxy', 'fast', 'http://127.0.0.1:4000']]],
      ],
    );
    const [openai, vllm] = config.groups[0]!.deployments;
    assert.equal(openai!.id, 'smart-openai');
    assert.equal(openai!.idFrom, 'model_info.id');
    assert.equal(vllm!.idFrom, 'derived');
    assert.match(vllm!.id, /^[0-9a-f]{16}$/);
    assert.deepEqual(
      {
        rpm: openai!.rpm,
        weight: openai!.weight,
        timeoutMs: openai!.timeoutMs,
        maxBudget: openai!.maxBudget,
        budgetDuration: openai!.budgetDuration,
        maxInputTokens: openai!.maxInputTokens,
        inputCostPerToken: openai!.inputCostPerToken,
        outputCostPerToken: openai!.outputCostPerToken,
      },
      {
        rpm: 60,
        weight: 2,
        timeoutMs: 30_000,
        maxBudget: 5,
        budgetDuration: { text: '1d', ms: 86_400_000 },
        maxInputTokens: 128_000,
        inputCostPerToken: 0.0000025,
        outputCostPerToken: 0.00001,
      },
    );
    assert.equal(vllm!.tpm, 100_000);
    assert.equal(config.groups[1]!.deployments[0]!.streamTimeoutMs, 10_000);

    const { sources, ...router } = config.router;
    assert.deepEqual(router, {
      routingStrategy: 'latency-based-routing',
      numRetries: 1, // router_settings wins over litellm_settings' 4
      retryAfterMs: 0,
      allowedFails: 3,
      cooldownTimeMs: 30_000,
      timeoutMs: null,
      fallbacks: [{ group: 'smart', fallbacks: ['fast'] }],
      contextWindowFallbacks: [{ group: 'fast', fallbacks: ['smart'] }],
      contentPolicyFallbacks: [],
      defaultFallbacks: ['fast'],
    });
    assert.equal(sources.num_retries, 'router_settings');
    assert.equal(sources.cooldown_time, 'litellm_settings');
    assert.equal(sources.allowed_fails, 'default');

    assert.deepEqual(ignored, [
      'general_settings',
      'model_list[0].litellm_params.temperature',
      'model_list[0].model_info.mode',
      'router_settings.redis_host',
      'litellm_settings.drop_params',
    ]);
    assert.deepEqual(literalKeys, ['model_list[2].litellm_params.api_key']);
  });

  test('derived ids are stable, and change with the api_base', () => {
    const yaml = (base: string): string => deployment(`model: openai/m\napi_base: ${base}`);
    const id = (base: string): string => parseModelsConfig(yaml(base), 'a').config.groups[0]!.deployments[0]!.id;
    assert.equal(id('http://a:1/v1'), id('http://a:1/v1'));
    assert.notEqual(id('http://a:1/v1'), id('http://b:1/v1'));
  });

  test('an empty key means "not set"; any provider with an api_base is OpenAI-compatible', () => {
    const { config } = parseModelsConfig(deployment('model: ollama/llama3\napi_base: http://127.0.0.1:11434/v1\nrpm:', '    model_info:\n'), 'a');
    const d = config.groups[0]!.deployments[0]!;
    assert.deepEqual([d.provider, d.upstreamModel, d.rpm], ['ollama', 'llama3', null]);
  });

  test('azure/ deployments: api_base is the resource endpoint, api_version defaults', () => {
    const one = (extra: string) => parseModelsConfig(deployment(`model: azure/my-gpt-4o\napi_base: https://res.openai.azure.com${extra}`), 'a').config.groups[0]!.deployments[0]!;
    assert.deepEqual([one('').provider, one('').upstreamModel, one('').apiVersion], ['azure', 'my-gpt-4o', '2024-10-21']);
    assert.equal(one('\napi_version: 2025-01-01-preview').apiVersion, '2025-01-01-preview');
  });

  test('budget_duration as LiteLLM writes it', () => {
    assert.deepEqual(
      ['30s', '10m', '1h', '1d', '7d', '30d'].map(parseBudgetDuration),
      [30_000, 600_000, 3_600_000, 86_400_000, 604_800_000, 2_592_000_000],
    );
    assert.equal(parseBudgetDuration('1 day'), undefined);
  });
});

describe('models file: secrets', () => {
  test('the parsed config holds os.environ/ references, never a key value', async () => {
    const models = await loadModelsFile(GOOD);
    const [openai, vllm] = models.config.groups[0]!.deployments;
    assert.deepEqual(openai!.apiKey, { env: 'MEMLOOM_TEST_SMART_KEY' });
    assert.equal(vllm!.apiKey, null);
    assert.deepEqual(models.config.groups[1]!.deployments[0]!.apiKey, { literal: true });
    assert.ok(readFileSync(GOOD, 'utf8').includes(LITERAL_KEY));
    assert.doesNotMatch(JSON.stringify(models), new RegExp(LITERAL_KEY));

    const keys = resolveDeploymentKeys(models.config, { MEMLOOM_TEST_SMART_KEY: 'sk-from-the-env' });
    assert.deepEqual(Object.fromEntries(keys), { 'smart-openai': 'sk-from-the-env', [vllm!.id]: undefined, [models.config.groups[1]!.deployments[0]!.id]: LITERAL_KEY });
    assert.doesNotMatch(JSON.stringify(models), /sk-from-the-env|sk-literal/, 'resolving does not write the keys into the config');
  });

  test('a missing environment variable is an error naming the path and the variable', async () => {
    const models = await loadModelsFile(GOOD);
    assert.throws(
      () => resolveDeploymentKeys(models.config, { MEMLOOM_TEST_SMART_KEY: ' ' }),
      (error: unknown) => {
        assert.ok(error instanceof ValidationError);
        assert.deepEqual(error.issues, [
          {
            path: 'model_list[0].litellm_params.api_key',
            message: 'environment variable MEMLOOM_TEST_SMART_KEY is not set (os.environ/MEMLOOM_TEST_SMART_KEY)',
          },
        ]);
        return true;
      },
    );
  });
});

describe('models file: every error names its path', () => {
  const cases: [name: string, yaml: string, path: string, message: RegExp][] = [
    ['api_base not a URL', deployment('model: openai/m\napi_base: localhost:4000'), 'model_list[0].litellm_params.api_base', /^must be a URL/],
    ['api_base from os.environ/', deployment('model: openai/m\napi_base: os.environ/BASE'), 'model_list[0].litellm_params.api_base', /api_key only/],
    ['model missing', deployment('api_base: http://x:1'), 'model_list[0].litellm_params.model', /^required/],
    ['litellm_params missing', 'model_list:\n  - model_name: smart\n', 'model_list[0].litellm_params', /^required/],
    ['model_name missing', 'model_list:\n  - litellm_params: { model: openai/m }\n', 'model_list[0].model_name', /^required/],
    ['entry not a mapping', 'model_list:\n  - smart\n', 'model_list[0]', /must be a mapping/],
    ['model_list missing', 'router_settings: {}\n', 'model_list', /^required/],
    ['model_list empty', 'model_list: []\n', 'model_list', /at least one deployment/],
    ['rpm negative', deployment('model: openai/m\nrpm: -3'), 'model_list[0].litellm_params.rpm', /at least 1/],
    ['tpm not a number', deployment('model: openai/m\ntpm: lots'), 'model_list[0].litellm_params.tpm', /whole number/],
    ['timeout zero', deployment('model: openai/m\ntimeout: 0'), 'model_list[0].litellm_params.timeout', /more than 0 seconds/],
    ['budget_duration', deployment('model: openai/m\nbudget_duration: 1 fortnight'), 'model_list[0].litellm_params.budget_duration', /30s, 10m, 1h, 1d/],
    ['max_input_tokens', deployment('model: openai/m', '    model_info: { max_input_tokens: 1.5 }\n'), 'model_list[0].model_info.max_input_tokens', /whole number/],
    ['api_key env name', deployment('model: openai/m\napi_key: os.environ/'), 'model_list[0].litellm_params.api_key', /environment variable name/],
    ['provider without api_base', deployment('model: anthropic/claude-3-5-sonnet'), 'model_list[0].litellm_params.model', /anthropic\/.*behind a LiteLLM proxy and point api_base at it/],
    ['azure without api_base', deployment('model: azure/gpt-4o'), 'model_list[0].litellm_params.api_base', /^required for azure\/ deployments: your Azure OpenAI resource endpoint/],
    ['azure_ai', deployment('model: azure_ai/mistral\napi_base: https://x.services.ai.azure.com'), 'model_list[0].litellm_params.model', /azure_ai\/ deployments are not supported directly: put this deployment behind a LiteLLM proxy/],
    ['hosted_vllm without api_base', deployment('model: hosted_vllm/llama'), 'model_list[0].litellm_params.api_base', /^required for hosted_vllm\//],
    [
      'duplicate model_info.id',
      'model_list:\n  - { model_name: a, litellm_params: { model: openai/m }, model_info: { id: d1 } }\n  - { model_name: b, litellm_params: { model: openai/n }, model_info: { id: d1 } }\n',
      'model_list[1].model_info.id',
      /duplicate deployment id "d1" \(also model_list\[0\]\)/,
    ],
    [
      'same deployment twice',
      'model_list:\n  - { model_name: a, litellm_params: { model: openai/m } }\n  - { model_name: a, litellm_params: { model: openai/m } }\n',
      'model_list[1]',
      /give one of them a model_info\.id/,
    ],
    ['routing_strategy', deployment('model: openai/m', 'router_settings:\n  routing_strategy: round-robin\n'), 'router_settings.routing_strategy', /must be one of simple-shuffle, least-busy/],
    ['litellm_settings key', deployment('model: openai/m', 'litellm_settings:\n  num_retries: -1\n'), 'litellm_settings.num_retries', /0 or more/],
    ['settings not a mapping', deployment('model: openai/m', 'router_settings: fast\n'), 'router_settings', /must be a mapping/],
    ['fallback to an unknown group', deployment('model: openai/m', 'router_settings:\n  fallbacks: [{ smart: [fast] }]\n'), 'router_settings.fallbacks[0].smart[0]', /no model group named "fast" \(known groups: smart\)/],
    ['fallback from an unknown group', deployment('model: openai/m', 'litellm_settings:\n  context_window_fallbacks: [{ big: [smart] }]\n'), 'litellm_settings.context_window_fallbacks[0].big', /no model group named "big"/],
    ['fallback entry with two groups', deployment('model: openai/m', 'router_settings:\n  fallbacks: [{ smart: [smart], b: [smart] }]\n'), 'router_settings.fallbacks[0]', /exactly one model group/],
    ['fallbacks not a list of maps', deployment('model: openai/m', 'router_settings:\n  fallbacks: [smart]\n'), 'router_settings.fallbacks[0]', /map of one model group/],
    ['default_fallbacks', deployment('model: openai/m', 'litellm_settings:\n  default_fallbacks: [smart, gone]\n'), 'litellm_settings.default_fallbacks[1]', /no model group named "gone"/],
    ['not YAML', 'model_list: [\n', '', /^not valid YAML: .*line \d+, column \d+$/],
    ['duplicate YAML key', 'model_list: []\nmodel_list: []\n', '', /^not valid YAML: Map keys must be unique/],
    ['not a mapping', '- a\n- b\n', '', /must be a mapping with a model_list/],
  ];
  for (const [name, yaml, path, message] of cases) {
    test(`${name}: ${path || '(file)'}`, () => {
      const issues = issuesOf(yaml);
      assert.equal(issues.length, 1, JSON.stringify(issues));
      assert.equal(issues[0]!.path, path);
      assert.match(issues[0]!.message, message);
    });
  }

  test('all problems of a file are reported at once', async () => {
    await assert.rejects(loadModelsFile(fixture('bad.yaml')), (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.deepEqual(
        error.issues.map((i) => i.path),
        [
          'model_list[1].litellm_params.api_base',
          'model_list[1].litellm_params.rpm',
          'model_list[2].litellm_params.model',
          'model_list[3].litellm_params.api_base',
          'model_list[4].litellm_params.budget_duration',
          'router_settings.routing_strategy',
          'router_settings.fallbacks[0].smart[0]',
        ],
      );
      return true;
    });
  });

  test('a file that is not there is a ConfigError naming it', async () => {
    await assert.rejects(loadModelsFile(fixture('missing.yaml')), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /missing\.yaml: no such file/);
      return true;
    });
  });
});
