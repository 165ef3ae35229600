/**
 * The activity failure boundary: configuration and internal errors fail a turn at once with a
 * message that says what to fix, instead of being retried as if they were transient; a transient
 * database error stays retryable.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { pino } from 'pino';
import { z } from 'zod';
import { toActivityFailure } from '../../activities/failure-boundary.ts';
import type { MemloomClient } from '../../src/client/memloom-client.ts';
import { ActivityFailureType, ConfigError, ModelErrorType, TurnFailedError } from '../../src/domain/errors.ts';
import { agentWorkflowId } from '../../src/domain/ids.ts';
import { usageOutcomes } from '../helpers/history.ts';
import { startTestStack } from '../helpers/stack.ts';

/** A worker with no API key and no default model endpoint (LLM_BASE_URL unset). */
const stack = await startTestStack({ startWorker: false });
await stack.startWorker({ modelApiKey: undefined });
const { client, model, db } = stack;

async function failedTurn(agentId: string): Promise<TurnFailedError> {
  let caught: unknown;
  await client.userMessage(agentId, 'hello').catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof TurnFailedError, `expected TurnFailedError, got ${String(caught)}`);
  return caught;
}

/**
 * Attempts of each `callModel` that ended, from the agent's workflow history and those of its
 * child workflows. Temporal writes one started event per activity, with its last attempt.
 */
async function callModelAttempts(c: MemloomClient, workflowId: string): Promise<{ attempt: number; failureType: string | undefined }[]> {
  const history = await c.temporal.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const callModelIds = new Set(
    events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callModel').map((e) => String(e.eventId)),
  );
  const out: { attempt: number; failureType: string | undefined }[] = [];
  for (const e of events) {
    const started = e.activityTaskStartedEventAttributes;
    if (started && callModelIds.has(String(started.scheduledEventId))) {
      const failed = events.find((f) => String(f.activityTaskFailedEventAttributes?.startedEventId) === String(e.eventId));
      const failureType = failed?.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type ?? undefined;
      out.push({ attempt: started.attempt ?? 0, failureType });
    }
    const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
    if (child) out.push(...(await callModelAttempts(c, child)));
  }
  return out;
}

describe('the activity failure boundary on a real worker', () => {
  test('an agent without a model endpoint fails its turn at once with ConfigError', async () => {
    const agent = await client.createAgent({ name: 'no-endpoint', llm_config: { model: 'scripted-model', context_window: 8192 } });
    const requests = model.chatRequests().length;
    const error = await failedTurn(agent.id);
    assert.equal(error.type, ActivityFailureType.ConfigError);
    assert.match(error.message, /no model endpoint: set llm_config\.model_endpoint on the agent, or LLM_BASE_URL on the worker/);
    assert.equal(model.chatRequests().length, requests, 'no model request was made');
    assert.deepEqual(await callModelAttempts(client, agentWorkflowId(agent.id)), [{ attempt: 1, failureType: 'ConfigError' }]);
  });

  test('a 500 answered to a worker without a key is AuthFailed after one attempt, not retried', async () => {
    const agent = await client.createAgent({ name: 'keyless', llm_config: stack.llmConfig });
    const requests = model.chatRequests().length;
    model.enqueue({ kind: 'error', status: 500 }, { kind: 'reply', content: 'a retry would have got this' });
    const error = await failedTurn(agent.id);
    assert.equal(error.type, ModelErrorType.AuthFailed);
    assert.match(error.message, /missing credentials: the model endpoint .* answered 500 to a request without an API key; set LLM_API_KEY/);
    assert.equal(model.chatRequests().length - requests, 1);
    assert.deepEqual((await usageOutcomes(db, agent.id)).map((u) => u.outcome), ['AuthFailed']);
    assert.deepEqual(await callModelAttempts(client, agentWorkflowId(agent.id)), [{ attempt: 1, failureType: 'AuthFailed' }]);
    // the reply a retry would have got is still queued: drop it
    model.reset();
  });
});

describe('what an error leaving an activity becomes', () => {
  const lines: string[] = [];
  const logger = pino(
    { level: 'error' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  const asFailure = (error: unknown): ApplicationFailure => {
    const failure = toActivityFailure(error, 'someActivity', logger);
    assert.ok(failure instanceof ApplicationFailure, `got ${String(failure)}`);
    return failure;
  };

  test('classified failures and cancellations pass through unchanged', () => {
    const classified = ApplicationFailure.nonRetryable('bad key', 'AuthFailed');
    assert.equal(toActivityFailure(classified, 'callModel', logger), classified);
    const cancelled = new CancelledFailure('cancelled');
    assert.equal(toActivityFailure(cancelled, 'callModel', logger), cancelled);
  });

  test('a transient database error is retryable DatabaseUnavailable', () => {
    const failure = asFailure(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }));
    assert.equal(failure.type, ActivityFailureType.DatabaseUnavailable);
    assert.equal(failure.nonRetryable, false);
    assert.match(failure.message, /terminating connection/);
  });

  test('configuration and payload errors are non-retryable and say what is wrong', () => {
    const config = asFailure(new ConfigError('no model endpoint: set LLM_BASE_URL on the worker'));
    assert.deepEqual([config.type, config.nonRetryable, config.message], ['ConfigError', true, 'no model endpoint: set LLM_BASE_URL on the worker']);
    const zodError = z.object({ agentId: z.string() }).safeParse({ agentId: 7 }).error;
    const payload = asFailure(zodError);
    assert.equal(payload.type, ActivityFailureType.InvalidPayload);
    assert.equal(payload.nonRetryable, true);
    assert.match(payload.message, /agentId/);
  });

  test('a bug in our code is a non-retryable InternalError, logged once with its stack', () => {
    lines.length = 0;
    const failure = asFailure(new TypeError("Cannot read properties of undefined (reading 'id')"));
    assert.equal(failure.type, ActivityFailureType.InternalError);
    assert.equal(failure.nonRetryable, true);
    assert.equal(failure.message, "internal error in someActivity: TypeError: Cannot read properties of undefined (reading 'id')");
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]!) as { activity: string; err: { stack: string } };
    assert.equal(entry.activity, 'someActivity');
    assert.match(entry.err.stack, /TypeError: Cannot read properties/);
  });
});
