/**
 * Compaction on the real stack: an agent with a 2,000-token window holds a 300-turn conversation
 * against a scripted model that enforces that window (a request over it is LiteLLM's 400
 * ContextWindowExceededError), and no turn fails; a fact from the first turn is still answered at
 * the end; the endpoint's own context overflow triggers a compaction and the turn succeeds;
 * `context_window_fallbacks` come before a compaction.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { parseModelsConfig } from '../../src/config/models-file.ts';
import { SUMMARIZER_MARKER } from '../../src/domain/compaction.ts';
import type { LettaResponse } from '../../src/domain/letta-message.ts';
import type { ChatRequest, ScriptedStep } from '../../src/dev/scripted-model-server.ts';
import { startScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import { agentHistory } from '../helpers/history.ts';
import { startTestStack } from '../helpers/stack.ts';

const WINDOW = 2000;
const stack = await startTestStack({ modelServer: { contextWindow: WINDOW } });
const { client, db, model } = stack;

const text = (m: Record<string, unknown>): string => (typeof m['content'] === 'string' ? m['content'] : '');
const systemOf = (r: ChatRequest): string => text(r.messages[0] ?? {});
const lastUser = (r: ChatRequest): string => text([...r.messages].reverse().find((m) => m['role'] === 'user') ?? {});

/**
 * A summarizer that keeps what the human said about themselves ("my ..."), from the previous
 * summary and the new messages: as a real one is told to keep facts word for word.
 */
function summarize(request: ChatRequest): ScriptedStep {
  const input = lastUser(request);
  const facts = new Set<string>();
  for (const sentence of input.split(/(?<=[.!?])\s+|\n/)) {
    if (/\bmy (name|favourite|sister|dog)\b/i.test(sentence)) facts.add(sentence.replace(/^(user|human): /, '').trim());
  }
  return { kind: 'reply', content: `I talked with the human about many topics. Facts: ${[...facts].join(' ')}` };
}

/**
 * The conversation's model: answers a question about the favourite number from what it reads
 * (the summary first), else looks it up with conversation_search; anything else gets a short
 * reply of a few dozen tokens.
 */
function converse(request: ChatRequest): ScriptedStep {
  if (systemOf(request).startsWith(SUMMARIZER_MARKER)) return summarize(request);
  const last = request.messages.at(-1) ?? {};
  const question = lastUser(request);
  if (/favourite number\?/.test(question)) {
    const seen = request.messages.map(text).join('\n');
    const found = /my favourite number is (\d+)/i.exec(seen);
    if (found) return { kind: 'reply', content: `Your favourite number is ${found[1]}.` };
    if (last['role'] !== 'tool') return { kind: 'reply', toolCalls: [{ name: 'conversation_search', arguments: { query: 'favourite number' } }] };
    return { kind: 'reply', content: 'I could not find it.' };
  }
  return { kind: 'reply', content: `Noted. ${question.slice(0, 120)} That is an interesting point, and I will keep it in mind for later.` };
}

async function agentWith(window: number, extra: Record<string, unknown> = {}): Promise<string> {
  const agent = await client.createAgent({
    name: `long-${randomUUID().slice(0, 8)}`,
    llm_config: { ...stack.llmConfig, context_window: window, max_tokens: 150 },
    memory_blocks: [
      { label: 'persona', value: 'I am a patient assistant.' },
      { label: 'human', value: '' },
    ],
    include_base_tools: false,
    tools: ['conversation_search'],
    ...extra,
  });
  return agent.id;
}

function assistantText(r: LettaResponse): string {
  const last = r.messages.filter((m) => m.message_type === 'assistant_message').at(-1);
  return last?.message_type === 'assistant_message' ? last.content : '';
}

async function compactions(agentId: string): Promise<{ trigger: string; in_context: boolean }[]> {
  const { rows } = await db.query<{ trigger: string; in_context: boolean }>(
    `SELECT (content::json -> 'compaction_stats' ->> 'trigger') AS trigger, in_context FROM messages WHERE agent_id = $1 AND kind = 'summary' ORDER BY seq`,
    [agentId],
  );
  return rows;
}

test('a 2,000-token agent holds 300 turns against a model that enforces its window, and still knows the first turn', async () => {
  model.reset();
  model.setResponder(converse);
  const agentId = await agentWith(WINDOW);
  const first = await client.userMessage(agentId, 'Hello! My name is Ada and my favourite number is 42.');
  assert.match(assistantText(first), /^Noted/);
  for (let i = 2; i < 300; i++) {
    // each turn is answered: a failed one throws here
    const reply = await client.userMessage(agentId, `Turn ${i}: let me tell you about topic ${i}, which involves rivers, ${i * 7} maps and a long walk.`);
    assert.match(assistantText(reply), /^Noted/, `turn ${i}`);
  }
  const answer = await client.userMessage(agentId, 'Do you remember my favourite number?');
  assert.equal(assistantText(answer), 'Your favourite number is 42.');

  const overflows = model.requests.filter((r) => r.path.endsWith('/chat/completions')).length - model.chatRequests().length;
  assert.equal(overflows, 0, 'no request was refused');
  const rounds = await compactions(agentId);
  assert.ok(rounds.length >= 5, `compacted ${rounds.length} times`);
  assert.ok(rounds.every((r) => r.trigger === 'context_full'));
  assert.deepEqual(rounds.map((r) => r.in_context).filter(Boolean), [true], 'one summary in context');
  // recall keeps every message, in context or not
  const { rows } = await db.query<{ all: number; in_context: number }>(
    `SELECT count(*)::int AS all, count(*) FILTER (WHERE in_context)::int AS in_context FROM messages WHERE agent_id = $1 AND kind = 'message'`,
    [agentId],
  );
  assert.ok(rows[0]!.all >= 600, `${rows[0]!.all} messages in recall`);
  assert.ok(rows[0]!.in_context < 40, `${rows[0]!.in_context} in context`);
  const { rows: failed } = await db.query("SELECT 1 FROM turns WHERE agent_id = $1 AND status <> 'completed'", [agentId]);
  assert.equal(failed.length, 0);
});

test('conversation_search finds a fact whose message left the context', async () => {
  model.reset();
  // a summarizer that keeps nothing: only recall can answer
  model.setResponder((r) => (systemOf(r).startsWith(SUMMARIZER_MARKER) ? { kind: 'reply', content: 'We chatted.' } : converse(r)));
  const agentId = await agentWith(WINDOW);
  await client.userMessage(agentId, 'By the way, my favourite number is 7.');
  for (let i = 0; i < 40; i++) await client.userMessage(agentId, `Filler ${i}: some talk about weather, ${i} clouds and the sea breeze today.`);
  const { rows } = await db.query<{ role: string; in_context: boolean }>(
    `SELECT role, in_context FROM messages WHERE agent_id = $1 AND kind = 'message' AND content LIKE '%favourite number is 7%' ORDER BY seq`,
    [agentId],
  );
  // the user's message and the echo of it
  assert.deepEqual(rows, [{ role: 'user', in_context: false }, { role: 'assistant', in_context: false }]);
  const answer = await client.userMessage(agentId, 'What was my favourite number?');
  const returned = answer.messages.find((m) => m.message_type === 'tool_return_message');
  assert.ok(returned && returned.message_type === 'tool_return_message');
  assert.match(returned.tool_return, /favourite number is 7/);
});

test("the endpoint's context overflow triggers a compaction in its own activity, and the turn succeeds", async () => {
  model.reset();
  model.setResponder(converse);
  // memloom believes a 100k window; the endpoint refuses the fourth turn's first call
  const agentId = await agentWith(100_000);
  for (let i = 0; i < 3; i++) await client.userMessage(agentId, `Message ${i}: my dog is called Rex and likes long walks by the river.`);
  model.enqueue({ kind: 'context_overflow' });
  const reply = await client.userMessage(agentId, 'And one more thing about the weather.');
  assert.match(assistantText(reply), /^Noted/);
  assert.deepEqual((await compactions(agentId)).map((r) => r.trigger), ['context_overflow']);
  // the retried call opens with the summary and no longer carries the evicted messages
  const retried = model.chatRequests().at(-1)!;
  assert.match(text(retried.messages[1] ?? {}), /"type":"system_alert"/);
  assert.ok(retried.messages.length < 8, `${retried.messages.length} messages after compaction`);
  // its own activity, named in the UI
  const history = await agentHistory(client, agentId);
  const summaries = (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'compactContext')
    .map((e) => JSON.parse(Buffer.from(e.userMetadata!.summary!.data!).toString()) as string);
  assert.equal(summaries.length, 1);
  assert.equal(summaries[0], 'compaction · step 1 · round 1 · context_overflow');
});

test('context_window_fallbacks come before a compaction', async () => {
  const big = await startScriptedModelServer();
  big.setResponder(converse);
  try {
    const deployment = (group: string, id: string, url: string, window: number) => ({
      model_name: group,
      litellm_params: { model: 'openai/scripted-model', api_base: url, api_key: 'sk-test' },
      model_info: { id, max_input_tokens: window },
    });
    const models = parseModelsConfig(
      JSON.stringify({
        model_list: [deployment('small', 'small-1', model.url, WINDOW), deployment('large', 'large-1', big.url, 100_000)],
        router_settings: { context_window_fallbacks: [{ small: ['large'] }] },
      }),
      'compaction-test.yaml',
    );
    await stack.worker!.shutdown();
    await stack.startWorker({ models });
    model.reset();
    model.setResponder(converse);
    const agent = await client.createAgent({
      name: `fallback-${randomUUID().slice(0, 8)}`,
      llm_config: { model: 'small', context_window: WINDOW, max_tokens: 150 },
      include_base_tools: false,
      tools: [],
    });
    // about 250 tokens a turn: the context outgrows the 2,000-token window after 7 turns
    const long = 'a long story about mountains and rivers '.repeat(24);
    for (let i = 0; i < 12; i++) await client.userMessage(agent.id, `Part ${i}: ${long}`);
    // once the context outgrew small's window, the calls went to large, uncompacted
    assert.ok(big.chatRequests().length > 0, 'the fallback took calls');
    assert.deepEqual(await compactions(agent.id), []);
    const usage = await db.query<{ deployment: string; reason: string }>('SELECT deployment, reason FROM usage WHERE agent_id = $1 ORDER BY id', [agent.id]);
    assert.ok(usage.rows.some((r) => r.deployment === 'large-1' && r.reason === 'context-window fallback from small'));
  } finally {
    await big.close();
  }
});
