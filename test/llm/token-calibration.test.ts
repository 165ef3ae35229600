/**
 * Token calibration on the real stack: an endpoint whose tokenizer counts 1.5 tokens for each one
 * memloom counts teaches the agent so, and the agent's context shrinks to fit what the endpoint
 * counts; an endpoint that reports no usage teaches nothing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getTokenCalibration } from '../../src/db/token-calibration-store.ts';
import type { ChatRequest } from '../../src/dev/scripted-model-server.ts';
import { ValidationError } from '../../src/domain/errors.ts';
import { chatRequestTokens, countTokens } from '../../src/llm/token-count.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

const stack: TestStack = await startTestStack();
const WINDOW = 2048;
const REPLY = 128;
/** What the endpoint may count for a prompt: the window less the reply memloom reserves. */
const PROMPT_ROOM = WINDOW - REPLY;
const TURNS = 14;

/** Reported prompt tokens per counted one, by agent id; an agent not here gets answers without usage. */
const scale = new Map<string, number>();
stack.model.setResponder((request) => {
  const s = scale.get(String(request['user']));
  return { kind: 'reply', content: 'Noted.', usage: s === undefined ? null : { prompt_tokens: Math.round(s * chatRequestTokens(request)) } };
});

const text = (i: number): string => `Turn ${i}. ${'The quick brown fox jumps over the lazy dog. '.repeat(8)}`;
const requestsOf = (agentId: string): ChatRequest[] => stack.model.chatRequests().filter((r) => r['user'] === agentId);
/** The conversation a request carried: every message but the system prompt. */
const history = (request: ChatRequest): number => request.messages.length - 1;

async function createAgent(name: string, reportedPerCounted: number) {
  const agent = await stack.client.createAgent({ name, llm_config: { ...stack.llmConfig, context_window: WINDOW, max_tokens: REPLY } });
  scale.set(agent.id, reportedPerCounted);
  return agent;
}

describe('token calibration', () => {
  test('an endpoint that counts 1.5x: the calibration learns it and the context shrinks to fit', async () => {
    const exact = await createAgent('counts-exactly', 1);
    const inflated = await createAgent('counts-more', 1.5);
    for (let i = 0; i < TURNS; i++) {
      await stack.client.userMessage(exact.id, text(i));
      await stack.client.userMessage(inflated.id, text(i));
    }

    const learned = await getTokenCalibration(stack.db, inflated.id, 'scripted-model');
    assert.equal(learned.samples, TURNS);
    assert.ok(Math.abs(learned.ratio - 1.5) < 0.01, `ratio ${learned.ratio}`);
    const same = await getTokenCalibration(stack.db, exact.id, 'scripted-model');
    assert.ok(Math.abs(same.ratio - 1) < 0.01, `ratio ${same.ratio}`);

    const exactLast = requestsOf(exact.id).at(-1)!;
    const inflatedLast = requestsOf(inflated.id).at(-1)!;
    // both histories outgrew the window: the agents sent only their newest messages
    assert.ok(history(exactLast) < 2 * TURNS - 1 && history(inflatedLast) < history(exactLast), `${history(inflatedLast)} < ${history(exactLast)} < ${2 * TURNS - 1}`);
    // the exact agent's prompt would overflow an endpoint counting 1.5x; the calibrated one fits it
    assert.ok(1.5 * chatRequestTokens(exactLast) > PROMPT_ROOM);
    for (const request of requestsOf(inflated.id)) assert.ok(1.5 * chatRequestTokens(request) <= PROMPT_ROOM);
    // ...and is not cut further than it needs: one more message would not have fitted
    assert.ok(1.5 * (chatRequestTokens(inflatedLast) + countTokens(text(0)) + 4) > PROMPT_ROOM);
  });

  test('an endpoint that reports no usage leaves the calibration as it was', async () => {
    const agent = await createAgent('goes-quiet', 1.5);
    for (let i = 0; i < 3; i++) await stack.client.userMessage(agent.id, text(i));
    const before = await getTokenCalibration(stack.db, agent.id, 'scripted-model');
    assert.equal(before.samples, 3);

    scale.delete(agent.id);
    for (let i = 3; i < 6; i++) {
      const response = await stack.client.userMessage(agent.id, text(i));
      // the turn's usage is then memloom's count, converted as calibrated
      const prompt = chatRequestTokens(requestsOf(agent.id).at(-1)!);
      assert.ok(Math.abs(response.usage.prompt_tokens - 1.5 * prompt) <= 1, `${response.usage.prompt_tokens} vs 1.5 x ${prompt}`);
    }
    assert.deepEqual(await getTokenCalibration(stack.db, agent.id, 'scripted-model'), before);
  });

  test('the largest message is half the window as the endpoint counts it', async () => {
    const exact = await createAgent('takes-long-messages', 1);
    const inflated = await createAgent('refuses-long-messages', 1.5);
    await stack.client.userMessage(exact.id, 'hi');
    await stack.client.userMessage(inflated.id, 'hi');
    // about 800 tokens: under half of the 2048 window, over it at 1.5x
    const long = 'The quick brown fox jumps over the lazy dog. '.repeat(80);
    const counted = countTokens(long);
    assert.ok(counted < WINDOW / 2 && 1.5 * counted > WINDOW / 2, `${counted}`);
    await stack.client.userMessage(exact.id, long);
    const refused = await stack.client.userMessage(inflated.id, long).then(
      () => assert.fail('the message should have been refused'),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof ValidationError);
    const about = Number(/message is about (\d+) tokens/.exec(refused.message)?.[1]);
    assert.ok(Math.abs(about - 1.5 * counted) <= 2, `${about} vs 1.5 x ${counted}`);
    assert.match(refused.message, /may have at most 1024/);
  });
});
