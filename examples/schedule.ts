/**
 * A schedule created from a script: Temporal runs the research-and-write pipeline every 5 seconds,
 * twice (`maxRuns: 2`), on its own clock. The script waits for both runs, prints each run's
 * article and its link in the Temporal UI, then deletes the schedule, so running it again starts
 * clean. With `--keep` the schedule stays (it starts nothing more: it has no runs left) and you
 * see it on the UI's Schedules page; `memloom schedule delete example-research` removes it. The
 * agents are created from templates on first use. Run with a worker up (`memloom dev`):
 *
 *   npx tsx examples/schedule.ts "tidal power" [--keep]
 *
 * The links point at http://localhost:8233, the UI of `memloom dev`; set TEMPORAL_UI_URL for
 * another one, and EXAMPLE_SCHEDULE_ID for another schedule id. In your own project, import from
 * 'memloom'.
 */
import { createClient, type PipelineRunHandle } from '../src/index.ts';

const args = process.argv.slice(2);
const keep = args.includes('--keep');
const topic = args.find((a) => !a.startsWith('--')) ?? 'tidal power';
const id = process.env.EXAMPLE_SCHEDULE_ID ?? 'example-research';
const ui = `${process.env.TEMPORAL_UI_URL ?? 'http://localhost:8233'}/namespaces/`;

const client = await createClient();
const namespace = encodeURIComponent(client.config.temporalNamespace);
const runLink = (workflowId: string) => `${ui}${namespace}/workflows/${encodeURIComponent(workflowId)}`;

/** Waits for one run the schedule started and prints its article's first line. */
async function report(run: PipelineRunHandle): Promise<void> {
  const { output } = await run.result();
  const { article } = output as { article: string };
  console.log(`run completed: ${run.workflowId}\n  article: ${article.split('\n')[0]}`);
}

try {
  // overlap 'skip': a run due while the previous one still runs is skipped (and not counted)
  await client.createSchedule(id, {
    every: '5s',
    maxRuns: 2,
    overlap: 'skip',
    action: {
      type: 'pipeline',
      name: 'research-and-write',
      input: {
        topic,
        subtopics: ['how it works', 'cost'],
        researcher: { name: 'researcher', system: 'You are a careful researcher. Report findings as short notes.' },
        writer: { name: 'writer', system: 'You write clear, short articles from research notes.' },
      },
    },
  });
  console.log(`schedule ${id}: research-and-write "${topic}" every 5s, 2 runs`);
  console.log(`  ${ui}${namespace}/schedules/${encodeURIComponent(id)}`);
  try {
    // the schedule starts runs on its own clock: follow each one it started until it has none left
    const seen = new Set<string>();
    for (;;) {
      const schedule = await client.getSchedule(id);
      for (const { workflowId } of schedule.recentRuns.filter((r) => !seen.has(r.workflowId))) {
        seen.add(workflowId);
        console.log(`run started: ${workflowId}\n  ${runLink(workflowId)}`);
        await report(await client.getPipelineRun(workflowId));
      }
      if (schedule.remainingRuns === 0) break; // and every run it started was followed above
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    if (keep) {
      console.log(`schedule ${id} kept (no runs left): memloom schedule delete ${id} removes it`);
    } else {
      await client.deleteSchedule(id);
      console.log(`schedule ${id} deleted`);
    }
  }
} finally {
  await client.close();
}
