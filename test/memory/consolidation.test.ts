/**
 * Memory consolidation (Letta's sleep-time memory rewriting) on the real stack: a turn in the
 * agent's own mailbox in which the model reviews the conversation since the last consolidation
 * and rewrites core memory with the memory tools, never shown to the user or to later turns.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { formatConsolidation } from '../../src/cli/agent-commands.ts';
import { CONSOLIDATION_INSTRUCTION, type ConsolidationResult } from '../../src/domain/consolidation.ts';
import { ConflictError, TurnFailedError } from '../../src/domain/errors.ts';
import { IdPrefix, newId } from '../../src/domain/ids.ts';
import type { ToolReturnMessage } from '../../src/domain/letta-message.ts';
import type { ChatRequest } from '../../src/dev/scripted-model-server.ts';
import { defineTool } from '../../src/tools/define-tool.ts';
import { BASE_TOOL_NAMES } from '../../src/tools/memory-tools.ts';
import { parsed, runCli } from '../helpers/cli.ts';
import { startTestStack } from '../helpers/stack.ts';

const lookups: string[] = [];
const lookupWeather = defineTool({
  name: 'lookup_weather',
  description: 'The weather in a city.',
  parameters: z.object({ city: z.string() }),
  execute: ({ city }) => {
    lookups.push(city);
    return 'sunny';
  },
});

const stack = await startTestStack({ tools: [lookupWeather] });
const { client, model, db } = stack;

await client.createAgent({
  name: 'sleeper',
  system: 'You are a helpful assistant with persistent memory.',
  llm_config: stack.llmConfig,
  memory_blocks: [
    { label: 'human', value: 'Name: unknown.' },
    { label: 'persona', value: 'I am a helpful assistant.' },
  ],
  tools: ['lookup_weather'],
});

/** The chat messages of a request after the system prompt, as [role, content] (tool calls by name). */
function transcript(request: ChatRequest): [string, string][] {
  return request.messages.slice(1).map((m) => {
    const calls = (m.tool_calls as { function: { name: string } }[] | undefined)?.map((c) => c.function.name);
    return [String(m.role), calls && calls.length > 0 ? `calls ${calls.join(', ')}` : String(m.content ?? '')];
  });
}

function systemOf(request: ChatRequest): string {
  return String(request.messages[0]?.content);
}

function toolNames(request: ChatRequest): string[] {
  return (request.tools ?? []).map((t) => (t as { function: { name: string } }).function.name).sort();
}

/** Runs `fn` and returns the chat requests the model received meanwhile. */
async function requestsDuring<T>(fn: () => Promise<T>): Promise<{ value: T; requests: ChatRequest[] }> {
  const before = model.chatRequests().length;
  const value = await fn();
  return { value, requests: model.chatRequests().slice(before) };
}

async function human(): Promise<string | undefined> {
  return (await client.getMemory('sleeper')).find((b) => b.label === 'human')?.value;
}

async function turnCount(): Promise<number> {
  return (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM turns')).rows[0]!.n;
}

describe('memory consolidation', () => {
  let first: ConsolidationResult;

  test('reviews the conversation, rewrites a block with the memory tools, and is hidden from the user', async () => {
    model.enqueue({ kind: 'reply', content: 'Nice to meet you, Bob.' }, { kind: 'reply', content: 'Lisbon is lovely.' });
    await client.userMessage('sleeper', 'Hi, I am Bob and I live in Porto.');
    await client.userMessage('sleeper', 'I moved to Lisbon last week.');

    model.enqueue(
      {
        kind: 'reply',
        toolCalls: [{ name: 'core_memory_replace', arguments: { label: 'human', old_content: 'Name: unknown.', new_content: 'Name: Bob. Lives in Lisbon (moved from Porto).' } }],
      },
      { kind: 'reply', content: 'Updated human.' },
    );
    const { value: r, requests } = await requestsDuring(() => client.consolidateMemory('sleeper'));
    first = r;
    assert.equal(r.status, 'consolidated');
    assert.equal(r.agentName, 'sleeper');
    assert.match(r.messageId ?? '', /^message-/);
    assert.equal(r.reviewedMessages, 4);
    assert.deepEqual(r.blocksChanged, ['human']);
    assert.equal(r.usage.step_count, 2);
    assert.ok(r.usage.total_tokens > 0);

    // the model got the memory, the conversation and then the instruction
    assert.equal(requests.length, 2);
    const ask = requests[0]!;
    assert.match(systemOf(ask), /<human>[\s\S]*Name: unknown\.[\s\S]*<\/human>/);
    assert.deepEqual(transcript(ask), [
      ['user', 'Hi, I am Bob and I live in Porto.'],
      ['assistant', 'Nice to meet you, Bob.'],
      ['user', 'I moved to Lisbon last week.'],
      ['assistant', 'Lisbon is lovely.'],
      ['user', CONSOLIDATION_INSTRUCTION],
    ]);
    // memory tools only: a consolidation never runs a user tool's side effects
    assert.deepEqual(toolNames(ask), [...BASE_TOOL_NAMES].sort());
    assert.deepEqual(transcript(requests[1]!).slice(-3).map(([role]) => role), ['user', 'assistant', 'tool']);
    assert.equal(await human(), 'Name: Bob. Lives in Lisbon (moved from Porto).');

    // the user's view of the conversation has no trace of it
    const listed = await client.listMessages('sleeper');
    assert.equal(listed.length, 4);
    assert.ok(listed.every((m) => m.turn_id !== r.messageId));
    // its turn shows it all, for debugging
    const turn = await client.getTurn(r.messageId!);
    assert.equal(turn.kind, 'consolidation');
    assert.equal(turn.status, 'completed');
    assert.deepEqual(
      turn.messages.map((m) => m.message_type),
      ['user_message', 'tool_call_message', 'tool_return_message', 'assistant_message'],
    );
  });

  test('with nothing new since the last consolidation, no turn runs and no model is called', async () => {
    const turns = await turnCount();
    const { value: r, requests } = await requestsDuring(() => client.consolidateMemory('sleeper'));
    assert.deepEqual(r, {
      agentId: first.agentId,
      agentName: 'sleeper',
      messageId: null,
      status: 'nothing-new',
      reviewedMessages: 0,
      blocksChanged: [],
      usage: { message_type: 'usage_statistics', prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, step_count: 0 },
    });
    assert.equal(requests.length, 0);
    assert.equal(await turnCount(), turns);
  });

  test('the next user turn sees the new memory but no consolidation message, nor can it search one', async () => {
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'conversation_search', arguments: { query: 'consolidation' } }] },
      { kind: 'reply', toolCalls: [{ name: 'lookup_weather', arguments: { city: 'Lisbon' } }] },
      { kind: 'reply', content: 'Sunny in Lisbon, Bob.' },
    );
    const { value: r, requests } = await requestsDuring(() => client.userMessage('sleeper', 'What is the weather where I live?'));
    const search = r.messages.find((m): m is ToolReturnMessage => m.message_type === 'tool_return_message');
    assert.equal(search?.status, 'success');
    assert.doesNotMatch(search.tool_return, /memory system|Updated human/);
    assert.deepEqual(lookups, ['Lisbon']);
    const last = requests.at(-1)!;
    assert.match(systemOf(last), /<human>[\s\S]*Name: Bob\. Lives in Lisbon \(moved from Porto\)\.[\s\S]*<\/human>/);
    const seen = transcript(last);
    assert.ok(!seen.some(([, text]) => text === CONSOLIDATION_INSTRUCTION || text === 'Updated human.' || text.includes('core_memory_replace')), JSON.stringify(seen));
    assert.deepEqual(seen.slice(0, 4), [
      ['user', 'Hi, I am Bob and I live in Porto.'],
      ['assistant', 'Nice to meet you, Bob.'],
      ['user', 'I moved to Lisbon last week.'],
      ['assistant', 'Lisbon is lovely.'],
    ]);
    assert.deepEqual(toolNames(last), [...BASE_TOOL_NAMES, 'lookup_weather'].sort());
  });

  test('a consolidation reviews only the messages after the previous one', async () => {
    model.enqueue({ kind: 'reply', content: 'A cat! Lovely.' });
    await client.userMessage('sleeper', 'I adopted a cat named Miso.');
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Has a cat named Miso.' } }] },
      { kind: 'reply', toolCalls: [{ name: 'memory_replace', arguments: { label: 'persona', old_string: 'helpful', new_string: 'warm, helpful' } }] },
      { kind: 'reply', content: 'Updated human and persona.' },
    );
    const { value: r, requests } = await requestsDuring(() => client.consolidateMemory('sleeper'));
    assert.deepEqual(r.blocksChanged, ['human', 'persona']);
    // the weather turn (user, search call and return, weather call and return, answer) and the cat turn (user, answer)
    assert.equal(r.reviewedMessages, 8);
    const seen = transcript(requests[0]!);
    assert.deepEqual(seen.slice(0, 1), [['user', 'What is the weather where I live?']]);
    assert.deepEqual(seen.slice(-3), [
      ['user', 'I adopted a cat named Miso.'],
      ['assistant', 'A cat! Lovely.'],
      ['user', CONSOLIDATION_INSTRUCTION],
    ]);
    assert.ok(!seen.some(([, text]) => text.includes('Porto') || text === 'Updated human.'), JSON.stringify(seen));
    assert.equal(await human(), 'Name: Bob. Lives in Lisbon (moved from Porto).\nHas a cat named Miso.');
  });

  test('a resent message id returns the same outcome and never runs a second turn', async () => {
    await client.userMessage('sleeper', 'My favourite colour is green.'); // the default responder answers
    const messageId = newId(IdPrefix.Message);
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'memory_insert', arguments: { label: 'human', new_string: 'Favourite colour: green.' } }] },
      { kind: 'reply', content: 'Done.' },
    );
    const r = await client.consolidateMemory('sleeper', { messageId });
    assert.equal(r.messageId, messageId);
    assert.deepEqual(r.blocksChanged, ['human']);
    await client.userMessage('sleeper', 'And I like jazz.'); // new since: a second consolidation would review it
    const { value: again, requests } = await requestsDuring(() => client.consolidateMemory('sleeper', { messageId }));
    assert.deepEqual(again, r);
    assert.equal(requests.length, 0);
    assert.equal((await human())?.split('Favourite colour: green.').length, 2, 'the edit applied once');
    // a consolidation's id is not a user message, and a user message's id is not a consolidation
    await assert.rejects(client.userMessage('sleeper', CONSOLIDATION_INSTRUCTION, { messageId }), ConflictError);
    const userTurn = newId(IdPrefix.Message);
    await client.userMessage('sleeper', 'Hello again.', { messageId: userTurn });
    await assert.rejects(client.consolidateMemory('sleeper', { messageId: userTurn }), ConflictError);
  });

  test('a failed consolidation leaves no trace in the context and the next one reviews the same messages', async () => {
    // drain what is new first
    model.enqueue({ kind: 'reply', content: 'No changes.' });
    await client.consolidateMemory('sleeper');
    model.enqueue({ kind: 'reply', content: 'Noted.' });
    await client.userMessage('sleeper', 'I start a new job on Monday.');

    model.enqueue({ kind: 'error', status: 400, message: 'bad request: the model refuses' });
    const failed = await client.consolidateMemory('sleeper').catch((e: unknown) => e);
    assert.ok(failed instanceof TurnFailedError, String(failed));
    assert.equal(failed.type, 'BadRequest');
    // a resend of the failed id answers the same failure without calling the model
    const { value: resent, requests: none } = await requestsDuring(() => client.consolidateMemory('sleeper', { messageId: failed.messageId }).catch((e: unknown) => e));
    assert.ok(resent instanceof TurnFailedError && resent.type === 'BadRequest');
    assert.equal(none.length, 0);

    const { requests: next } = await requestsDuring(() => client.userMessage('sleeper', 'Any advice?'));
    assert.ok(!transcript(next[0]!).some(([, text]) => text === CONSOLIDATION_INSTRUCTION));

    model.enqueue({ kind: 'reply', content: 'No changes.' });
    const { value: r, requests } = await requestsDuring(() => client.consolidateMemory('sleeper'));
    assert.equal(r.status, 'consolidated');
    assert.equal(r.reviewedMessages, 4);
    assert.deepEqual(transcript(requests[0]!), [
      ['user', 'I start a new job on Monday.'],
      ['assistant', 'Noted.'],
      ['user', 'Any advice?'],
      ['assistant', 'OK: Any advice?'],
      ['user', CONSOLIDATION_INSTRUCTION],
    ]);
  });

  test('an agent without a memory tool that edits a block is refused before anything is written', async () => {
    await client.createAgent({ name: 'toolless', llm_config: stack.llmConfig, include_base_tools: false });
    await client.userMessage('toolless', 'Hi.');
    const turns = await turnCount();
    await assert.rejects(client.consolidateMemory('toolless'), /agent toolless has none of the memory tools that edit a block/);
    assert.equal(await turnCount(), turns);
  });

  test('memloom agent consolidate prints what was reviewed and which blocks changed', async () => {
    const env = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };
    await client.userMessage('sleeper', 'I now live in Madrid.');
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'core_memory_replace', arguments: { label: 'human', old_content: 'Lives in Lisbon (moved from Porto).', new_content: 'Lives in Madrid.' } }] },
      { kind: 'reply', content: 'Updated.' },
    );
    const r = parsed<ConsolidationResult>(await runCli(env, ['agent', 'consolidate', 'sleeper', '--json']));
    assert.equal(r.status, 'consolidated');
    assert.equal(r.reviewedMessages, 2);
    assert.deepEqual(r.blocksChanged, ['human']);
    assert.match((await human()) ?? '', /Lives in Madrid\./);

    // the text people read
    assert.equal(
      formatConsolidation(r),
      `consolidated the memory of agent sleeper (${r.agentId})\nreviewed 2 messages; blocks changed: human\n` +
        `2 steps, ${r.usage.total_tokens} tokens; the turn: memloom turn show ${r.messageId}`,
    );
    assert.equal(formatConsolidation({ ...r, status: 'nothing-new', messageId: null }), 'agent sleeper: nothing new since the last consolidation; no turn ran');
  });
});
