/**
 * Token counts for context assembly, from a real BPE tokenizer (`gpt-tokenizer`, pure JS).
 *
 * Every count memloom stores or budgets with is in one encoding, {@link CONTEXT_ENCODING}
 * (o200k_base, the tokenizer of gpt-4o and later OpenAI models): a message row keeps its count
 * for life, while the agent's model may change, and Claude or Llama behind a LiteLLM proxy have
 * tokenizers no JS package ships. The per-agent calibration (`src/db/token-calibration-store.ts`)
 * maps these counts to what the endpoint reports as `prompt_tokens`.
 * {@link encodingForModel} names the tokenizer a model really uses, for counting as that model
 * does (the scripted model server reports usage with it).
 *
 * Framing follows OpenAI's chat format: each message costs its role and three tokens of framing,
 * each tool call its name, arguments and three more, the tool schemas are counted as the model
 * sees them (the TypeScript-like `namespace functions` rendering), and the reply is primed with
 * three tokens.
 *
 * Encodings load on first use (a few hundred ms for o200k_base, see `npm run bench`). Texts are
 * counted in segments of at most {@link SEGMENT_CHARS} characters cut where the tokenizer's own
 * pre-split cuts, so the counts are exact; a run with no such place (a long base64 string, one
 * character repeated) is cut anyway, which may add a token per cut but keeps byte-pair merging
 * linear in the text (it is quadratic in the length of one piece).
 * @module
 */
import { createRequire } from 'node:module';
import type * as EncodingApi from 'gpt-tokenizer/encoding/o200k_base';
import { formatFunctionDefinitions, type ChatCompletionFunctionDefinition } from 'gpt-tokenizer/functionCalling';

/** The BPE encodings memloom counts with. */
export const TokenEncoding = {
  /** gpt-4o, gpt-4.1, gpt-4.5, gpt-5, o1, o3, o4, gpt-oss; the default for other models. */
  O200kBase: 'o200k_base',
  /** gpt-4, gpt-4-turbo, gpt-3.5-turbo, text-embedding-3-*, text-embedding-ada-002. */
  Cl100kBase: 'cl100k_base',
} as const;
export type TokenEncoding = (typeof TokenEncoding)[keyof typeof TokenEncoding];

/** The encoding of every stored and budgeted count. */
export const CONTEXT_ENCODING: TokenEncoding = TokenEncoding.O200kBase;

/** Per-message framing of the chat format: the role and three tokens around the content. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/** Per tool call in an assistant message, beyond its name and arguments. */
export const TOOL_CALL_OVERHEAD_TOKENS = 3;

/** The tokens that prime the model's reply at the end of every prompt. */
export const REPLY_PRIMING_TOKENS = 3;

/**
 * The tool schemas' framing beyond their rendering: 9 for the block, less 4 that the system
 * message's own framing already counts (a memloom prompt always has one).
 */
const TOOL_SCHEMAS_OVERHEAD_TOKENS = 5;

/** The longest text counted in one call of the tokenizer (see the module comment). */
export const SEGMENT_CHARS = 2048;

/** Texts counted again and again (system prompts, tool schemas) are remembered within these sizes. */
const CACHE_MIN_CHARS = 512;
const CACHE_MAX_CHARS = 65_536;
const CACHE_ENTRIES = 128;

const O200K_MODELS = /^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4)\b/;
const CL100K_MODELS = /^(gpt-4|gpt-35|gpt-3\.5|text-embedding-3|text-embedding-ada-002)\b/;

/**
 * The encoding `model` tokenizes with: the name's last path segment is matched, so LiteLLM names
 * (`openai/gpt-4o`, `azure/gpt-35-turbo`) work. Models of other families get o200k_base.
 *
 * @example
 * ```ts
 * encodingForModel('openai/gpt-4o-mini'); // 'o200k_base'
 * encodingForModel('gpt-3.5-turbo'); // 'cl100k_base'
 * encodingForModel('anthropic/claude-sonnet-4'); // 'o200k_base'
 * ```
 */
export function encodingForModel(model: string): TokenEncoding {
  const name = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  if (O200K_MODELS.test(name)) return TokenEncoding.O200kBase;
  if (CL100K_MODELS.test(name)) return TokenEncoding.Cl100kBase;
  return TokenEncoding.O200kBase;
}

const MODULES: Record<TokenEncoding, string> = {
  o200k_base: 'gpt-tokenizer/encoding/o200k_base',
  cl100k_base: 'gpt-tokenizer/encoding/cl100k_base',
};

/** Special tokens such as `<|endoftext|>` in a text are counted as the plain text they are. */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

const require = createRequire(import.meta.url);
const counters = new Map<TokenEncoding, (text: string) => number>();
const caches = new Map<TokenEncoding, Map<string, number>>();

/** The encoding's counter, loading its ranks on first use (synchronously: counting is synchronous). */
function counterFor(encoding: TokenEncoding): (text: string) => number {
  let counter = counters.get(encoding);
  if (!counter) {
    const api = require(MODULES[encoding]) as typeof EncodingApi;
    counter = (text) => api.countTokens(text, PLAIN_TEXT);
    counters.set(encoding, counter);
  }
  return counter;
}

/** Loads `encoding` now rather than at its first count; returns how long it took in ms (0 if loaded). */
export function loadEncoding(encoding: TokenEncoding = CONTEXT_ENCODING): number {
  if (counters.has(encoding)) return 0;
  const started = performance.now();
  counterFor(encoding);
  return performance.now() - started;
}

const WHITESPACE = /\s/;

/** Whether the UTF-16 unit `code` is whitespace as the tokenizer's pre-split sees it (`\s`); NaN past the end is not. */
function isSpace(code: number): boolean {
  if (code === 0x20 || (code >= 0x09 && code <= 0x0d)) return true;
  return code >= 0x80 && WHITESPACE.test(String.fromCharCode(code));
}

const LETTER = /\p{L}/u;
/** Characters that may continue a piece after a letter: letters, marks, digits, apostrophes (`'s`), whitespace. */
const CONTINUES_WORD = /[\p{L}\p{M}\p{N}'\s]/u;

/**
 * Whether the tokenizer's pre-split (of o200k_base and cl100k_base alike: its pieces may start
 * with a space or one punctuation mark, never end with one) cuts before `i`: before a single
 * space between visible characters, after a line break followed by a visible character other
 * than a slash (a punctuation piece keeps the breaks and slashes after it), or between a letter
 * and punctuation (CJK text has no spaces).
 */
function piecesMeetAt(text: string, i: number): boolean {
  const at = text.charCodeAt(i);
  const before = text.charCodeAt(i - 1);
  if (at === 0x20) return !isSpace(before) && !isSpace(text.charCodeAt(i + 1));
  if (before === 0x0a) return !isSpace(at) && at !== 0x2f;
  // (not inside a surrogate pair)
  return !(at >= 0xdc00 && at <= 0xdfff) && LETTER.test(text.charAt(i - 1)) && !CONTINUES_WORD.test(text.charAt(i));
}

/**
 * Where a segment that starts at `start` of a text longer than {@link SEGMENT_CHARS} ends: the
 * last place within that length where pieces meet, else that length (not inside a surrogate pair).
 */
function segmentEnd(text: string, start: number): number {
  const max = start + SEGMENT_CHARS;
  for (let i = max; i > start + 1; i--) if (piecesMeetAt(text, i)) return i;
  const high = text.charCodeAt(max - 1);
  return high >= 0xd800 && high <= 0xdbff ? max - 1 : max;
}

/** Counts segment by segment; stops once more than `limit` tokens are counted. */
function countSegments(text: string, count: (text: string) => number, limit: number): { tokens: number; chars: number } {
  let tokens = 0;
  let start = 0;
  while (start < text.length && tokens <= limit) {
    const end = text.length - start <= SEGMENT_CHARS ? text.length : segmentEnd(text, start);
    tokens += count(start === 0 && end === text.length ? text : text.slice(start, end));
    start = end;
  }
  return { tokens, chars: start };
}

/**
 * The number of tokens of `text` in `encoding`.
 *
 * @example
 * ```ts
 * countTokens('Hello, world!'); // 4
 * ```
 */
export function countTokens(text: string, encoding: TokenEncoding = CONTEXT_ENCODING): number {
  if (text.length === 0) return 0;
  const count = counterFor(encoding);
  if (text.length < CACHE_MIN_CHARS || text.length > CACHE_MAX_CHARS) return countSegments(text, count, Infinity).tokens;
  let cache = caches.get(encoding);
  if (!cache) caches.set(encoding, (cache = new Map()));
  const hit = cache.get(text);
  if (hit !== undefined) {
    // most recently used last: the first entry is the one to evict
    cache.delete(text);
    cache.set(text, hit);
    return hit;
  }
  const tokens = countSegments(text, count, Infinity).tokens;
  if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(text, tokens);
  return tokens;
}

/** A count that may have stopped early: see {@link countTokensWithin}. */
export interface BoundedCount {
  /** The exact count when `within`; else an extrapolation from the part counted. */
  tokens: number;
  within: boolean;
}

/**
 * Counts `text` only as far as needed to tell whether it has at most `limit` tokens, so that a
 * huge text is rejected without being tokenized whole. Over the limit, `tokens` extrapolates
 * from the part counted (the text's tokens per character so far).
 */
export function countTokensWithin(text: string, limit: number, encoding: TokenEncoding = CONTEXT_ENCODING): BoundedCount {
  if (text.length === 0) return { tokens: 0, within: limit >= 0 };
  const { tokens, chars } = countSegments(text, counterFor(encoding), limit);
  if (tokens <= limit) return { tokens, within: true };
  return { tokens: Math.max(tokens, Math.round((tokens * text.length) / chars)), within: false };
}

/** A tool call as the model sees it in the chat. */
export interface ToolCallText {
  name: string;
  arguments: string;
}

/**
 * Tokens of one chat message as the model reads it: framing, content and tool calls. Reasoning is
 * not sent back to the model, so it does not count. Counted in {@link CONTEXT_ENCODING}, as
 * stored in `messages.tokens`.
 */
export function estimateMessageTokens(
  parts: {
    content?: string | null;
    reasoning?: string | null;
    toolCalls?: readonly ToolCallText[] | null;
  },
  encoding: TokenEncoding = CONTEXT_ENCODING,
): number {
  let tokens = MESSAGE_OVERHEAD_TOKENS + countTokens(parts.content ?? '', encoding);
  for (const call of parts.toolCalls ?? []) {
    tokens += TOOL_CALL_OVERHEAD_TOKENS + countTokens(call.name, encoding) + countTokens(call.arguments, encoding);
  }
  return tokens;
}

/** A function tool's schema, as in a chat request's `tools[].function`. */
export interface FunctionSchema {
  name: string;
  description?: string | undefined;
  parameters?: Record<string, unknown> | undefined;
}

/**
 * Tokens of the tool schemas of a request, rendered as OpenAI renders them for the model (a
 * TypeScript-like `namespace functions`); 0 without tools. A schema the renderer cannot read
 * (not JSON Schema) is counted as its JSON text.
 */
export function toolSchemaTokens(functions: readonly FunctionSchema[], encoding: TokenEncoding = CONTEXT_ENCODING): number {
  if (functions.length === 0) return 0;
  let rendered: string;
  try {
    // the renderer reads type, description, properties, required, items and enum, and renders
    // any other schema (anyOf, a list of types) as `any`
    rendered = formatFunctionDefinitions(functions as readonly ChatCompletionFunctionDefinition[]);
  } catch {
    rendered = JSON.stringify(functions);
  }
  return TOOL_SCHEMAS_OVERHEAD_TOKENS + countTokens(rendered, encoding);
}

/**
 * The part of a prompt that is not its messages: the system message (with the reply priming) and
 * the tool schemas, in {@link CONTEXT_ENCODING}. A prompt then counts
 * `systemTokens + toolTokens + Σ messages.tokens`.
 */
export function promptFrameTokens(system: string, functions: readonly FunctionSchema[]): { systemTokens: number; toolTokens: number } {
  return {
    systemTokens: estimateMessageTokens({ content: system }) + REPLY_PRIMING_TOKENS,
    toolTokens: toolSchemaTokens(functions),
  };
}

/** The text of a request message's content: a string, or the text parts of a list. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: unknown) => (part !== null && typeof part === 'object' && 'text' in part && typeof part.text === 'string' ? part.text : '')).join('');
}

const record = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

/** The tool calls of a request message (`tool_calls[].function`). */
function toolCallsOf(value: unknown): ToolCallText[] {
  if (!Array.isArray(value)) return [];
  return value.map((call: unknown) => {
    const fn = record(record(call)?.['function']);
    return { name: typeof fn?.['name'] === 'string' ? fn['name'] : '', arguments: typeof fn?.['arguments'] === 'string' ? fn['arguments'] : '' };
  });
}

/** The function schemas of a request's `tools`. */
function functionsOf(tools: readonly unknown[]): FunctionSchema[] {
  return tools.flatMap((tool) => {
    const fn = record(record(tool)?.['function']);
    if (typeof fn?.['name'] !== 'string') return [];
    return [{ name: fn['name'], description: typeof fn['description'] === 'string' ? fn['description'] : undefined, parameters: record(fn['parameters']) }];
  });
}

/**
 * The prompt tokens of a chat completion request body as an endpoint counts them: every message
 * with its framing, the tool schemas and the reply priming. With {@link CONTEXT_ENCODING} it
 * equals what memloom counts for the prompt it sends.
 */
export function chatRequestTokens(
  request: { messages: readonly Record<string, unknown>[]; tools?: readonly unknown[] | undefined },
  encoding: TokenEncoding = CONTEXT_ENCODING,
): number {
  let tokens = REPLY_PRIMING_TOKENS + toolSchemaTokens(functionsOf(request.tools ?? []), encoding);
  for (const m of request.messages) {
    tokens += estimateMessageTokens({ content: contentText(m['content']), toolCalls: toolCallsOf(m['tool_calls']) }, encoding);
  }
  return tokens;
}
