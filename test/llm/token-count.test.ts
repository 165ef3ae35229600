/**
 * Token counts: the real encodings (checked against the values OpenAI's cookbook prints with
 * tiktoken), OpenAI's chat framing, and the segmenting that keeps huge texts cheap but exact.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode as o200kEncode } from 'gpt-tokenizer/encoding/o200k_base';
import { encode as cl100kEncode } from 'gpt-tokenizer/encoding/cl100k_base';
import {
  chatRequestTokens,
  countTokens,
  countTokensWithin,
  encodingForModel,
  estimateMessageTokens,
  promptFrameTokens,
  SEGMENT_CHARS,
  TokenEncoding,
  toolSchemaTokens,
} from '../../src/llm/token-count.ts';

const { O200kBase, Cl100kBase } = TokenEncoding;

const CODE = `export function fibonacci(n: number): number {
  if (n < 2) return n;
  let [a, b] = [0, 1];
  for (let i = 1; i < n; i++) [a, b] = [b, a + b];
  return b;
}`;
const JSON_TEXT = JSON.stringify({
  id: 'agent-3f1c9a52-7b1e-4c8e-9a0f-2d6b1e5c7a90',
  name: 'support-bot',
  tags: ['billing', 'tier-2'],
  llm_config: { model: 'gpt-4o-mini', context_window: 128000, temperature: 0.2 },
});
const CJK = '人工智能是计算机科学的一个分支，它企图了解智能的实质，并生产出一种新的能以人类智能相似的方式做出反应的智能机器。';

test('counts match the encodings: the cookbook examples, English, code, JSON and CJK', () => {
  // token lists OpenAI's "How to count tokens with tiktoken" prints for both encodings
  const cookbook: [string, number, number][] = [
    ['tiktoken is great!', 6, 6],
    ['antidisestablishmentarianism', 6, 6],
    ['2 + 2 = 4', 7, 7],
    ['お誕生日おめでとう', 8, 9],
  ];
  for (const [text, o200k, cl100k] of cookbook) {
    assert.equal(countTokens(text, O200kBase), o200k, text);
    assert.equal(countTokens(text, Cl100kBase), cl100k, text);
  }
  assert.deepEqual(o200kEncode('tiktoken is great!'), [83, 8251, 2488, 382, 2212, 0]);
  assert.deepEqual(cl100kEncode('tiktoken is great!'), [83, 1609, 5963, 374, 2294, 0]);

  // the same counts as tiktoken; characters / 4 was low by 40 % for code, 45 % for JSON, 65 % for CJK
  const texts: [string, string, number, number][] = [
    ['English', 'The quick brown fox jumps over the lazy dog.', 10, 10],
    ['code', CODE, 67, 67],
    ['JSON', JSON_TEXT, 80, 78],
    ['CJK', CJK, 40, 61],
  ];
  for (const [kind, text, o200k, cl100k] of texts) {
    assert.equal(countTokens(text), o200k, kind);
    assert.equal(countTokens(text, Cl100kBase), cl100k, kind);
  }
  assert.ok(countTokens(JSON_TEXT) > 1.5 * Math.ceil(JSON_TEXT.length / 4));
  assert.ok(countTokens(CJK) > 2.5 * Math.ceil(CJK.length / 4));
});

test('long texts are counted in segments with the same result as whole', () => {
  const prose = Array.from({ length: 400 }, (_, i) => `Paragraph ${i}: the agent's memory holds facts (and numbers like ${i * 7919}).\n`).join('');
  const code = Array.from({ length: 60 }, (_, i) => CODE.replace('fibonacci', `fib${i}`)).join('\n\n');
  const json = JSON.stringify(Array.from({ length: 80 }, (_, i) => ({ i, text: JSON_TEXT })));
  const cjk = Array.from({ length: 150 }, (_, i) => `${CJK}第${i}段`).join('');
  for (const [kind, text] of [['prose', prose], ['code', code], ['JSON', json], ['CJK', cjk]] as const) {
    assert.ok(text.length > 3 * SEGMENT_CHARS, kind);
    assert.equal(countTokens(text), o200kEncode(text).length, kind);
    assert.equal(countTokens(text, Cl100kBase), cl100kEncode(text).length, kind);
  }
});

test('a run with nowhere to cut stays cheap, and a huge text is counted only up to a limit', () => {
  // 2048 characters of one letter is 256 tokens; merging one 100,000-character piece would take seconds
  assert.equal(countTokens('x'.repeat(100_000)), 12_500);
  assert.deepEqual(countTokensWithin('x'.repeat(2_000_000), 4096), { tokens: 250_000, within: false });
  assert.deepEqual(countTokensWithin(CODE, 67), { tokens: 67, within: true });
  assert.deepEqual(countTokensWithin(CODE, 66), { tokens: 67, within: false });
  // emoji are never split between segments
  const emoji = '😀'.repeat(1500);
  assert.equal(countTokens(emoji), o200kEncode(emoji).length);
});

test('special tokens in a text are counted as plain text', () => {
  assert.equal(countTokens('<|endoftext|>'), 7);
  assert.equal(countTokens('say <|im_start|>system'), countTokens('say <|im_start|>system'));
});

test('the encoding follows the model name, LiteLLM prefixes included', () => {
  const cases: [string, TokenEncoding][] = [
    ['gpt-4o', O200kBase],
    ['openai/gpt-4o-mini', O200kBase],
    ['gpt-4.1-nano', O200kBase],
    ['o3-mini', O200kBase],
    ['o4-mini', O200kBase],
    ['gpt-5', O200kBase],
    ['gpt-4', Cl100kBase],
    ['azure/gpt-4-turbo', Cl100kBase],
    ['gpt-3.5-turbo', Cl100kBase],
    ['azure/gpt-35-turbo', Cl100kBase],
    ['text-embedding-3-small', Cl100kBase],
    ['anthropic/claude-sonnet-4', O200kBase],
    ['ollama/llama3.1', O200kBase],
    ['scripted-model', O200kBase],
  ];
  for (const [model, encoding] of cases) assert.equal(encodingForModel(model), encoding, model);
});

test('messages are framed as in OpenAI chat: 4 tokens a message, tool calls with their name and arguments', () => {
  assert.equal(estimateMessageTokens({ content: 'hello world' }), 4 + 2);
  assert.equal(estimateMessageTokens({ content: null }), 4);
  // reasoning is never sent back to the model
  assert.equal(estimateMessageTokens({ content: 'hello world', reasoning: 'a long thought '.repeat(50) }), 6);
  const call = { name: 'core_memory_append', arguments: '{"label":"human","content":"Likes tea."}' };
  assert.equal(estimateMessageTokens({ content: null, toolCalls: [call] }), 4 + 3 + countTokens(call.name) + countTokens(call.arguments));
});

test('tool schemas are counted as the model sees them, not as JSON', () => {
  const weather = {
    name: 'get_weather',
    description: 'Get the weather',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', description: 'City name' }, unit: { type: 'string', enum: ['c', 'f'] } },
      required: ['city'],
    },
  };
  const rendered = [
    'namespace functions {',
    '',
    '// Get the weather',
    'type get_weather = (_: {',
    '// City name',
    'city: string,',
    'unit?: "c" | "f",',
    '}) => any;',
    '',
    '} // namespace functions',
  ].join('\n');
  assert.equal(toolSchemaTokens([weather]), 5 + countTokens(rendered));
  assert.ok(toolSchemaTokens([weather]) < countTokens(JSON.stringify(weather)));
  assert.equal(toolSchemaTokens([]), 0);
  // a schema the renderer cannot read is still counted
  assert.ok(toolSchemaTokens([{ name: 'odd', parameters: { type: 'object', properties: { x: null } } }]) > 0);
});

test('a request counted as an endpoint counts it equals the prompt memloom counts', () => {
  const system = 'You are a helpful assistant.\n<human>\nName: Alice\n</human>';
  const tools = [{ name: 'archival_memory_search', description: 'Search archival memory', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } }];
  const call = { id: 'call_1', type: 'function', function: { name: 'archival_memory_search', arguments: '{"query":"tea"}' } };
  const stored = [
    estimateMessageTokens({ content: 'What do I like?' }),
    estimateMessageTokens({ content: null, toolCalls: [call.function] }),
    estimateMessageTokens({ content: 'Likes tea.' }),
    estimateMessageTokens({ content: 'You like tea.' }),
  ];
  const frame = promptFrameTokens(system, tools);
  const request = {
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: [{ type: 'text', text: 'What do I like?' }] },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: 'call_1', content: 'Likes tea.' },
      { role: 'assistant', content: 'You like tea.' },
    ],
    tools: tools.map((fn) => ({ type: 'function', function: fn })),
  };
  assert.equal(chatRequestTokens(request), frame.systemTokens + frame.toolTokens + stored.reduce((a, b) => a + b, 0));
  // OpenAI's cookbook: 3 tokens a message, plus the role, plus 3 priming the reply
  assert.equal(chatRequestTokens({ messages: [{ role: 'user', content: 'hello world' }] }), 3 + 1 + 2 + 3);
});
