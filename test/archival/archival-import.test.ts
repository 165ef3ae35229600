/**
 * `memloom archival insert AGENT --file FILE` on the real stack (Temporal dev server, Postgres,
 * a worker, the scripted model server's embeddings): a document becomes chunked passages with
 * vectors, with progress on stderr; the same import again inserts nothing; workflow history
 * holds no passage text; bad input (an empty, binary, non-UTF-8 or 50 MB file, bad chunk
 * settings) is refused naming the flag with nothing staged or inserted; an embedding endpoint
 * that is down fails the import with the reason, and nothing reaches `passages`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { ArchivalImportOutcome, ArchivalProgress } from '../../src/client/archival.ts';
import { freePort } from '../../src/dev/temporal-cli.ts';
import { archivalImportWorkflowId, MAX_IMPORT_BYTES } from '../../src/domain/archival.ts';
import { errorOf, parsed, runCliInProcess } from '../helpers/cli.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, db, model } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);
const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };
const memloom = (...args: string[]) => runCliInProcess(ENV, args);

const dir = mkdtempSync(join(tmpdir(), 'memloom-archival-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** An embedding_config at `url` (the scripted model server's vectors have 16 dimensions). */
const embeddingAt = (url: string) => ({ embedding_model: 'scripted-embedding', embedding_endpoint: url, embedding_dim: 16 });

const TOPICS = ['sailing on the river', 'the tax refund deadline', 'a pasta recipe for dinner', 'the piano concert', 'debugging the python server'];

/** `n` paragraphs of four sentences, each naming its paragraph so a passage is recognisable. */
function handbook(n: number): string {
  return Array.from({ length: n }, (_, p) =>
    Array.from({ length: 4 }, (_, s) => `Section ${p} note ${s} is about ${TOPICS[(p + s) % TOPICS.length]} and nothing else.`).join(' '),
  ).join('\n\n');
}

function write(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** What the import tables and `passages` hold for an agent. */
async function stored(agentId: string) {
  const { rows } = await db.query<{ passages: number; embedded: number; models: string[]; staged: number; imports: number }>(
    `SELECT (SELECT count(*)::int FROM passages WHERE agent_id = $1) AS passages,
            (SELECT count(*)::int FROM passages WHERE agent_id = $1 AND embedding IS NOT NULL) AS embedded,
            (SELECT coalesce(array_agg(DISTINCT embedding_model) FILTER (WHERE embedding_model IS NOT NULL), '{}') FROM passages WHERE agent_id = $1) AS models,
            (SELECT count(*)::int FROM archival_import_chunks c JOIN archival_imports i ON i.id = c.import_id WHERE i.agent_id = $1) AS staged,
            (SELECT count(*)::int FROM archival_imports WHERE agent_id = $1) AS imports`,
    [agentId],
  );
  return rows[0]!;
}

describe('archival insert --file', () => {
  test('a document becomes chunked passages with vectors, with progress; the same import again inserts nothing', async () => {
    const agent = await client.createAgent({ name: 'librarian', embedding_config: embeddingAt(model.url) });
    const text = handbook(40);
    const file = write('handbook.md', text);
    const run = await memloom('archival', 'insert', 'librarian', '--file', file, '--chunk-size', '48', '--chunk-overlap', '8', '--tag', 'handbook');
    assert.equal(run.code, 0, run.stderr);
    const chunks = Number(/(\d+) chunks, (\d+) new passages, embedded with scripted-embedding/.exec(run.stdout)?.[1]);
    assert.ok(chunks > 64, `several embedding batches: ${run.stdout}`);
    assert.match(run.stdout, new RegExp(`imported handbook\\.md into agent librarian: ${chunks} chunks, ${chunks} new passages`));
    assert.match(run.stdout, /workflow {2}archival-import\/import-[0-9a-f]{32}/);
    // not a terminal: a line a tenth (and one a phase), ending with every chunk a passage
    assert.match(run.stderr, new RegExp(`^embedding \\[[#.]{24}\\] \\d+/${chunks} chunks \\d+%$`, 'm'));
    assert.match(run.stderr, new RegExp(`^done \\[#{24}\\] ${chunks}/${chunks} chunks 100%$`, 'm'));
    assert.ok(run.stderr.trim().split('\n').length <= 13, run.stderr);

    assert.deepEqual(await stored(agent.id), { passages: chunks, embedded: chunks, models: ['scripted-embedding'], staged: 0, imports: 1 });
    const { rows } = await db.query<{ tags: string[]; embedding_dim: number; source_key: string }>('SELECT tags, embedding_dim, source_key FROM passages WHERE agent_id = $1', [agent.id]);
    assert.ok(rows.every((r) => r.tags.join() === 'handbook' && r.embedding_dim === 16 && /^import-[0-9a-f]{32}:\d+$/.test(r.source_key)));
    // every sentence of the document is in a passage
    const all = (await db.query<{ text: string }>('SELECT text FROM passages WHERE agent_id = $1', [agent.id])).rows.map((r) => r.text).join('\n');
    for (const sentence of text.split(/(?<=\.)\s+/)) assert.ok(all.includes(sentence), sentence);

    // the workflow's history holds ids and counters, never the text
    const importId = /import-[0-9a-f]{32}/.exec(run.stdout)![0];
    const history = JSON.stringify(await client.temporal.workflow.getHandle(archivalImportWorkflowId(importId)).fetchHistory(), (_k, v: unknown) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : typeof v === 'bigint' ? String(v) : v,
    );
    assert.ok(!history.includes('Section 3 note 1'), 'passage text in workflow history');

    // again, as JSON: answered from the import, nothing new
    const again = parsed<ArchivalImportOutcome>(await memloom('archival', 'insert', 'librarian', '--file', file, '--chunk-size', '48', '--chunk-overlap', '8', '--tag', 'handbook', '--json'));
    assert.deepEqual(
      { alreadyImported: again.alreadyImported, insertedPassages: again.insertedPassages, chunks: again.chunks, importId: again.importId },
      { alreadyImported: true, insertedPassages: 0, chunks, importId },
    );
    assert.equal((await stored(agent.id)).passages, chunks);
    // the same document and settings with other tags: said, not imported twice
    const retagged = errorOf(await memloom('archival', 'insert', 'librarian', '--file', file, '--chunk-size', '48', '--chunk-overlap', '8', '--tag', 'other', '--json'));
    assert.equal(retagged.code, 'conflict');
    assert.match(retagged.message, /imported into agent librarian with the same chunk settings already \(import-[0-9a-f]{32}\), tagged \[handbook\]/);
    assert.equal((await stored(agent.id)).passages, chunks);

    // search finds the document's passages
    const found = await client.searchArchivalMemory('librarian', 'piano concert', 3);
    assert.ok(found.length > 0 && found.every((p) => /Section \d+ note/.test(p.text)));
  });

  test('the SDK: text instead of a file, progress callbacks, default chunk settings; an agent without embedding_config gets passages without vectors', async () => {
    const agent = await client.createAgent({ name: 'sdk-reader', embedding_config: embeddingAt(model.url) });
    const seen: ArchivalProgress[] = [];
    const r = await client.importArchivalFile('sdk-reader', { text: handbook(60), onProgress: (p) => seen.push(p) });
    assert.equal(r.chunkSize, 300);
    assert.equal(r.chunkOverlap, 30);
    assert.equal(r.source, null);
    assert.equal(r.insertedPassages, r.chunks);
    assert.ok(seen.length > 0 && seen.every((p) => p.total === r.chunks && p.done <= p.total));
    assert.deepEqual(await stored(agent.id), { passages: r.chunks, embedded: r.chunks, models: ['scripted-embedding'], staged: 0, imports: 1 });

    const plain = await client.createAgent({ name: 'no-vectors' });
    assert.equal(plain.embedding_config, null);
    const run = await memloom('archival', 'insert', 'no-vectors', '--file', write('plain.txt', handbook(3)));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /imported plain\.txt into agent no-vectors: (\d+) chunks, \1 new passages\n/);
    assert.match(run.stdout, /note: agent no-vectors has no embedding_config, so these passages have no vectors/);
    const s = await stored(plain.id);
    assert.ok(s.passages > 0);
    assert.deepEqual({ ...s, passages: 0 }, { passages: 0, embedded: 0, models: [], staged: 0, imports: 1 });
  });

  test('bad input: an empty, whitespace, binary, non-UTF-8 or 50 MB file, bad chunk settings — refused naming the flag, nothing staged or inserted', async () => {
    const agent = await client.createAgent({ name: 'strict', embedding_config: embeddingAt(model.url) });
    const huge = write('huge.txt', '');
    truncateSync(huge, 50 * 1024 * 1024); // sparse: 50 MB without writing them
    const cases: [string[], string, RegExp][] = [
      [['--file', write('empty.txt', '')], '--file', /empty\.txt is empty: there is nothing to import/],
      [['--file', write('blank.txt', ' \n\n\t  \n')], '--file', /blank\.txt is only whitespace/],
      [['--file', huge], '--file', new RegExp(`huge\\.txt is 50\\.0 MiB \\(52428800 bytes\\); an import takes at most 10\\.0 MiB \\(${MAX_IMPORT_BYTES} bytes\\)`)],
      [['--file', write('image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]))], '--file', /image\.png is a binary file \(a NUL byte at byte 8\)/],
      [['--file', write('latin1.txt', Buffer.from('caf\xe9 au lait', 'latin1'))], '--file', /latin1\.txt is not UTF-8 text/],
      [['--file', join(dir, 'missing.txt')], '--file', /no such file: .*missing\.txt/],
      [['--file', write('ok.txt', 'A fine note.'), '--chunk-size', '100', '--chunk-overlap', '100'], '--chunk-overlap', /must be less than the chunk size \(100 tokens\), got 100/],
      [['--file', join(dir, 'ok.txt'), '--chunk-size', '8'], '--chunk-size', /must be at least 16/],
      [['Some text', '--file', join(dir, 'ok.txt')], '--file', /give the passage text or --file, not both/],
      [['Some text', '--chunk-size', '100'], '--chunk-size', /is for --file/],
    ];
    for (const [args, flag, message] of cases) {
      const error = errorOf(await memloom('archival', 'insert', 'strict', ...args, '--json'));
      assert.equal(error.code, 'validation_error', `${args.join(' ')}: ${error.message}`);
      const issue = error.issues?.find((i) => i.path === flag);
      assert.ok(issue, `${args.join(' ')}: no issue at ${flag}: ${JSON.stringify(error.issues)}`);
      assert.match(issue.message, message, args.join(' '));
    }
    assert.deepEqual(await stored(agent.id), { passages: 0, embedded: 0, models: [], staged: 0, imports: 0 });
  });

  test('the embedding endpoint down: a clear error after a few retries, nothing inserted, nothing left staged; once it is back, the import goes through', async () => {
    const down = `http://127.0.0.1:${await freePort()}/v1`;
    const agent = await client.createAgent({ name: 'offline', embedding_config: embeddingAt(down) });
    const file = write('offline.md', handbook(30));
    const run = await memloom('archival', 'insert', 'offline', '--file', file, '--chunk-size', '64', '--json');
    const error = errorOf(run);
    assert.equal(error.code, 'archival_job_failed');
    assert.equal((error as { type?: string }).type, 'Connection');
    assert.match(error.message, /archival-import\/import-[0-9a-f]{32} failed \(Connection\): embedding with scripted-embedding failed: cannot reach the model endpoint .*ECONNREFUSED.*; nothing was inserted/);
    const { rows } = await db.query<{ status: string; error_type: string; error: string }>('SELECT status, error_type, error FROM archival_imports WHERE agent_id = $1', [agent.id]);
    assert.deepEqual(rows.map((r) => [r.status, r.error_type]), [['failed', 'Connection']]);
    assert.deepEqual(await stored(agent.id), { passages: 0, embedded: 0, models: [], staged: 0, imports: 1 });

    // the endpoint is back: the same import is staged again and completes
    await client.updateAgent('offline', { embedding_config: embeddingAt(model.url) });
    const ok = parsed<ArchivalImportOutcome>(await memloom('archival', 'insert', 'offline', '--file', file, '--chunk-size', '64', '--json'));
    assert.equal(ok.alreadyImported, false);
    assert.equal(ok.insertedPassages, ok.chunks);
    assert.deepEqual(await stored(agent.id), { passages: ok.chunks, embedded: ok.chunks, models: ['scripted-embedding'], staged: 0, imports: 1 });
  });
});
