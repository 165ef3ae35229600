import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TurnFailedError } from '../../src/domain/errors.ts';
import { agentHistory, usageOutcomes } from '../helpers/history.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack({ modelServerApiKey: 'sk-test', modelApiKey: 'sk-test' });
const { client, model, db } = stack;

let n = 0;
async function newAgent() {
  return client.createAgent({ name: `errors-${++n}`, llm_config: stack.llmConfig });
}

async function expectTurnFailure(agentId: string, type: string): Promise<TurnFailedError> {
  let caught: unknown;
  await client.userMessage(agentId, 'hello').catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof TurnFailedError, `expected TurnFailedError, got ${String(caught)}`);
  assert.equal(caught.type, type);
  return caught;
}

describe('model call failures', () => {
  test('a 500 is retried and the turn completes', async () => {
    const agent = await newAgent();
    model.enqueue({ kind: 'error', status: 500 }, { kind: 'reply', content: 'recovered' });
    const r = await client.userMessage(agent.id, 'hello');
    assert.deepEqual(r.messages.map((m) => m.message_type), ['assistant_message']);
    assert.deepEqual((await usageOutcomes(db, agent.id)).map((u) => u.outcome), ['Upstream5xx', 'ok']);
    // the retry is visible in the workflow history: each attempt is its own activity, named by its summary
    const history = await agentHistory(client, agent.id);
    const events = history.events ?? [];
    const modelCalls = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callModel');
    const summaries = modelCalls.map((e) => JSON.parse(Buffer.from(e.userMetadata!.summary!.data!).toString()) as string);
    assert.deepEqual(summaries, [
      'model call · step 1 · scripted-model · attempt 1 · first try',
      'model call · step 1 · scripted-model · attempt 2 · retry after Upstream5xx',
    ]);
    const failed = events.filter((e) => e.activityTaskFailedEventAttributes).map((e) => Number(e.activityTaskFailedEventAttributes!.scheduledEventId));
    assert.deepEqual(failed, [Number(modelCalls[0]!.eventId)]);
  });

  test('a 429 honours Retry-After before the next attempt', async () => {
    const agent = await newAgent();
    model.enqueue({ kind: 'error', status: 429, retryAfter: 3 }, { kind: 'reply', content: 'after the wait' });
    const r = await client.userMessage(agent.id, 'hello');
    assert.equal(r.stop_reason.stop_reason, 'end_turn');
    const outcomes = await usageOutcomes(db, agent.id);
    assert.deepEqual(outcomes.map((u) => u.outcome), ['RateLimited', 'ok']);
    const calls = model.requests.filter((q) => q.path.endsWith('/chat/completions')).slice(-2);
    const gap = calls[1]!.receivedAt - calls[0]!.receivedAt;
    // the default first retry interval is 1 s; only Retry-After explains a wait of ~3 s
    assert.ok(gap >= 2500, `second attempt came ${gap} ms after the 429`);
  });

  test('a 401 fails the turn at once with a clear error, without retries', async () => {
    const agent = await newAgent();
    const before = model.chatRequests().length;
    model.enqueue({ kind: 'error', status: 401 });
    const error = await expectTurnFailure(agent.id, 'AuthFailed');
    assert.match(error.message, /401/);
    assert.match(error.message, /LLM_API_KEY/);
    assert.equal(model.chatRequests().length - before, 1);
    // the agent keeps working afterwards
    model.enqueue({ kind: 'reply', content: 'fine again' });
    const r = await client.userMessage(agent.id, 'again');
    assert.equal(r.messages.at(-1)?.message_type, 'assistant_message');
  });

  test('a 400 bad request fails fast', async () => {
    const agent = await newAgent();
    const before = model.chatRequests().length;
    model.enqueue({ kind: 'error', status: 400, message: 'litellm.BadRequestError: unsupported parameter' });
    await expectTurnFailure(agent.id, 'BadRequest');
    assert.equal(model.chatRequests().length - before, 1);
  });

  test('a context overflow is reported as ContextWindowExceeded', async () => {
    const agent = await newAgent();
    const before = model.chatRequests().length;
    model.enqueue({ kind: 'context_overflow' });
    const error = await expectTurnFailure(agent.id, 'ContextWindowExceeded');
    assert.match(error.message, /maximum context length/);
    assert.equal(model.chatRequests().length - before, 1);
  });

  test('a stream cut mid-way is retried', async () => {
    const agent = await newAgent();
    model.enqueue({ kind: 'cut_stream', content: 'partial answer that never ends' }, { kind: 'reply', content: 'whole answer' });
    const r = await client.userMessage(agent.id, 'hello');
    const reply = r.messages.at(-1);
    assert.ok(reply?.message_type === 'assistant_message');
    assert.equal(reply.text, 'whole answer');
    assert.deepEqual((await usageOutcomes(db, agent.id)).map((u) => u.outcome), ['Connection', 'ok']);
  });

  test('the model key is sent as a Bearer token and never stored in history or Postgres', async () => {
    const agent = await newAgent();
    model.enqueue({ kind: 'reply', content: 'ok' });
    await client.userMessage(agent.id, 'hello');
    const last = model.requests.filter((q) => q.path.endsWith('/chat/completions')).at(-1);
    assert.equal(last?.headers.authorization, 'Bearer sk-test');
    const history = JSON.stringify(await agentHistory(client, agent.id), (_k, v: unknown) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v,
    );
    assert.ok(!history.includes('sk-test'));
    const { rows } = await db.query<{ hit: number }>(
      `SELECT count(*)::int AS hit FROM (
         SELECT row_to_json(a)::text AS t FROM agents a UNION ALL SELECT row_to_json(m)::text FROM messages m
         UNION ALL SELECT row_to_json(u)::text FROM usage u UNION ALL SELECT row_to_json(s)::text FROM settings s) x
       WHERE t LIKE '%sk-test%'`,
    );
    assert.equal(rows[0]?.hit, 0);
  });
});
