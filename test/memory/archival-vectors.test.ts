/**
 * Archival memory with embeddings on the real stack (Temporal, PostgreSQL 15 without pgvector,
 * the scripted model server's semantic embeddings): `archival_memory_insert` stores each passage
 * with its vector and `archival_memory_search` finds it by meaning — in a turn and through the
 * SDK; hybrid ranking by reciprocal rank fusion, tag and time filters; bad input and an
 * embedding endpoint that fails give a clear error and insert nothing.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino from 'pino';
import { insertPassages, RRF_K, searchPassages, type PassageSearch, type PassageVectorQuery } from '../../src/db/passage-store.ts';
import { freePort } from '../../src/dev/temporal-cli.ts';
import { TurnFailedError, ValidationError } from '../../src/domain/errors.ts';
import type { ToolReturnMessage } from '../../src/domain/letta-message.ts';
import { embedTexts, EmbeddingError } from '../../src/llm/embeddings.ts';
import { ModelClients } from '../../src/llm/model-client.ts';
import { archivalMemoryInsert, archivalMemorySearch, type MemoryToolPrepareContext } from '../../src/tools/memory-tools.ts';
import { startTestStack } from '../helpers/stack.ts';
import { BOATS, DIM, PASSAGES, QUERIES, embeddingConfig } from './archival-fixtures.ts';

/** The worker's log lines: the exact-scan notice. */
const logLines: string[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
);

const stack = await startTestStack({ startWorker: false });
await stack.startWorker({ logger });
const { client, model, db } = stack;
const config = embeddingConfig(model.url);
const clients = new ModelClients({ defaultBaseUrl: undefined, apiKey: undefined });
const embed = async (texts: readonly string[]): Promise<number[][]> => (await embedTexts(clients, config, texts)).vectors;

let agents = 0;
async function newAgent(options: { embedding?: boolean; endpoint?: string } = {}): Promise<{ id: string; name: string }> {
  const name = `archivist-${++agents}`;
  return client.createAgent({
    name,
    llm_config: stack.llmConfig,
    ...(options.embedding === false ? {} : { embedding_config: { ...config, ...(options.endpoint ? { embedding_endpoint: options.endpoint } : {}) } }),
    memory_blocks: [{ label: 'human', value: '' }],
  });
}

async function passageCount(agentId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM passages WHERE agent_id = $1', [agentId]);
  return rows[0]!.n;
}

const embeddingRequests = (): number => model.requests.filter((r) => r.path.endsWith('/embeddings')).length;

function toolReturns(messages: readonly { message_type: string }[]): ToolReturnMessage[] {
  return messages.filter((m): m is ToolReturnMessage => m.message_type === 'tool_return_message');
}

function assertClose(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} is not ${expected}`);
}

/** A search of the store, as texts. */
async function texts(agentId: string, s: PassageSearch & PassageVectorQuery): Promise<string[]> {
  return (await searchPassages(db, agentId, s)).map((p) => p.text);
}

describe('archival memory with embeddings', () => {
  test('the worker says once, at start, that vector search is an exact scan here (no pgvector)', () => {
    const notices = logLines.filter((l) => l.includes('archival search'));
    assert.equal(notices.length, 1);
    assert.match(notices[0]!, /the pgvector extension is not available in this database; vector search is an exact scan/);
  });

  test('in a turn: archival_memory_insert stores each passage with its vector; archival_memory_search finds one by meaning', async () => {
    const agent = await newAgent();
    model.enqueue(
      { kind: 'reply', toolCalls: PASSAGES.map((content, i) => ({ name: 'archival_memory_insert', arguments: { content, tags: [i === 0 ? 'hobby' : 'misc'] } })) },
      { kind: 'reply', content: 'All noted.' },
    );
    const stored = await client.userMessage(agent.id, 'Please remember these notes.');
    assert.deepEqual(toolReturns(stored.messages).map((r) => r.status), PASSAGES.map(() => 'success'));
    const { rows } = await db.query<{ text: string; embedding_model: string; embedding_dim: number; norm: number }>(
      'SELECT text, embedding_model, embedding_dim, memloom_dot(embedding, embedding) AS norm FROM passages WHERE agent_id = $1 ORDER BY text',
      [agent.id],
    );
    assert.deepEqual(rows.map((r) => r.text), [...PASSAGES].sort());
    for (const r of rows) {
      assert.deepEqual([r.embedding_model, r.embedding_dim], [config.embedding_model, DIM]);
      assert.ok(Math.abs(r.norm - 1) < 1e-5, `stored unit length, got ${r.norm}`);
    }

    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'archival_memory_search', arguments: { query: 'sailing a kayak on the ocean', top_k: 3 } }] },
      { kind: 'reply', content: 'You sailed across the bay.' },
    );
    const found = await client.userMessage(agent.id, 'What do you know about my time on the water?');
    const [ret] = toolReturns(found.messages);
    assert.equal(ret?.status, 'success');
    const results = JSON.parse(ret.tool_return) as { content: string; tags: string[]; timestamp: string }[];
    assert.equal(results.length, 3);
    assert.deepEqual([results[0]!.content, results[0]!.tags], [BOATS, ['hobby']]);
    // the model's next request carried it
    const toolMessage = model.chatRequests().at(-1)!.messages.findLast((m) => (m as { role: string }).role === 'tool') as { content: string };
    assert.match(toolMessage.content, /sailboat across the bay/);
  });

  test('through the SDK: passages are embedded on insert and found by meaning, best first, with scores', async () => {
    const agent = await newAgent();
    for (const text of PASSAGES) {
      const passage = await client.insertArchivalMemory(agent.name, text, ['note']);
      assert.equal(passage.embedding_model, config.embedding_model);
    }
    for (const [query, first] of QUERIES) {
      const found = await client.searchArchivalMemory(agent.name, query, 3);
      assert.equal(found[0]?.text, first, `${query}: ${found.map((p) => p.text).join(' | ')}`);
      const scores = found.map((p) => p.score!);
      assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
      // vector rank 1, in no full-text list
      assertClose(scores[0]!, 1 / (RRF_K + 1));
    }
    // without a query: the newest passages, filtered
    assert.deepEqual((await client.searchArchivalMemory(agent.name, undefined, 2)).map((p) => p.text), PASSAGES.slice(-2).reverse());
    assert.deepEqual(await client.searchArchivalMemory(agent.name, undefined, 10, { tags: ['other'] }), []);
  });

  test('an agent without an embedding_config: passages without vectors, full-text search as before', async () => {
    const agent = await newAgent({ embedding: false });
    const before = embeddingRequests();
    await client.insertArchivalMemory(agent.id, BOATS);
    assert.equal(embeddingRequests(), before, 'nothing embedded');
    const { rows } = await db.query('SELECT embedding, embedding_model, embedding_dim FROM passages WHERE agent_id = $1', [agent.id]);
    assert.deepEqual(rows, [{ embedding: null, embedding_model: null, embedding_dim: null }]);
    assert.deepEqual(await client.searchArchivalMemory(agent.id, 'sailing a kayak on the ocean'), []);
    assert.deepEqual((await client.searchArchivalMemory(agent.id, 'sailboat')).map((p) => p.text), [BOATS]);
  });

  test('the tool directly: prepare embeds before any transaction, execute stores and searches', async () => {
    const agent = await newAgent();
    const ctx: MemoryToolPrepareContext = { agentId: agent.id, embed: async (t) => ({ vectors: await embed(t), model: config.embedding_model }) };
    for (const [i, content] of PASSAGES.entries()) {
      const args = archivalMemoryInsert.parameters.parse({ content });
      const vector = await archivalMemoryInsert.prepare!(args, ctx);
      await archivalMemoryInsert.execute(args, { tx: db, agentId: agent.id, callKey: `${agent.id}/direct/${i}` }, vector);
      // a retried call (same key) stores nothing new
      await archivalMemoryInsert.execute(args, { tx: db, agentId: agent.id, callKey: `${agent.id}/direct/${i}` }, vector);
    }
    assert.equal(await passageCount(agent.id), PASSAGES.length);
    const args = archivalMemorySearch.parameters.parse({ query: 'money owed to the bank', top_k: 1 });
    const results = (await archivalMemorySearch.execute(args, { tx: db, agentId: agent.id, callKey: 'search' }, await archivalMemorySearch.prepare!(args, ctx))) as { content: string }[];
    assert.deepEqual(results.map((r) => r.content), [QUERIES[1]![1]]);
  });
});

describe('hybrid ranking and filters', () => {
  const RECEIPT = 'boat trip receipt filed with invoice payment and bank tax deduction';
  const VOYAGE = 'sailing boats on a long voyage';
  const OLD = 'An old ferry crossing, years ago.';

  test('a passage in both lists ranks above one nearer by vector alone; scores are RRF sums', async () => {
    const agent = await newAgent();
    const all = [RECEIPT, VOYAGE, ...PASSAGES];
    const vectors = await embed(all);
    await insertPassages(
      db,
      agent.id,
      all.map((text, i) => ({ text, tags: [text === RECEIPT ? 'receipts' : text === VOYAGE ? 'trips' : 'misc'], sourceKey: `${agent.id}/${i}`, embedding: vectors[i]!, embeddingModel: config.embedding_model })),
    );
    const [q] = await embed(['boat trip']);
    const s = { query: 'boat trip', topK: 5, embedding: q!, embeddingModel: config.embedding_model };
    // each list alone: the voyage is nearest by vector; only the receipt has both words
    const byVector = await texts(agent.id, { ...s, query: 'zzzz' });
    assert.deepEqual(byVector.slice(0, 2), [VOYAGE, RECEIPT]);
    assert.deepEqual(await texts(agent.id, { ...s, embedding: null }), [RECEIPT]);

    const fused = await searchPassages(db, agent.id, s);
    assert.deepEqual(fused.slice(0, 2).map((p) => p.text), [RECEIPT, VOYAGE]);
    assertClose(fused[0]!.score, 1 / (RRF_K + 1) + 1 / (RRF_K + 2));
    assertClose(fused[1]!.score, 1 / (RRF_K + 1));
  });

  test('tags (any or all) and times filter both lists', async () => {
    const agent = await newAgent();
    const all = [RECEIPT, VOYAGE, OLD, ...PASSAGES];
    const tags = (text: string): string[] => (text === RECEIPT ? ['receipts', 'travel'] : text === VOYAGE ? ['travel'] : text === OLD ? ['travel', 'memories'] : ['misc']);
    const vectors = await embed(all);
    await insertPassages(db, agent.id, all.map((text, i) => ({ text, tags: tags(text), sourceKey: `${agent.id}/${i}`, embedding: vectors[i]!, embeddingModel: config.embedding_model })));
    await db.query(`UPDATE passages SET created_at = '2020-06-01T12:00:00Z' WHERE agent_id = $1 AND text = $2`, [agent.id, OLD]);
    const [q] = await embed(['boat trip']);
    const s = { query: 'boat trip', topK: 10, embedding: q!, embeddingModel: config.embedding_model };
    const sorted = async (extra: Partial<PassageSearch>): Promise<string[]> => (await texts(agent.id, { ...s, ...extra })).sort();

    assert.deepEqual(await sorted({ tags: ['travel'] }), [OLD, RECEIPT, VOYAGE].sort());
    assert.deepEqual(await sorted({ tags: ['receipts', 'memories'] }), [OLD, RECEIPT].sort());
    assert.deepEqual(await sorted({ tags: ['travel', 'receipts'], tagMatchMode: 'all' }), [RECEIPT]);
    assert.deepEqual(await sorted({ tags: ['travel'], end: new Date('2021-01-01') }), [OLD]);
    assert.deepEqual(await sorted({ tags: ['travel'], start: new Date('2021-01-01') }), [RECEIPT, VOYAGE].sort());
    // the full-text list too: the receipt alone has the words, and it is too new
    assert.deepEqual(await texts(agent.id, { ...s, embedding: null, end: new Date('2021-01-01') }), []);

    // Letta's arguments of the tool, and the SDK's filters
    const args = archivalMemorySearch.parameters.parse({ query: 'boat trip', tags: ['travel', 'receipts'], tag_match_mode: 'all', start_datetime: '2021-01-01T00:00:00Z' });
    const ctx: MemoryToolPrepareContext = { agentId: agent.id, embed: async (t) => ({ vectors: await embed(t), model: config.embedding_model }) };
    const results = (await archivalMemorySearch.execute(args, { tx: db, agentId: agent.id, callKey: 'filters' }, await archivalMemorySearch.prepare!(args, ctx))) as { content: string }[];
    assert.deepEqual(results.map((r) => r.content), [RECEIPT]);
    const sdk = await client.searchArchivalMemory(agent.id, 'ocean crossing', 10, { tags: ['memories'], end: new Date('2021-01-01') });
    assert.deepEqual(sdk.map((p) => p.text), [OLD]);
  });
});

describe('bad input and a failing embedding endpoint: a clear error, nothing inserted', () => {
  test('an empty passage: the model reads which argument is wrong; the SDK names the field', async () => {
    const agent = await newAgent();
    const before = embeddingRequests();
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'archival_memory_insert', arguments: { content: '   ' } }] },
      { kind: 'reply', content: 'Nothing to store.' },
    );
    const r = await client.userMessage(agent.id, 'Remember nothing.');
    const [ret] = toolReturns(r.messages);
    assert.equal(ret?.status, 'error');
    assert.match(ret.tool_return, /invalid arguments for archival_memory_insert: content: must not be empty/);

    await assert.rejects(client.insertArchivalMemory(agent.id, ' \n '), (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.deepEqual(e.issues.map((i) => i.path), ['text']);
      assert.match(e.message, /must not be empty/);
      return true;
    });
    await assert.rejects(insertPassages(db, agent.id, [{ text: '', tags: [], sourceKey: 'empty', embedding: null, embeddingModel: null }]), /passages\.0\.text: must not be empty/);
    assert.equal(await passageCount(agent.id), 0);
    assert.equal(embeddingRequests(), before, 'nothing was sent to be embedded');
  });

  test('the store refuses vectors of different dimensions, a vector without its model, a zero vector', async () => {
    const agent = await newAgent();
    const row = (embedding: number[] | null, embeddingModel: string | null, i = 0) => ({ text: `t${i}`, tags: [], sourceKey: `${agent.id}/bad/${i}`, embedding, embeddingModel });
    await assert.rejects(insertPassages(db, agent.id, [row([1, 0], 'm'), row([1, 0, 0], 'm', 1)]), /passages\.1\.embedding: has 3 dimensions, the first vector 2/);
    await assert.rejects(insertPassages(db, agent.id, [row([1, 0], null)]), /passages\.0\.embeddingModel/);
    await assert.rejects(insertPassages(db, agent.id, [row([0, 0], 'm')]), /passages\.0\.embedding: must not be all zeros/);
    assert.equal(await passageCount(agent.id), 0);
  });

  test('the SDK with its endpoint down: an EmbeddingError saying nothing was inserted; search falls back to full text', async () => {
    const agent = await newAgent({ endpoint: `http://127.0.0.1:${await freePort()}/v1` });
    await assert.rejects(client.insertArchivalMemory(agent.id, BOATS), (e: unknown) => {
      assert.ok(e instanceof EmbeddingError);
      assert.equal(e.type, 'Connection');
      assert.match(e.message, /^passage not inserted: embedding with text-embedding-3-small failed: .*127\.0\.0\.1/);
      return true;
    });
    assert.equal(await passageCount(agent.id), 0);
    await insertPassages(db, agent.id, [{ text: BOATS, tags: [], sourceKey: `${agent.id}/plain`, embedding: null, embeddingModel: null }]);
    assert.deepEqual((await client.searchArchivalMemory(agent.id, 'sailboat')).map((p) => p.text), [BOATS]);
  });

  test('the tool with its endpoint refusing the key: the turn fails, typed and clear, and nothing is inserted', async () => {
    const agent = await newAgent();
    model.failEmbeddings({ kind: 'error', status: 401 });
    model.enqueue({ kind: 'reply', toolCalls: [{ name: 'archival_memory_insert', arguments: { content: BOATS } }] });
    let caught: unknown;
    await client.userMessage(agent.id, 'Remember my sailing trip.').catch((e: unknown) => (caught = e));
    assert.ok(caught instanceof TurnFailedError, `expected TurnFailedError, got ${String(caught)}`);
    assert.equal(caught.type, 'AuthFailed');
    assert.match(caught.message, /embedding with text-embedding-3-small failed/);
    assert.equal(await passageCount(agent.id), 0);
  });

  test('a transient embedding failure is retried by Temporal and the passage is stored once', async () => {
    const agent = await newAgent();
    const before = embeddingRequests();
    // the first attempt's request and its one retry by the SDK
    model.failEmbeddings({ kind: 'error', status: 503 }, { kind: 'error', status: 503 });
    model.enqueue({ kind: 'reply', toolCalls: [{ name: 'archival_memory_insert', arguments: { content: BOATS } }] }, { kind: 'reply', content: 'Noted.' });
    const r = await client.userMessage(agent.id, 'Remember my sailing trip.');
    assert.equal(toolReturns(r.messages)[0]?.status, 'success');
    assert.equal(embeddingRequests() - before, 3);
    assert.equal(await passageCount(agent.id), 1);
  });
});
