/**
 * The scripted model server's embeddings: deterministic, cheap, and semantic enough for ranking
 * tests. A text becomes a bag of features — each word's stem (lowercased, stop words dropped,
 * common suffixes stripped) and the topic of words that have one in a small table of synonyms —
 * and each feature a fixed pseudo-random unit vector (seeded by the feature's hash). The sum is
 * L2-normalized, so texts that share words or topics are near each other in cosine distance:
 * "boat trip on the river" is nearer "sailing down a river" than "tax return deadline".
 * @module
 */
import { createHash } from 'node:crypto';

/** English words that say little about what a text is about. */
const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an the and or but if then else of on in at to for from by with about as into onto over under up down out off ' +
    'is are was were be been being am do does did doing have has had having will would shall should can could may might must ' +
    'i me my mine we us our you your he him his she her it its they them their this that these those there here ' +
    'what which who whom whose when where why how all any both each few more most other some such no nor not only own same ' +
    'so than too very just also again once s t'
  ).split(' '),
);

/**
 * Words that mean nearly the same, by topic: every word of a topic adds the topic's feature, so
 * "sail" and "boat" are near although they share no letters.
 */
const TOPICS: Readonly<Record<string, string>> = {
  boating: 'boat boats sail sailing sailboat ship yacht canoe kayak ferry row rowing paddle cruise vessel',
  water: 'river stream lake sea ocean water creek harbor harbour bay shore coast beach waves',
  travel: 'trip journey travel voyage tour vacation holiday excursion visit flight',
  finance: 'tax taxes irs refund income deduction invoice payment bank money salary budget account pay cost price',
  time: 'deadline due date schedule calendar appointment meeting tomorrow today week month',
  food: 'food eat meal dinner lunch breakfast cook cooking recipe restaurant pizza pasta bread',
  drink: 'tea coffee espresso latte drink beverage juice wine beer',
  animal: 'dog cat puppy kitten pet animal bird horse',
  weather: 'weather rain snow sunny storm wind cloud forecast temperature',
  health: 'doctor hospital medicine sick ill health nurse clinic pain',
  music: 'music song guitar piano concert band sing melody',
  computing: 'code program software computer bug debug python javascript typescript database server deploy',
  family: 'mother father mom dad sister brother family son daughter wife husband child kid',
  sport: 'football soccer tennis running gym sport game match team swim',
  work: 'job work office boss colleague career employer',
  home: 'house home apartment flat garden kitchen room',
};

/** Strips common English suffixes: "sailing" → "sail", "rivers" → "river", "stories" → "story". */
export function stem(word: string): string {
  if (word.length <= 3) return word;
  let w = word;
  if (w.endsWith('ies') && w.length > 4) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1);
  for (const suffix of ['ing', 'ed']) {
    if (w.endsWith(suffix) && w.length - suffix.length >= 3) {
      w = w.slice(0, -suffix.length);
      // "running" → "runn" → "run"
      if (/([^aeiouls])\1$/.test(w)) w = w.slice(0, -1);
      break;
    }
  }
  if (w.endsWith('ly') && w.length > 4) w = w.slice(0, -2);
  return w;
}

const TOPIC_OF: ReadonlyMap<string, string> = new Map(
  Object.entries(TOPICS).flatMap(([topic, words]) => words.split(' ').map((word) => [stem(word), topic] as const)),
);

/** The features of a text: `w:<stem>` per content word, and `t:<topic>` per word with a topic. */
export function embeddingFeatures(text: string): string[] {
  const words = text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return words
    .filter((word) => !STOP_WORDS.has(word))
    .flatMap((word) => {
      const s = stem(word);
      const topic = TOPIC_OF.get(s);
      return topic === undefined ? [`w:${s}`] : [`w:${s}`, `t:${topic}`];
    });
}

/** Feature vectors by `<dimension>:<feature>`; cleared when full (the vectors are cheap to remake). */
const cache = new Map<string, Float64Array>();
const CACHE_LIMIT = 50_000;

/** A fixed pseudo-random unit vector for `feature`: xorshift32 seeded by the feature's sha256. */
function featureVector(feature: string, dimension: number): Float64Array {
  const key = `${dimension}:${feature}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let state = createHash('sha256').update(feature).digest().readUInt32LE(0) || 1;
  const vector = new Float64Array(dimension);
  let norm = 0;
  for (let i = 0; i < dimension; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    vector[i] = (state / 2 ** 32) * 2 - 1;
    norm += vector[i]! * vector[i]!;
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < dimension; i++) vector[i]! /= norm;
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, vector);
  return vector;
}

/**
 * The scripted embedding of `text`: a deterministic unit-length vector of `dimension` numbers.
 * A text with no content word (empty, only stop words or punctuation) gets the vector of its
 * whole text, so no vector is ever zero.
 *
 * @example
 * ```ts
 * const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
 * const boat = scriptedEmbedding('boat trip on the river', 64);
 * cosine(boat, scriptedEmbedding('sailing down a river', 64)) > cosine(boat, scriptedEmbedding('tax return deadline', 64)); // true
 * ```
 */
export function scriptedEmbedding(text: string, dimension: number): number[] {
  const features = embeddingFeatures(text);
  if (features.length === 0) features.push(`text:${text}`);
  const sum = new Float64Array(dimension);
  for (const feature of features) {
    const vector = featureVector(feature, dimension);
    for (let i = 0; i < dimension; i++) sum[i]! += vector[i]!;
  }
  let norm = Math.sqrt(sum.reduce((total, value) => total + value * value, 0));
  // features that cancel out exactly (vanishingly rare): fall back to the whole text's vector
  if (norm === 0) return Array.from(featureVector(`text:${text}`, dimension));
  norm ||= 1;
  return Array.from(sum, (value) => value / norm);
}
