/**
 * Pipeline runs on the real stack: fan-out with bounded concurrency, cancellation, a failed
 * stage named with its agent, and the per-run budget — as the SDK and `memloom pipeline` show them.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PipelineRunDetails } from '../../src/client/pipeline-runs.ts';
import { PipelineFailedError } from '../../src/domain/errors.ts';
import type { ChatRequest } from '../../src/dev/scripted-model-server.ts';
import { runCli, parsed } from '../helpers/cli.ts';
import { startTestStack } from '../helpers/stack.ts';
import { startPipelineWorker } from './pipeline-test-worker.ts';

const stack = await startTestStack({ startWorker: false });
const { client, model, db } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);
await startPipelineWorker(stack);
const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };

function systemOf(request: ChatRequest): string {
  return String(request.messages[0]?.content ?? '');
}

function lastUserText(request: ChatRequest): string {
  return String(([...request.messages].reverse().find((m) => m.role === 'user') as { content?: unknown } | undefined)?.content ?? '');
}

/** Resolves once `check` returns true; fails after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(100);
  }
}

async function runningItems(workflowId: string, stage: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pipeline_stage_items WHERE workflow_id = $1 AND stage = $2 AND status = 'running'",
    [workflowId, stage],
  );
  return rows[0]!.n;
}

test('fan-out over 3 items with concurrency 2: two messages in flight at most, answered one at a time by the agent', async () => {
  let workflowId = '';
  const inStage: number[] = [];
  let atModel = 0;
  let maxAtModel = 0;
  model.setResponder(async (request) => {
    const system = systemOf(request);
    if (!system.includes('ROLE:fan-ask')) return { kind: 'reply', content: `SUMMARY of ${lastUserText(request).split('\n').length - 1} answers` };
    atModel++;
    maxAtModel = Math.max(maxAtModel, atModel);
    // while the first message is with the model, the second lane has sent its own: two in flight
    if (inStage.length === 0) await until('two items are in flight', async () => (await runningItems(workflowId, 'ask')) === 2);
    inStage.push(await runningItems(workflowId, 'ask'));
    atModel--;
    return { kind: 'reply', content: `ANSWER ${lastUserText(request).replace('Tell me about: ', '')}` };
  });
  const run = await client.startPipeline('fan-out', { items: ['alpha', 'beta', 'gamma'] });
  workflowId = run.workflowId;
  const { output } = await run.result();
  assert.deepEqual(output, { answers: ['ANSWER alpha', 'ANSWER beta', 'ANSWER gamma'], summary: 'SUMMARY of 3 answers' });
  assert.equal(inStage.length, 3, 'one model call per item');
  assert.equal(inStage[0], 2, 'both lanes had a message in flight');
  assert.ok(inStage.every((n) => n <= 2), `never more than 2 in flight: ${JSON.stringify(inStage)}`);
  // the stage's messages go through the agent's own mailbox: it answers them one at a time
  assert.equal(maxAtModel, 1);
  const details = await run.describe();
  const rows = details.stages.map((s) => [s.stage, s.item, s.label, s.agentName, s.status]);
  assert.deepEqual(rows.sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`)), [
    ['ask', 1, 'alpha', 'fan-asker', 'completed'],
    ['ask', 2, 'beta', 'fan-asker', 'completed'],
    ['ask', 3, 'gamma', 'fan-asker', 'completed'],
    ['sum', 1, null, 'fan-summer', 'completed'],
  ]);
  model.setResponder(undefined);
});

test('cancellation: the running stage stops waiting, no later stage starts, the run is cancelled; the agent still answers', async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  model.setResponder(async (request) => {
    if (systemOf(request).includes('ROLE:brief-research')) await released;
    return { kind: 'reply', content: `ANSWER to ${lastUserText(request)}` };
  });
  const before = model.chatRequests().length;
  const run = await client.startPipeline('brief', { topic: 'slow rivers' }, { runId: `cancel-${Date.now()}` });
  await model.waitForChatRequests(before + 1, 20_000);

  const cancelled = await runCli(ENV, ['pipeline', 'cancel', run.runId]);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  assert.match(cancelled.stdout, /cancelling pipeline\/brief\/cancel-\d+: no further stage starts/);
  await assert.rejects(run.result());
  const details = await run.describe();
  assert.equal(details.status, 'CANCELLED');
  const shown = await runCli(ENV, ['pipeline', 'show', run.runId]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^status: +cancelled$/m);
  const again = await runCli(ENV, ['pipeline', 'cancel', run.runId]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /is cancelled: there is nothing to cancel/);
  const result = await runCli(ENV, ['pipeline', 'result', run.runId]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /did not complete: it was cancelled, so it has no output/);

  // the message already with the researcher is answered there
  release();
  const [item] = details.stages;
  assert.equal(item?.stage, 'research');
  await until('the research turn is answered', async () => (await client.getTurn(item.messageId)).status === 'completed');
  assert.equal(model.chatRequests().filter((r) => systemOf(r).includes('ROLE:brief-write')).length, 0, 'the writer was never asked');
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pipeline_stage_items WHERE workflow_id = $1 AND stage = 'write'", [run.workflowId]);
  assert.equal(rows[0]!.n, 0);
  model.setResponder(undefined);
});

test("failure: a stage whose agent's turn fails fails the run, naming the stage and the agent", async () => {
  model.enqueue({ kind: 'error', status: 401 });
  const run = await client.startPipeline('research-and-write', { topic: 'auth' });
  const error = await run.result().then(
    () => assert.fail('the run completed'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof PipelineFailedError, String(error));
  assert.equal(error.type, 'StageFailed');
  assert.match(error.message, /^stage research failed: agent researcher answered AuthFailed: /);
  const shown = await runCli(ENV, ['pipeline', 'show', run.runId]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^status: +failed$/m);
  assert.match(shown.stdout, /^error: +StageFailed: stage research failed: agent researcher answered AuthFailed: /m);
  assert.match(shown.stdout, /research +1\. auth +researcher +failed .*AuthFailed/);
  const result = await runCli(ENV, ['pipeline', 'result', run.runId, '--json']);
  assert.equal(result.code, 1);
  assert.match(JSON.parse(result.stderr).error.message, /stage research failed: agent researcher answered AuthFailed/);
});

test('budget: past --max-budget the next stage does not start, and the error names it', async () => {
  model.setResponder((request) =>
    systemOf(request).includes('careful researcher') ? { kind: 'reply', content: 'NOTES', cost: 0.01 } : { kind: 'reply', content: 'ARTICLE', cost: 0.01 },
  );
  const writerCalls = (): number => model.chatRequests().filter((r) => systemOf(r).includes('You are a writer')).length;
  const writerBefore = writerCalls();
  const started = await runCli(ENV, ['pipeline', 'run', 'research-and-write', '--input', 'topic=budgets', '--max-budget', '0.005', '--json']);
  const { workflowId, runId } = parsed<{ workflowId: string; runId: string }>(started);
  const run = await client.getPipelineRun(workflowId);
  const error = await run.result().then(
    () => assert.fail('the run completed'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof PipelineFailedError, String(error));
  assert.equal(error.type, 'BudgetExceeded');
  assert.match(error.message, /spent \$0\.0100 of \$0\.005 before stage write \(agent writer\)/);
  assert.equal(writerCalls(), writerBefore, 'the writer was never asked');
  const details = parsed<PipelineRunDetails>(await runCli(ENV, ['pipeline', 'show', runId, '--json']));
  assert.equal(details.status, 'FAILED');
  assert.equal(details.cost, 0.01);
  assert.equal(details.maxBudget, 0.005);
  model.setResponder(undefined);
});
