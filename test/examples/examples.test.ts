/**
 * The runnable scripts of examples/, each run as a user runs it (`npx tsx examples/...`) against
 * the real stack: the test stack's worker, Postgres and Temporal, and the scripted model.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { NotFoundError } from '../../src/domain/errors.ts';
import { startTestStack, TEMPORAL_ADDRESS } from '../helpers/stack.ts';

const stack = await startTestStack();
await stack.client.setDefaultLlmConfig(stack.llmConfig);
const root = fileURLToPath(new URL('../..', import.meta.url));

async function runExample(file: string, args: string[] = [], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', `examples/${file}`, ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: stack.databaseUrl, TEMPORAL_ADDRESS, MEMLOOM_TASK_QUEUE: stack.taskQueue, MEMLOOM_LOG_LEVEL: 'silent', ...env },
    // a guard against a hang only: the schedule example waits for two runs 5 s apart
    timeout: 120_000,
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

test('examples/schedule.ts: a schedule runs the pipeline twice; the script prints both runs, their articles and links, then deletes it', async () => {
  // the writer quotes the topic from its message, so each article's first line shows the run's input
  stack.model.setResponder((request) => {
    const asked = String(request.messages.at(-1)?.content);
    if (String(request.messages[0]?.content).includes('researcher')) return { kind: 'reply', content: 'Some notes.' };
    return { kind: 'reply', content: `# ${/about "([^"]+)"/.exec(asked)?.[1]}\n\nThe article.` };
  });
  // a schedule id is global on the shared Temporal server: one of this run's own
  const id = `example-${randomUUID().slice(0, 8)}`;
  const out = await runExample('schedule.ts', ['solar sails'], { EXAMPLE_SCHEDULE_ID: id, TEMPORAL_UI_URL: 'http://ui.test:8233' });
  stack.model.setResponder(undefined);
  assert.match(out, new RegExp(`^schedule ${id}: research-and-write "solar sails" every 5s, 2 runs\n {2}http://ui\\.test:8233/namespaces/default/schedules/${id}$`, 'm'));
  const started = [...out.matchAll(/^run started: (\S+)\n {2}(\S+)$/gm)];
  assert.equal(started.length, 2, out);
  for (const [, workflowId, link] of started) {
    assert.match(workflowId!, new RegExp(`^pipeline/research-and-write/${id}-\\d{4}-\\d\\d-\\d\\dT`));
    assert.equal(link, `http://ui.test:8233/namespaces/default/workflows/${encodeURIComponent(workflowId!)}`);
    assert.ok(out.includes(`run completed: ${workflowId}\n  article: # solar sails\n`), out);
  }
  assert.notEqual(started[0]![1], started[1]![1]);
  assert.match(out, new RegExp(`^schedule ${id} deleted$`, 'm'));
  await assert.rejects(stack.client.getSchedule(id), NotFoundError);
  // the runs it followed really completed, each researching both subtopics
  for (const [, workflowId] of started) {
    const details = await (await stack.client.getPipelineRun(workflowId!)).describe();
    assert.equal(details.status, 'COMPLETED');
    assert.equal(details.stages.filter((s) => s.stage === 'research').length, 2);
  }
});
