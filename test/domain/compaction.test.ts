import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CompactionSettingsSchema,
  CompactionTrigger,
  evictionTarget,
  parseSummaryMessage,
  planEviction,
  summarizerInput,
  summaryMessageContent,
} from '../../src/domain/compaction.ts';
import type { ContextCandidate } from '../../src/domain/context-window.ts';

let n = 0;
const user = (tokens: number): ContextCandidate => ({ id: `m${++n}`, role: 'user', toolCalls: null, toolCallId: null, tokens });
const reply = (tokens: number): ContextCandidate => ({ id: `m${++n}`, role: 'assistant', toolCalls: null, toolCallId: null, tokens });
const call = (tokens: number, ...ids: string[]): ContextCandidate => ({ id: `m${++n}`, role: 'assistant', toolCalls: ids.map((id) => ({ id })), toolCallId: null, tokens });
const ret = (tokens: number, id: string): ContextCandidate => ({ id: `m${++n}`, role: 'tool', toolCalls: null, toolCallId: id, tokens });

test('planEviction evicts the shortest oldest prefix that brings the rest within the target', () => {
  const messages = [user(100), reply(100), user(100), reply(100), user(100), reply(100)];
  assert.deepEqual(planEviction(messages, 400), { evict: 2, tokensBefore: 600, tokensAfter: 400 });
  assert.deepEqual(planEviction(messages, 350), { evict: 3, tokensBefore: 600, tokensAfter: 300 });
  assert.deepEqual(planEviction(messages, 600), { evict: 0, tokensBefore: 600, tokensAfter: 600 });
});

test('planEviction never cuts between a tool call and its returns, and always keeps the newest group', () => {
  const messages = [user(50), call(50, 'a', 'b'), ret(50, 'a'), ret(50, 'b'), reply(50), user(500)];
  // after the user message the next cut is before the final reply: the call goes with both returns
  assert.equal(planEviction(messages, 560).evict, 4);
  assert.equal(planEviction(messages, 0).evict, 5, 'the newest message stays even over the target');
  assert.equal(planEviction([user(900)], 10).evict, 0);
});

test('evictionTarget: a share of the budget before a step; of what was in context after an overflow or on demand', () => {
  const base = { budget: 1000, inContext: 600, percentage: 0.3, summaryRoom: 100 };
  assert.equal(evictionTarget({ ...base, trigger: CompactionTrigger.ContextFull }), 600);
  assert.equal(evictionTarget({ ...base, trigger: CompactionTrigger.ContextOverflow }), 320);
  assert.equal(evictionTarget({ ...base, trigger: CompactionTrigger.Manual }), 320);
});

test('the stored summary is Letta system_alert JSON, read back with its stats', () => {
  const stats = {
    trigger: CompactionTrigger.ContextFull,
    context_tokens_before: 1900,
    context_tokens_after: 700,
    context_window: 2000,
    messages_count_before: 40,
    messages_count_after: 13,
  };
  const content = summaryMessageContent({ evicted: 28, summary: 'The user is Ada.', time: new Date('2026-01-02T03:04:05Z'), stats });
  const parsed = JSON.parse(content) as { type: string; message: string; time: string };
  assert.equal(parsed.type, 'system_alert');
  assert.match(parsed.message, /^Note: 28 messages from the beginning of the conversation have been hidden from view due to memory constraints\.\n/);
  assert.deepEqual(parseSummaryMessage(content), { summary: 'The user is Ada.', evicted: 28, stats });
  assert.equal(parseSummaryMessage('hello'), null);
  assert.equal(parseSummaryMessage(JSON.stringify({ type: 'other' })), null);
});

test("the summarizer reads the previous summary, then the transcript, clipped from its oldest end", () => {
  const input = summarizerInput('Earlier: Ada likes 42.', [{ role: 'user', text: 'x'.repeat(50) }, { role: 'assistant', text: 'the end' }], 30);
  assert.match(input, /^Summary of the messages before these:\nEarlier: Ada likes 42\.\n\nMessages to summarize:\n\[… earlier text cut …\]\n/);
  assert.ok(input.endsWith('assistant: the end'));
  assert.ok(!summarizerInput(null, [{ role: 'user', text: 'hi' }], 1000).includes('Summary of the messages before'));
});

test('compaction settings are checked with the field named', () => {
  assert.deepEqual(CompactionSettingsSchema.parse({ sliding_window_percentage: 0.5, model: 'small' }), { sliding_window_percentage: 0.5, model: 'small' });
  const bad = CompactionSettingsSchema.safeParse({ sliding_window_percentage: 1.5, extra: 1 });
  assert.ok(!bad.success);
  assert.deepEqual(bad.error.issues.map((i) => i.path.join('.') || i.code).sort(), ['sliding_window_percentage', 'unrecognized_keys']);
});
