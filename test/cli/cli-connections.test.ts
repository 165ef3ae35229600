/**
 * What `memloom` says when Temporal or PostgreSQL is not there: commands that only need Postgres
 * work without Temporal, and every connection failure names the address tried and what to do.
 * `worker` and one command of each kind run as real subprocesses (`bin/memloom.js`), the other
 * commands in this process (the same program).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { AgentState, Block } from '../../src/domain/agent.ts';
import type { LettaMessage } from '../../src/domain/letta-message.ts';
import { freePort } from '../../src/dev/temporal-cli.ts';
import { ADMIN_DATABASE_URL, startTestStack, TEMPORAL_ADDRESS } from '../helpers/stack.ts';
import { runCli, runCliInProcess, parsed, type CliRun } from '../helpers/cli.ts';
import { withAdmin } from '../helpers/scratch-database.ts';

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

/** Runs `memloom ...args` in this process with `env` over the test stack's; resolves whatever the exit code. */
function memloom(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return runCliInProcess({ ...ENV, ...env }, args);
}

/** Runs `memloom ...args` as a subprocess, as a user does. */
function memloomProcess(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return runCli({ ...ENV, ...env }, args);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A database that exists but was never migrated; dropped when the file ends. */
const unmigrated = `memloom_unmigrated_${closedPort}`;
await withAdmin(ADMIN_DATABASE_URL, (admin) => admin.query(`CREATE DATABASE ${unmigrated}`));
after(() => withAdmin(ADMIN_DATABASE_URL, (admin) => admin.query(`DROP DATABASE IF EXISTS ${unmigrated} WITH (FORCE)`)));
const unmigratedUrl = new URL(ADMIN_DATABASE_URL);
unmigratedUrl.pathname = `/${unmigrated}`;

/** `memloom worker` runs that must fail at start (seconds each): started together, each test reads its own. */
const failingWorkers = {
  noTemporal: memloomProcess({ TEMPORAL_ADDRESS: CLOSED_TEMPORAL }, 'worker'),
  noPostgres: memloomProcess({ DATABASE_URL: CLOSED_DATABASE }, 'worker'),
  unmigrated: memloomProcess({ DATABASE_URL: unmigratedUrl.toString() }, 'worker'),
};

describe('memloom without Temporal', () => {
  const offline = { TEMPORAL_ADDRESS: CLOSED_TEMPORAL };

  test('agent list, memory show and messages read Postgres without connecting to Temporal', async (t) => {
    const list = await memloomProcess(offline, 'agent', 'list', '--json');
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
    const run = await failingWorkers.noTemporal;
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
    const run = await failingWorkers.noPostgres;
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, new RegExp(`cannot reach PostgreSQL at ${escape(shown)}.*\`memloom dev\``));
    assert.doesNotMatch(run.stderr + run.stdout, /serving|s3cret/);
  });

  test('worker on a database that was never migrated fails at start saying `memloom migrate`', async () => {
    const run = await failingWorkers.unmigrated;
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, new RegExp(`${escape(unmigrated)}.*run \`memloom migrate\``));
    assert.doesNotMatch(run.stderr + run.stdout, /serving/);
  });
});
