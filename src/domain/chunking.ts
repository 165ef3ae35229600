/**
 * Chunking a document for archival memory: pieces of at most `chunkSize` tokens, each starting
 * with up to `overlap` tokens from the end of the one before, cut where the text has a boundary —
 * a blank line (paragraph) first, then a line break, a sentence end, a clause mark, a space
 * between words, and only as a last resort anywhere (a long token-dense run such as base64). CJK
 * text, which has no spaces, is cut at its own sentence and clause marks (。！？，、；：).
 *
 * Pure and deterministic: the same text and settings give the same chunks. Token counts come from
 * the caller's counter (memloom's is o200k_base, `countTokens` of src/llm/token-count.ts), so the
 * module stays free of I/O and importable anywhere. No chunk is empty or only whitespace; chunks
 * are trimmed.
 * @module
 */
import { ValidationError } from './errors.ts';

/** Letta's default `embedding_chunk_size`: an agent's chunk size unless it sets its own. */
export const DEFAULT_CHUNK_SIZE = 300;
/** Tokens each chunk repeats from the end of the one before, unless told otherwise. */
export const DEFAULT_CHUNK_OVERLAP = 30;
/** Smaller chunks say too little to be found again. */
export const MIN_CHUNK_SIZE = 16;
/** OpenAI's embedding models take at most 8192 tokens an input. */
export const MAX_CHUNK_SIZE = 8191;

/** Options of {@link chunkText}. */
export interface ChunkOptions {
  /** At most this many tokens a chunk, {@link MIN_CHUNK_SIZE} to {@link MAX_CHUNK_SIZE}. */
  chunkSize: number;
  /** Tokens carried over from the end of the previous chunk: 0 or more, less than `chunkSize`. */
  overlap: number;
  /** The token count of a text. */
  countTokens: (text: string) => number;
}

/** Why chunk settings are wrong (paths `chunkSize`, `chunkOverlap`), or none. */
export function chunkSettingsIssues(chunkSize: number, overlap: number): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    issues.push({ path: 'chunkSize', message: `must be a whole number of tokens from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}, got ${chunkSize}` });
  }
  if (!Number.isInteger(overlap) || overlap < 0) {
    issues.push({ path: 'chunkOverlap', message: `must be a whole number of tokens, 0 or more, got ${overlap}` });
  } else if (Number.isInteger(chunkSize) && overlap >= chunkSize) {
    issues.push({ path: 'chunkOverlap', message: `must be less than the chunk size (${chunkSize} tokens), got ${overlap}` });
  }
  return issues;
}

/** A run of the text and its token count. Consecutive pieces join back into the text. */
interface Piece {
  text: string;
  tokens: number;
}

/**
 * Boundaries, strongest first; a piece is cut just after each match, so the separator stays with
 * the text before it and the pieces join back into the text.
 */
const BOUNDARIES: readonly RegExp[] = [
  // a paragraph: a blank line
  /\n[^\S\n]*\n\s*/gu,
  // a line
  /\n\s*/gu,
  // a sentence: Latin marks before a space, CJK marks anywhere (with a closing quote or bracket)
  /[.!?]+["'”’)\]]*\s+|[。！？]+[」』”’）]*\s*/gu,
  // a clause
  /[,;:]\s+|[，、；：]\s*/gu,
  // a word: cut before the spaces that follow it
  /\S(?=\s)/gu,
];

/** `text` cut just after every match of `boundary` (a global regex). */
function cutAfter(text: string, boundary: RegExp): string[] {
  const parts: string[] = [];
  let start = 0;
  for (const match of text.matchAll(boundary)) {
    const end = match.index + match[0].length;
    if (end > start && end < text.length) {
      parts.push(text.slice(start, end));
      start = end;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/** The largest `end` in (`lo`, `hi`) with `fits(end)`, given that `lo` fits and `hi` does not. */
function bisect(lo: number, hi: number, fits: (end: number) => boolean): number {
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * `text` cut anywhere into pieces of at most `max` tokens, each as long as it can be (never
 * inside a surrogate pair): for runs no boundary cuts small enough (base64, CJK without marks).
 * Each cut is guessed from the density of the text (secant steps, starting from the density of
 * the piece before), then bisected: a piece costs a few counts of about its own length.
 */
function cutAnywhere(text: string, max: number, count: (text: string) => number): Piece[] {
  const pieces: Piece[] = [];
  let charsPerToken = 4;
  let start = 0;
  while (start < text.length) {
    const tokensTo = (end: number): number => count(text.slice(start, end));
    // `lo` fits; `hi` does not (past the end: not known yet)
    let lo = start;
    let hi = text.length + 1;
    let probe = Math.min(text.length, start + Math.max(1, Math.floor(charsPerToken * max)));
    for (let step = 0; step < 4 && hi - lo > 1; step++) {
      const tokens = tokensTo(probe);
      if (tokens <= max) lo = probe;
      else hi = probe;
      if (lo === text.length) break;
      const estimate = start + Math.floor(((probe - start) / Math.max(1, tokens)) * max);
      probe = Math.min(hi - 1, text.length, Math.max(lo + 1, estimate));
    }
    for (let stride = Math.max(16, lo - start); hi > text.length && lo < text.length; stride *= 2) {
      const up = Math.min(text.length, lo + stride);
      if (tokensTo(up) <= max) lo = up;
      else hi = up;
    }
    let end = Math.max(start + 1, bisect(lo, Math.min(hi, text.length + 1), (e) => tokensTo(e) <= max));
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end = end - 1 > start ? end - 1 : end + 1;
    const slice = text.slice(start, end);
    const tokens = count(slice);
    pieces.push({ text: slice, tokens });
    charsPerToken = Math.max(0.25, slice.length / Math.max(1, tokens));
    start = end;
  }
  return pieces;
}

/**
 * The end of `text` worth at most `budget` tokens, as pieces cut at the strongest boundaries
 * (from `level` on) that make the last ones fit; anywhere when no boundary does.
 */
function splitTail(text: string, budget: number, count: (text: string) => number, level = 0): Piece[] {
  for (let l = level; l < BOUNDARIES.length; l++) {
    const parts = cutAfter(text, BOUNDARIES[l]!);
    if (parts.length === 1) continue;
    const out: Piece[] = [];
    let left = budget;
    for (let k = parts.length - 1; k >= 0; k--) {
      const tokens = count(parts[k]!);
      if (tokens <= left) {
        out.unshift({ text: parts[k]!, tokens });
        left -= tokens;
      } else {
        if (out.length === 0) return splitTail(parts[k]!, budget, count, l + 1);
        break;
      }
    }
    return out;
  }
  // the shortest suffix that fits, at most ~16 characters a token back
  const fits = (from: number): boolean => count(text.slice(from)) <= budget;
  const earliest = Math.max(0, text.length - budget * 16);
  let from = earliest;
  if (!fits(from)) {
    // `lo` does not fit, `hi` does (the empty suffix)
    let [lo, hi] = [earliest, text.length];
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (fits(mid)) hi = mid;
      else lo = mid;
    }
    from = hi;
  }
  if (from > 0 && from < text.length && isHighSurrogate(text.charCodeAt(from - 1))) from++;
  if (from >= text.length) return [];
  const slice = text.slice(from);
  return [{ text: slice, tokens: count(slice) }];
}

/** `text` as pieces of at most `max` tokens, cut at the strongest boundaries that make them fit, from `level` on. */
function split(text: string, max: number, count: (text: string) => number, level = 0): Piece[] {
  const tokens = count(text);
  if (tokens <= max) return [{ text, tokens }];
  for (let l = level; l < BOUNDARIES.length; l++) {
    const parts = cutAfter(text, BOUNDARIES[l]!);
    if (parts.length > 1) return parts.flatMap((part) => split(part, max, count, l + 1));
  }
  return cutAnywhere(text, max, count);
}

const blank = (p: Piece): boolean => p.text.trim() === '';
const sum = (pieces: readonly Piece[]): number => pieces.reduce((n, p) => n + p.tokens, 0);
const joined = (pieces: readonly Piece[]): string => pieces.map((p) => p.text).join('').trim();

/**
 * The end of `pieces` worth at most `budget` tokens, as the next chunk's overlap: the whole
 * pieces that fit; when not even the last one does, its end, cut at its strongest boundaries.
 */
function tail(pieces: readonly Piece[], budget: number, count: (text: string) => number): Piece[] {
  const out: Piece[] = [];
  let left = budget;
  for (let k = pieces.length - 1; k >= 0 && left > 0; k--) {
    const piece = pieces[k]!;
    if (piece.tokens <= left) {
      out.unshift(piece);
      left -= piece.tokens;
      continue;
    }
    // whole pieces make a cleaner overlap; only a last piece larger than the whole overlap is cut
    if (out.length > 0) break;
    out.unshift(...splitTail(piece.text, left, count));
    break;
  }
  // an overlap of only spaces or line breaks says nothing
  while (out.length > 0 && blank(out[0]!)) out.shift();
  return out;
}

/**
 * Splits `text` into chunks of at most `chunkSize` tokens, each starting with up to `overlap`
 * tokens from the end of the previous one; throws a ValidationError (paths `chunkSize`,
 * `chunkOverlap`) for bad settings. Whitespace-only text has no chunks.
 *
 * @example
 * ```ts
 * const chunks = chunkText(document, { chunkSize: 300, overlap: 30, countTokens });
 * ```
 */
export function chunkText(text: string, options: ChunkOptions): string[] {
  const { chunkSize, overlap, countTokens: count } = options;
  const issues = chunkSettingsIssues(chunkSize, overlap);
  if (issues.length > 0) throw new ValidationError(issues, 'chunk settings');
  const pieces = split(text, chunkSize, count).filter((p) => !blank(p));
  const chunks: string[] = [];
  let carry: Piece[] = [];
  let next = 0;
  while (next < pieces.length) {
    const current = [...carry];
    // the overlap gives way to the next piece: every chunk has something new
    while (current.length > 0 && sum(current) + pieces[next]!.tokens > chunkSize) current.shift();
    let carried = current.length;
    let size = sum(current);
    while (next < pieces.length && size + pieces[next]!.tokens <= chunkSize) {
      size += pieces[next]!.tokens;
      current.push(pieces[next++]!);
    }
    // counted as stored: pieces counted apart may differ by a token where they meet
    let chunk = joined(current);
    while (count(chunk) > chunkSize && current.length > 1) {
      if (current.length > carried + 1) {
        current.pop();
        next--;
      } else {
        current.shift();
        carried--;
      }
      chunk = joined(current);
    }
    if (count(chunk) > chunkSize) {
      // one piece over the size once trimmed: cut it anywhere (never seen; kept for the guarantee)
      chunks.push(...cutAnywhere(chunk, chunkSize, count).map((p) => p.text.trim()).filter((t) => t !== ''));
    } else {
      chunks.push(chunk);
    }
    carry = overlap > 0 && next < pieces.length ? tail(current, overlap, count) : [];
  }
  return chunks;
}
