/**
 * The archive of `bench/archival-search.ts`: passages that read like an agent's notes, with unit
 * vectors clustered by topic (as real embeddings are: notes on one subject near each other), and
 * queries drawn the same way; plus the brute-force nearest neighbours the HNSW results are checked
 * against. Seeded, so both databases and the recall check see the same archive.
 * @module
 */

/** A seeded uniform generator in [0, 1) (mulberry32): the same seed, the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A standard normal deviate (Box–Muller) from a uniform generator. */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

const NOUNS = (
  'harbor ferry invoice recipe telescope violin glacier mortgage orchard bicycle lantern compiler ' +
  'kayak passport vaccine quilt saxophone volcano pension greenhouse typewriter marathon lighthouse ' +
  'spreadsheet tortilla cathedral microscope snowboard warranty beehive hammock locomotive sourdough ' +
  'thermostat parachute mosaic satellite tuxedo canyon aquarium lottery scooter chandelier pottery ' +
  'database origami submarine vineyard keyboard tornado pharmacy trombone igloo espresso dinosaur ' +
  'skateboard museum pancake calendar wetsuit planetarium ukulele radiator carousel blueprint ' +
  'meadow podcast tapestry zeppelin lasagna compass fireplace sculpture avalanche backpack ' +
  'bakery chessboard dentist embassy falcon gondola hurricane iceberg jukebox kiln ledger mango ' +
  'notebook oyster puzzle quarry raincoat sunflower tractor umbrella voucher walnut xylophone yacht ' +
  'zucchini antenna barometer cellar dumpling easel fountain guitar hedgehog inkwell jasmine kettle ' +
  'labyrinth mandolin nectarine observatory paddle quartz reservoir saddle trampoline utensil'
).split(/\s+/);
const PEOPLE = ['Alice', 'Bruno', 'Chen', 'Dara', 'Emeka', 'Farah', 'Goran', 'Hana', 'Ivo', 'Jun', 'Kofi', 'Lena', 'Mateo', 'Nia', 'Omar', 'Priya'];
const VERBS = ['mentioned', 'asked about', 'planned', 'wrote down', 'complained about', 'looked up', 'ordered', 'fixed', 'compared', 'remembered'];
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

type Words = { person: string; verb: string; a: string; b: string; c: string; other: string; day: string; month: string; n: number };
const TEMPLATES: readonly ((w: Words) => string)[] = [
  (w) => `${w.person} ${w.verb} the ${w.a} and the ${w.b} on ${w.day}; the ${w.c} should be ready by ${w.n} ${w.month}, after the ${w.other}.`,
  (w) => `Note from ${w.day}: the ${w.b} needs a new ${w.a} before ${w.month}. ${w.person} thinks the ${w.c} can wait, unlike the ${w.other}.`,
  (w) => `${w.person} says the ${w.c} broke again. We ${w.verb.split(' ')[0]} the ${w.a} twice in ${w.month} and kept ${w.n} receipts for the ${w.b} and the ${w.other}.`,
  (w) => `Reminder for ${w.person}: bring the ${w.a}, the ${w.b} and the ${w.c} on ${w.day} ${w.n} ${w.month}; nobody needs the ${w.other} this time.`,
];

/** What to generate. */
export interface ArchiveSpec {
  passages: number;
  dim: number;
  /** Topics (clusters of vectors and of words). @default passages / 500, at least 2 */
  topics?: number;
  /** Tags `project-0` ... `project-<n-1>`, one per passage: a filter on one keeps about 1/n of them. @default 100 */
  projects?: number;
  /** How far a note lies from its topic's centre: the norm of the noise added to the unit centre. @default 1 */
  spread?: number;
  /** @default 7 */
  seed?: number;
}

export interface Archive {
  dim: number;
  /** Passage i's unit vector is `vectors[i * dim .. (i + 1) * dim)` (float32, as PostgreSQL's `real[]` keeps it). */
  vectors: Float32Array;
  texts: string[];
  /** One tag each: `project-<k>`. */
  tags: string[];
  /** Passage i's topic. */
  topicOf: Int32Array;
  /** Each topic's three words, which every note of the topic contains. */
  topicWords: [string, string, string][];
  centres: Float64Array[];
  spread: number;
  seed: number;
}

/** `v` scaled to unit length, written into `into` from `offset` (rounded to float32). */
function writeUnit(v: Float64Array, into: Float32Array, offset: number): void {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  for (let j = 0; j < v.length; j++) into[offset + j] = v[j]! / norm;
}

/** `centre` plus gaussian noise of norm about `spread`, at unit length. */
function nearUnit(centre: Float64Array, spread: number, random: () => number, into: Float32Array, offset: number): void {
  const scale = spread / Math.sqrt(centre.length);
  const v = new Float64Array(centre.length);
  for (let j = 0; j < v.length; j++) v[j] = centre[j]! + scale * gaussian(random);
  writeUnit(v, into, offset);
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)]!;
}

/** Three different nouns per topic. */
function topicWordsOf(topics: number, random: () => number): [string, string, string][] {
  return Array.from({ length: topics }, () => {
    const words = new Set<string>();
    while (words.size < 3) words.add(pick(NOUNS, random));
    return [...words] as [string, string, string];
  });
}

/**
 * A seeded archive: each passage belongs to a random topic, its text names the topic's three
 * words (and one other noun) in one of a few note templates, and its vector lies near the topic's
 * random unit centre. Fast: 100,000 passages of 256 dimensions in about a second.
 *
 * @example
 * ```ts
 * const archive = generateArchive({ passages: 1000, dim: 64 });
 * archive.vectors.subarray(0, 64); // passage 0's unit vector
 * ```
 */
export function generateArchive(spec: ArchiveSpec): Archive {
  const { passages, dim, topics = Math.max(2, Math.round(spec.passages / 500)), projects = 100, spread = 1, seed = 7 } = spec;
  const random = seededRandom(seed);
  const centres = Array.from({ length: topics }, () => {
    const c = new Float64Array(dim);
    for (let j = 0; j < dim; j++) c[j] = gaussian(random);
    const unit = new Float32Array(dim);
    writeUnit(c, unit, 0);
    return Float64Array.from(unit);
  });
  const topicWords = topicWordsOf(topics, random);
  const vectors = new Float32Array(passages * dim);
  const texts: string[] = [];
  const tags: string[] = [];
  const topicOf = new Int32Array(passages);
  for (let i = 0; i < passages; i++) {
    const topic = Math.floor(random() * topics);
    topicOf[i] = topic;
    nearUnit(centres[topic]!, spread, random, vectors, i * dim);
    const [a, b, c] = topicWords[topic]!;
    const words: Words = { person: pick(PEOPLE, random), verb: pick(VERBS, random), a, b, c, other: pick(NOUNS, random), day: pick(DAYS, random), month: pick(MONTHS, random), n: 1 + Math.floor(random() * 28) };
    texts.push(pick(TEMPLATES, random)(words));
    tags.push(`project-${Math.floor(random() * projects)}`);
  }
  return { dim, vectors, texts, tags, topicOf, topicWords, centres, spread, seed };
}

/** A search of the benchmark: words of one topic and a vector near it, and a tag to filter by. */
export interface ArchiveQuery {
  text: string;
  vector: number[];
  /** A project tag, not related to the topic: the filter the search must honour on its own. */
  tag: string;
}

/** `count` queries (their own seed): two of a random topic's words, a vector near its centre, a random project tag. */
export function archiveQueries(archive: Archive, count: number, projects = 100): ArchiveQuery[] {
  const random = seededRandom(archive.seed + 1_000_003);
  const unit = new Float32Array(archive.dim);
  return Array.from({ length: count }, () => {
    const topic = Math.floor(random() * archive.centres.length);
    nearUnit(archive.centres[topic]!, archive.spread, random, unit, 0);
    const [a, b] = archive.topicWords[topic]!;
    return { text: random() < 0.5 ? `${a} ${b}` : `${b} ${a}`, vector: Array.from(unit), tag: `project-${Math.floor(random() * projects)}` };
  });
}

/**
 * The `k` passages nearest `query` by cosine (a dot product: every vector is unit length), best
 * first, among those `keep` accepts: the exact answer an approximate index is measured against.
 */
export function exactNearest(archive: Archive, query: readonly number[], k: number, keep: (i: number) => boolean = () => true): number[] {
  const { dim, vectors } = archive;
  const q = Float32Array.from(query);
  const best: { i: number; s: number }[] = [];
  const n = vectors.length / dim;
  for (let i = 0; i < n; i++) {
    if (!keep(i)) continue;
    let s = 0;
    for (let j = 0, o = i * dim; j < dim; j++) s += vectors[o + j]! * q[j]!;
    if (best.length < k || s > best[best.length - 1]!.s) {
      best.push({ i, s });
      best.sort((x, y) => y.s - x.s);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b.i);
}

/** The share of `truth` that `found` holds (recall@k, k = truth's length); 1 when truth is empty. */
export function recall<T>(found: readonly T[], truth: readonly T[]): number {
  if (truth.length === 0) return 1;
  const set = new Set(found);
  return truth.filter((t) => set.has(t)).length / truth.length;
}
