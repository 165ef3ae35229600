/**
 * Determinism: a saved agent-workflow history (test/histories/) must replay on the current
 * workflow code, so a change that breaks running agents fails here. A fresh history is recorded
 * and replayed too; `MEMLOOM_RECORD_HISTORIES=1 npm test -- test/workflows/replay.test.ts`
 * overwrites the saved one after an intended, patched change.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { agentWorkflowId } from '../../src/domain/ids.ts';
import { workflowsPath } from '../../workers/agent-worker.ts';
import { agentHistoryText } from '../helpers/history.ts';
import { startTestStack, TEMPORAL_ADDRESS } from '../helpers/stack.ts';

const SAVED = fileURLToPath(new URL('../histories/agent-workflow.json', import.meta.url));
const bundlePath = process.env.MEMLOOM_TEST_WORKFLOW_BUNDLE;
const replayOptions = bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: workflowsPath() };

const stack = await startTestStack();
const { client, model } = stack;

test('a fresh agent-workflow history replays, and holds no message or memory text', async () => {
  const agent = await client.createAgent({
    name: 'replayed',
    llm_config: stack.llmConfig,
    memory_blocks: [{ label: 'human', value: '' }],
  });
  model.enqueue(
    { kind: 'reply', toolCalls: [{ name: 'core_memory_append', arguments: { label: 'human', content: 'Favourite colour: vermilion.' } }] },
    { kind: 'reply', content: 'I will remember vermilion.' },
    { kind: 'error', status: 500 },
    { kind: 'reply', content: 'Second answer about tangerines.' },
  );
  await client.userMessage(agent.id, 'My favourite colour is vermilion.');
  await client.userMessage(agent.id, 'Tell me about tangerines.');

  const text = await agentHistoryText(client, agent.id);
  for (const secret of ['vermilion', 'tangerines', 'Favourite colour']) {
    assert.ok(!text.includes(secret), `workflow history contains "${secret}"`);
  }

  const history = await client.temporal.workflow.getHandle(agentWorkflowId(agent.id)).fetchHistory();
  await Worker.runReplayHistory(replayOptions, history, agentWorkflowId(agent.id));
  if (process.env.MEMLOOM_RECORD_HISTORIES === '1' || !existsSync(SAVED)) {
    // the Temporal CLI's JSON, the format `temporal workflow show -o json` gives users
    const cli = process.env.TEMPORAL_CLI_PATH ?? 'temporal';
    const json = execFileSync(cli, ['workflow', 'show', '--address', TEMPORAL_ADDRESS, '--workflow-id', agentWorkflowId(agent.id), '--output', 'json'], { encoding: 'utf8' });
    // stack traces name the recording machine's paths; replay does not need them
    writeFileSync(SAVED, `${JSON.stringify(JSON.parse(json, (k, v: unknown) => (k === 'stackTrace' ? '' : v)), null, 1)}\n`);
    await Worker.runReplayHistory(replayOptions, historyFromJSON(JSON.parse(readFileSync(SAVED, 'utf8'))), 'agent/saved');
  }
});

test('the saved agent-workflow history replays on the current code', async () => {
  assert.ok(existsSync(SAVED), 'test/histories/agent-workflow.json is missing');
  const history = historyFromJSON(JSON.parse(readFileSync(SAVED, 'utf8')));
  await Worker.runReplayHistory(replayOptions, history, 'agent/saved');
});
