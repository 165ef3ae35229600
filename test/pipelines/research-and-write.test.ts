/** The built-in research-and-write pipeline on the real stack: the guide's two-agent flow. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, model, db } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);

test("research then write: subtopics researched in parallel by researcher lanes; the writer's request carries every finding; each asked once", async () => {
  let atModel = 0;
  let maxAtModel = 0;
  model.setResponder(async (request) => {
    const system = String(request.messages[0]?.content ?? '');
    const last = [...request.messages].reverse().find((m) => m.role === 'user') as { content: string };
    if (!system.includes('researcher')) return { kind: 'reply', content: `ARTICLE from ${last.content.length} characters of notes` };
    atModel++;
    maxAtModel = Math.max(maxAtModel, atModel);
    await new Promise((r) => setTimeout(r, 1000));
    atModel--;
    return { kind: 'reply', content: `FINDINGS about ${last.content.split(': ').at(-1)}` };
  });
  const run = await client.startPipeline('research-and-write', { topic: 'tidal power', subtopics: ['cost', 'ecology', 'grid'] });
  assert.match(run.workflowId, /^pipeline\/research-and-write\/[0-9a-f-]{36}$/);
  const { output } = await run.result();
  const { notes, article } = output as { notes: string[]; article: string };
  assert.deepEqual(notes, ['FINDINGS about cost', 'FINDINGS about ecology', 'FINDINGS about grid']);
  assert.match(article, /^ARTICLE from \d+ characters of notes$/);
  const writerRequest = model.chatRequests().find((r) => String(r.messages[0]?.content).includes('writer'))!;
  const asked = JSON.stringify(writerRequest.messages);
  for (const n of notes) assert.ok(asked.includes(n), `the writer's request contains "${n}"`);
  assert.equal(model.chatRequests().length, 4, 'three research messages and one writing message');
  assert.ok(maxAtModel >= 2, `the subtopics were researched in parallel (at most ${maxAtModel} at once)`);

  const details = await run.describe();
  assert.equal(details.status, 'COMPLETED');
  assert.deepEqual(details.stages.map((s) => [s.stage, s.label, s.agentName, s.status]).sort(), [
    ['research', 'cost', 'researcher', 'completed'],
    ['research', 'ecology', 'researcher-2', 'completed'],
    ['research', 'grid', 'researcher-3', 'completed'],
    ['write', null, 'writer', 'completed'],
  ]);
  // the agents were created from their templates, and are reused by the next run
  const again = await client.runPipeline('research-and-write', { topic: 'wave power' });
  assert.equal((again.output as { notes: string[] }).notes.length, 1);
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM agents WHERE name LIKE 'researcher%' OR name = 'writer'");
  assert.equal(rows[0]!.n, 4);
  model.setResponder(undefined);
});

test('bad input: a clear error naming the field, and no run', async () => {
  await assert.rejects(client.startPipeline('research-and-write', { topic: '' }), /input\.topic: must not be empty/);
  await assert.rejects(client.startPipeline('no-such-pipeline', {}), /no pipeline named "no-such-pipeline" \(known: research-and-write\)/);
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pipeline_runs WHERE input->>'topic' = ''");
  assert.equal(rows[0]!.n, 0);
});
