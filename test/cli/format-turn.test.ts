/** `memloom turn show` text for each state a turn can be in. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TurnDetails } from '../../src/client/memloom-client.ts';
import { formatTurn } from '../../src/cli/format.ts';

const base: TurnDetails = {
  messageId: 'message-00000000-0000-4000-8000-000000000001',
  agentId: 'agent-00000000-0000-4000-8000-000000000001',
  status: 'queued',
  attempt: 1,
  maxSteps: 10,
  stepBase: 0,
  stepCount: 0,
  stopReason: null,
  usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  errorType: null,
  errorMessage: null,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  startedAt: null,
  finishedAt: null,
  attempts: [
    { attempt: 1, status: 'queued', stepBase: 0, stepCount: 0, stopReason: null, errorType: null, errorMessage: null, queuedAt: new Date(0), startedAt: null, finishedAt: null },
  ],
  modelCalls: [],
  messages: [],
};

test('a queued turn says how to deliver it again if its sender stopped', () => {
  assert.match(formatTurn(base), /^status: +queued · attempt 1, waiting in the agent's queue \(if its sender stopped .* --message-id message-0+-0000-4000-8000-000000000001\)$/m);
});

test('a failed turn shows its error and each attempt', () => {
  const failed: TurnDetails = {
    ...base,
    status: 'failed',
    stepCount: 1,
    errorType: 'RateLimited',
    errorMessage: 'model endpoint returned 429',
    attempts: [{ ...base.attempts[0]!, status: 'failed', stepCount: 1, errorType: 'RateLimited', errorMessage: 'model endpoint returned 429' }],
  };
  const text = formatTurn(failed);
  assert.match(text, /^status: +failed · RateLimited: model endpoint returned 429$/m);
  assert.match(text, /^ {2}1\. failed \(RateLimited: model endpoint returned 429\) · steps 1\.\.1$/m);
});

test('a turn shows the chain of its model calls: group, deployment, why, outcome', () => {
  const call = { step: 1, modelGroup: 'smart', totalTokens: 0, cost: null, latencyMs: 812, at: new Date(0) };
  const text = formatTurn({
    ...base,
    status: 'completed',
    modelCalls: [
      { ...call, chainAttempt: 1, deployment: 'smart-1', reason: 'first try', outcome: 'Upstream5xx' },
      { ...call, chainAttempt: 2, modelGroup: 'fast', deployment: 'fast-1', reason: 'fallback from smart after Upstream5xx', outcome: 'ok', totalTokens: 130, cost: 0.0004 },
    ],
  });
  assert.match(text, /^model calls:\n {2}step 1 · 1\. smart · smart-1 · first try → Upstream5xx · 812 ms\n {2}step 1 · 2\. fast · fast-1 · fallback from smart after Upstream5xx → ok · 130 tokens · \$0\.0004 · 812 ms$/m);
});
