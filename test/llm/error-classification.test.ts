/** Classification of real errors thrown by the openai SDK against the scripted model server. */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import OpenAI from 'openai';
import { startScriptedModelServer, type ScriptedStep } from '../../src/dev/scripted-model-server.ts';
import { ModelErrorType } from '../../src/domain/errors.ts';
import { streamChatCompletion } from '../../src/llm/chat-completion.ts';
import { classifyModelError, readRetryAfter } from '../../src/llm/error-classification.ts';

const server = await startScriptedModelServer();
after(() => server.close());
const openai = new OpenAI({ baseURL: server.url, apiKey: 'k', maxRetries: 0 });

async function classify(step: ScriptedStep) {
  server.enqueue(step);
  try {
    await streamChatCompletion(openai, { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [] });
  } catch (error) {
    return classifyModelError(error);
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

test('an unreachable endpoint is a Connection failure', async () => {
  const dead = new OpenAI({ baseURL: 'http://127.0.0.1:9/v1', apiKey: 'k', maxRetries: 0 });
  let caught: unknown;
  await streamChatCompletion(dead, { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: [] }).catch((e: unknown) => (caught = e));
  const c = classifyModelError(caught);
  assert.equal(c.type, ModelErrorType.Connection);
  assert.match(c.message, /cannot reach the model endpoint/);
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
