/**
 * Temporal refuses more than `history.maxInFlightUpdates` unfinished Updates per workflow (10 on
 * a default server). Queued turns are unfinished Updates, so a burst beyond the limit must wait
 * for a slot, not fail. This file runs its own dev server with the limit at 2.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createClient } from '../../src/client/memloom-client.ts';
import { freePort, startDevServer } from '../../src/dev/temporal-cli.ts';
import { createLogger } from '../../src/config/logger.ts';
import { createMemloomWorker } from '../../workers/agent-worker.ts';
import { createTestDatabase } from '../helpers/stack.ts';
import { startScriptedModelServer } from '../../src/dev/scripted-model-server.ts';

const cliPath = process.env.TEMPORAL_CLI_PATH;
assert.ok(cliPath, 'TEMPORAL_CLI_PATH is set by test/run.ts');
const server = await startDevServer({
  cliPath,
  port: await freePort(),
  uiPort: null,
  dynamicConfig: { 'history.maxInFlightUpdates': 2 },
});
const { url, db } = await createTestDatabase();
const model = await startScriptedModelServer({
  responder: async (request) => {
    await new Promise((r) => setTimeout(r, 50));
    const last = request.messages.filter((m) => m.role === 'user').at(-1);
    return { kind: 'reply', content: `answer to ${String(last?.content)}` };
  },
});
const bundle = process.env.MEMLOOM_TEST_WORKFLOW_BUNDLE;
const worker = await createMemloomWorker({
  config: { temporalAddress: server.address, databaseUrl: url, taskQueue: 'in-flight' },
  db,
  logger: createLogger('silent'),
  ...(bundle ? { workflowBundle: { codePath: bundle } } : {}),
});
const running = worker.run();
const client = await createClient({ temporalAddress: server.address, databaseUrl: url, taskQueue: 'in-flight', db });
after(async () => {
  await client.close();
  await worker.shutdown();
  await running;
  await model.close();
  await server.stop();
});

test('a burst of messages beyond the in-flight update limit waits for slots: all answered once', async () => {
  const agent = await client.createAgent({ name: 'bursty', llm_config: { model: 'scripted-model', model_endpoint: model.url, context_window: 8192 } });
  const texts = Array.from({ length: 8 }, (_, i) => `q${i}`);
  const replies = await Promise.all(texts.map((t) => client.userMessage(agent.id, t)));
  replies.forEach((r, i) => {
    const last = r.messages.at(-1);
    assert.ok(last?.message_type === 'assistant_message');
    assert.equal(last.text, `answer to q${i}`);
  });
  const recall = await client.listMessages(agent.id);
  assert.equal(recall.filter((m) => m.message_type === 'user_message').length, 8);
  assert.equal(recall.filter((m) => m.message_type === 'assistant_message').length, 8);
});
