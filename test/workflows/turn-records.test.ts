/**
 * A message id is answered once, ever: a resend returns the turn record's outcome in the same
 * run, after continue-as-new and after the agent's workflow ended; a failed turn stays failed
 * until it is retried explicitly, and the retry answers after the turns sent meanwhile.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, type MemloomClient } from '../../src/client/memloom-client.ts';
import { TurnFailedError } from '../../src/domain/errors.ts';
import { agentWorkflowId, IdPrefix, newId } from '../../src/domain/ids.ts';
import { startTestStack, TEMPORAL_ADDRESS, type TestStack } from '../helpers/stack.ts';

const stack: TestStack = await startTestStack();
const { client, model } = stack;

async function newAgent(name: string, c: MemloomClient = client) {
  return c.createAgent({ name, llm_config: stack.llmConfig, memory_blocks: [{ label: 'human', value: '' }] });
}

async function runIds(agentId: string): Promise<{ runId: string; status: string }[]> {
  const runs: { runId: string; status: string }[] = [];
  for await (const w of client.temporal.workflow.list({ query: `WorkflowId = "${agentWorkflowId(agentId)}"` })) {
    runs.push({ runId: w.runId, status: w.status.name });
  }
  return runs;
}

async function userTexts(agentId: string): Promise<string[]> {
  const { rows } = await stack.db.query<{ content: string }>(
    "SELECT content FROM messages WHERE agent_id = $1 AND role = 'user' AND seq IS NOT NULL ORDER BY seq",
    [agentId],
  );
  return rows.map((r) => r.content);
}

describe('turn records', () => {
  test('a resent message id returns the same answer without a model call, in the same run and after continue-as-new', async () => {
    const agent = await newAgent('resend');
    const messageId = newId(IdPrefix.Message);
    model.enqueue({ kind: 'reply', content: 'The one and only answer.' });
    const first = await client.userMessage(agent.id, 'Answer me once.', { messageId, maxSteps: 1 });
    const calls = model.chatRequests().length;
    const again = await client.userMessage(agent.id, 'Answer me once.', { messageId, maxSteps: 1 });
    assert.deepEqual(again, first);

    // enough turns that the run continues as new (the test server suggests it at 150 events)
    const runBefore = (await client.temporal.workflow.getHandle(agentWorkflowId(agent.id)).describe()).runId;
    for (let i = 0; i < 12; i++) await client.userMessage(agent.id, `filler ${i}`);
    const runAfter = (await client.temporal.workflow.getHandle(agentWorkflowId(agent.id)).describe()).runId;
    assert.notEqual(runAfter, runBefore, 'the agent workflow continued as new');
    const callsAfterFillers = model.chatRequests().length;
    assert.equal(callsAfterFillers, calls + 12);

    // a larger max steps on the resend changes nothing: the record's outcome is the answer
    const late = await client.userMessage(agent.id, 'Answer me once.', { messageId, maxSteps: 5 });
    assert.deepEqual(late, first);
    assert.equal(model.chatRequests().length, callsAfterFillers, 'no model call for a resent message');
    const turn = await client.getTurn(messageId);
    assert.equal(turn.status, 'completed');
    assert.equal(turn.maxSteps, 1);
    assert.equal(turn.attempts.length, 1);
    assert.equal((await client.getStatus(agent.id))?.turnsCompleted, 13);
  });

  test('a failed turn stays failed on resend; an explicit retry answers after the turns sent meanwhile', async () => {
    const agent = await newAgent('retry-me');
    const messageId = newId(IdPrefix.Message);
    model.enqueue({ kind: 'error', status: 401 });
    await assert.rejects(client.userMessage(agent.id, 'First question.', { messageId }), (e: unknown) => e instanceof TurnFailedError && e.type === 'AuthFailed');
    const calls = model.chatRequests().length;
    await assert.rejects(client.userMessage(agent.id, 'First question.', { messageId }), (e: unknown) => e instanceof TurnFailedError && e.type === 'AuthFailed');
    assert.equal(model.chatRequests().length, calls, 'a resent failed turn makes no model call');

    model.enqueue({ kind: 'reply', content: 'Answer to the second question.' });
    await client.userMessage(agent.id, 'Second question.');
    model.enqueue({ kind: 'reply', content: 'Answer to the first question, at last.' });
    const retried = await client.retryTurn(messageId);
    assert.equal(retried.messages.at(-1)?.message_type, 'assistant_message');
    assert.deepEqual(
      retried.messages.map((m) => (m.message_type === 'assistant_message' ? m.content : m.message_type)),
      ['Answer to the first question, at last.'],
    );
    // retried again or resent: the same answer, no new call
    const calls2 = model.chatRequests().length;
    assert.deepEqual(await client.retryTurn(messageId), retried);
    assert.deepEqual(await client.userMessage(agent.id, 'First question.', { messageId }), retried);
    assert.equal(model.chatRequests().length, calls2);

    assert.deepEqual(await userTexts(agent.id), ['Second question.', 'First question.']);
    const turn = await client.getTurn(messageId);
    assert.equal(turn.status, 'completed');
    assert.deepEqual(
      turn.attempts.map((a) => [a.attempt, a.status, a.errorType]),
      [
        [1, 'failed', 'AuthFailed'],
        [2, 'completed', null],
      ],
    );
    const status = await client.getStatus(agent.id);
    assert.equal(status?.turnsFailed, 1);
    assert.equal(status?.turnsCompleted, 2);
  });

  test('an idle agent workflow ends; a resend after that answers from the record, a new message starts it again', async () => {
    const quick = await createClient({
      temporalAddress: TEMPORAL_ADDRESS,
      databaseUrl: stack.databaseUrl,
      taskQueue: stack.taskQueue,
      agentIdleTimeoutMs: 1000,
    });
    try {
      const agent = await newAgent('idle', quick);
      const messageId = newId(IdPrefix.Message);
      model.enqueue({ kind: 'reply', content: 'Before the nap.' });
      const first = await quick.userMessage(agent.id, 'Hello before the nap.', { messageId });
      const handle = quick.temporal.workflow.getHandle(agentWorkflowId(agent.id));
      await handle.result();
      assert.equal((await handle.describe()).status.name, 'COMPLETED');
      const calls = model.chatRequests().length;
      assert.deepEqual(await quick.userMessage(agent.id, 'Hello before the nap.', { messageId }), first);
      assert.equal(model.chatRequests().length, calls);

      // messages sent right around the moment the run ends are all answered, once
      const texts: string[] = [];
      for (let i = 0; i < 6; i++) {
        await sleep(900 + (i % 3) * 60);
        texts.push(`around the edge ${i}`);
        await quick.userMessage(agent.id, texts.at(-1)!);
      }
      assert.deepEqual(await userTexts(agent.id), ['Hello before the nap.', ...texts]);
      const runs = await runIds(agent.id);
      assert.ok(runs.length >= 2, `expected several runs, got ${runs.length}`);
      assert.ok(runs.every((r) => r.status === 'COMPLETED' || r.status === 'RUNNING'), JSON.stringify(runs));
    } finally {
      await quick.close();
    }
  });

  test('under sustained load the agent still continues as new: every message answered once, in order, no run terminated', async () => {
    const agent = await newAgent('sustained');
    model.setResponder((req) => {
      const last = [...req.messages].reverse().find((m) => m.role === 'user') as { content: string } | undefined;
      return { kind: 'reply', content: `re: ${last?.content ?? ''}`, delayMs: 20 };
    });
    try {
      const total = 40;
      const sent: string[] = [];
      const pending = new Set<Promise<unknown>>();
      for (let i = 0; i < total; i++) {
        // keep at least 3 messages queued behind the running turn
        while (pending.size >= 4) await Promise.race(pending);
        const text = `load ${String(i).padStart(2, '0')}`;
        sent.push(text);
        const p = client.userMessage(agent.id, text).finally(() => pending.delete(p));
        pending.add(p);
        await sleep(5);
      }
      await Promise.all(pending);
      const texts = await userTexts(agent.id);
      assert.equal(texts.length, total);
      assert.deepEqual([...texts].sort(), [...sent].sort());
      const { rows } = await stack.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM messages WHERE agent_id = $1 AND role = 'assistant' GROUP BY turn_id HAVING count(*) <> 1`,
        [agent.id],
      );
      assert.equal(rows.length, 0, 'every turn has exactly one answer');
      const runs = await runIds(agent.id);
      assert.ok(runs.length >= 2, 'the run continued as new under load');
      assert.ok(!runs.some((r) => r.status === 'TERMINATED'), JSON.stringify(runs));
    } finally {
      model.setResponder(undefined);
    }
  });
});
