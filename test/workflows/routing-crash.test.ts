/**
 * A worker killed in the middle of a routed chain: the chain resumes at the attempt that was in
 * flight, on the deployment that attempt was routed to, and the turn answers once. Workers run in
 * their own processes (test/fixtures/worker-process.ts) with the models file from MEMLOOM_MODELS,
 * so one can be SIGKILLed.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { stringify } from 'yaml';
import { startScriptedModelServer, type Responder, type ScriptedModelServer, type ScriptedStep } from '../../src/dev/scripted-model-server.ts';
import { agentHistory } from '../helpers/history.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack({ startWorker: false });
const { client, db } = stack;

/** The deployments' key: only the worker processes' environment holds it. */
const KEY_VAR = 'MEMLOOM_TEST_CRASH_KEY';
const KEY = `sk-crash-${randomUUID()}`;
const GROUP = 'crashy';

async function server(): Promise<ScriptedModelServer> {
  const s = await startScriptedModelServer({ apiKey: KEY });
  after(() => s.close());
  return s;
}
const servers = { 'crashy-a': await server(), 'crashy-b': await server() };

const dir = mkdtempSync(join(tmpdir(), 'memloom-routing-crash-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const modelsFile = join(dir, 'config.yaml');
writeFileSync(
  modelsFile,
  stringify({
    model_list: Object.entries(servers).map(([id, s]) => ({
      model_name: GROUP,
      litellm_params: { model: 'openai/scripted-model', api_base: s.url, api_key: `os.environ/${KEY_VAR}` },
      model_info: { id },
    })),
    router_settings: { routing_strategy: 'simple-shuffle', num_retries: 1 },
  }),
);

/**
 * The group's upstream, scripted by order of arrival over both deployments, so the test does not
 * depend on which one the router picks first: the first call fails with a 500, the second (the
 * retry, which the router sends to the other deployment) hangs until its worker is killed, the
 * third answers.
 */
const script: ScriptedStep[] = [
  { kind: 'error', status: 500, message: 'upstream exploded' },
  { kind: 'reply', content: 'never delivered', delayMs: 60_000 },
  { kind: 'reply', content: 'The one answer.' },
];
let arrivals = 0;
let retryArrived: () => void = () => undefined;
const retryInFlight = new Promise<void>((resolve) => (retryArrived = resolve));
const respond: Responder = () => {
  const step = script[arrivals++] ?? { kind: 'error', status: 500, message: `unexpected call ${arrivals}` };
  if (arrivals === 2) retryArrived();
  return step;
};
for (const s of Object.values(servers)) s.setResponder(respond);

const running = new Set<ChildProcess>();
after(async () => {
  for (const child of running) {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
});

async function spawnWorker(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../fixtures/worker-process.ts', import.meta.url))], {
    env: { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue, MEMLOOM_MODELS: modelsFile, [KEY_VAR]: KEY },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const started = await Promise.race([
    once(child.stdout!, 'data').then(([line]) => String(line)),
    once(child, 'exit').then(([code]) => `exited with ${String(code)} before it polled`),
  ]);
  assert.match(started, /ready/, `the worker process ${started}`);
  return child;
}

interface UsageRow {
  deployment: string;
  chain_attempt: number;
  attempt: number;
  reason: string;
  outcome: string;
}

test('a worker killed during a retry on the second deployment: the chain resumes at that attempt, one answer', async () => {
  const agent = await client.createAgent({ name: 'routed-survivor', llm_config: { model: GROUP, context_window: 8192 } });

  const first = await spawnWorker();
  const reply = client.userMessage(agent.id, 'survive this');
  // a turn that ends before the retry reaches its deployment fails the test here, not by a hang
  await Promise.race([retryInFlight, reply.then(() => assert.fail('the turn answered before its retry was in flight'))]);
  first.kill('SIGKILL');
  await once(first, 'exit');
  const second = await spawnWorker();
  try {
    await assertAnsweredOnce(agent.id, reply);
  } finally {
    second.kill('SIGTERM');
    await once(second, 'exit');
  }
});

async function assertAnsweredOnce(agentId: string, reply: ReturnType<typeof client.userMessage>): Promise<void> {
  const r = await reply;
  assert.deepEqual(r.messages.map((m) => m.message_type), ['assistant_message']);
  const answer = r.messages[0];
  assert.ok(answer?.message_type === 'assistant_message');
  assert.equal(answer.text, 'The one answer.');

  // which deployment the router sent the retry to: the one whose server saw the hung call
  const requestsAt = Object.fromEntries(Object.entries(servers).map(([id, s]) => [id, s.chatRequests().length]));
  const [failedOn, retriedOn] = Object.keys(servers).sort((x, y) => requestsAt[x]! - requestsAt[y]!) as [string, string];
  assert.deepEqual(requestsAt, { [failedOn]: 1, [retriedOn]: 2 }, 'the resumed attempt went back to the deployment it was routed to');

  // the killed call left no row; the resumed one is Temporal's retry of chain attempt 2, not attempt 3
  const { rows } = await db.query<UsageRow>('SELECT deployment, chain_attempt, attempt, reason, outcome FROM usage WHERE agent_id = $1 ORDER BY id', [agentId]);
  assert.deepEqual(rows, [
    { deployment: failedOn, chain_attempt: 1, attempt: 1, reason: 'first try', outcome: 'Upstream5xx' },
    { deployment: retriedOn, chain_attempt: 2, attempt: 2, reason: 'retry after Upstream5xx', outcome: 'ok' },
  ]);

  // two model-call activities in the history: the chain did not start over or add an attempt
  const history = await agentHistory(client, agentId);
  const summaries = (history.events ?? []).flatMap((e) => {
    const data = e.activityTaskScheduledEventAttributes ? e.userMetadata?.summary?.data : undefined;
    return data ? [JSON.parse(Buffer.from(data).toString()) as string] : [];
  });
  assert.deepEqual(summaries.filter((s) => s.startsWith('model call')), [
    `model call · step 1 · ${GROUP} · ${failedOn} · attempt 1 · first try`,
    `model call · step 1 · ${GROUP} · ${retriedOn} · attempt 2 · retry after Upstream5xx`,
  ]);

  const { rows: stored } = await db.query<{ role: string; n: number }>(
    'SELECT role, count(*)::int AS n FROM messages WHERE agent_id = $1 GROUP BY role ORDER BY role',
    [agentId],
  );
  assert.deepEqual(stored, [
    { role: 'assistant', n: 1 },
    { role: 'user', n: 1 },
  ]);
  // the killed call does not keep its deployment looking busy
  const { rows: inflight } = await db.query('SELECT call_id FROM deployment_inflight WHERE expires_at > now()');
  assert.deepEqual(inflight, []);
}
