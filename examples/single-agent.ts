/**
 * The guide's single agent: create an agent with core memory, talk to it, and see what it
 * remembered. Run with a worker up (`memloom dev` starts one):
 *
 *   npx tsx examples/single-agent.ts
 *
 * In your own project, import from 'memloom' instead of '../src/index.ts'.
 */
import { createClient } from '../src/index.ts';

const client = await createClient();
try {
  const name = process.env.EXAMPLE_AGENT_NAME ?? 'my-assistant';
  const agent = await client.getAgent(name).catch(() =>
    client.createAgent({
      name,
      memory_blocks: [
        { label: 'human', value: 'Name: unknown' },
        { label: 'persona', value: 'You are a helpful assistant that remembers what users tell you.' },
      ],
      // the default llm_config (`memloom defaults llm`), or LLM_MODEL on LLM_BASE_URL
      ...(process.env.LLM_MODEL ? { llm_config: { model: process.env.LLM_MODEL, context_window: 8192 } } : {}),
    }),
  );
  console.log(`agent: ${agent.name} (${agent.id})`);

  const reply = await client.userMessage(agent.id, 'Hi! My name is Alice and I like rowing.');
  for (const m of reply.messages) {
    if (m.message_type === 'assistant_message') console.log(`assistant: ${m.content}`);
    if (m.message_type === 'tool_call_message') console.log(`tool call: ${m.tool_call.name}`);
  }
  console.log(`tokens: ${reply.usage.total_tokens}`);

  const human = (await client.getMemory(agent.id)).find((b) => b.label === 'human');
  console.log(`memory (human): ${human?.value}`);
} finally {
  await client.close();
}
