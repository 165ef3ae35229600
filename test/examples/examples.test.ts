/**
 * The runnable scripts of examples/, each run as a user runs it (`npx tsx examples/...`) against
 * the real stack: the test stack's worker, Postgres and Temporal, and the scripted model.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { startTestStack, TEMPORAL_ADDRESS } from '../helpers/stack.ts';

const stack = await startTestStack();
await stack.client.setDefaultLlmConfig(stack.llmConfig);
const root = fileURLToPath(new URL('../..', import.meta.url));

async function runExample(file: string, args: string[] = []): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS, MEMLOOM_TASK_QUEUE: stack.taskQueue, MEMLOOM_LOG_LEVEL: 'silent' },
    timeout: 60_000,
  });
  return stdout;
}

test('examples/single-agent.ts: creates the agent, talks to it, shows its memory', async () => {
  stack.model.enqueue(
    { kind: 'reply', toolCalls: [{ name: 'core_memory_replace', arguments: { label: 'human', old_content: 'Name: unknown', new_content: 'Name: Alice; likes rowing' } }] },
    { kind: 'reply', content: 'Nice to meet you, Alice!' },
  );
  const out = await runExample('single-agent.ts');
  assert.match(out, /^agent: my-assistant \(agent-[0-9a-f-]{36}\)$/m);
  assert.match(out, /^tool call: core_memory_replace$/m);
  assert.match(out, /^assistant: Nice to meet you, Alice!$/m);
  assert.match(out, /^memory \(human\): Name: Alice; likes rowing$/m);
});

test('examples/research-and-write.ts: starts the pipeline, awaits it, prints the article and the stages', async () => {
  stack.model.setResponder((request) =>
    String(request.messages[0]?.content).includes('researcher') ? { kind: 'reply', content: 'Some notes.' } : { kind: 'reply', content: 'The article.' },
  );
  const out = await runExample('research-and-write.ts', ['wave power']);
  stack.model.setResponder(undefined);
  assert.match(out, /^started pipeline\/research-and-write\/[0-9a-f-]{36}$/m);
  assert.match(out, /^research notes: 3$/m);
  assert.match(out, /^article:\nThe article\.$/m);
  assert.equal(out.match(/^stage research · researcher(-\d)? · completed/gm)?.length, 3);
  assert.match(out, /^stage write · writer · completed/m);
});
