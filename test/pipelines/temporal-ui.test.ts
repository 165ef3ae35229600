/**
 * The Temporal web UI as the inspection tool, in a real browser: a pipeline run is found by its
 * `Pipeline` search attribute, and its page shows the run's summary and its stages; a schedule is
 * listed on the Schedules page, and its page shows the pipeline it runs. The tests save
 * screenshots under test-artifacts/.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestStack } from '../helpers/stack.ts';

const UI = process.env.MEMLOOM_TEST_TEMPORAL_UI;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;

const stack = await startTestStack();
const { client, model } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);

let browser: Promise<Browser> | undefined;
after(async () => {
  if (browser) await (await browser).close();
});

/** A new page in the one browser of this file, launched on first use and closed when the file ends. */
async function newPage(): Promise<Page> {
  assert.ok(UI, 'MEMLOOM_TEST_TEMPORAL_UI is not set: run the tests with `npm test`, which starts the dev server with its UI');
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  browser ??= chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking'] });
  mkdirSync(ARTIFACTS, { recursive: true });
  return (await browser).newPage({ viewport: { width: 1400, height: 1000 } });
}

test('a pipeline run in the Temporal web UI: found by its Pipeline search attribute, with its summary and stages', async () => {
  const page = await newPage();
  model.setResponder(() => ({ kind: 'reply', content: 'Notes and prose.' }));
  const run = await client.startPipeline('research-and-write', { topic: 'tidal power', subtopics: ['cost', 'ecology'] });
  await run.result();
  model.setResponder(undefined);

  const query = encodeURIComponent('Pipeline="research-and-write"');
  await page.goto(`${UI}/namespaces/default/workflows?query=${query}`);
  const link = page.getByText(run.workflowId).first();
  await link.waitFor({ timeout: 30_000 });
  await page.screenshot({ path: join(ARTIFACTS, 'temporal-ui-pipeline-runs.png') });

  await link.click();
  // the stages in the timeline, by the summaries of their activities
  await expectText(page, 'stage research · agent researcher · 1/2: cost');
  await expectText(page, 'stage research · agent researcher-2 · 2/2: ecology');
  await expectText(page, 'stage write · agent writer');
  await page.screenshot({ path: join(ARTIFACTS, 'temporal-ui-pipeline-run.png'), fullPage: true });
  // the run's summary and its current details
  await page.getByRole('tab', { name: 'User Metadata' }).click();
  await expectText(page, 'research-and-write: tidal power');
  // rendered from markdown, in the UI's sandboxed frame
  await expectText(page, 'write: completed');
  await page.screenshot({ path: join(ARTIFACTS, 'temporal-ui-pipeline-metadata.png'), fullPage: true });
});

test('a schedule on the Temporal UI\'s Schedules page: listed by its id, and its page shows the pipeline it runs and its runs', async () => {
  const page = await newPage();
  const id = `weekday-research-${randomUUID().slice(0, 8)}`;
  await client.createSchedule(id, {
    cron: '0 3 * * 1-5',
    timezone: 'Europe/Paris',
    paused: true,
    note: 'shown in the Temporal UI',
    action: { type: 'pipeline', name: 'research-and-write', input: { topic: 'tidal power' } },
  });
  // paused, it starts nothing on its own: one run, triggered, for the page's recent runs
  model.setResponder(() => ({ kind: 'reply', content: 'Notes and prose.' }));
  await client.triggerSchedule(id);
  const run = await triggeredRun(id);
  await (await client.getPipelineRun(run.workflowId)).result();
  model.setResponder(undefined);

  // the Schedules page lists from visibility, which has a new schedule within a second or so
  const listedBy = Date.now() + 30_000;
  while (!(await client.listSchedules()).some((x) => x.id === id)) {
    assert.ok(Date.now() < listedBy, `schedule ${id} not in visibility`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await page.goto(`${UI}/namespaces/default/schedules`);
  const row = page.getByRole('row').filter({ hasText: id });
  await row.waitFor({ timeout: 30_000 }).catch(async (error: unknown) => {
    await page.screenshot({ path: join(ARTIFACTS, 'temporal-ui-failure.png'), fullPage: true });
    throw new Error(`the Schedules page did not list ${id} (screenshot: test-artifacts/temporal-ui-failure.png)`, { cause: error });
  });
  const cells = (await row.innerText()).replace(/\s+/g, ' ');
  for (const text of ['PAUSED', 'pipelineWorkflow', 'At 03:00 on weekdays', 'Europe/Paris']) assert.ok(cells.includes(text), `the row of ${id} shows ${text}: ${cells}`);
  await page.screenshot({ path: join(ARTIFACTS, 'temporal-ui-schedules.png') });

  await row.getByText(id).click();
  await expectText(page, `PAUSED ${id}`);
  // the action: the workflow type and the pipeline's input; when it runs; the note; the triggered run
  await expectText(page, 'Workflow Type pipelineWorkflow');
  await expectText(page, '"name": "research-and-write", "input": { "topic": "tidal power" }');
  await expectText(page, 'At 03:00 on weekdays');
  await expectText(page, 'Notes shown in the Temporal UI');
  await expectText(page, '1 Recent Run');
  await expectText(page, `COMPLETED ${run.workflowId}`);
  await page.screenshot({ path: join(ARTIFACTS, 'temporal-ui-schedule.png'), fullPage: true });
  await client.deleteSchedule(id);
});

/** The first run of schedule `id`, once the schedule has taken it (a trigger is taken in a moment, not at once). */
async function triggeredRun(id: string): Promise<{ workflowId: string }> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const [run] = (await client.getSchedule(id)).recentRuns;
    if (run) return run;
    assert.ok(Date.now() < deadline, `schedule ${id} took no run`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until some frame of the page (the UI renders markdown in a sandboxed frame) shows `text`. */
async function expectText(page: Page, text: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      const body = await frame.locator('body').innerText({ timeout: 1000 }).catch(() => '');
      if (body.replace(/\s+/g, ' ').includes(text)) return;
    }
    await page.waitForTimeout(250);
  }
  await page.screenshot({ path: join(ARTIFACTS, 'temporal-ui-failure.png'), fullPage: true });
  throw new Error(`the UI did not show "${text}" (screenshot: test-artifacts/temporal-ui-failure.png)`);
}
