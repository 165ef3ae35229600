/**
 * Determinism: every saved history in test/histories/ (a tool loop, a failed turn, a redelivered
 * message, both runs of a continue-as-new, ...) must replay on the current workflow code, so a
 * change that would break running agents fails CI. `npm run record-histories` records them; see
 * the README, "Changing workflow code". A fresh history is recorded here too, to check that no
 * message or memory text ever enters workflow history.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import { agentWorkflowId } from '../../src/domain/ids.ts';
import { workflowsPath } from '../../workers/agent-worker.ts';
import { agentHistoryText, loadSavedHistory, savedHistoryFiles, savedHistoryWorkflowId } from '../helpers/history.ts';
import { startTestStack } from '../helpers/stack.ts';

const bundlePath = process.env.MEMLOOM_TEST_WORKFLOW_BUNDLE;
const replayOptions = bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: workflowsPath() };

const stack = await startTestStack();
const { client, model } = stack;

describe('saved histories replay on the current workflow code', () => {
  const files = savedHistoryFiles();
  test('test/histories/ holds the recorded scenarios', () => {
    for (const scenario of ['tool-loop', 'failed-turn', 'redelivered-message', 'model-chain', 'pipeline', 'batch', 'continue-as-new', 'continue-as-new.run-2']) {
      assert.ok(files.includes(`${scenario}.json`), `test/histories/${scenario}.json is missing: run \`npm run record-histories\``);
    }
  });
  for (const file of files) {
    test(file, async () => {
      const history = loadSavedHistory(file);
      await Worker.runReplayHistory(replayOptions, history, savedHistoryWorkflowId(history, file));
    });
  }
});

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
});
