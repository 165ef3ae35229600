/**
 * The scripted embeddings are semantic enough for ranking tests: texts about the same thing
 * (shared word stems, synonyms of one topic) are nearer than unrelated ones, through the
 * server's `/v1/embeddings` as a client sees them, and the same in every dimension tests use.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { embeddingFeatures, scriptedEmbedding, stem } from '../../src/dev/scripted-embeddings.ts';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/dev/scripted-model-server.ts';

const cosine = (a: readonly number[], b: readonly number[]): number => a.reduce((sum, x, i) => sum + x * b[i]!, 0);

/** `candidates` from nearest to farthest of `query`, by cosine similarity of their embeddings. */
async function rank(openai: OpenAI, query: string, candidates: string[], dimensions: number): Promise<string[]> {
  const response = await openai.embeddings.create({ model: 'text-embedding-3-small', input: [query, ...candidates], dimensions, encoding_format: 'float' });
  const [q, ...vectors] = response.data.map((d) => d.embedding);
  return candidates
    .map((text, i) => ({ text, score: cosine(q!, vectors[i]!) }))
    .sort((a, b) => b.score - a.score)
    .map((c) => c.text);
}

describe('scripted embeddings', () => {
  let server: ScriptedModelServer;
  let openai: OpenAI;
  before(async () => {
    server = await startScriptedModelServer();
    openai = new OpenAI({ baseURL: server.url, apiKey: 'k', maxRetries: 0 });
  });
  after(() => server.close());

  test('related texts are nearer than unrelated ones, in every dimension tests use', async () => {
    const candidates = ['tax return deadline', 'sailing down a river', 'my dog chased a cat', 'a kayak voyage across the lake'];
    for (const dimensions of [64, 256, 1536]) {
      const ranked = await rank(openai, 'boat trip on the river', candidates, dimensions);
      // both texts about boats on water come before both that are not
      assert.deepEqual(ranked.slice(0, 2).sort(), ['a kayak voyage across the lake', 'sailing down a river'], `dimension ${dimensions}: ${ranked.join(' > ')}`);
    }
    // a shared word alone, without a topic, still counts
    assert.equal((await rank(openai, 'river', ['tax return deadline', 'sailing down a river'], 64))[0], 'sailing down a river');
    assert.equal((await rank(openai, 'when is my invoice payment due?', candidates, 256))[0], 'tax return deadline');
    assert.equal((await rank(openai, 'the puppy and the kitten', candidates, 256))[0], 'my dog chased a cat');
  });

  test('deterministic, unit length, never zero; word forms and stop words do not matter', () => {
    const a = scriptedEmbedding('Sailing down the rivers', 128);
    assert.deepEqual(a, scriptedEmbedding('Sailing down the rivers', 128));
    assert.ok(Math.abs(Math.hypot(...a) - 1) < 1e-9);
    assert.ok(cosine(a, scriptedEmbedding('sail river', 128)) > 0.999, 'the same stems, without stop words, are the same text');
    for (const empty of ['', 'the of and', '!!!']) {
      const v = scriptedEmbedding(empty, 32);
      assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-9, `"${empty}" has a unit vector`);
    }
    assert.deepEqual(['sailing', 'rivers', 'stories', 'running', 'boxes', 'tax'].map(stem), ['sail', 'river', 'story', 'run', 'boxe', 'tax']);
    assert.deepEqual(embeddingFeatures('A boat on the River!'), ['w:boat', 't:boating', 'w:river', 't:water']);
  });
});
