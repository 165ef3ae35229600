/**
 * `memloom archival reembed AGENT` on the real stack: after `agent update --embedding`, every
 * passage gets a vector of the new model, with progress on stderr; a re-embedding stopped
 * halfway (its workflow terminated) completes when run again, embedding no passage twice but
 * the batch in flight; an agent without embedding_config, or an endpoint that is down, is a
 * clear error.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ArchivalReembedOutcome } from '../../src/client/archival.ts';
import { freePort } from '../../src/dev/temporal-cli.ts';
import { archivalReembedWorkflowId } from '../../src/domain/archival.ts';
import { ArchivalJobFailedError } from '../../src/domain/errors.ts';
import { errorOf, parsed, runCliInProcess } from '../helpers/cli.ts';
import { until } from '../helpers/poll.ts';
import { startTestStack } from '../helpers/stack.ts';

const stack = await startTestStack();
const { client, db, model } = stack;
await client.setDefaultLlmConfig(stack.llmConfig);
const ENV = { ...process.env, DATABASE_URL: stack.databaseUrl, MEMLOOM_TASK_QUEUE: stack.taskQueue };
const memloom = (...args: string[]) => runCliInProcess(ENV, args);

const embeddingAt = (url: string, model = 'scripted-embedding') => ({ embedding_model: model, embedding_endpoint: url, embedding_dim: 16 });

/** An agent with `n` one-chunk passages embedded by `scripted-embedding`. */
async function agentWithPassages(name: string, n: number): Promise<string> {
  const agent = await client.createAgent({ name, embedding_config: embeddingAt(model.url) });
  const text = Array.from({ length: n }, (_, i) => `Note ${i}: the ferry to the island leaves at ${i % 12 + 1} o'clock from pier ${i}.`).join('\n\n');
  // 16-token chunks with no overlap: a note each
  const r = await client.importArchivalFile(name, { text, chunkSize: 32, chunkOverlap: 0 });
  assert.equal(r.insertedPassages, n);
  return agent.id;
}

async function models(agentId: string): Promise<Record<string, number>> {
  const { rows } = await db.query<{ model: string | null; n: number }>(
    'SELECT embedding_model AS model, count(*)::int AS n FROM passages WHERE agent_id = $1 GROUP BY 1 ORDER BY 1',
    [agentId],
  );
  return Object.fromEntries(rows.map((r) => [r.model ?? 'none', r.n]));
}

/** Texts sent to the embeddings endpoint since the last reset. */
const embeddedTexts = (): number => model.requests.filter((r) => r.path.endsWith('/embeddings')).reduce((n, r) => n + ((r.body as { input: string[] }).input?.length ?? 0), 0);

describe('archival reembed', () => {
  test('after an embedding model change every passage gets a vector of the new model, with progress; run again, nothing to do', async () => {
    const agentId = await agentWithPassages('switcher', 12);
    assert.deepEqual(await models(agentId), { 'scripted-embedding': 12 });
    const update = await memloom('agent', 'update', 'switcher', '--embedding', 'scripted-embedding-v2', '--embedding-dim', '16', '--json');
    assert.equal(update.code, 0, update.stderr);
    model.reset();
    const run = await memloom('archival', 'reembed', 'switcher', '--batch-size', '5');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^re-embedded 12 passages of agent switcher with scripted-embedding-v2 \(0 already had a vector of it\)\n {2}workflow {2}archival-reembed\/agent-/);
    assert.match(run.stderr, /^embedding \[[#.]{24}\] \d+\/12 passages \d+%$/m);
    assert.match(run.stderr, /^done \[#{24}\] 12\/12 passages 100%$/m);
    assert.deepEqual(await models(agentId), { 'scripted-embedding-v2': 12 });
    assert.equal(embeddedTexts(), 12, 'each passage embedded once');

    model.reset();
    const again = parsed<ArchivalReembedOutcome>(await memloom('archival', 'reembed', 'switcher', '--json'));
    assert.deepEqual({ reembedded: again.reembedded, alreadyCurrent: again.alreadyCurrent, embeddingModel: again.embeddingModel }, { reembedded: 0, alreadyCurrent: 12, embeddingModel: 'scripted-embedding-v2' });
    assert.equal(embeddedTexts(), 0);
  });

  test('stopped halfway, it completes when run again, and embeds no passage twice but the batch in flight', async () => {
    const agentId = await agentWithPassages('resumer', 40);
    await client.updateAgent('resumer', { embedding_config: embeddingAt(model.url, 'scripted-embedding-v3') });
    model.reset();
    const first = client.reembedArchivalMemory('resumer', { batchSize: 1 }).catch((e: unknown) => e);
    // a few batches in, the run is killed
    await until('a few passages re-embedded', () => models(agentId), (m) => (m['scripted-embedding-v3'] ?? 0) >= 3, 60_000);
    await client.temporal.workflow.getHandle(archivalReembedWorkflowId(agentId)).terminate('stopped by the test');
    const stopped = await first;
    assert.ok(stopped instanceof ArchivalJobFailedError, String(stopped));
    // the batch in flight when the run was killed may still commit: wait until the counts hold still
    let halfway = await models(agentId);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const now = await models(agentId);
      if (JSON.stringify(now) === JSON.stringify(halfway)) break;
      halfway = now;
    }
    assert.ok((halfway['scripted-embedding'] ?? 0) > 0, `the run finished before it was stopped: ${JSON.stringify(halfway)}`);

    const done = await client.reembedArchivalMemory('resumer', { batchSize: 7 });
    assert.equal(done.reembedded, halfway['scripted-embedding']);
    assert.equal(done.alreadyCurrent, halfway['scripted-embedding-v3']);
    assert.deepEqual(await models(agentId), { 'scripted-embedding-v3': 40 });
    // every passage once, plus at most the one batch (of 1) the kill cut short
    assert.ok(embeddedTexts() <= 41, `${embeddedTexts()} texts embedded for 40 passages`);
  });

  test('an agent without embedding_config: an error naming embedding_config; an endpoint that is down: the reason, and the passages keep their vectors', async () => {
    await client.createAgent({ name: 'no-model' });
    const error = errorOf(await memloom('archival', 'reembed', 'no-model', '--json'));
    assert.equal(error.code, 'validation_error');
    assert.match(error.issues?.find((i) => i.path === 'embedding_config')?.message ?? '', /agent no-model has none.*memloom agent update no-model --embedding MODEL/);

    const agentId = await agentWithPassages('cut-off', 3);
    await client.updateAgent('cut-off', { embedding_config: embeddingAt(`http://127.0.0.1:${await freePort()}/v1`, 'scripted-embedding-v4') });
    const failed = errorOf(await memloom('archival', 'reembed', 'cut-off', '--json'));
    assert.equal(failed.code, 'archival_job_failed');
    assert.match(failed.message, /archival-reembed\/agent-.* failed \(Connection\): embedding with scripted-embedding-v4 failed: cannot reach the model endpoint .*; 0 passages were re-embedded before/);
    assert.deepEqual(await models(agentId), { 'scripted-embedding': 3 });
  });
});
