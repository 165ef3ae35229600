/**
 * Recall search (`conversation_search`) on the real stack: ranked full text, a fuzzy fallback for
 * names and typos, role and date filters, pages, messages out of context; never the messages of
 * a consolidation turn.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { IdPrefix, newId } from '../../src/domain/ids.ts';
import type { ToolReturnMessage } from '../../src/domain/letta-message.ts';
import type { MessageRole } from '../../src/domain/stored-message.ts';
import { searchMessages, tryInsertMessage, type MessageSearch } from '../../src/db/message-store.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createDb } from '../../src/db/pool.ts';
import { startEmbeddedPostgres } from '../../src/dev/embedded-postgres.ts';
import { freePort } from '../../src/dev/temporal-cli.ts';
import { conversationSearch } from '../../src/tools/memory-tools.ts';
import { createTestDatabase, startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, model, db } = stack;

const agent = await client.createAgent({
  name: 'historian',
  llm_config: stack.llmConfig,
  memory_blocks: [
    { label: 'human', value: 'Name: unknown.' },
    { label: 'persona', value: 'I am a helpful assistant.' },
  ],
});

interface Seed {
  role: MessageRole;
  content: string;
  day: string;
  toolName?: string;
}

const GARDENING = Array.from({ length: 12 }, (_, i): Seed => ({
  role: i % 2 === 0 ? 'user' : 'assistant',
  content: `Gardening note ${i + 1}: water the tomatoes.`,
  day: `2024-04-${String(i + 1).padStart(2, '0')}`,
}));

/** An old conversation, stored as recall memory and evicted from the context, as compaction leaves it. */
const SEEDS: Seed[] = [
  { role: 'user', content: 'I am planning a trip to Lisbon in May with my sister.', day: '2024-03-01' },
  { role: 'assistant', content: 'Lisbon is lovely in spring; pack light.', day: '2024-03-02' },
  { role: 'user', content: 'The trip home took nine hours.', day: '2024-03-03' },
  { role: 'user', content: 'My colleague John Smith recommended a restaurant in Porto.', day: '2024-03-04' },
  { role: 'user', content: 'Bjørn from the Oslo office sends his regards.', day: '2024-03-05' },
  { role: 'tool', content: 'Sunny in Lisbon, 24 degrees.', day: '2024-03-06', toolName: 'lookup_weather' },
  // an earlier search's own result: finding it again would only echo that search
  { role: 'tool', content: '{"results":[{"content":"Lisbon in May"}]}', day: '2024-03-06', toolName: 'conversation_search' },
  { role: 'user', content: 'Lisboa is what the locals call it.', day: '2024-03-07' },
  { role: 'assistant', content: 'Lisbon, Lisbon, Lisbon: you keep saying Lisbon!', day: '2024-03-08' },
  ...GARDENING,
];

for (const seed of SEEDS) {
  const row = await tryInsertMessage(db, {
    agentId: agent.id,
    turnId: newId(IdPrefix.Message),
    step: 0,
    idx: 0,
    role: seed.role,
    content: seed.content,
    ...(seed.toolName ? { toolName: seed.toolName, toolCallId: `call-${SEEDS.indexOf(seed)}`, toolStatus: 'success' as const } : {}),
    tokens: 10,
    sequenced: true,
  });
  await db.query(`UPDATE messages SET created_at = $2::date + time '12:00', in_context = false WHERE id = $1`, [row!.id, seed.day]);
}

async function search(s: Partial<MessageSearch>): Promise<{ contents: string[]; matches: (string | null)[]; hasMore: boolean }> {
  const page = await searchMessages(db, agent.id, { limit: 10, ...s });
  return { contents: page.hits.map((h) => h.message.content ?? ''), matches: page.hits.map((h) => h.match), hasMore: page.hasMore };
}

/** The tool as the model calls it: arguments validated by its schema, its result as JSON. */
async function callTool(args: Record<string, unknown>): Promise<{ message: string; results: { role: string; content: string; timestamp: string; match?: string; tool_name?: string }[]; page: number; has_more: boolean }> {
  const parsed = conversationSearch.parameters.parse(args);
  return JSON.parse(JSON.stringify(await conversationSearch.execute(parsed, { tx: db, agentId: agent.id, callKey: newId(IdPrefix.Message) })));
}

describe('recall search', () => {
  test('puts the message with all the query words first, then those with some of them', async () => {
    const r = await search({ query: 'Lisbon trip' });
    assert.equal(r.contents[0], 'I am planning a trip to Lisbon in May with my sister.');
    const fullText = r.contents.filter((_, i) => r.matches[i] === 'full_text');
    assert.deepEqual(
      [...fullText].sort(),
      [
        'I am planning a trip to Lisbon in May with my sister.',
        'Lisbon is lovely in spring; pack light.',
        'Lisbon, Lisbon, Lisbon: you keep saying Lisbon!',
        'Sunny in Lisbon, 24 degrees.',
        'The trip home took nine hours.',
      ],
    );
    // the full-text matches come before any fuzzy one
    assert.deepEqual(r.matches.slice(0, 5), Array(5).fill('full_text'));
    assert.ok(r.contents.every((c) => !c.startsWith('{"results"')), 'a conversation_search result was found');
  });

  test('stemmed words match: "trips" finds "trip"', async () => {
    const r = await search({ query: 'trips' });
    assert.ok(r.contents.includes('The trip home took nine hours.'), JSON.stringify(r.contents));
    assert.ok(r.matches.includes('full_text'));
  });

  test('websearch syntax is taken as written: a quoted phrase, an excluded word', async () => {
    assert.deepEqual((await search({ query: '"trip to Lisbon"' })).contents, ['I am planning a trip to Lisbon in May with my sister.']);
    assert.deepEqual((await search({ query: 'Lisbon -sister' })).contents.sort(), [
      'Lisbon is lovely in spring; pack light.',
      'Lisbon, Lisbon, Lisbon: you keep saying Lisbon!',
      'Sunny in Lisbon, 24 degrees.',
    ]);
  });

  test('typos and names are found by similarity when the full text finds nothing', async () => {
    for (const [query, expected] of [
      ['Jonh', 'My colleague John Smith recommended a restaurant in Porto.'],
      ['Lisbn', 'I am planning a trip to Lisbon in May with my sister.'],
      ['Bjorn', 'Bjørn from the Oslo office sends his regards.'],
      ['gardning', 'Gardening note 12: water the tomatoes.'],
    ] as const) {
      const r = await search({ query });
      assert.ok(r.contents.includes(expected), `${query}: ${JSON.stringify(r.contents)}`);
      assert.ok(r.matches.every((m) => m === 'fuzzy'), `${query}: ${JSON.stringify(r.matches)}`);
    }
    assert.equal((await search({ query: 'Jonh' })).contents[0], 'My colleague John Smith recommended a restaurant in Porto.');
    assert.equal((await search({ query: 'Bjorn' })).contents[0], 'Bjørn from the Oslo office sends his regards.');
  });

  test('fuzzy matches fill a page the full text leaves short, after the full-text ones', async () => {
    const r = await search({ query: 'Lisbon' });
    assert.deepEqual(r.matches, ['full_text', 'full_text', 'full_text', 'full_text', 'fuzzy']);
    // the message that says it most, for its length, first
    assert.equal(r.contents[0], 'Lisbon, Lisbon, Lisbon: you keep saying Lisbon!');
    assert.equal(r.contents.at(-1), 'Lisboa is what the locals call it.');
    assert.equal(r.hasMore, false);
  });

  test('pages are disjoint, in order, and say when there are more, also across full text and fuzzy', async () => {
    for (const [query, limit] of [['gardening', 5], ['Lisbon', 1], ['Lisbon', 3]] as const) {
      const all = await search({ query, limit: 100 });
      const pages: string[] = [];
      for (let page = 0; ; page++) {
        const r = await search({ query, limit, page });
        pages.push(...r.contents);
        assert.ok(r.contents.length <= limit);
        if (!r.hasMore) {
          assert.deepEqual(await search({ query, limit, page: page + 1 }), { contents: [], matches: [], hasMore: false });
          break;
        }
        assert.equal(r.contents.length, limit);
      }
      assert.deepEqual(pages, all.contents, `${query} by ${limit}`);
      assert.equal(new Set(pages).size, pages.length);
    }
    const gardening = await search({ query: 'gardening', limit: 100 });
    assert.deepEqual(gardening.matches.slice(0, 12), Array(12).fill('full_text'));
    assert.ok(gardening.contents.slice(0, 12).every((c) => c.startsWith('Gardening note')));
  });

  test('roles filter, and a tool result is found by its content', async () => {
    assert.deepEqual((await search({ query: 'Lisbon', roles: ['assistant'] })).contents.sort(), [
      'Lisbon is lovely in spring; pack light.',
      'Lisbon, Lisbon, Lisbon: you keep saying Lisbon!',
    ]);
    assert.deepEqual((await search({ query: 'Lisbon', roles: ['tool'] })).contents, ['Sunny in Lisbon, 24 degrees.']);
  });

  test('messages out of context are found', async () => {
    const r = await search({ query: 'Bjørn' });
    assert.deepEqual(r.contents, ['Bjørn from the Oslo office sends his regards.']);
    const { rows } = await db.query<{ in_context: boolean }>(`SELECT in_context FROM messages WHERE agent_id = $1 AND content LIKE 'Bjørn%'`, [agent.id]);
    assert.deepEqual(rows, [{ in_context: false }]);
  });

  test("the tool takes Letta's arguments: dates (a whole day, or to the minute), roles, limit and page", async () => {
    const day = await callTool({ query: 'Lisbon', start_date: '2024-03-02', end_date: '2024-03-02' });
    assert.deepEqual(day.results.map((r) => [r.role, r.content, r.match]), [['assistant', 'Lisbon is lovely in spring; pack light.', 'full_text']]);
    assert.equal(day.results[0]!.timestamp, '2024-03-02T12:00:00.000Z');
    const span = await callTool({ query: 'Lisbon', start_date: '2024-03-02T12:01', end_date: '2024-03-06' });
    assert.deepEqual(span.results.map((r) => [r.content, r.tool_name]), [['Sunny in Lisbon, 24 degrees.', 'lookup_weather']]);

    const first = await callTool({ query: 'tomatoes', roles: ['user'], limit: 4 });
    assert.deepEqual([first.results.length, first.page, first.has_more], [4, 0, true]);
    assert.match(first.message, /call again with page 1/);
    const second = await callTool({ query: 'tomatoes', roles: ['user'], limit: 4, page: 1 });
    assert.deepEqual([second.results.length, second.page, second.has_more], [2, 1, false]);
    assert.ok(second.results.every((r) => r.role === 'user' && !first.results.some((f) => f.content === r.content)));
    assert.match(second.message, /No more results/);

    // without a query: the newest messages, no match kind
    const newest = await callTool({ limit: 2 });
    assert.deepEqual(newest.results.map((r) => [r.content, r.match]), [['Gardening note 12: water the tomatoes.', undefined], ['Gardening note 11: water the tomatoes.', undefined]]);
    assert.equal((await callTool({ query: 'zzzzqqq' })).message, 'No results found.');

    const bad = conversationSearch.parameters.safeParse({ query: 'x', start_date: 'yesterday', page: -1 });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error!.issues.map((i) => i.path.join('.')).sort(), ['page', 'start_date']);
    assert.match(bad.error!.issues.find((i) => i.path[0] === 'start_date')!.message, /YYYY-MM-DD/);
  });

  test('the model calls conversation_search in a turn and reads an evicted message found by a misspelled name', async () => {
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'conversation_search', arguments: { query: 'Jonh', limit: 1 } }] },
      { kind: 'reply', content: 'John Smith recommended it.' },
    );
    const r = await client.userMessage(agent.id, 'Who recommended the restaurant in Porto?');
    const ret = r.messages.find((m): m is ToolReturnMessage => m.message_type === 'tool_return_message');
    assert.equal(ret?.status, 'success');
    const result = JSON.parse(ret.tool_return) as { results: { content: string; match: string }[] };
    assert.deepEqual(result.results.map((x) => [x.content, x.match]), [['My colleague John Smith recommended a restaurant in Porto.', 'fuzzy']]);
    // the model's next request carried the found message
    const toolMessages = model.chatRequests().at(-1)!.messages.filter((m) => (m as { role: string }).role === 'tool') as { content: string }[];
    assert.match(toolMessages.at(-1)?.content ?? '', /John Smith recommended a restaurant/);
    // the question itself is in recall now too, in context
    assert.deepEqual((await search({ query: 'restaurant Porto', limit: 2 })).contents.sort(), [
      'My colleague John Smith recommended a restaurant in Porto.',
      'Who recommended the restaurant in Porto?',
    ]);
  });

  test('never finds the messages of a consolidation turn', async () => {
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Knows a zeppelin pilot.' } }] },
      { kind: 'reply', content: 'Noted the zeppelin pilot.' },
    );
    const consolidation = await client.consolidateMemory(agent.id);
    assert.equal(consolidation.status, 'consolidated');
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM messages WHERE turn_id = $1 AND content ILIKE '%zeppelin%'`, [consolidation.messageId]);
    assert.equal(rows[0]!.n, 1);
    for (const query of ['zeppelin', 'zepelin', 'Noted the']) {
      assert.ok(!(await search({ query, limit: 100 })).contents.some((c) => /zeppelin|memory system/i.test(c)), query);
    }
    const newest = await searchMessages(db, agent.id, { limit: 100 });
    assert.ok(newest.hits.every((h) => h.message.turnId !== consolidation.messageId));
  });
});

describe('recall search on PGlite (memloom dev without DATABASE_URL)', () => {
  test('the migration creates the trigram index and a misspelled name is found', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'memloom-recall-'));
    const pglite = await startEmbeddedPostgres({ dataDir: join(dir, 'pgdata'), port: await freePort() });
    // PGlite is one session: one connection
    const lite = createDb({ connectionString: pglite.url, max: 1 });
    try {
      await migrate(lite);
      const { rows: indexes } = await lite.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE tablename = 'messages' AND indexname LIKE 'messages_recall_%' ORDER BY 1`);
      assert.deepEqual(indexes.map((r) => r.indexname), ['messages_recall_fts_idx', 'messages_recall_trgm_idx']);
      const liteAgent = { id: 'agent-00000000-0000-4000-8000-00000000000a' };
      await lite.query(`INSERT INTO agents (id, name, system, llm_config) VALUES ($1, 'lite', 'You remember.', '{}')`, [liteAgent.id]);
      for (const content of ['My colleague John Smith recommended a restaurant in Porto.', 'Bjørn sends his regards.', 'The weather is fine.']) {
        await tryInsertMessage(lite, { agentId: liteAgent.id, turnId: newId(IdPrefix.Message), step: 0, idx: 0, role: 'user', content, tokens: 10, sequenced: true });
      }
      for (const [query, expected] of [['Jonh', 'My colleague John Smith recommended a restaurant in Porto.'], ['Bjorn', 'Bjørn sends his regards.'], ['weather', 'The weather is fine.']]) {
        const page = await searchMessages(lite, liteAgent.id, { query, limit: 5 });
        assert.equal(page.hits[0]?.message.content, expected, query);
      }
    } finally {
      await lite.end();
      await pglite.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('recall search without pg_trgm', () => {
  test('falls back to a substring match, with a warning once', async () => {
    const { db: plain } = await createTestDatabase();
    await plain.query('DROP EXTENSION pg_trgm CASCADE');
    const agentId = 'agent-00000000-0000-4000-8000-00000000000b';
    await plain.query(`INSERT INTO agents (id, name, system, llm_config) VALUES ($1, 'plain', 'You remember.', '{}')`, [agentId]);
    for (const content of ['My colleague John Smith recommended a restaurant in Porto.', 'Bjørn sends his regards.']) {
      await tryInsertMessage(plain, { agentId, turnId: newId(IdPrefix.Message), step: 0, idx: 0, role: 'user', content, tokens: 10, sequenced: true });
    }
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }): void => void warnings.push(w.code ?? w.message);
    process.on('warning', onWarning);
    try {
      const hit = await searchMessages(plain, agentId, { query: 'ohn Smi', limit: 5 });
      assert.deepEqual(hit.hits.map((h) => [h.message.content, h.match]), [['My colleague John Smith recommended a restaurant in Porto.', 'fuzzy']]);
      // accents still fold (unaccent); typos are no longer found
      assert.deepEqual((await searchMessages(plain, agentId, { query: 'Bjorn', limit: 5 })).hits.map((h) => h.message.content), ['Bjørn sends his regards.']);
      assert.deepEqual((await searchMessages(plain, agentId, { query: 'Jonh', limit: 5 })).hits, []);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, ['MEMLOOM_NO_PG_TRGM']);
  });
});
