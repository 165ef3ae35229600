/**
 * What `memloom` says when Temporal or PostgreSQL is not there, run as a real subprocess
 * (`bin/memloom.js`): commands that only need Postgres work without Temporal, and every
 * connection failure names the address tried and what to do.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import type { AgentState, Block } from '../../src/domain/agent.ts';
import type { LettaMessage } from '../../src/domain/letta-message.ts';
import { freePort } from '../../src/dev/temporal-cli.ts';
import { ADMIN_DATABASE_URL, startTestStack, TEMPORAL_ADDRESS } from '../helpers/stack.ts';
import { runCli, parsed, type CliRun } from '../helpers/cli.ts';

const stack = await startTestStack({ startWorker: false });
const agent = await stack.client.createAgent({
  name: 'offline-reader',
  llm_config: stack.llmConfig,
  memory_blocks: [{ label: 'human', value: 'Name: Ada' }],
});

/** Nothing listens here: a port found free and left closed. */
const closedPort = await freePort();
const CLOSED_TEMPORAL = `127.0.0.1:${closedPort}`;
const CLOSED_DATABASE = `postgresql://postgres:s3cret@127.0.0.1:${closedPort}/memloom`;
const ENV = {
  ...process.env,
  DATABASE_URL: stack.databaseUrl,
  TEMPORAL_ADDRESS,
  MEMLOOM_TASK_QUEUE: stack.taskQueue,
  MEMLOOM_LOG_LEVEL: 'silent',
};

type Run = CliRun;

/** Runs `memloom ...args` with `env` over the test stack's; resolves whatever the exit code. */
function memloom(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return runCli({ ...ENV, ...env }, args);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('memloom without Temporal', () => {
  const offline = { TEMPORAL_ADDRESS: CLOSED_TEMPORAL };

  test('agent list, memory show and messages read Postgres without connecting to Temporal', async (t) => {
    const list = await memloom(offline, 'agent', 'list', '--json');
    t.diagnostic(`agent list with Temporal unreachable took ${list.ms} ms`);
    assert.deepEqual(
      parsed<AgentState[]>(list).map((a) => a.name),
      ['offline-reader'],
    );
    const memory = parsed<Block[]>(await memloom(offline, 'memory', 'show', agent.name, '--json'));
    assert.equal(memory.find((b) => b.label === 'human')?.value, 'Name: Ada');
    assert.deepEqual(parsed<LettaMessage[]>(await memloom(offline, 'messages', agent.name, '--json')), []);
  });

  test('send fails naming the Temporal address and `memloom dev`, and stores no message', async () => {
    const run = await memloom(offline, 'send', agent.name, 'hello?');
    assert.equal(run.code, 1, `stdout: ${run.stdout}`);
    assert.match(run.stderr, new RegExp(`cannot reach Temporal at ${escape(CLOSED_TEMPORAL)} \\(TEMPORAL_ADDRESS\\)`));
    assert.match(run.stderr, /`memloom dev`/);
    assert.deepEqual(await stack.client.listMessages(agent.id), []);
  });

  test('worker fails at start naming the Temporal address, without announcing that it serves', async () => {
    const run = await memloom(offline, 'worker');
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, new RegExp(`cannot reach Temporal at ${escape(CLOSED_TEMPORAL)}.*\`memloom dev\``));
    assert.doesNotMatch(run.stderr + run.stdout, /serving/);
  });
});

describe('memloom without PostgreSQL', () => {
  const offline = { DATABASE_URL: CLOSED_DATABASE };
  const shown = `postgresql://postgres:***@127.0.0.1:${closedPort}/memloom`;

  test('agent list fails naming the database address, without its password, and `memloom dev`', async () => {
    const run = await memloom(offline, 'agent', 'list');
    assert.equal(run.code, 1, `stdout: ${run.stdout}`);
    assert.match(run.stderr, new RegExp(`cannot reach PostgreSQL at ${escape(shown)} \\(DATABASE_URL\\)`));
    assert.match(run.stderr, /`memloom dev`/);
    assert.doesNotMatch(run.stderr, /s3cret/);
  });

  test('worker fails at start naming the database address, without announcing that it serves', async () => {
    const run = await memloom(offline, 'worker');
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, new RegExp(`cannot reach PostgreSQL at ${escape(shown)}.*\`memloom dev\``));
    assert.doesNotMatch(run.stderr + run.stdout, /serving|s3cret/);
  });

  test('worker on a database that was never migrated fails at start saying `memloom migrate`', async () => {
    const name = `memloom_unmigrated_${closedPort}`;
    const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    after(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });
    const url = new URL(ADMIN_DATABASE_URL);
    url.pathname = `/${name}`;
    const run = await memloom({ DATABASE_URL: url.toString() }, 'worker');
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, new RegExp(`${escape(name)}.*run \`memloom migrate\``));
    assert.doesNotMatch(run.stderr + run.stdout, /serving/);
  });
});
