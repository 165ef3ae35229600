/** Classification of real errors thrown by the openai SDK against the scripted model server. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import OpenAI from 'openai';
import { startScriptedModelServer, type ScriptedStep } from '../../src/dev/scripted-model-server.ts';
import { ActivityFailureType, ConfigError, ModelErrorType } from '../../src/domain/errors.ts';
import { streamChatCompletion } from '../../src/llm/chat-completion.ts';
import { classifyModelError, readRetryAfter, type ModelCallContext } from '../../src/llm/error-classification.ts';
import { ModelClients } from '../../src/llm/model-client.ts';

const server = await startScriptedModelServer();
after(() => server.close());
const openai = new OpenAI({ baseURL: server.url, apiKey: 'k', maxRetries: 0 });

async function classify(step: ScriptedStep, context: ModelCallContext = { hasApiKey: true, baseUrl: server.url }) {
  server.enqueue(step);
  try {
    await streamChatCompletion(openai, { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [] });
  } catch (error) {
    return classifyModelError(error, context);
  }
  assert.fail('the call should have failed');
}

test('status codes map to the taxonomy', async () => {
  const cases: [ScriptedStep, ModelErrorType][] = [
    [{ kind: 'error', status: 500 }, ModelErrorType.Upstream5xx],
    [{ kind: 'error', status: 503 }, ModelErrorType.Upstream5xx],
    [{ kind: 'error', status: 429 }, ModelErrorType.RateLimited],
    [{ kind: 'error', status: 408 }, ModelErrorType.Timeout],
    [{ kind: 'error', status: 401 }, ModelErrorType.AuthFailed],
    [{ kind: 'error', status: 403 }, ModelErrorType.AuthFailed],
    [{ kind: 'error', status: 404 }, ModelErrorType.ModelNotFound],
    [{ kind: 'error', status: 400 }, ModelErrorType.BadRequest],
    [{ kind: 'error', status: 422 }, ModelErrorType.BadRequest],
    [{ kind: 'context_overflow' }, ModelErrorType.ContextWindowExceeded],
    [{ kind: 'cut_stream' }, ModelErrorType.Connection],
  ];
  for (const [step, type] of cases) assert.equal((await classify(step)).type, type, JSON.stringify(step));
});

test("LiteLLM's 400s are told apart by their text", async () => {
  const byMessage = async (message: string, type?: string) => (await classify({ kind: 'error', status: 400, message, ...(type ? { type } : {}) })).type;
  assert.equal(await byMessage('No connected db.', 'no_db_connection'), ModelErrorType.AuthFailed);
  assert.equal(await byMessage("/chat/completions: Invalid model name passed in model=gpt-9. Call `/v1/models` to view available models for your key."), ModelErrorType.ModelNotFound);
  assert.equal(await byMessage('litellm.ContentPolicyViolationError: flagged'), ModelErrorType.ContentPolicy);
  assert.equal(await byMessage('Budget has been exceeded! Current cost: 10', 'budget_exceeded'), ModelErrorType.BudgetExceeded);
  assert.equal(await byMessage("This model's maximum context length is 4096 tokens"), ModelErrorType.ContextWindowExceeded);
});

test('Retry-After in seconds, milliseconds, as a date, or in the message', async () => {
  assert.equal((await classify({ kind: 'error', status: 429, retryAfter: 7 })).retryAfterMs, 7000);
  assert.equal((await classify({ kind: 'error', status: 429, retryAfterMs: 1500 })).retryAfterMs, 1500);
  assert.equal(readRetryAfter({ 'retry-after': new Date(10_000).toUTCString() }, '', 4_000), 6000);
  assert.equal(readRetryAfter(undefined, 'No deployments available for selected model, Try again in 5 seconds.'), 5000);
  assert.equal(readRetryAfter(undefined, 'nothing here'), undefined);
});

test('an unreachable endpoint is a Connection failure naming the endpoint', async () => {
  const closed = await startScriptedModelServer();
  await closed.close();
  const dead = new OpenAI({ baseURL: closed.url, apiKey: 'k', maxRetries: 0 });
  let caught: unknown;
  await streamChatCompletion(dead, { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [] }).catch((e: unknown) => (caught = e));
  const c = classifyModelError(caught, { baseUrl: closed.url });
  assert.equal(c.type, ModelErrorType.Connection);
  assert.equal(c.retryable, true);
  assert.equal(c.message, `cannot reach the model endpoint ${closed.url}: ECONNREFUSED`);
});

test('a missing model endpoint is a ConfigError that no retry can fix', () => {
  let caught: unknown;
  try {
    new ModelClients({ defaultBaseUrl: undefined, apiKey: undefined }).resolveBaseUrl(undefined);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError);
  const c = classifyModelError(caught);
  assert.equal(c.type, ActivityFailureType.ConfigError);
  assert.equal(c.retryable, false);
  assert.match(c.message, /llm_config\.model_endpoint.*LLM_BASE_URL/);
});

test("a bug in memloom's own code is an InternalError, a dropped socket stays a Connection failure", async () => {
  const bug = classifyModelError(new TypeError("Cannot read properties of undefined (reading 'content')"));
  assert.equal(bug.type, ActivityFailureType.InternalError);
  assert.equal(bug.retryable, false);
  assert.match(bug.message, /TypeError: Cannot read properties of undefined/);

  // undici's own errors: a socket closed mid-body (the scripted server's cut stream) ...
  const cut = await classify({ kind: 'cut_stream', afterChunks: 1 });
  assert.equal(cut.type, ModelErrorType.Connection);
  assert.match(cut.message, /UND_ERR_SOCKET/);
  assert.ok(cut.message.includes(server.url), cut.message);
  // ... and a fetch that failed before any answer, as the openai SDK may surface it
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  const fetchFailed = classifyModelError(new TypeError('fetch failed', { cause: reset }), { baseUrl: 'http://proxy:4000' });
  assert.equal(fetchFailed.type, ModelErrorType.Connection);
  assert.match(fetchFailed.message, /http:\/\/proxy:4000.*ECONNRESET/);
  // a garbled SSE event is the endpoint's fault, and worth another attempt
  assert.equal(classifyModelError(new SyntaxError('Unexpected token < in JSON')).type, ModelErrorType.Upstream5xx);
});

test('a 5xx answered to a request without a key is missing credentials', async () => {
  const keyless = { hasApiKey: false, baseUrl: server.url };
  const c = await classify({ kind: 'error', status: 500 }, keyless);
  assert.equal(c.type, ModelErrorType.AuthFailed);
  assert.equal(c.retryable, false);
  const expected = `missing credentials: the model endpoint ${server.url} answered 500 to a request without an API key; set LLM_API_KEY (or OPENAI_API_KEY) on the worker`;
  assert.ok(c.message.startsWith(expected), c.message);
  // with a key, the same 500 is the upstream's and retried
  assert.equal((await classify({ kind: 'error', status: 500 })).type, ModelErrorType.Upstream5xx);
  // a keyless request that the endpoint answered is not suspicious: a 429 stays a 429
  assert.equal((await classify({ kind: 'error', status: 429 }, keyless)).type, ModelErrorType.RateLimited);
});

test("behind LiteLLM, the worker's key is told apart from the provider key in the proxy's config", async () => {
  const workerKey = `the LiteLLM proxy at ${server.url} refused the worker's key: check LLM_API_KEY`;
  const noDb = await classify({ kind: 'error', status: 400, type: 'no_db_connection', message: 'No connected db.' });
  assert.equal(noDb.type, ModelErrorType.AuthFailed);
  assert.ok(noDb.message.startsWith(workerKey), noDb.message);
  const wrongKey = await classify({ kind: 'error', status: 401, type: 'auth_error', message: 'Authentication Error, Invalid proxy server token passed.' });
  assert.equal(wrongKey.type, ModelErrorType.AuthFailed);
  assert.ok(wrongKey.message.startsWith(workerKey), wrongKey.message);

  const providerMessage =
    'litellm.AuthenticationError: AuthenticationError: OpenAIException - Incorrect API key provided: sk-abc***xyz. You can find your API key at https://platform.openai.com/account/api-keys. Received Model Group=gpt-4o\nAvailable Model Group Fallbacks=None';
  for (const type of ['None', 'auth_error', 'authentication_error']) {
    const provider = await classify({ kind: 'error', status: 401, type, message: providerMessage });
    assert.equal(provider.type, ModelErrorType.AuthFailed);
    assert.ok(
      provider.message.startsWith("the provider rejected the key configured for model group gpt-4o in the LiteLLM proxy's config (not the worker's key)"),
      provider.message,
    );
  }
  // litellm 1.108 names the group as `model group 'X' failed`
  const named = await classify({
    kind: 'error',
    status: 401,
    type: 'None',
    message: "litellm.AuthenticationError: OpenAIException - Incorrect API key provided. LiteLLM: model group 'writer' failed with the error above. No fallback was attempted.",
  });
  assert.match(named.message, /model group writer in the LiteLLM proxy's config/);
  // no group in the message: the group the request asked for
  const unnamed = await classify(
    { kind: 'error', status: 401, type: 'None', message: 'litellm.AuthenticationError: AnthropicException - invalid x-api-key' },
    { hasApiKey: true, baseUrl: server.url, modelGroup: 'claude' },
  );
  assert.match(unnamed.message, /model group claude /);
});

test('a worker without a key sends no Authorization header, and says so when refused', async () => {
  const keyed = await startScriptedModelServer({ apiKey: 'sk-right' });
  after(() => keyed.close());
  const models = new ModelClients({ defaultBaseUrl: keyed.url, apiKey: '' });
  assert.equal(models.hasApiKey, false);
  let caught: unknown;
  await streamChatCompletion(models.get(undefined), { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [] }).catch(
    (e: unknown) => (caught = e),
  );
  assert.equal(keyed.requests.at(-1)?.headers?.authorization, undefined);
  const c = classifyModelError(caught, { hasApiKey: models.hasApiKey, baseUrl: keyed.url });
  assert.equal(c.type, ModelErrorType.AuthFailed);
  assert.match(c.message, /^missing credentials: .* answered 401 to a request without an API key/);
});

test('a streamed answer is accumulated: content, reasoning, tool calls, usage', async () => {
  server.enqueue({ kind: 'reply', reasoning: 'thinking hard', content: 'Hello there, friend.', toolCalls: [{ name: 'f', arguments: { a: 1 } }] });
  const r = await streamChatCompletion(openai, { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [] });
  assert.equal(r.content, 'Hello there, friend.');
  assert.equal(r.reasoning, 'thinking hard');
  assert.equal(r.finishReason, 'tool_calls');
  assert.deepEqual(r.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)]), [['f', { a: 1 }]]);
  assert.ok(r.usage && r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens);
});
