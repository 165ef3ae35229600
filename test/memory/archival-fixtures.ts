/**
 * Passages and queries of the archival search tests: each query shares no word with the passage
 * it should find first, only its topic (the scripted embeddings put synonyms of a topic near each
 * other), so only the vector half of the search can find it.
 */
import type { EmbeddingConfig } from '../../src/domain/llm-config.ts';

/** The dimension of the tests' vectors (`text-embedding-3-*` models are asked for it). */
export const DIM = 64;

export const BOATS = 'We took the sailboat across the bay last summer.';
export const TAXES = 'The IRS refund for my income arrives in June.';
export const COOKING = 'A garlic pasta recipe makes a quick dinner.';

export const PASSAGES: readonly string[] = [
  BOATS,
  TAXES,
  COOKING,
  'The piano concert starts at eight.',
  'Debugging the python server took all night.',
  'My sister visits the hospital for a checkup.',
];

/** A query and the passage it must find first, with no word in common. */
export const QUERIES: readonly (readonly [query: string, first: string])[] = [
  ['sailing a kayak on the ocean', BOATS],
  ['money owed to the bank', TAXES],
  ['what should we eat for lunch', COOKING],
];

/** An agent's embedding_config at the scripted model server `url`. */
export function embeddingConfig(url: string): EmbeddingConfig {
  return { embedding_model: 'text-embedding-3-small', embedding_endpoint_type: 'openai', embedding_endpoint: url, embedding_dim: DIM };
}

/** Made-up words (consonant-vowel-consonant-vowel-consonant): no topic, no stop word, no shared stem. */
const FILLER_WORDS: readonly string[] = (() => {
  const [c, v, last] = ['bdfgklmnprtvz', 'aeiou', 'bdfgklmnprtvz'];
  const words: string[] = [];
  for (let i = 0; words.length < 600; i++) {
    const pick = (set: string, k: number): string => set[Math.floor(i / k) % set.length]!;
    words.push(`${pick(c, 1)}${pick(v, 13)}${pick(c, 65)}${pick(v, 7)}${pick(last, 3)}`);
  }
  return [...new Set(words)];
})();

/**
 * `count` filler passages that crowd the vector index, deterministic and spread out (like real
 * notes, unlike near-duplicates, which no HNSW graph handles well): `note <i>: <three made-up words>`.
 */
export function fillerPassages(count: number): string[] {
  let state = 2_463_534_242;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % FILLER_WORDS.length;
  };
  return Array.from({ length: count }, (_, i) => `note ${i}: ${FILLER_WORDS[next()]} ${FILLER_WORDS[next()]} ${FILLER_WORDS[next()]}`);
}
