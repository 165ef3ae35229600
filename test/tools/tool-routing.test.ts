/**
 * A user tool reaches a worker that has it: beside a worker without the tool (as `memloom dev`
 * runs one) a second worker registers it, and every call of it runs there, never as
 * `tool "..." is not available` on the other one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import type { ToolReturnMessage } from '../../src/domain/letta-message.ts';
import { defineTool } from '../../src/tools/define-tool.ts';
import { startTestStack } from '../helpers/stack.ts';

let calls = 0;
const weather = defineTool({
  name: 'weather_report',
  description: 'Tell the weather of a city.',
  parameters: z.object({ city: z.string().min(1) }),
  timeoutMs: 5000,
  execute: ({ city }) => {
    calls++;
    return `sunny in ${city}`;
  },
});

// the first worker has no user tools: it polls the agent task queue only
const stack = await startTestStack({ tools: [] });
await stack.startWorker({ tools: [weather] });
const { client, model } = stack;

test('calls of a user tool run on the worker that has it, and the model sees its schema', async () => {
  const agent = await client.createAgent({ name: 'forecaster', llm_config: stack.llmConfig, tools: ['weather_report'] });
  const turns = 6;
  for (let i = 0; i < turns; i++) {
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'weather_report', arguments: { city: `City ${i}` } }] },
      { kind: 'reply', content: `Reported ${i}.` },
    );
    const r = await client.userMessage(agent.id, `Weather ${i}?`);
    const ret = r.messages.find((m): m is ToolReturnMessage => m.message_type === 'tool_return_message');
    assert.equal(ret?.status, 'success', ret?.tool_return);
    assert.equal(ret?.tool_return, `sunny in City ${i}`);
  }
  assert.equal(calls, turns);
  // every model request offered the tool, whichever worker made it
  for (const req of model.chatRequests()) {
    const names = (req.tools ?? []).map((t) => (t as { function: { name: string } }).function.name);
    assert.ok(names.includes('weather_report'), `tools offered: ${names.join(', ')}`);
  }
});

test('a tool no worker has registered becomes an error result naming it, not a failed turn', async () => {
  const agent = await client.createAgent({ name: 'no-such-tool', llm_config: stack.llmConfig, tools: ['teleport'] });
  model.enqueue({ kind: 'reply', toolCalls: [{ name: 'teleport', arguments: {} }] }, { kind: 'reply', content: 'I cannot teleport.' });
  const r = await client.userMessage(agent.id, 'Teleport me.');
  const ret = r.messages.find((m): m is ToolReturnMessage => m.message_type === 'tool_return_message');
  assert.equal(ret?.status, 'error');
  assert.match(ret?.tool_return ?? '', /tool "teleport" is not available/);
  assert.equal(r.stop_reason.stop_reason, 'end_turn');
});
