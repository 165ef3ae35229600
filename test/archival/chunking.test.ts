/**
 * Chunking a document for archival memory, with real o200k_base counts: every chunk within the
 * size, the overlap carried from the chunk before, cuts at paragraphs before sentences before
 * words, CJK text cut at its own marks, nothing lost and no empty chunk, the same chunks every time.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chunkText, DEFAULT_CHUNK_SIZE } from '../../src/domain/chunking.ts';
import { ValidationError } from '../../src/domain/errors.ts';
import { countTokens } from '../../src/llm/token-count.ts';

const count = (text: string): number => countTokens(text);
const chunk = (text: string, chunkSize: number, overlap: number): string[] => chunkText(text, { chunkSize, overlap, countTokens: count });
const squash = (text: string): string => text.replace(/\s+/g, '');

const SUBJECTS = ['The harbor master', 'A tired ferry pilot', 'Old Mrs. Okafor', 'The night baker', 'Our river guide', 'The tax clerk', 'A young violinist', 'The lighthouse keeper'];
const VERBS = ['counted', 'painted', 'repaired', 'forgot', 'described', 'carried', 'measured', 'sold'];
const OBJECTS = ['the blue rowing boats', 'seven loaves of rye', 'a ledger of tides', 'the broken compass', 'two crates of lemons', 'the chapel bell'];

/** Sentence `i`: distinct words, so an overlap is found by its text. */
function sentence(i: number): string {
  return `${SUBJECTS[i % SUBJECTS.length]} ${VERBS[(i * 3) % VERBS.length]} ${OBJECTS[(i * 5) % OBJECTS.length]} on day ${i}.`;
}

/** `n` paragraphs of `per` sentences each, separated by blank lines. */
function document(n: number, per: number): string {
  return Array.from({ length: n }, (_, p) => Array.from({ length: per }, (_, s) => sentence(p * per + s)).join(' ')).join('\n\n');
}

/** The overlap of `next` with `previous`: the longest start of `next` that ends `previous`. */
function overlapOf(previous: string, next: string): string {
  for (let n = Math.min(previous.length, next.length); n > 0; n--) if (previous.endsWith(next.slice(0, n))) return next.slice(0, n);
  return '';
}

/** The chunks with their overlaps taken out, whitespace ignored: the text again. */
function rejoined(chunks: string[]): string {
  return squash(chunks.map((c, i) => (i === 0 ? c : c.slice(overlapOf(chunks[i - 1]!, c).length))).join(''));
}

describe('chunkText', () => {
  test('every chunk has at most chunkSize tokens, and the chunks hold the whole text', () => {
    const text = document(30, 6);
    for (const [size, overlap] of [
      [DEFAULT_CHUNK_SIZE, 30],
      [64, 8],
      [16, 0],
    ] as const) {
      const chunks = chunk(text, size, overlap);
      assert.ok(chunks.length > 1);
      for (const c of chunks) assert.ok(count(c) <= size, `${count(c)} tokens > ${size}: ${c}`);
      assert.equal(rejoined(chunks), squash(text), `size ${size}, overlap ${overlap}`);
    }
  });

  test('each chunk starts with up to `overlap` tokens from the end of the one before', () => {
    const chunks = chunk(document(20, 5), 120, 20);
    for (let i = 1; i < chunks.length; i++) {
      const shared = overlapOf(chunks[i - 1]!, chunks[i]!).trim();
      assert.ok(shared.length > 0, `chunk ${i} repeats nothing of chunk ${i - 1}`);
      assert.ok(count(shared) <= 20, `overlap of ${count(shared)} tokens: ${shared}`);
    }
    // no overlap asked: none given
    const plain = chunk(document(20, 5), 120, 0);
    assert.equal(squash(plain.join('')), squash(document(20, 5)));
  });

  test('paragraphs that fit stay whole; a long one is cut at sentence ends; a long sentence at spaces', () => {
    // ~45-token paragraphs, 100-token chunks: two paragraphs a chunk, never cut
    const paragraphs = document(12, 3).split('\n\n');
    const chunks = chunk(paragraphs.join('\n\n'), 100, 0);
    for (const c of chunks) for (const part of c.split('\n\n')) assert.ok(paragraphs.includes(part), `a paragraph was cut: ${part}`);

    // one paragraph of 40 sentences: every chunk ends at the end of a sentence
    const long = Array.from({ length: 40 }, (_, i) => sentence(i)).join(' ');
    for (const c of chunk(long, 50, 0)) assert.match(c, /\.$/, `cut inside a sentence: ${c}`);

    // one sentence of 400 words and no mark: cut between words, never inside one
    const words = Array.from({ length: 400 }, (_, i) => `word${i}`);
    const cut = chunk(words.join(' '), 32, 4);
    for (const c of cut) for (const w of c.split(' ')) assert.ok(words.includes(w), `a word was cut: ${w}`);
    assert.equal(rejoined(cut), squash(words.join(' ')));
  });

  test('CJK text is cut at its sentence marks, within the size', () => {
    const sentences = ['我们今天去河边散步。', '天气很好，阳光明媚！', '孩子们在草地上玩耍，小狗跑来跑去。', '晚上我们一起吃饭了吗？'];
    const text = Array.from({ length: 60 }, (_, i) => sentences[i % sentences.length]).join('');
    const chunks = chunk(text, 40, 0);
    assert.ok(chunks.length > 3);
    for (const c of chunks) {
      assert.ok(count(c) <= 40, `${count(c)} tokens: ${c}`);
      assert.match(c, /[。！？]$/, `cut inside a sentence: ${c}`);
    }
    assert.equal(chunks.join(''), text);
    // with an overlap, each chunk starts after a sentence or clause mark of the chunk before
    const overlapping = chunk(text, 40, 12);
    for (let i = 1; i < overlapping.length; i++) {
      const previous = overlapping[i - 1]!;
      const shared = overlapOf(previous, overlapping[i]!);
      assert.ok(shared.length > 0);
      assert.match(previous.slice(0, previous.length - shared.length), /[。！？，]$/, `starts mid-clause: ${overlapping[i]}`);
    }
  });

  test('a run with no boundary (base64, emoji) is cut anywhere, never inside a surrogate pair', () => {
    const base64 = Buffer.from(Array.from({ length: 6000 }, (_, i) => (i * 7919) % 256)).toString('base64');
    const chunks = chunk(base64, 100, 0);
    for (const c of chunks) assert.ok(count(c) <= 100);
    assert.equal(chunks.join(''), base64);
    const emoji = '😀🎉🚀'.repeat(300);
    const cut = chunk(emoji, 20, 5);
    for (const c of cut) {
      assert.ok(count(c) <= 20);
      assert.doesNotMatch(c, /^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/, 'a surrogate pair was split');
    }
  });

  test('no empty chunk; only whitespace makes none; the same text gives the same chunks', () => {
    assert.deepEqual(chunk('', 50, 5), []);
    assert.deepEqual(chunk(' \n\n\t \n ', 50, 5), []);
    const gappy = `\n\n\n${document(4, 4).replace(/\n\n/g, '\n\n   \n\n\n')}\n\n   `;
    const chunks = chunk(gappy, 40, 10);
    for (const c of chunks) {
      assert.notEqual(c.trim(), '');
      assert.equal(c, c.trim(), 'chunks are trimmed');
    }
    assert.deepEqual(chunk(gappy, 40, 10), chunks);
    assert.deepEqual(chunk('One short note.', 300, 30), ['One short note.']);
  });

  test('bad settings: a ValidationError naming chunkOverlap or chunkSize', () => {
    const issuesOf = (size: number, overlap: number): string[] => {
      try {
        chunk('text', size, overlap);
      } catch (error) {
        assert.ok(error instanceof ValidationError);
        return error.issues.map((i) => `${i.path}: ${i.message}`);
      }
      return assert.fail('accepted');
    };
    assert.deepEqual(issuesOf(100, 100), ['chunkOverlap: must be less than the chunk size (100 tokens), got 100']);
    assert.match(issuesOf(0, 0)[0]!, /^chunkSize: must be a whole number of tokens from 16 to 8191, got 0/);
    assert.match(issuesOf(100, -1)[0]!, /^chunkOverlap: /);
  });
});
