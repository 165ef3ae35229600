/**
 * memloom's pool against a real Postgres: its own type parsers (none installed globally),
 * session timeouts, a terminated connection destroyed and never reused, idle-connection errors
 * logged, and transient failures retried where the step is safe to repeat.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/env.ts';
import { isTransientDbError, retryTransient } from '../../src/db/db-errors.ts';
import { createDb, withTransaction, type DbOptions } from '../../src/db/pool.ts';
import { ConfigError } from '../../src/domain/errors.ts';
import { createTestDatabase } from '../helpers/stack.ts';

const { url, db } = await createTestDatabase();
await db.query('CREATE TABLE pool_probe (id int PRIMARY KEY)');

/** A pool of one connection, so "the next query" runs on whatever the pool kept. */
function onePool(extra: Partial<DbOptions> = {}) {
  const pool = createDb({ connectionString: url, max: 1, ...extra });
  after(() => pool.end());
  return pool;
}

async function backendPid(q: pg.Pool | pg.PoolClient): Promise<number> {
  return (await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
}

async function terminate(pid: number): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  await admin.end();
}

test("bigint is a number on memloom's pools only: no global type parser", async () => {
  const big = 'SELECT 9007199254740991::bigint AS n, count(*) AS c FROM pool_probe';
  const ours = (await db.query(big)).rows[0];
  assert.deepEqual(ours, { n: 9007199254740991, c: 0 });

  const plain = new pg.Client({ connectionString: url });
  await plain.connect();
  const theirs = (await plain.query(big)).rows[0];
  await plain.end();
  assert.deepEqual(theirs, { n: '9007199254740991', c: '0' });
  assert.equal(pg.types.getTypeParser(20, 'text')('42'), '42');
});

test('sessions have statement, lock and idle-in-transaction timeouts', async () => {
  const settings = async (pool: pg.Pool) =>
    (
      await pool.query<Record<string, string>>(
        "SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock, current_setting('idle_in_transaction_session_timeout') AS idle",
      )
    ).rows[0];
  assert.deepEqual(await settings(db), { statement: '30s', lock: '10s', idle: '1min' });

  const strict = onePool({ statementTimeoutMs: 100 });
  let caught: unknown;
  await strict.query('SELECT pg_sleep(5)').catch((e: unknown) => (caught = e));
  assert.equal((caught as { code?: string }).code, '57014');
  assert.ok(isTransientDbError(caught), 'a statement timeout is worth another attempt');
});

test('a connection terminated inside a transaction is destroyed, and the pool goes on', async () => {
  const pool = onePool();
  let killed = 0;
  await assert.rejects(
    withTransaction(pool, async (tx) => {
      killed = await backendPid(tx);
      await tx.query('INSERT INTO pool_probe VALUES (1)');
      await terminate(killed);
      await tx.query('INSERT INTO pool_probe VALUES (2)');
    }),
    (error: unknown) => isTransientDbError(error),
  );
  // the pool's only connection now is a new one, and it works
  const next = await backendPid(pool);
  assert.notEqual(next, killed);
  assert.equal((await pool.query('SELECT count(*) AS n FROM pool_probe')).rows[0].n, 0, 'the transaction left nothing');
});

test('an idle connection lost is logged through the pool logger, not swallowed', async () => {
  const lines: string[] = [];
  let logged!: () => void;
  const loggedOnce = new Promise<void>((resolve) => (logged = resolve));
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      logged();
      done();
    },
  });
  const pool = onePool({ logger: pino({ level: 'warn' }, sink) });
  await terminate(await backendPid(pool));
  await loggedOnce;
  const entry = JSON.parse(lines[0]!) as { msg: string; err: { code?: string; message: string } };
  assert.equal(entry.msg, 'idle PostgreSQL connection lost');
  assert.match(entry.err.message, /terminat/);
  assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1);
});

test('retryTransient runs a step again after its connection was terminated', async () => {
  const pool = onePool();
  const retried: unknown[] = [];
  let calls = 0;
  const { rows } = await retryTransient(
    async () => {
      calls += 1;
      // the first attempt's backend is terminated while the statement runs
      if (calls === 1) await pool.query('SELECT pg_terminate_backend(pg_backend_pid())');
      return pool.query('SELECT 1 AS one');
    },
    { baseDelayMs: 10, onRetry: (error) => retried.push(error) },
  );
  assert.equal(rows[0].one, 1);
  assert.equal(calls, 2);
  assert.equal(retried.length, 1);
  assert.ok(isTransientDbError(retried[0]));
});

test('retryTransient gives up at once on an error that is not transient, and after its attempts', async () => {
  let calls = 0;
  await assert.rejects(
    retryTransient(() => {
      calls += 1;
      return db.query('SELECT * FROM no_such_table');
    }),
    { code: '42P01' },
  );
  assert.equal(calls, 1);

  calls = 0;
  const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
  await assert.rejects(
    retryTransient(
      () => {
        calls += 1;
        return Promise.reject(deadlock);
      },
      { attempts: 3, baseDelayMs: 1 },
    ),
    deadlock,
  );
  assert.equal(calls, 3);

  const stop = new AbortController();
  stop.abort(new Error('shutting down'));
  await assert.rejects(retryTransient(() => db.query('SELECT 1'), { signal: stop.signal }), /shutting down/);
});

test('transient errors are told by their codes', () => {
  const coded = (code: string) => Object.assign(new Error('x'), { code });
  for (const code of ['57P01', '08006', '40001', '40P01', '55P03', '53300', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE']) {
    assert.ok(isTransientDbError(coded(code)), code);
  }
  for (const code of ['23505', '42P01', '22P02', 'ENOTFOUND']) assert.ok(!isTransientDbError(coded(code)), code);
  assert.ok(isTransientDbError(new Error('Connection terminated unexpectedly')));
  assert.ok(!isTransientDbError(new Error('something about a Connection terminated unexpectedly')));
  assert.ok(!isTransientDbError(new TypeError('x is not a function')));
  assert.ok(!isTransientDbError('57P01'));
});

test('the pool is sized from the configuration, by default to the activity concurrency', () => {
  assert.deepEqual(pick(loadConfig({}, {})), { activityConcurrency: 20, dbPoolSize: 20 });
  assert.deepEqual(pick(loadConfig({}, { MEMLOOM_ACTIVITY_CONCURRENCY: '50' })), { activityConcurrency: 50, dbPoolSize: 50 });
  assert.deepEqual(pick(loadConfig({}, { MEMLOOM_ACTIVITY_CONCURRENCY: '50', MEMLOOM_DB_POOL_SIZE: '60' })), {
    activityConcurrency: 50,
    dbPoolSize: 60,
  });
  assert.deepEqual(pick(loadConfig({ activityConcurrency: 4 }, { MEMLOOM_ACTIVITY_CONCURRENCY: '50' })), { activityConcurrency: 4, dbPoolSize: 4 });
  assert.throws(() => loadConfig({}, { MEMLOOM_DB_POOL_SIZE: 'ten' }), (e: unknown) => e instanceof ConfigError && /MEMLOOM_DB_POOL_SIZE/.test(e.message));
  assert.throws(() => loadConfig({}, { MEMLOOM_ACTIVITY_CONCURRENCY: '0' }), /MEMLOOM_ACTIVITY_CONCURRENCY: must be a whole number/);
});

function pick(config: ReturnType<typeof loadConfig>) {
  return { activityConcurrency: config.activityConcurrency, dbPoolSize: config.dbPoolSize };
}
