/**
 * The Temporal web UI as the inspection tool, in a real browser: a pipeline run is found by its
 * `Pipeline` search attribute, and its page shows the run's summary and its stages. The test
 * saves screenshots under test-artifacts/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import { startTestStack } from '../helpers/stack.ts';

const UI = process.env.MEMLOOM_TEST_TEMPORAL_UI;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url).pathname;

const stack = await startTestStack();
const { client, model } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);

test('a pipeline run in the Temporal web UI: found by its Pipeline search attribute, with its summary and stages', async () => {
  assert.ok(UI, 'MEMLOOM_TEST_TEMPORAL_UI is not set: run the tests with `npm test`, which starts the dev server with its UI');
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  model.setResponder(() => ({ kind: 'reply', content: 'Notes and prose.' }));
  const run = await client.startPipeline('research-and-write', { topic: 'tidal power', subtopics: ['cost', 'ecology'] });
  await run.result();
  model.setResponder(undefined);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-background-networking'] });
  after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  mkdirSync(ARTIFACTS, { recursive: true });

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
