/**
 * A short chaos run inside `npm test`: 2 worker processes, 3 agents, 24 turns with memory edits,
 * one worker SIGKILLed, one round of `pg_terminate_backend`, and a model answering some calls
 * with 500 or 429. Uses the shared Temporal dev server (no restart: `npm run chaos` does that).
 * Every message must be answered once, with nothing lost and nothing duplicated.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { figuresRows, formatTable } from '../../bench/chaos/audit.ts';
import { CHAOS_DEFAULTS, runChaos } from '../../bench/chaos/run-chaos.ts';
import { ADMIN_DATABASE_URL, createTestDatabase, TEMPORAL_ADDRESS } from '../helpers/stack.ts';

const BUNDLE = process.env.MEMLOOM_TEST_WORKFLOW_BUNDLE;

test('short chaos run: a killed worker, dropped Postgres sessions and a flapping model lose and duplicate nothing', async () => {
  const { url } = await createTestDatabase();
  const result = await runChaos({
    ...CHAOS_DEFAULTS,
    temporalAddress: TEMPORAL_ADDRESS,
    databaseUrl: url,
    adminDatabaseUrl: ADMIN_DATABASE_URL,
    ...(BUNDLE ? { workflowBundle: BUNDLE } : {}),
    workers: 2,
    agents: 3,
    turns: 24,
    sendersPerAgent: 3,
    seconds: 80,
    killEverySeconds: 4,
    maxKills: 1,
    temporalRestart: false,
    pgTerminations: 1,
    modelFaults: { status500: 0.1, status429: 0.1, stall: 0 },
    settleSeconds: 1,
    log: () => undefined,
  });
  const table = formatTable('short chaos run', result.rows);
  console.log(table);
  assert.equal(result.workers.kills, 1, 'one worker was killed');
  assert.equal(result.faults.filter((f) => f.kind === 'pg-terminate').length, 1, 'Postgres sessions were terminated once');
  assert.ok(result.modelCalls.status500 + result.modelCalls.status429 > 0, 'the model flapped');
  const f = result.figures;
  assert.deepEqual(
    {
      lost: f.lost,
      wrongAnswers: f.wrongAnswers,
      repliesMissing: f.repliesMissing,
      editsMissing: f.editsMissing,
      duplicatedUserMessages: f.duplicatedUserMessages,
      duplicatedReplies: f.duplicatedReplies,
      duplicatedCoreEdits: f.duplicatedCoreEdits,
      duplicatedPassages: f.duplicatedPassages,
    },
    {
      lost: 0,
      wrongAnswers: 0,
      repliesMissing: 0,
      editsMissing: 0,
      duplicatedUserMessages: 0,
      duplicatedReplies: 0,
      duplicatedCoreEdits: 0,
      duplicatedPassages: 0,
    },
    table,
  );
  assert.equal(f.answered + f.failed, 24, figuresRows(f).map((r) => r.join(': ')).join('\n'));
});
