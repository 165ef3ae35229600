/**
 * Streaming from inside a durable turn through Letta's official client: step messages and token
 * deltas as Letta's SSE (a first ping with the run id, keepalive pings, `stop_reason`,
 * `usage_statistics`, `[DONE]`), failures as `event: error`, a retried model call that shows no
 * text twice, and a client that leaves mid-stream while its turn completes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { APIError } from '@letta-ai/letta-client';
import { pino } from 'pino';
import { DeltaPublisher } from '../../activities/delta-publisher.ts';
import { TurnRelay } from '../../src/api/streaming/turn-relay.ts';
import { TurnEventListener } from '../../src/db/turn-event-listener.ts';
import { stepMessageId, type DeltaEvent, type TurnEvent } from '../../src/db/turn-events.ts';
import type { LettaMessage } from '../../src/domain/letta-message.ts';
import { startTestStack } from '../helpers/stack.ts';
import { until } from '../helpers/poll.ts';
import { startApiServer } from './api-stack.ts';

const stack = await startTestStack();
const api = await startApiServer(stack, { streaming: { keepaliveMs: 100 } });
const letta = api.letta();
const { model } = stack;
const llmConfig = { ...stack.llmConfig, model_endpoint_type: 'openai' as const };

type Chunk = Record<string, unknown> & { message_type?: string };

async function collect(stream: AsyncIterable<unknown>): Promise<Chunk[]> {
  const chunks: Chunk[] = [];
  for await (const chunk of stream) chunks.push(chunk as Chunk);
  return chunks;
}

const types = (chunks: readonly Chunk[]): (string | undefined)[] => chunks.filter((c) => c.message_type !== 'ping').map((c) => c.message_type);
const text = (chunks: readonly Chunk[], type = 'assistant_message'): string =>
  chunks
    .filter((c) => c.message_type === type)
    .map((c) => String(c.content ?? c.reasoning))
    .join('');

async function newAgent(name: string): Promise<string> {
  const agent = await letta.agents.create({ name, llm_config: llmConfig, memory_blocks: [{ label: 'human', value: '' }] });
  return agent.id;
}

describe('streaming: true with the Letta client', () => {
  test('step messages (stream_tokens false): a ping with the run id first, each stored message once, stop_reason, usage, [DONE]', async () => {
    const agentId = await newAgent('stream-steps');
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Likes kites.' } }] },
      { kind: 'reply', content: 'I will remember that you like kites.' },
    );
    const chunks = await collect(await letta.agents.messages.create(agentId, { messages: [{ role: 'user', content: 'I like kites.' }], streaming: true }));
    const ping = chunks[0];
    assert.equal(ping?.message_type, 'ping', 'the first chunk is a ping');
    assert.match(String(ping.run_id), /^run-[0-9a-f-]{36}$/);
    assert.deepEqual(types(chunks), ['tool_call_message', 'tool_return_message', 'assistant_message', 'stop_reason', 'usage_statistics']);
    assert.equal(text(chunks), 'I will remember that you like kites.');
    assert.equal(chunks.find((c) => c.message_type === 'stop_reason')?.stop_reason, 'end_turn');
    const usage = chunks.find((c) => c.message_type === 'usage_statistics');
    assert.equal(usage?.step_count, 2);
    assert.deepEqual(usage?.run_ids, [ping.run_id]);

    const run = await letta.runs.retrieve(String(ping.run_id));
    assert.equal(run.status, 'completed');
    const stored = (await letta.agents.messages.list(agentId, { order: 'asc' })).getPaginatedItems();
    const streamedIds = chunks.filter((c) => c.message_type?.endsWith('_message')).map((c) => c.id);
    assert.deepEqual(
      streamedIds,
      stored.filter((m) => m.message_type !== 'user_message').map((m) => m.id),
      'the stream carries the ids the messages are stored under',
    );
  });

  test('token deltas (stream_tokens true): the text arrives in pieces with one id, then stop_reason and usage', async () => {
    const agentId = await newAgent('stream-tokens');
    const answer = 'Kites fly best in a steady wind of fifteen to twenty-five kilometres an hour.';
    model.enqueue({ kind: 'reply', reasoning: 'The user asks about kites and wind.', content: answer });
    const chunks = await collect(
      await letta.agents.messages.create(agentId, { messages: [{ role: 'user', content: 'When do kites fly best?' }], streaming: true, stream_tokens: true }),
    );
    const pieces = chunks.filter((c) => c.message_type === 'assistant_message');
    assert.ok(pieces.length >= 2, `the answer arrives in pieces (got ${pieces.length})`);
    assert.equal(text(chunks), answer, 'the pieces add up to the answer, nothing twice');
    assert.equal(text(chunks, 'reasoning_message'), 'The user asks about kites and wind.');
    assert.equal(new Set(pieces.map((c) => c.id)).size, 1, 'every piece carries the id of the message');
    assert.equal(new Set(pieces.map((c) => c.otid)).size, 1);
    assert.deepEqual(types(chunks).slice(-2), ['stop_reason', 'usage_statistics']);
    const [stored] = (await letta.agents.messages.list(agentId, { limit: 1 })).getPaginatedItems();
    assert.equal(stored?.id, pieces[0]?.id, 'the pieces carry the stored message’s id');
  });

  test('tool calls stream their arguments; the tool return comes whole', async () => {
    const agentId = await newAgent('stream-tools');
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Flies a red kite on Sundays.' } }] },
      { kind: 'reply', content: 'Noted.' },
    );
    const chunks = await collect(await letta.agents.messages.stream(agentId, { messages: [{ role: 'user', content: 'I fly a red kite on Sundays.' }], stream_tokens: true }));
    const calls = chunks.filter((c) => c.message_type === 'tool_call_message') as (Chunk & { tool_call: { name?: string; arguments: string } })[];
    assert.equal(calls[0]?.tool_call.name, 'core_memory_append');
    assert.deepEqual(JSON.parse(calls.map((c) => c.tool_call.arguments).join('')), { label: 'human', content: 'Flies a red kite on Sundays.' });
    const returns = chunks.filter((c) => c.message_type === 'tool_return_message');
    assert.equal(returns.length, 1);
    assert.equal(returns[0]?.status, 'success');
    assert.equal(text(chunks), 'Noted.');
  });

  test('keepalive pings while the model is slow; include_pings: false sends none', async () => {
    const agentId = await newAgent('stream-pings');
    model.enqueue({ kind: 'reply', content: 'Slowly.', delayMs: 1500 });
    const chunks = await collect(await letta.agents.messages.create(agentId, { input: 'Take your time.', streaming: true }));
    assert.ok(chunks.filter((c) => c.message_type === 'ping').length >= 2, 'a first ping, then keepalives');
    model.enqueue({ kind: 'reply', content: 'Without pings.', delayMs: 500 });
    const quiet = await collect(await letta.agents.messages.create(agentId, { input: 'No pings please.', streaming: true, include_pings: false }));
    assert.equal(quiet.filter((c) => c.message_type === 'ping').length, 0);
    assert.equal(text(quiet), 'Without pings.');
  });

  test('a stream cut mid-answer and retried shows the text once', async () => {
    const agentId = await newAgent('stream-retry');
    const answer = 'This sentence is cut off halfway, then the retry sends it in full.';
    model.enqueue({ kind: 'cut_stream', content: answer, afterChunks: 2 }, { kind: 'reply', content: answer });
    const before = model.chatRequests().length;
    const chunks = await collect(
      await letta.agents.messages.create(agentId, { input: 'Say the sentence.', streaming: true, stream_tokens: true }),
    );
    assert.equal(model.chatRequests().length - before, 2, 'the cut call was retried');
    assert.equal(text(chunks), answer, 'no piece of the cut attempt is shown twice');
    assert.equal(new Set(chunks.filter((c) => c.message_type === 'assistant_message').map((c) => c.otid)).size, 1, 'one part, continued');
  });

  test('a retry that writes something else: the cut text stays, the stored answer follows as a new part', async () => {
    const agentId = await newAgent('stream-diverge');
    model.enqueue({ kind: 'cut_stream', content: 'First attempt, which never ends', afterChunks: 2 }, { kind: 'reply', content: 'The second attempt answers.' });
    const chunks = await collect(await letta.agents.messages.create(agentId, { input: 'Answer.', streaming: true, stream_tokens: true }));
    const pieces = chunks.filter((c) => c.message_type === 'assistant_message');
    const parts = [...new Set(pieces.map((c) => c.otid))];
    assert.equal(parts.length, 2, 'the partial text and the answer are two parts');
    const last = pieces.filter((c) => c.otid === parts[1]).map((c) => c.content).join('');
    assert.equal(last, 'The second attempt answers.');
    assert.ok('First attempt, which never ends'.startsWith(pieces.filter((c) => c.otid === parts[0]).map((c) => c.content).join('')));
    const [stored] = (await letta.agents.messages.list(agentId, { limit: 1 })).getPaginatedItems();
    assert.ok(stored?.message_type === 'assistant_message' && stored.content === 'The second attempt answers.', 'only the answer is stored');
  });

  test('a failed turn ends with stop_reason and Letta’s event: error, which the client throws', async () => {
    const agentId = await newAgent('stream-error');
    model.enqueue({ kind: 'error', status: 401, message: 'Incorrect API key provided' });
    const chunks: Chunk[] = [];
    let caught: unknown;
    try {
      for await (const chunk of await letta.agents.messages.create(agentId, { input: 'This fails.', streaming: true })) chunks.push(chunk as Chunk);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof APIError, `an APIError, got ${String(caught)}`);
    const body = caught.error as { message_type: string; error_type: string; run_id: string; memloom_error_type: string };
    assert.equal(body.message_type, 'error_message');
    assert.equal(body.error_type, 'llm_authentication');
    assert.equal(body.memloom_error_type, 'AuthFailed');
    assert.equal(body.run_id, chunks[0]?.run_id);
    assert.equal(chunks.at(-1)?.message_type, 'stop_reason');
    assert.equal(chunks.at(-1)?.stop_reason, 'llm_api_error');
    assert.equal((await letta.runs.retrieve(body.run_id)).status, 'failed');
  });

  test('a client that leaves mid-stream does not stop the turn', async () => {
    const agentId = await newAgent('stream-leaves');
    model.enqueue({ kind: 'reply', content: 'Finished without anyone listening.', delayMs: 1500 });
    const stream = await letta.agents.messages.create(agentId, { input: 'I will not wait.', streaming: true, stream_tokens: true });
    let runId = '';
    for await (const chunk of stream) {
      runId = String((chunk as Chunk).run_id);
      break; // the client leaves after the first ping: the request is aborted
    }
    assert.match(runId, /^run-/);
    const run = await until('the run', () => letta.runs.retrieve(runId), (r) => r.status === 'completed' || r.status === 'failed');
    assert.equal(run.status, 'completed');
    assert.equal(run.stop_reason, 'end_turn');
    const [stored] = (await letta.agents.messages.list(agentId, { limit: 1 })).getPaginatedItems();
    assert.ok(stored?.message_type === 'assistant_message' && stored.content === 'Finished without anyone listening.');
  });

  test('bad input is an HTTP error before any stream', async () => {
    const agentId = await newAgent('stream-bad');
    let caught: unknown;
    await letta.agents.messages.create(agentId, { input: '', messages: [{ role: 'user', content: 'x' }], streaming: true }).catch((e: unknown) => (caught = e));
    assert.ok(caught instanceof APIError && caught.status === 422, `422, got ${String(caught)}`);
  });
});

describe('deltas on the way', () => {
  test('a long answer in many languages is split under NOTIFY’s limit and arrives whole, in order', async () => {
    const listener = new TurnEventListener({ connectionString: stack.databaseUrl, logger: pino({ level: 'silent' }) });
    const turnId = 'message-00000000-0000-4000-8000-0000000000aa';
    const events: TurnEvent[] = [];
    const sub = await listener.subscribe(turnId, { event: (e) => events.push(e), gap: () => undefined });
    const tag = { turnId, attempt: 1, step: 1, messageId: stepMessageId(turnId, 1), call: '1.1' };
    const publisher = new DeltaPublisher(stack.db, tag, pino({ level: 'silent' }));
    const answer = 'Ünïcödé “quotes”, 漢字かな, emoji 🪁🌬️, control\u0001 — '.repeat(600);
    for (let i = 0; i < answer.length; i += 4000) publisher.add({ content: answer.slice(i, i + 4000) });
    publisher.stored();
    await publisher.settled();
    await until('the stored event', () => Promise.resolve(events.length), () => events.at(-1)?.kind === 'stored', 10_000);
    await sub.close();
    await listener.close();
    const deltas = events.filter((e): e is DeltaEvent => e.kind === 'delta');
    assert.ok(deltas.length > 1, 'split into several payloads');
    assert.deepEqual(deltas.map((d) => d.seq), deltas.map((_, i) => i + 1), 'in order');
    const pieces = deltas.flatMap((d) => d.pieces);
    assert.equal(pieces.map((p) => p.text).join(''), answer);
    let offset = 0;
    for (const p of pieces) {
      assert.equal(p.offset, offset);
      offset += p.text.length;
    }
  });

  test('the relay drops an older attempt’s late pieces, and shows what a gap hid once the step is stored', () => {
    const messageId = 'message-00000000-0000-4000-8000-0000000000bb';
    const relay = new TurnRelay({ runId: 'run-x', attempt: 1, tokens: true });
    const delta = (call: string, offset: number, text: string): DeltaEvent => ({
      kind: 'delta', turnId: 't', attempt: 1, step: 1, messageId, call, seq: 1, pieces: [{ part: 'content', offset, text }],
    });
    const shown = (chunks: Record<string, unknown>[]): string => chunks.map((c) => String(c.content)).join('');
    assert.equal(shown(relay.delta(delta('1.1', 0, 'Hello '))), 'Hello ');
    assert.equal(shown(relay.delta(delta('2.1', 0, 'Hel'))), '', 'a retry catching up shows nothing yet');
    assert.equal(shown(relay.delta(delta('1.1', 6, 'world'))), '', 'the cut attempt’s late piece is dropped');
    assert.equal(shown(relay.delta(delta('2.1', 3, 'lo there'))), 'there');
    assert.equal(shown(relay.delta(delta('2.1', 20, 'lost'))), '', 'a piece after a gap is not shown');
    const stored: LettaMessage = {
      id: messageId, date: new Date().toISOString(), seq_id: 1, turn_id: 't', message_type: 'assistant_message', content: 'Hello there, friend.', text: 'Hello there, friend.',
    };
    assert.equal(shown(relay.stored([stored])), ', friend.', 'the stored message fills in the rest');
    assert.equal(shown(relay.stored([stored])), '', 'once');
    assert.deepEqual(relay.delta(delta('2.1', 9, ', friend.')), [], 'nothing after the step is stored');
  });
});
