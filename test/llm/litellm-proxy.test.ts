/**
 * memloom behind a real LiteLLM proxy (the version scripts/install-litellm.sh pins), run as a
 * plain gateway: its deployments are the scripted model server, the worker's key is the proxy's
 * master key. What a user sees through it: the tool loop and its memory edit, the streamed
 * answer, usage with the proxy's cost and deployment, and each failure classified as the proxy
 * words it (a refused worker key, a refused deployment key, an unknown model, a context
 * overflow, a rate limit with Retry-After); and the proxy as one deployment of a routed group,
 * beside a direct one.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseModelsConfig } from '../../src/config/models-file.ts';
import { TurnFailedError } from '../../src/domain/errors.ts';
import { agentHistoryText, usageOutcomes } from '../helpers/history.ts';
import { findLiteLlm, startLiteLlmProxy } from '../helpers/litellm-proxy.ts';
import { startTestStack } from '../helpers/stack.ts';
import { usageRows } from '../helpers/usage.ts';

/** The key the proxy holds for its upstream; the scripted model server accepts only this one. */
const UPSTREAM_KEY = 'sk-upstream-held-by-the-proxy';
const DEPLOYMENT_ID = 'scripted-deployment-1';
const GROUP = 'proxied';
/** A group whose deployment holds a key the upstream refuses. */
const BAD_KEY_GROUP = 'bad-upstream-key';
const INPUT_COST = 0.000001;
const OUTPUT_COST = 0.000002;

// not installed: fail before any database is created
findLiteLlm();
const stack = await startTestStack({ startWorker: false, modelServerApiKey: UPSTREAM_KEY });
const { client, model, db } = stack;
const proxyStarting = startLiteLlmProxy({
  config: {
    model_list: [
      {
        model_name: GROUP,
        litellm_params: { model: 'openai/scripted-model', api_base: model.url, api_key: UPSTREAM_KEY },
        model_info: { id: DEPLOYMENT_ID, input_cost_per_token: INPUT_COST, output_cost_per_token: OUTPUT_COST },
      },
      {
        model_name: BAD_KEY_GROUP,
        litellm_params: { model: 'openai/scripted-model', api_base: model.url, api_key: 'sk-a-key-upstream-refuses' },
      },
    ],
  },
});
// the stacks of the last two suites are set up while the proxy starts (it takes seconds)
const [proxy, wrong, routed] = await Promise.all([
  proxyStarting,
  // a worker whose key is not the proxy's master key
  startTestStack({ modelApiKey: 'sk-not-the-master-key' }),
  // its own worker and task queue, started below: this worker routes by a models file, the one above does not
  startTestStack({ startWorker: false }),
]);
await stack.startWorker({ modelApiKey: proxy.masterKey });
const llmConfig = { model: GROUP, model_endpoint: proxy.url, context_window: 8192 };

let n = 0;
const newAgent = (group = GROUP) =>
  client.createAgent({ name: `behind-proxy-${++n}`, llm_config: { ...llmConfig, model: group }, memory_blocks: [{ label: 'human', value: '' }] });

async function failedTurn(agentId: string, on = client): Promise<TurnFailedError> {
  let caught: unknown;
  await on.userMessage(agentId, 'hello').catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof TurnFailedError, `expected TurnFailedError, got ${String(caught)}`);
  return caught;
}

const chatRequests = () => model.requests.filter((q) => q.path.endsWith('/chat/completions'));

describe('an agent behind a LiteLLM proxy', () => {
  test('runs the tool loop: the memory edit and the streamed answer, as the user sees them', async () => {
    const agent = await newAgent();
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Name: Alice.' } }], usage: { prompt_tokens: 1000, completion_tokens: 50 } },
      { kind: 'reply', content: 'Nice to meet you, Alice!', usage: { prompt_tokens: 1200, completion_tokens: 10 } },
    );
    const before = chatRequests().length;
    const r = await client.userMessage(agent.id, 'Hi, I am Alice.');
    assert.equal(r.stop_reason.stop_reason, 'end_turn');
    assert.deepEqual(r.messages.map((m) => m.message_type), ['tool_call_message', 'tool_return_message', 'assistant_message']);
    const reply = r.messages.at(-1);
    assert.ok(reply?.message_type === 'assistant_message');
    assert.equal(reply.text, 'Nice to meet you, Alice!');
    assert.equal((await client.getMemory(agent.id)).find((b) => b.label === 'human')?.value, 'Name: Alice.');
    assert.deepEqual(r.usage, { ...r.usage, step_count: 2, prompt_tokens: 2200, completion_tokens: 60, total_tokens: 2260 });

    // the proxy streamed from upstream, with the key it holds, never the worker's
    const upstream = chatRequests().slice(before);
    assert.equal(upstream.length, 2);
    for (const q of upstream) {
      assert.equal((q.body as { stream?: unknown }).stream, true);
      assert.equal(q.headers.authorization, `Bearer ${UPSTREAM_KEY}`);
    }
    const history = await agentHistoryText(client, agent.id);
    assert.ok(!history.includes(proxy.masterKey), "the worker's key is not in the workflow history");
  });

  test("records each call's cost and the proxy's deployment, group and call id", async () => {
    const agent = await newAgent();
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Likes tea.' } }], usage: { prompt_tokens: 1000, completion_tokens: 50 } },
      { kind: 'reply', content: 'Noted.', usage: { prompt_tokens: 1200, completion_tokens: 10 } },
    );
    await client.userMessage(agent.id, 'I like tea.');
    const rows = await usageRows(db, agent.id);
    const costs = [1000 * INPUT_COST + 50 * OUTPUT_COST, 1200 * INPUT_COST + 10 * OUTPUT_COST];
    assert.equal(rows.length, 2);
    for (const [i, row] of rows.entries()) {
      assert.equal(row.outcome, 'ok');
      assert.equal(row.model_group, GROUP);
      assert.equal(row.model_group_served, GROUP);
      assert.equal(row.deployment, DEPLOYMENT_ID);
      assert.equal(row.endpoint, proxy.url);
      assert.equal(row.api_base, model.url);
      assert.match(row.call_id ?? '', /^[0-9a-f-]{36}$/);
      assert.equal(row.attempted_retries, 0);
      assert.equal(row.attempted_fallbacks, 0);
      assert.ok(row.cost !== null && Math.abs(Number(row.cost) - costs[i]!) < 1e-12, `cost of call ${i + 1}: ${row.cost}`);
    }
    assert.notEqual(rows[0]?.call_id, rows[1]?.call_id);

    const report = await client.usageReport({ agent: agent.id, by: 'deployment' });
    assert.deepEqual(report.rows.map((row) => [row.key, row.calls, row.prompt_tokens, row.completion_tokens]), [[DEPLOYMENT_ID, 2, 2200, 60]]);
    assert.ok(report.total.cost !== null && Math.abs(report.total.cost - (costs[0]! + costs[1]!)) < 1e-12, `total cost ${report.total.cost}`);
  });

  test('reports an upstream context overflow as ContextWindowExceeded, after one call', async () => {
    const agent = await newAgent();
    const before = chatRequests().length;
    model.enqueue({ kind: 'context_overflow' });
    const error = await failedTurn(agent.id);
    assert.equal(error.type, 'ContextWindowExceeded');
    assert.match(error.message, /maximum context length/);
    assert.equal(chatRequests().length - before, 1);
    assert.deepEqual((await usageOutcomes(db, agent.id)).map((u) => u.outcome), ['ContextWindowExceeded']);
  });

  test("waits out the upstream's Retry-After on a 429, then answers", async () => {
    const agent = await newAgent();
    const before = chatRequests().length;
    model.enqueue({ kind: 'error', status: 429, retryAfter: 3 }, { kind: 'reply', content: 'after the wait' });
    const r = await client.userMessage(agent.id, 'hello');
    const reply = r.messages.at(-1);
    assert.ok(reply?.message_type === 'assistant_message');
    assert.equal(reply.text, 'after the wait');
    assert.deepEqual((await usageOutcomes(db, agent.id)).map((u) => u.outcome), ['RateLimited', 'ok']);
    const calls = chatRequests().slice(before);
    assert.equal(calls.length, 2, 'one upstream call per attempt: the proxy does not retry');
    // the proxy passes Retry-After on as `llm_provider-retry-after`; only it explains a wait of ~3 s
    const gap = calls[1]!.receivedAt - calls[0]!.receivedAt;
    assert.ok(gap >= 2500, `the second attempt came ${gap} ms after the 429`);
  });
});

describe('an agent behind a LiteLLM proxy, on what memloom cannot fix by retrying', () => {
  test("names the proxy's deployment key, not the worker's, when the provider refuses it", async () => {
    const agent = await newAgent(BAD_KEY_GROUP);
    const before = chatRequests().length;
    const error = await failedTurn(agent.id);
    assert.equal(error.type, 'AuthFailed');
    assert.match(error.message, new RegExp(`the provider rejected the key configured for model group ${BAD_KEY_GROUP} in the LiteLLM proxy's config \\(not the worker's key\\)`));
    assert.equal(chatRequests().length - before, 1);
    assert.deepEqual((await usageOutcomes(db, agent.id)).map((u) => u.outcome), ['AuthFailed']);
  });

  test('reports a model the proxy does not serve as ModelNotFound, without calling upstream', async () => {
    const agent = await newAgent('no-such-group');
    const before = chatRequests().length;
    const error = await failedTurn(agent.id);
    assert.equal(error.type, 'ModelNotFound');
    assert.match(error.message, /Invalid model name passed in model=no-such-group/);
    assert.equal(chatRequests().length, before);
    assert.deepEqual((await usageOutcomes(db, agent.id)).map((u) => u.outcome), ['ModelNotFound']);
  });
});

describe('a worker whose key the proxy refuses', () => {
  test("fails the turn at once with AuthFailed, saying the proxy refused the worker's key", async () => {
    const agent = await wrong.client.createAgent({ name: 'wrong-key', llm_config: llmConfig });
    const before = chatRequests().length;
    const error = await failedTurn(agent.id, wrong.client);
    assert.equal(error.type, 'AuthFailed');
    const refused = `the LiteLLM proxy at ${proxy.url} refused the worker's key: check LLM_API_KEY`;
    assert.ok(error.message.includes(refused), `message: ${error.message}`);
    // one attempt, not retried; the proxy called nothing upstream
    assert.deepEqual((await usageOutcomes(wrong.db, agent.id)).map((u) => u.outcome), ['AuthFailed']);
    assert.equal(chatRequests().length, before);
  });
});

describe('the proxy as one deployment of a group beside a direct one', async () => {
  /** Only the worker's environment holds the proxy's key: the models file names the variable. */
  process.env.MEMLOOM_TEST_PROXY_MASTER_KEY = proxy.masterKey;
  const PROXY_DEPLOYMENT = 'mixed-via-proxy';
  const DIRECT_DEPLOYMENT = 'mixed-direct';
  const models = parseModelsConfig(
    JSON.stringify({
      model_list: [
        {
          model_name: 'mixed',
          // the proxy's base URL as LiteLLM users write it, without /v1
          litellm_params: { model: `litellm_proxy/${GROUP}`, api_base: `http://127.0.0.1:${proxy.port}`, api_key: 'os.environ/MEMLOOM_TEST_PROXY_MASTER_KEY' },
          model_info: { id: PROXY_DEPLOYMENT },
        },
        {
          model_name: 'mixed',
          litellm_params: { model: 'openai/scripted-model', api_base: routed.model.url, api_key: 'sk-test' },
          model_info: { id: DIRECT_DEPLOYMENT },
        },
      ],
      router_settings: { routing_strategy: 'simple-shuffle' },
    }),
    'mixed.yaml',
  );
  await routed.startWorker({ models });

  test('spreads turns over both, and records the memloom deployment and, behind the proxy, its deployment', async () => {
    const agent = await routed.client.createAgent({ name: 'mixed-routes', llm_config: { model: 'mixed', context_window: 8192 } });
    const viaProxyBefore = chatRequests().length;
    const served = () => ({ proxy: chatRequests().length - viaProxyBefore, direct: routed.model.chatRequests().length });
    // equal weights: ten turns, then more only in the rare run where one deployment had none
    let turns = 0;
    while (turns < 10 || (turns < 30 && (served().proxy === 0 || served().direct === 0))) {
      const text = `turn ${++turns}`;
      const r = await routed.client.userMessage(agent.id, text);
      const reply = r.messages.at(-1);
      assert.ok(reply?.message_type === 'assistant_message', `${text} answered`);
      assert.equal(reply.text, `OK: ${text}`);
    }
    const { proxy: viaProxy, direct } = served();
    assert.ok(viaProxy >= 1 && direct >= 1, `both deployments took calls: ${viaProxy} through the proxy, ${direct} direct`);
    assert.equal(viaProxy + direct, turns, 'one upstream call per turn');

    const rows = await usageRows(routed.db, agent.id);
    assert.equal(rows.length, turns);
    const byDeployment = (id: string) => rows.filter((row) => row.deployment === id);
    assert.equal(byDeployment(PROXY_DEPLOYMENT).length, viaProxy);
    assert.equal(byDeployment(DIRECT_DEPLOYMENT).length, direct);
    for (const row of rows) {
      assert.deepEqual([row.model_group, row.outcome, row.chain_attempt], ['mixed', 'ok', 1]);
    }
    for (const row of byDeployment(PROXY_DEPLOYMENT)) {
      // the proxy's own deployment (x-litellm-model-id) and group, beside memloom's
      assert.equal(row.upstream_deployment, DEPLOYMENT_ID);
      assert.equal(row.model_group_served, GROUP);
      assert.ok(row.cost !== null && Number(row.cost) > 0, `the proxy's cost: ${row.cost}`);
    }
    for (const row of byDeployment(DIRECT_DEPLOYMENT)) assert.equal(row.upstream_deployment, null);
    const history = await agentHistoryText(routed.client, agent.id);
    assert.ok(!history.includes(proxy.masterKey), "the proxy's key, read from the worker's environment, is not in the workflow history");
  });
});
