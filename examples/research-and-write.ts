/**
 * The guide's multi-agent example as a durable pipeline: a researcher agent researches a topic
 * (each subtopic in parallel), then a writer agent writes an article from the findings. The
 * agents are created from templates on first use. Run with a worker up (`memloom dev`):
 *
 *   npx tsx examples/research-and-write.ts "tidal power"
 *
 * Watch the run in the Temporal UI (http://localhost:8233 under `memloom dev`), filtered by
 * `Pipeline = "research-and-write"`. In your own project, import from 'memloom'.
 */
import { createClient } from '../src/index.ts';

const topic = process.argv[2] ?? 'tidal power';
const client = await createClient();
try {
  const run = await client.startPipeline('research-and-write', {
    topic,
    subtopics: ['how it works', 'cost', 'environmental impact'],
    researcher: { name: 'researcher', system: 'You are a careful researcher. Report findings as short notes.' },
    writer: { name: 'writer', system: 'You write clear, short articles from research notes.' },
  });
  console.log(`started ${run.workflowId}`);
  const { output } = await run.result();
  const { notes, article } = output as { notes: string[]; article: string };
  console.log(`research notes: ${notes.length}`);
  console.log(`article:\n${article}`);
  const details = await run.describe();
  for (const s of details.stages) console.log(`stage ${s.stage} · ${s.agentName} · ${s.status} · ${s.totalTokens} tokens`);
} finally {
  await client.close();
}
