import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import type { ToolReturnMessage } from '../../src/domain/letta-message.ts';
import { DEFAULT_TOOL_TIMEOUT_MS, MEMORY_TOOL_TIMEOUT_MS } from '../../src/domain/timeouts.ts';
import { defineTool } from '../../src/tools/define-tool.ts';
import { ToolRegistry } from '../../src/tools/registry.ts';
import { startTestStack } from '../helpers/stack.ts';

const searches: string[] = [];
const searchWeb = defineTool({
  name: 'search_web',
  description: 'Search the web.',
  parameters: z.object({ query: z.string().min(1), limit: z.number().int().max(5).default(3) }),
  execute: ({ query, limit }, ctx) => {
    searches.push(`${ctx.agentId}:${query}:${limit}`);
    return [{ title: `About ${query}`, url: 'https://example.test/1' }];
  },
});
const explode = defineTool({
  name: 'explode',
  description: 'Always fails.',
  parameters: z.object({}),
  execute: () => {
    throw new Error('the detonator is wet');
  },
});

const hangSignals: AbortSignal[] = [];
const hang = defineTool({
  name: 'hang',
  description: 'Never answers.',
  parameters: z.object({}),
  timeoutMs: 200,
  execute: (_args, ctx) => {
    hangSignals.push(ctx.signal);
    return new Promise(() => undefined);
  },
});

const stack = await startTestStack({ tools: [searchWeb, explode, hang] });
const { client, model } = stack;

describe('user tools', () => {
  test('defineTool derives the JSON schema the model receives', () => {
    assert.deepEqual(searchWeb.jsonSchema, {
      type: 'object',
      properties: { query: { type: 'string', minLength: 1 }, limit: { type: 'integer', maximum: 5, default: 3 } },
      required: ['query'],
      additionalProperties: false,
    });
    assert.throws(() => defineTool({ name: 'bad name!', description: 'x', parameters: z.object({}), execute: () => 1 }), /name/);
  });

  test('each tool has a timeout: its own, the default, or the memory tools\' short one', () => {
    assert.equal(hang.timeoutMs, 200);
    assert.equal(searchWeb.timeoutMs, DEFAULT_TOOL_TIMEOUT_MS);
    const registry = new ToolRegistry([searchWeb, hang]);
    assert.equal(registry.timeoutMsFor('hang'), 200);
    assert.equal(registry.timeoutMsFor('search_web'), DEFAULT_TOOL_TIMEOUT_MS);
    assert.equal(registry.timeoutMsFor('core_memory_append'), MEMORY_TOOL_TIMEOUT_MS);
    assert.equal(registry.timeoutMsFor('no_such_tool'), DEFAULT_TOOL_TIMEOUT_MS);
    for (const timeoutMs of [0, -5, 1.5, 3_600_001, Number.NaN]) {
      assert.throws(
        () => defineTool({ name: 'slow', description: 'x', parameters: z.object({}), execute: () => 1, timeoutMs }),
        /tool slow: timeoutMs must be a whole number of milliseconds from 1 to 3600000/,
      );
    }
  });

  test('a tool loop: the model calls a user tool, reads its result, answers', async () => {
    const agent = await client.createAgent({ name: 'researcher', llm_config: stack.llmConfig, tools: ['search_web', 'explode'] });
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'search_web', arguments: { query: 'temporal workflows' } }] },
      { kind: 'reply', content: 'Found it: About temporal workflows.' },
    );
    const r = await client.userMessage(agent.id, 'Look up temporal workflows.');
    assert.deepEqual(r.messages.map((m) => m.message_type), ['tool_call_message', 'tool_return_message', 'assistant_message']);
    const ret = r.messages[1] as ToolReturnMessage;
    assert.equal(ret.status, 'success');
    assert.equal(ret.name, 'search_web');
    assert.deepEqual(JSON.parse(ret.tool_return), [{ title: 'About temporal workflows', url: 'https://example.test/1' }]);
    assert.deepEqual(searches, [`${agent.id}:temporal workflows:3`]);
    // the model got the tool's schema and, in step 2, the tool result
    const [step1, step2] = model.chatRequests().slice(-2);
    const offered = (step1!.tools ?? []).map((t) => (t as { function: { name: string } }).function.name);
    assert.ok(offered.includes('search_web') && offered.includes('explode'));
    assert.ok(step2!.messages.some((m) => m.role === 'tool' && String(m.content).includes('About temporal workflows')));
  });

  test('a throwing tool, bad arguments and an unknown tool become error results, not failed turns', async () => {
    const agent = await client.createAgent({ name: 'clumsy', llm_config: stack.llmConfig, tools: ['search_web', 'explode'] });
    model.enqueue(
      {
        kind: 'reply',
        toolCalls: [
          { name: 'explode', arguments: {} },
          { name: 'search_web', arguments: { query: '', limit: 99 } },
          { name: 'launch_rockets', arguments: {} },
          { name: 'search_web', arguments: '{not json' },
        ],
      },
      { kind: 'reply', content: 'Everything failed, sorry.' },
    );
    const r = await client.userMessage(agent.id, 'Try everything.');
    assert.equal(r.stop_reason.stop_reason, 'end_turn');
    const returns = r.messages.filter((m): m is ToolReturnMessage => m.message_type === 'tool_return_message');
    assert.deepEqual(returns.map((m) => m.status), ['error', 'error', 'error', 'error']);
    assert.match(returns[0]!.tool_return, /the detonator is wet/);
    assert.match(returns[1]!.tool_return, /query: .*>=1 characters/);
    assert.match(returns[1]!.tool_return, /limit: .*<=5/);
    assert.match(returns[2]!.tool_return, /tool "launch_rockets" is not available/);
    assert.match(returns[3]!.tool_return, /not valid JSON/);
    assert.equal(searches.length, 1, 'a tool with invalid arguments is not executed');
  });

  test('a tool that outlives its timeout becomes an error result, and the turn goes on', async () => {
    const agent = await client.createAgent({ name: 'impatient', llm_config: stack.llmConfig, tools: ['hang'] });
    model.enqueue(
      { kind: 'reply', toolCalls: [{ name: 'hang', arguments: {} }] },
      { kind: 'reply', content: 'The tool took too long; answering without it.' },
    );
    const r = await client.userMessage(agent.id, 'Try the slow tool.');
    assert.deepEqual(r.messages.map((m) => m.message_type), ['tool_call_message', 'tool_return_message', 'assistant_message']);
    const ret = r.messages[1] as ToolReturnMessage;
    assert.equal(ret.status, 'error');
    assert.equal(ret.tool_return, 'Error: tool hang timed out after 0.2 s');
    assert.equal(r.stop_reason.stop_reason, 'end_turn');
    const reply = r.messages.at(-1);
    assert.ok(reply?.message_type === 'assistant_message');
    assert.equal(reply.text, 'The tool took too long; answering without it.');
    // the model read the timeout, and the tool was told to stop
    assert.ok(model.chatRequests().at(-1)!.messages.some((m) => m.role === 'tool' && String(m.content).includes('timed out')));
    assert.equal(hangSignals.length, 1);
    assert.equal(hangSignals[0]?.aborted, true);
  });
});
