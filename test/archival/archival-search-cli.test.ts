/**
 * `memloom archival search AGENT [QUERY]` on the real stack (PostgreSQL without pgvector, the
 * scripted model server's semantic embeddings): hybrid search finds a passage by meaning and
 * shows each passage's score; --tag, --tag-match, --start and --end filter (a date alone as --end
 * takes in its whole day); without a query, the newest passages under the filters; an agent
 * without embedding_config, or whose endpoint is down, is searched by its words; bad flags are
 * errors naming the flag.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Passage } from '../../src/db/passage-store.ts';
import { freePort } from '../../src/dev/temporal-cli.ts';
import { errorOf, parsed, runCliInProcess } from '../helpers/cli.ts';
import { startTestStack } from '../helpers/stack.ts';
import { BOATS, COOKING, PASSAGES, TAXES, embeddingConfig } from '../memory/archival-fixtures.ts';

const stack = await startTestStack({ startWorker: false });
const { client, db, model } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);
const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue, MEMLOOM_LOG_LEVEL: 'silent' };
const memloom = (...args: string[]) => runCliInProcess(ENV, args);

/** Tags and creation day (UTC) of the fixture passages, by text. */
const SEEDED: Record<string, { tags: string[]; day: string }> = {
  [BOATS]: { tags: ['hobby', 'summer'], day: '2025-01-10' },
  [TAXES]: { tags: ['money'], day: '2025-02-14' },
  [COOKING]: { tags: ['hobby'], day: '2025-03-01' },
};

/** An agent with the fixture passages: with vectors when `embedding`, each stored at noon of its day. */
async function archivist(name: string, embedding: boolean): Promise<void> {
  await client.createAgent({ name, ...(embedding ? { embedding_config: embeddingConfig(model.url) } : {}) });
  for (const text of PASSAGES) {
    const passage = await client.insertArchivalMemory(name, text, SEEDED[text]?.tags ?? ['misc']);
    await db.query(`UPDATE passages SET created_at = $2 WHERE id = $1`, [passage.id, `${SEEDED[text]?.day ?? '2024-12-01'}T12:00:00Z`]);
  }
}

await archivist('searcher', true);
await archivist('wordsmith', false);

const texts = (passages: Passage[]): string[] => passages.map((p) => p.text);
const search = async (...args: string[]): Promise<Passage[]> => parsed<Passage[]>(await memloom('archival', 'search', ...args, '--json'));

describe('memloom archival search', () => {
  test('hybrid: a query sharing no word with a passage finds it first by meaning, each passage printed with its score', async () => {
    const run = await memloom('archival', 'search', 'searcher', 'sailing a kayak on the ocean', '--top-k', '3');
    assert.equal(run.code, 0, run.stderr);
    const [first, ...rest] = run.stdout.trimEnd().split('\n');
    assert.match(first!, /^passage-[0-9a-f-]+ {2}2025-01-10T12:00:00\.000Z {2}score 0\.\d{4} {2}\[hobby, summer\]$/);
    assert.equal(rest[0], `  ${BOATS}`);
    assert.equal(run.stdout.match(/score 0\.\d{4}/g)?.length, 3, run.stdout);

    const found = await search('searcher', 'sailing a kayak on the ocean', '--top-k', '3');
    assert.equal(found.length, 3);
    assert.equal(found[0]!.text, BOATS);
    assert.ok(found.every((p) => typeof p.score === 'number' && p.score > 0), JSON.stringify(found));
    assert.ok(found[0]!.score! >= found[1]!.score!);
  });

  test('--tag, --tag-match all, --start and --end filter; a date alone as --end takes in its whole day', async () => {
    const query = 'sailing a kayak on the ocean';
    assert.deepEqual(new Set(texts(await search('searcher', query, '--tag', 'hobby'))), new Set([BOATS, COOKING]));
    assert.deepEqual(texts(await search('searcher', query, '--tag', 'hobby', '--tag', 'money', '--tag-match', 'all')), []);
    assert.deepEqual(texts(await search('searcher', query, '--tag', 'hobby', '--tag', 'summer', '--tag-match', 'all')), [BOATS]);
    assert.deepEqual(new Set(texts(await search('searcher', query, '--tag', 'summer', '--tag', 'money'))), new Set([BOATS, TAXES]));
    assert.deepEqual(new Set(texts(await search('searcher', query, '--start', '2025-02-01'))), new Set([TAXES, COOKING]));
    // passages at noon: --end 2025-02-14 is the end of that day, --end with a time before noon is not
    assert.deepEqual(new Set(texts(await search('searcher', query, '--start', '2025-01-10', '--end', '2025-02-14'))), new Set([BOATS, TAXES]));
    assert.deepEqual(texts(await search('searcher', query, '--start', '2025-01-11', '--end', '2025-02-14T11:00:00Z')), []);
    assert.deepEqual(texts(await search('searcher', query, '--start', '2025-02-14T13:00:00+02:00', '--end', '2025-02-14T14:00:00+02:00')), [TAXES]);
  });

  test('without a query: the newest passages under the filters, without a score', async () => {
    const run = await memloom('archival', 'search', 'searcher', '--tag', 'hobby');
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, /score/);
    assert.deepEqual(texts(await search('searcher', '--tag', 'hobby')), [COOKING, BOATS]);
    assert.deepEqual(texts(await search('searcher', '--end', '2025-01-31', '--top-k', '1')), [BOATS]);
  });

  test('by words alone for an agent without embedding_config, and while the embedding endpoint is down', async () => {
    assert.deepEqual(texts(await search('wordsmith', 'sailing a kayak on the ocean')), [], 'no word in common, no vector to go by');
    const [hit] = await search('wordsmith', 'sailboat');
    assert.equal(hit?.text, BOATS);
    assert.ok(hit.score! > 0);

    await client.updateAgent('searcher', { embedding_config: { ...embeddingConfig(`http://127.0.0.1:${await freePort()}/v1`) } });
    try {
      assert.deepEqual(texts(await search('searcher', 'sailboat', '--tag', 'hobby')), [BOATS]);
    } finally {
      await client.updateAgent('searcher', { embedding_config: embeddingConfig(model.url) });
    }
  });

  test('bad flags: an error naming the flag and why', async () => {
    const cases: [string[], string, RegExp][] = [
      [['--top-k', '0'], '--top-k', /must be at least 1/],
      [['--tag', ''], '--tag', /must not be empty/],
      [['--tag', 'a', '--tag-match', 'most'], '--tag-match', /must be "any" or "all", got "most"/],
      [['--tag-match', 'all'], '--tag-match', /needs --tag/],
      [['--start', 'yesterday'], '--start', /must be an ISO date such as 2025-01-31, or a date and time with its zone .*got "yesterday"/],
      [['--end', '2025-02-30'], '--end', /must be an ISO date/],
      [['--end', '2025-02-03T10:00'], '--end', /with its zone/],
      [['--start', '2025-03-01', '--end', '2025-02-01'], '--end', /is before --start \(2025-03-01T00:00:00\.000Z\)/],
    ];
    for (const [flags, path, message] of cases) {
      const error = errorOf(await memloom('archival', 'search', 'searcher', 'boats', ...flags, '--json'));
      assert.equal(error.code, 'validation_error', JSON.stringify(error));
      const issue = error.issues?.find((i) => i.path === path);
      assert.match(issue?.message ?? '', message, `${flags.join(' ')}: ${JSON.stringify(error)}`);
    }
    const text = await memloom('archival', 'search', 'searcher', 'boats', '--start', 'yesterday');
    assert.equal(text.code, 1);
    assert.match(text.stderr, /--start: must be an ISO date/);
  });
});
