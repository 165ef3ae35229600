/**
 * Routing by a models file on the real stack: deployments are scripted model servers, each its
 * own endpoint, so which one a call reached is what that server saw.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseModelsConfig } from '../../src/config/models-file.ts';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import { agentWorkflowId } from '../../src/domain/ids.ts';
import { startTestStack, TEMPORAL_ADDRESS } from '../helpers/stack.ts';
import { createClient } from '../../src/client/memloom-client.ts';
import { TurnFailedError } from '../../src/domain/errors.ts';

const stack = await startTestStack({ startWorker: false });
const { client, db } = stack;

/** Key of the deployments of the secrets test: only the worker's environment holds it. */
const SECRET = `sk-route-${randomUUID()}`;
process.env.MEMLOOM_TEST_ROUTE_KEY = SECRET;

async function server(options: Parameters<typeof startScriptedModelServer>[0] = {}): Promise<ScriptedModelServer> {
  const s = await startScriptedModelServer(options);
  after(() => s.close());
  return s;
}

const a = await server();
const b = await server();
const c = await server();
const keyed = await server({ apiKey: SECRET });
const azure = await server({ apiKey: 'azure-key' });

/** The worker's log lines, to check that no key reaches them. */
const logLines: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
);

const deployment = (group: string, id: string, s: ScriptedModelServer, extra: Record<string, unknown> = {}) => ({
  model_name: group,
  litellm_params: { model: 'openai/scripted-model', api_base: s.url, api_key: 'sk-test', ...extra },
  model_info: { id },
});

const config = {
  model_list: [
    // `cooling`: a deployment that fails gives way to the other
    deployment('cooling', 'cool-a', a, { weight: 1000 }),
    deployment('cooling', 'cool-b', b, { weight: 1 }),
    // `smart` fails over to `fast`; a context overflow goes to `big`
    deployment('smart', 'smart-1', a),
    deployment('fast', 'fast-1', b),
    deployment('big', 'big-1', c, {}),
    // `lonely`: one deployment, cooled down by a 429 with Retry-After
    deployment('lonely', 'lonely-1', c),
    // `secret`: its key comes from the worker's environment only
    {
      model_name: 'secret',
      litellm_params: { model: 'openai/scripted-model', api_base: keyed.url, api_key: 'os.environ/MEMLOOM_TEST_ROUTE_KEY' },
      model_info: { id: 'secret-1', input_cost_per_token: 0.000001, output_cost_per_token: 0.000002 },
    },
  // `azure`: an Azure OpenAI deployment, called through the openai package's Azure client
    {
      model_name: 'azure',
      litellm_params: { model: 'azure/my-gpt-4o', api_base: azure.url.replace(/\/v1$/, ''), api_key: 'azure-key', api_version: '2025-01-01-preview' },
      model_info: { id: 'azure-1' },
    },
  ],
  router_settings: {
    num_retries: 1,
    allowed_fails: 1,
    cooldown_time: 60,
    fallbacks: [{ smart: ['fast'] }],
    context_window_fallbacks: [{ smart: ['big'] }],
  },
};
const models = parseModelsConfig(JSON.stringify(config), 'routing-test.yaml');
await stack.startWorker({ models, logger });

async function agentOn(group: string): Promise<string> {
  const agent = await client.createAgent({ name: `on-${group}-${randomUUID().slice(0, 8)}`, llm_config: { model: group, context_window: 8192 } });
  return agent.id;
}

function textOf(reply: Awaited<ReturnType<typeof client.userMessage>>): string | undefined {
  const last = reply.messages.at(-1);
  return last?.message_type === 'assistant_message' ? last.text : undefined;
}

async function calls(agentId: string): Promise<{ deployment: string; chain_attempt: number; reason: string; outcome: string; model_group: string }[]> {
  const { rows } = await db.query(
    'SELECT deployment, chain_attempt, reason, outcome, model_group FROM usage WHERE agent_id = $1 ORDER BY id',
    [agentId],
  );
  return rows as never;
}

test('a failing deployment cools down at once on a 429 and traffic moves to the other', async () => {
  a.reset();
  b.reset();
  a.setResponder(() => ({ kind: 'error', status: 429, message: 'rate limited upstream' }));
  const agentId = await agentOn('cooling');
  for (let i = 0; i < 4; i++) assert.match(textOf(await client.userMessage(agentId, `hello ${i}`)) ?? '', /^OK: hello/);
  // weight 1000:1 sends the first call to cool-a; after its 429 it takes none for cooldown_time
  assert.equal(a.chatRequests().length, 1);
  assert.equal(b.chatRequests().length, 4);
  const rows = await calls(agentId);
  assert.deepEqual(rows.slice(0, 2).map((r) => [r.deployment, r.outcome, r.reason]), [
    ['cool-a', 'RateLimited', 'first try'],
    ['cool-b', 'ok', 'retry after RateLimited'],
  ]);
  const { rows: state } = await db.query<{ deployment_id: string; cooling: boolean; cooldown_reason: string }>(
    "SELECT deployment_id, coalesce(cooldown_until > now(), false) AS cooling, cooldown_reason FROM deployment_state WHERE model_group = 'cooling' ORDER BY 1",
  );
  assert.deepEqual(state.map((s) => [s.deployment_id, s.cooling]), [['cool-a', true], ['cool-b', false]]);
  assert.equal(state[0]!.cooldown_reason, 'RateLimited (429)');
  // what `memloom models list` shows, through the SDK
  const withModels = await createClient({ temporalAddress: TEMPORAL_ADDRESS, databaseUrl: stack.databaseUrl, taskQueue: stack.taskQueue, models: models.config });
  after(() => withModels.close());
  const report = await withModels.modelsReport();
  const cooling = report.groups.find((g) => g.name === 'cooling')!.deployments;
  assert.deepEqual(cooling.map((d) => [d.id, d.state, d.cooldown_reason]), [
    ['cool-a', 'cooling_down', 'RateLimited (429)'],
    ['cool-b', 'ready', null],
  ]);
  // this minute's requests (a minute boundary may fall between the turns)
  assert.ok(cooling[1]!.rpm_used >= 1 && cooling[1]!.rpm_used <= 4, String(cooling[1]!.rpm_used));
  a.setResponder(undefined as never);
});

test('retries then falls back to the next group; the chain is in the usage rows and the activity summaries', async () => {
  a.reset();
  b.reset();
  a.setResponder(() => ({ kind: 'error', status: 500, message: 'upstream exploded' }));
  const agentId = await agentOn('smart');
  const reply = await client.userMessage(agentId, 'fall over');
  assert.equal(textOf(reply), 'OK: fall over');
  assert.equal(a.chatRequests().length, 2, 'num_retries: 1 → two attempts on smart');
  assert.deepEqual((await calls(agentId)).map((r) => [r.model_group, r.deployment, r.chain_attempt, r.reason, r.outcome]), [
    ['smart', 'smart-1', 1, 'first try', 'Upstream5xx'],
    ['smart', 'smart-1', 2, 'retry after Upstream5xx', 'Upstream5xx'],
    ['fast', 'fast-1', 3, 'fallback from smart after Upstream5xx', 'ok'],
  ]);
  const summaries = await activitySummaries(agentId);
  assert.deepEqual(summaries.filter((s) => s.startsWith('model call')), [
    'model call · step 1 · smart · smart-1 · attempt 1 · first try',
    'model call · step 1 · smart · smart-1 · attempt 2 · retry after Upstream5xx',
    'model call · step 1 · fast · fast-1 · attempt 3 · fallback from smart after Upstream5xx',
  ]);
  assert.ok(summaries.some((s) => s.startsWith('backoff before attempt 2')), 'the retry on the same deployment backs off on a timer');
  a.setResponder(undefined as never);
});

test('a context overflow goes to the context-window fallback', async () => {
  a.reset();
  c.reset();
  a.enqueue({ kind: 'context_overflow' });
  const agentId = await agentOn('smart');
  assert.equal(textOf(await client.userMessage(agentId, 'too long')), 'OK: too long');
  assert.deepEqual((await calls(agentId)).map((r) => [r.deployment, r.reason, r.outcome]), [
    ['smart-1', 'first try', 'ContextWindowExceeded'],
    ['big-1', 'context-window fallback from smart', 'ok'],
  ]);
});

test('every deployment cooling down: the chain waits on a durable timer, then answers', async () => {
  c.reset();
  c.enqueue({ kind: 'error', status: 429, retryAfter: 2 });
  const agentId = await agentOn('lonely');
  const started = Date.now();
  assert.equal(textOf(await client.userMessage(agentId, 'wait for me')), 'OK: wait for me');
  assert.ok(Date.now() - started >= 1900, 'the answer came after the Retry-After');
  assert.equal(c.chatRequests().length, 2);
  const timers = await timerSummaries(agentId);
  assert.equal(timers.length, 1, `one wait, not a wait and a backoff: ${JSON.stringify(timers)}`);
  assert.match(timers[0]!, /^waiting for a deployment of lonely: lonely-1 cooling down after RateLimited \(429\)/);
});

test('keys from os.environ/ reach the endpoint but never history, Postgres or logs; cost from model_info prices', async () => {
  const agentId = await agentOn('secret');
  assert.equal(textOf(await client.userMessage(agentId, 'keep it safe')), 'OK: keep it safe');
  assert.equal(keyed.chatRequests().length, 1);
  const { rows } = await db.query<{ cost: number }>('SELECT cost::float8 AS cost FROM usage WHERE agent_id = $1', [agentId]);
  assert.ok(rows[0]!.cost > 0, 'cost from input/output_cost_per_token');

  const history = await client.temporal.workflow.getHandle(agentWorkflowId(agentId)).fetchHistory();
  assert.doesNotMatch(JSON.stringify(history), new RegExp(SECRET));
  const { rows: tables } = await db.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
  for (const { table_name } of tables) {
    const { rows: all } = await db.query(`SELECT * FROM "${table_name}"`);
    assert.doesNotMatch(JSON.stringify(all), new RegExp(SECRET), `table ${table_name}`);
  }
  assert.ok(logLines.length > 0);
  assert.doesNotMatch(logLines.join(''), new RegExp(SECRET));
});

/** The user metadata summaries of the agent's activities and timers, in history order. */
async function historySummaries(agentId: string, kind: 'activity' | 'timer'): Promise<string[]> {
  const history = await client.temporal.workflow.getHandle(agentWorkflowId(agentId)).fetchHistory();
  const out: string[] = [];
  for (const event of history.events ?? []) {
    const is = kind === 'activity' ? event.activityTaskScheduledEventAttributes : event.timerStartedEventAttributes;
    const summary = event.userMetadata?.summary;
    if (!is || !summary?.data) continue;
    out.push(JSON.parse(Buffer.from(summary.data).toString()) as string);
  }
  return out;
}

const activitySummaries = async (agentId: string): Promise<string[]> => [
  ...(await historySummaries(agentId, 'activity')),
  ...(await historySummaries(agentId, 'timer')),
];
const timerSummaries = (agentId: string): Promise<string[]> => historySummaries(agentId, 'timer');

test('spend that crosses the agent budget mid-turn: the next step fails with BudgetExceeded before any model call', async () => {
  keyed.reset();
  const agent = await client.createAgent({
    name: `thrifty-${randomUUID().slice(0, 8)}`,
    llm_config: { model: 'secret', context_window: 8192 },
    memory_blocks: [{ label: 'human', value: '' }],
    max_budget: 0.000001,
    budget_duration: '1d',
  });
  keyed.enqueue(
    { kind: 'reply', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Spends a lot.' } }], usage: { prompt_tokens: 500, completion_tokens: 20 } },
    { kind: 'reply', content: 'never asked for' },
  );
  const failure = await client.userMessage(agent.id, 'spend it all').then(
    () => assert.fail('the turn must fail'),
    (e: unknown) => e,
  );
  assert.ok(failure instanceof TurnFailedError, String(failure));
  assert.equal(failure.type, 'BudgetExceeded');
  assert.match(failure.message, /is over its budget: spent \$0\.00054 of \$0\.000001 this 1d window; resets at \d{4}-\d\d-\d\dT00:00:00Z/);
  assert.equal(keyed.chatRequests().length, 1, 'no model request after the budget was spent');
});

test("an azure/ deployment is called as Azure OpenAI: the deployment's path, api-version and api-key", async () => {
  const agentId = await agentOn('azure');
  assert.equal(textOf(await client.userMessage(agentId, 'hello azure')), 'OK: hello azure');
  const request = azure.requests.at(-1)!;
  assert.equal(request.path, '/openai/deployments/my-gpt-4o/chat/completions');
  assert.equal(request.query['api-version'], '2025-01-01-preview');
  assert.equal(request.headers['api-key'], 'azure-key');
  assert.deepEqual((await calls(agentId)).map((r) => [r.deployment, r.outcome]), [['azure-1', 'ok']]);
});
