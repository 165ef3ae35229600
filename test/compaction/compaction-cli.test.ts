/**
 * Compaction as a user drives it on the real stack: an agent created with compaction settings
 * (`--compaction-percentage`, `--summarizer-model`), `memloom agent compact` summarizing its
 * oldest in-context messages with the summarizer model, the summary in `memloom messages`, the
 * next turn's context opening with it, `conversation_search` still finding an evicted message,
 * and the SDK's `compactAgent` answering a request id once. The commands run in this process.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AgentState } from '../../src/domain/agent.ts';
import { SUMMARIZER_MARKER, type CompactionResult } from '../../src/domain/compaction.ts';
import { ConflictError, ValidationError } from '../../src/domain/errors.ts';
import { IdPrefix, newId } from '../../src/domain/ids.ts';
import type { LettaMessage, SummaryMessage, ToolReturnMessage } from '../../src/domain/letta-message.ts';
import type { ChatRequest } from '../../src/dev/scripted-model-server.ts';
import { errorOf, parsed, runCliInProcess } from '../helpers/cli.ts';
import { startTestStack } from '../helpers/stack.ts';

const SUMMARIZER = 'scripted-summarizer';
const stack = await startTestStack({ modelServer: { models: ['scripted-model', SUMMARIZER] } });
const { client, model, db } = stack;
const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };
const memloom = (...args: string[]) => runCliInProcess(ENV, args);
const MODEL_FLAGS = ['--model', 'scripted-model', '--model-endpoint', model.url, '--context-window', '8192'];

const isSummarizerRequest = (r: ChatRequest): boolean => String(r.messages[0]?.content ?? '').startsWith(SUMMARIZER_MARKER);
let summaries = 0;
model.setResponder((request) => {
  if (isSummarizerRequest(request)) return { kind: 'reply', content: `Summary ${++summaries}: the human told me about their pets, their trips and their plans.` };
  const last = request.messages.at(-1);
  return { kind: 'reply', content: `Noted (${String(last?.content ?? '').slice(0, 40)})` };
});

/** Runs `fn` and returns the chat requests the model received meanwhile. */
async function requestsDuring<T>(fn: () => Promise<T>): Promise<{ value: T; requests: ChatRequest[] }> {
  const before = model.chatRequests().length;
  const value = await fn();
  return { value, requests: model.chatRequests().slice(before) };
}

async function outOfContext(agentId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE agent_id = $1 AND kind = 'message' AND NOT in_context`, [agentId]);
  return rows[0]!.n;
}

const TOPICS = [
  'my cat is called Miso',
  'I went to Kyoto in April',
  'I am learning the cello',
  'my sister lives in Oslo',
  'I like green tea',
  'I run on Sundays',
  'I work as a nurse',
  'my favourite book is Dune',
  'I am planning a trip to Chile',
  'I bake bread on Fridays',
  'I grew up near the sea',
  'my bike is blue',
];

describe('compaction on the command line', () => {
  let agent: AgentState;

  test('agent create takes the compaction settings; agent show prints them, the defaults marked', async () => {
    const created = parsed<AgentState>(
      await memloom('agent', 'create', '--name', 'compactor', ...MODEL_FLAGS, '--compaction-percentage', '0.5', '--summarizer-model', SUMMARIZER, '--json'),
    );
    assert.deepEqual(created.compaction_settings, { sliding_window_percentage: 0.5, model: SUMMARIZER });
    agent = created;
    const shown = await memloom('agent', 'show', 'compactor');
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^compaction: +frees 50% of the message budget · summarizer scripted-summarizer · reads at most 50,000 characters \(default\)$/m);

    const plain = parsed<AgentState>(await memloom('agent', 'create', '--name', 'plain', ...MODEL_FLAGS, '--json'));
    assert.equal(plain.compaction_settings, null);
    const plainShown = await memloom('agent', 'show', 'plain');
    assert.match(plainShown.stdout, /^compaction: +frees 30% of the message budget \(default\) · summarizer scripted-model \(default: the agent's model\) · reads at most 50,000 characters \(default\)$/m);
  });

  test('agent compact summarizes the oldest messages with the summarizer model; memloom messages shows the summary', async () => {
    for (const [i, topic] of TOPICS.entries()) await client.userMessage('compactor', `Turn ${i + 1}: ${topic}.`);
    const { value: run, requests } = await requestsDuring(() => memloom('agent', 'compact', 'compactor'));
    assert.equal(run.code, 0, run.stderr);
    const said = /^Compacted compactor: (\d+) messages summarized \(([\d,]+) → ([\d,]+) tokens in context\) by scripted-summarizer\n$/.exec(run.stdout);
    assert.ok(said, run.stdout);
    const evicted = Number(said[1]);
    // 24 messages in context; the newest always stay
    assert.ok(evicted >= 12 && evicted < 24, run.stdout);
    assert.ok(Number(said[3]!.replace(/,/g, '')) < Number(said[2]!.replace(/,/g, '')), run.stdout);
    assert.equal(await outOfContext(agent.id), evicted);

    // one model call: the summarizer's, with the summarizer model and the evicted messages
    assert.equal(requests.length, 1);
    const ask = requests[0]!;
    assert.ok(isSummarizerRequest(ask), String(ask.messages[0]?.content));
    assert.equal(ask.model, SUMMARIZER);
    assert.match(String(ask.messages[1]?.content), /Turn 1: my cat is called Miso\./);

    // recall keeps every message, and the summary is a line of its own
    const listed = await memloom('messages', 'compactor');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^user: Turn 1: my cat is called Miso\.$/m);
    assert.match(listed.stdout, new RegExp(`^summary \\(${evicted} earlier messages hidden\\): Summary 1: the human told me about their pets, their trips and their plans\\.$`, 'm'));
    const json = parsed<LettaMessage[]>(await memloom('messages', 'compactor', '--json'));
    const summary = json.find((m): m is SummaryMessage => m.message_type === 'summary_message');
    assert.equal(summary?.summary, 'Summary 1: the human told me about their pets, their trips and their plans.');
    assert.equal(summary.evicted_messages, evicted);
    assert.equal(summary.compaction_stats?.trigger, 'manual');
    assert.equal(json.filter((m) => m.message_type === 'user_message').length, TOPICS.length);
  });

  test("the next turn's context opens with the summary, and conversation_search still finds an evicted message", async () => {
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'conversation_search', arguments: { query: 'cat called', limit: 3, roles: ['user'] } }] },
      { kind: 'reply', content: 'Your cat is called Miso.' },
    );
    const { value: r, requests } = await requestsDuring(() => client.userMessage('compactor', 'What is my cat called?'));
    const first = requests[0]!;
    assert.equal(first.model, 'scripted-model');
    assert.equal(first.messages[1]?.role, 'user');
    assert.match(String(first.messages[1]?.content), /Summary 1: the human told me about their pets/);
    assert.equal(first.messages.at(-1)?.content, 'What is my cat called?');
    const text = JSON.stringify(first.messages.slice(1));
    assert.ok(!text.includes('Miso') && !text.includes('Turn 1:'), 'an evicted message is still in the context');

    const ret = r.messages.find((m): m is ToolReturnMessage => m.message_type === 'tool_return_message');
    assert.equal(ret?.status, 'success');
    const found = (JSON.parse(ret.tool_return) as { results: { content: string }[] }).results.map((x) => x.content);
    assert.ok(found.includes('Turn 1: my cat is called Miso.'), JSON.stringify(found));
    assert.equal(r.messages.at(-1)?.message_type, 'assistant_message');
  });

  test('compactAgent: the same request id answers once; with only the newest messages left there is nothing to compact', async () => {
    for (const topic of ['I adopted a dog', 'the dog is called Pepper', 'Pepper likes the beach']) await client.userMessage('compactor', topic);
    const requestId = newId(IdPrefix.Message);
    const { value: once, requests } = await requestsDuring(async () => [
      await client.compactAgent('compactor', { requestId }),
      await client.compactAgent(agent.id, { requestId }),
    ]);
    const [a, b] = once as [CompactionResult, CompactionResult];
    assert.match(a.summaryMessageId ?? '', /^message-/);
    assert.equal(b.summaryMessageId, a.summaryMessageId);
    assert.equal(b.evictedMessages, a.evictedMessages);
    assert.ok(a.evictedMessages > 0);
    assert.equal(a.model, SUMMARIZER);
    assert.equal(requests.filter(isSummarizerRequest).length, 1, 'the summarizer was asked once');
    // the new summary replaces the old one in context; the previous summary went to the summarizer
    assert.match(String(requests[0]!.messages[1]?.content), /Summary of the messages before these:\nSummary 1:/);
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE agent_id = $1 AND kind = 'summary' AND in_context`, [agent.id]);
    assert.equal(rows[0]!.n, 1);

    const { value: nothing, requests: none } = await requestsDuring(() => memloom('agent', 'compact', 'compactor'));
    assert.equal(nothing.code, 0, nothing.stderr);
    assert.match(nothing.stdout, /^Nothing to compact: compactor's context holds only its newest messages \([\d,]+ tokens?\), which always stay\n$/);
    assert.equal(none.length, 0, 'no model was called');
    const asJson = parsed<CompactionResult>(await memloom('agent', 'compact', 'compactor', '--json'));
    assert.deepEqual({ ...asJson, tokensBefore: 0, tokensAfter: 0 }, {
      agentId: agent.id, trigger: 'manual', evictedMessages: 0, summaryMessageId: null, tokensBefore: 0, tokensAfter: 0, model: null,
    });

    // a user message's id is not a request id
    const sent = newId(IdPrefix.Message);
    await client.userMessage('plain', 'hello', { messageId: sent });
    await assert.rejects(client.compactAgent('plain', { requestId: sent }), ConflictError);
    await assert.rejects(client.compactAgent('plain', { requestId: 'compact-1' }), (e: unknown) => e instanceof ValidationError && e.issues[0]?.path === 'requestId');
  });

  test('agent update merges the compaction flags into the settings; bad values name the flag and change nothing', async () => {
    const updated = parsed<AgentState>(await memloom('agent', 'update', 'compactor', '--compaction-percentage', '0.4', '--json'));
    assert.deepEqual(updated.compaction_settings, { sliding_window_percentage: 0.4, model: SUMMARIZER });
    const back = parsed<AgentState>(await memloom('agent', 'update', 'compactor', '--no-summarizer-model', '--json'));
    assert.deepEqual(back.compaction_settings, { sliding_window_percentage: 0.4 });

    const before = await client.getAgent('compactor');
    const tooMuch = errorOf(await memloom('agent', 'update', 'compactor', '--compaction-percentage', '1.5', '--json'));
    assert.deepEqual(tooMuch.issues?.map((i) => i.path), ['--compaction-percentage']);
    assert.match(tooMuch.issues![0]!.message, /at most 0\.9/);
    const notNumber = errorOf(await memloom('agent', 'update', 'compactor', '--compaction-percentage', 'half', '--json'));
    assert.deepEqual(notNumber.issues?.map((i) => i.path), ['--compaction-percentage']);
    const unknown = errorOf(await memloom('agent', 'update', 'compactor', '--summarizer-model', 'no-such-model', '--json'));
    assert.deepEqual(unknown.issues?.map((i) => i.path), ['--summarizer-model']);
    assert.match(unknown.issues![0]!.message, /"no-such-model" is not served by .*: it serves scripted-model, scripted-summarizer/);
    assert.deepEqual(await client.getAgent('compactor'), before);

    const zero = errorOf(await memloom('agent', 'create', '--name', 'never', ...MODEL_FLAGS, '--compaction-percentage', '0', '--json'));
    assert.deepEqual(zero.issues?.map((i) => i.path), ['--compaction-percentage']);
    assert.match(zero.issues![0]!.message, /more than 0/);
    assert.deepEqual((await client.listAgents({ name: 'never' })).length, 0);
  });

  test('a failing summarizer: the error names its type, and the context is unchanged', async () => {
    const plain = await client.getAgent('plain');
    const inContext = async (): Promise<number> =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM messages WHERE agent_id = $1 AND in_context', [plain.id])).rows[0]!.n;
    const before = await inContext();
    model.enqueue({ kind: 'error', status: 401 });
    const run = await memloom('agent', 'compact', 'plain', '--json');
    assert.equal(run.code, 1, run.stdout);
    const error = (JSON.parse(run.stderr) as { error: { code: string; type: string; message: string } }).error;
    assert.equal(error.type, 'AuthFailed');
    assert.match(error.message, /^compaction failed \(AuthFailed\): compaction: the summarizer \(scripted-model\) failed/);
    assert.equal(await inContext(), before);
  });

  test('agent compact --help explains compaction and its settings', async () => {
    const help = await memloom('agent', 'compact', '--help');
    assert.equal(help.code, 0, help.stderr);
    const flat = help.stdout.replace(/\s+/g, ' ');
    assert.match(flat, /Recall keeps every message/);
    assert.match(flat, /--compaction-percentage P \(default 0\.3\)/);
    assert.match(flat, /--summarizer-model MODEL/);
    const wrong = errorOf(await memloom('agent', 'compact', 'compactor', '--request-id', 'nope', '--json'));
    assert.deepEqual(wrong.issues?.map((i) => i.path), ['--request-id']);
  });
});
