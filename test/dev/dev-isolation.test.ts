/**
 * Stacks of different homes never share a Temporal server, and a stack's Temporal server never
 * outlives it unowned: `memloom dev` as real processes, killed the way users kill them. One of the
 * two side-by-side stacks keeps its data in a database of the test PostgreSQL (DATABASE_URL)
 * instead of a fresh embedded PGlite, whose first start takes many seconds.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { createClient } from '../../src/client/memloom-client.ts';
import { processAlive } from '../../src/dev/process-alive.ts';
import { startScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import { devServerArgs, freePort, portOpen } from '../../src/dev/temporal-cli.ts';
import type { DevStackInfo } from '../../src/dev/dev-stack.ts';
import { createScratchDatabase } from '../helpers/scratch-database.ts';
import { ADMIN_DATABASE_URL } from '../helpers/stack.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'bin/memloom.js');
const baseEnv = { ...process.env, MEMLOOM_LOG_LEVEL: 'warn' } as Record<string, string | undefined>;
for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'LLM_BASE_URL', 'OPENAI_BASE_URL', 'MEMLOOM_TASK_QUEUE', 'MEMLOOM_API_KEY']) delete baseEnv[key];

const homes: string[] = [];
const model = await startScriptedModelServer({ models: ['alpha', 'beta', 'after-kill'], responder: (request) => ({ kind: 'reply', content: `answered by ${request.model}` }) });
after(async () => {
  await model.close();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

interface Stack {
  home: string;
  ports: { port: number; uiPort: number; pgPort: number; apiPort: number };
  /** The stack's own database on the test PostgreSQL; embedded PGlite when not set. */
  databaseUrl?: string;
}

/** A new home; with `postgres`, its data in a scratch database of the test PostgreSQL, dropped at the end. */
async function newStack(options: { postgres?: boolean } = {}): Promise<Stack> {
  const home = mkdtempSync(join(tmpdir(), 'memloom-iso-'));
  homes.push(home);
  const ports = { port: await freePort(), uiPort: await freePort(), pgPort: await freePort(), apiPort: await freePort() };
  if (!options.postgres) return { home, ports };
  const database = await createScratchDatabase(ADMIN_DATABASE_URL, 'memloom_dev_iso');
  after(() => database.drop());
  return { home, ports, databaseUrl: database.url };
}

const portArgs = (p: Stack['ports']): string[] => ['--port', String(p.port), '--ui-port', String(p.uiPort), '--pg-port', String(p.pgPort), '--api-port', String(p.apiPort)];

type Started = { child: ChildProcess; info: DevStackInfo; stderr: () => string };

/** Starts `memloom dev --json`; resolves with the stack it prints, or rejects with its stderr when it exits. */
function startDev(stack: Stack, ports = stack.ports): Promise<Started> {
  const env = { ...baseEnv, MEMLOOM_HOME: stack.home, ...(stack.databaseUrl ? { DATABASE_URL: stack.databaseUrl } : {}) };
  const child = spawn(process.execPath, [cli, 'dev', '--json', ...portArgs(ports)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      try {
        resolve({ child, info: JSON.parse(stdout) as DevStackInfo, stderr: () => stderr });
      } catch {
        // not complete yet
      }
    });
    child.once('exit', (code) => reject(new Error(`memloom dev exited with ${code}: ${stderr}`)));
  });
}

async function stopDev(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill('SIGINT');
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

/** The Temporal server pid the stack recorded for its home. */
function serverPid(home: string): number {
  return (JSON.parse(readFileSync(join(home, 'temporal-server.json'), 'utf8')) as { serverPid: number }).serverPid;
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 150 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  return !processAlive(pid);
}

/** Creates an agent on the stack and sends it a message: the stack's own worker must answer. */
async function answers(info: DevStackInfo, name: string): Promise<string | undefined> {
  const client = await createClient({ temporalAddress: info.temporalAddress, databaseUrl: info.databaseUrl, taskQueue: info.taskQueue });
  try {
    const agent = await client.createAgent({ name, llm_config: { model: name, model_endpoint: model.url, context_window: 8192 } });
    const reply = (await client.userMessage(agent.id, 'hello')).messages.at(-1);
    return reply?.message_type === 'assistant_message' ? reply.text : undefined;
  } finally {
    await client.close();
  }
}

describe('memloom dev isolation', () => {
  test('a second home never attaches to the first one’s Temporal: it stops with a clear message, or runs beside it on its own ports', async () => {
    const a = await newStack();
    const b = await newStack({ postgres: true });
    const first = await startDev(a);
    try {
      // b on a's Temporal port (the default port clash of two homes): refused, nothing shared
      await assert.rejects(
        startDev(b, { ...b.ports, port: a.ports.port }),
        new RegExp(`port ${a.ports.port} is taken by a Temporal server that does not belong to MEMLOOM_HOME=${b.home}.*pick another with --port`),
      );
      const second = await startDev(b);
      try {
        assert.notEqual(second.info.temporalAddress, first.info.temporalAddress);
        assert.notEqual(serverPid(a.home), serverPid(b.home));
        // each stack's worker answers its own agent's turn (no AgentNotFound from the other stack)
        assert.equal(await answers(first.info, 'alpha'), 'answered by alpha');
        assert.equal(await answers(second.info, 'beta'), 'answered by beta');
      } finally {
        assert.equal(await stopDev(second.child), 0);
      }
    } finally {
      assert.equal(await stopDev(first.child), 0);
    }
  });

  test('a SIGKILLed memloom dev leaves no Temporal server behind; one left unowned is stopped by the next start; Ctrl-C stops it', async () => {
    const c = await newStack();
    const first = await startDev(c);
    const firstServer = serverPid(c.home);
    first.child.kill('SIGKILL');
    assert.ok(await gone(firstServer), 'the Temporal server dies with its memloom dev');

    // a server of this home left running unowned (by an older memloom, or a kill -9 of everything
    // but the server): started here as memloom would, recorded with an owner that is gone
    const dbFilename = join(c.home, 'temporal.db');
    const orphan = spawn(process.env.TEMPORAL_CLI_PATH!, devServerArgs({ cliPath: '', port: c.ports.port, uiPort: c.ports.uiPort, dbFilename }), {
      detached: true,
      stdio: 'ignore',
    });
    orphan.unref();
    const orphanPid = orphan.pid!;
    after(() => void (processAlive(orphanPid) && process.kill(orphanPid, 'SIGKILL')));
    while (!(await portOpen('127.0.0.1', c.ports.port))) await new Promise((r) => setTimeout(r, 100));
    const record = { home: c.home, address: `127.0.0.1:${c.ports.port}`, uiUrl: null, serverPid: orphanPid, ownerPid: first.child.pid!, dbFilename };
    writeFileSync(join(c.home, 'temporal-server.json'), JSON.stringify(record));

    const third = await startDev(c);
    try {
      assert.match(third.stderr(), new RegExp(`stopping the Temporal dev server \\(pid ${orphanPid}\\) that an earlier memloom dev of this home left running`));
      assert.ok(await gone(orphanPid), 'the server left behind is stopped');
      assert.equal(await answers(third.info, 'after-kill'), 'answered by after-kill');
    } finally {
      const thirdServer = serverPid(c.home);
      assert.equal(await stopDev(third.child), 0);
      assert.ok(await gone(thirdServer), 'Ctrl-C stops the Temporal server');
    }
  });
});
