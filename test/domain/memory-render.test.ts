import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileSystemPrompt } from '../../src/domain/memory-render.ts';

const blocks = [
  { label: 'persona', value: 'I am helpful.', limit: 5000, description: 'who I am', read_only: true },
  { label: 'human', value: '', limit: 100, description: null, read_only: false },
];

test('blocks are rendered after the system prompt in Letta layout', () => {
  const prompt = compileSystemPrompt('Be kind.', blocks);
  assert.ok(prompt.startsWith('Be kind.\n\n<memory_blocks>'));
  assert.match(prompt, /<persona>\n<description>\nwho I am\n<\/description>\n<metadata>\n- read_only=true\n- chars_current=13\n- chars_limit=5000\n<\/metadata>\n<value>\nI am helpful.\n<\/value>\n<\/persona>/);
  assert.match(prompt, /<human>\n<metadata>\n- chars_current=0\n- chars_limit=100/);
});

test('{CORE_MEMORY} places the blocks where the prompt asks', () => {
  const prompt = compileSystemPrompt('Start.\n{CORE_MEMORY}\nEnd.', blocks);
  assert.ok(prompt.startsWith('Start.\n<memory_blocks>'));
  assert.ok(prompt.endsWith('</memory_blocks>\nEnd.'));
});
