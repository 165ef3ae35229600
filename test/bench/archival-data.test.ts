import assert from 'node:assert/strict';
import { test } from 'node:test';
import { archiveQueries, exactNearest, generateArchive, recall, seededRandom } from '../../bench/archival-data.ts';

test('the archive is seeded: the same spec gives the same passages; unit vectors, one tag each, the topic words in each text', () => {
  const a = generateArchive({ passages: 300, dim: 32, topics: 3 });
  const b = generateArchive({ passages: 300, dim: 32, topics: 3 });
  assert.deepEqual(a.texts, b.texts);
  assert.deepEqual(a.vectors, b.vectors);
  assert.notDeepEqual(generateArchive({ passages: 300, dim: 32, topics: 3, seed: 8 }).texts, a.texts);
  for (let i = 0; i < 300; i++) {
    const norm = Math.hypot(...a.vectors.subarray(i * 32, (i + 1) * 32));
    assert.ok(Math.abs(norm - 1) < 1e-6, `passage ${i}: norm ${norm}`);
    assert.match(a.tags[i]!, /^project-\d{1,2}$/);
    for (const word of a.topicWords[a.topicOf[i]!]!) assert.ok(a.texts[i]!.includes(word), `${a.texts[i]} lacks ${word}`);
  }
  assert.deepEqual(new Set(a.topicOf), new Set([0, 1, 2]));
  const r = seededRandom(1);
  assert.ok(Array.from({ length: 1000 }, r).every((x) => x >= 0 && x < 1));
});

test('vectors cluster by topic: a query near a topic finds notes of that topic; exactNearest is the brute-force order', () => {
  const a = generateArchive({ passages: 1000, dim: 64, topics: 10 });
  const [q] = archiveQueries(a, 1);
  const nearest = exactNearest(a, q!.vector, 10);
  assert.equal(nearest.length, 10);
  const topic = a.topicOf[nearest[0]!]!;
  assert.ok(q!.text.split(' ').every((w) => a.topicWords[topic]!.includes(w)), `${q!.text} is not about topic ${topic}`);
  assert.ok(nearest.every((i) => a.topicOf[i] === topic));
  const dot = (i: number): number => a.vectors.subarray(i * 64, (i + 1) * 64).reduce((s, x, j) => s + x * q!.vector[j]!, 0);
  const all = Array.from({ length: 1000 }, (_, i) => i).sort((x, y) => dot(y) - dot(x));
  assert.deepEqual(nearest, all.slice(0, 10));
  const tagged = exactNearest(a, q!.vector, 5, (i) => a.tags[i] === q!.tag);
  assert.ok(tagged.every((i) => a.tags[i] === q!.tag));
});

test('recall is the share of the true neighbours found', () => {
  assert.equal(recall([1, 2, 3, 4], [1, 2, 5, 6]), 0.5);
  assert.equal(recall([], [1]), 0);
  assert.equal(recall([1], []), 1);
});
