/**
 * `npm run bench`: what real token counts cost (`src/llm/token-count.ts`, gpt-tokenizer).
 *
 * 1. Loading an encoding on first use (once per process: the worker, the CLI, `memloom serve`),
 *    and the memory it takes.
 * 2. Throughput in tokens/s over the kinds of text agents hold: prose (this repo's README),
 *    code (its TypeScript sources), JSON (its package-lock.json) and CJK, cut into messages of
 *    1-4 KB, each counted once.
 * 3. The counting of one agent turn: the user message (counted by the client when it stores
 *    it), the system prompt with its memory blocks and the memory tools' schemas (counted by the
 *    model activity at each call; remembered while they do not change), and the answer. Stored
 *    messages keep their count, so the history is never counted again.
 * 4. The size check of the largest message the SDK accepts (2,000,000 characters of random
 *    text), counted only up to the limit of a 128k-token agent.
 *
 * Needs nothing running. Prints figures; asserts nothing.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SYSTEM_PROMPT, maxMessageTokens } from '../src/domain/agent.ts';
import { compileSystemPrompt } from '../src/domain/memory-render.ts';
import {
  countTokens,
  countTokensWithin,
  estimateMessageTokens,
  loadEncoding,
  promptFrameTokens,
  TokenEncoding,
  type TokenEncoding as Encoding,
} from '../src/llm/token-count.ts';
import { BASE_TOOL_NAMES } from '../src/tools/memory-tools.ts';
import { ToolRegistry } from '../src/tools/registry.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string): void => void process.stdout.write(`${line}\n`);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

// 1. first use
for (const encoding of [TokenEncoding.O200kBase, TokenEncoding.Cl100kBase] as Encoding[]) {
  global.gc?.();
  const heap = process.memoryUsage().heapUsed;
  const ms = loadEncoding(encoding);
  log(`load ${encoding.padEnd(12)} ${ms.toFixed(0).padStart(5)} ms   heap +${mb(process.memoryUsage().heapUsed - heap)}`);
}

// 2. throughput
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [readFileSync(path, 'utf8')] : [];
  });
}
/** `text` cut into messages of 1-4 KB, at line ends. */
function messages(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    current += `${line}\n`;
    if (current.length >= 1024 + ((out.length * 977) % 3072)) {
      out.push(current);
      current = '';
    }
  }
  return current ? [...out, current] : out;
}
/**
 * CJK text that does not repeat itself (the tokenizer remembers the pieces it has merged): common
 * characters in a seeded order, with a comma or a full stop after one in 16.
 */
const HANZI = '的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见只主没公从知使部长全把本相现';
let cjkSeed = 11;
const cjk = Array.from({ length: 100_000 }, (_, i) => {
  cjkSeed = (cjkSeed * 1_103_515_245 + 12_345) % 2 ** 31;
  const mark = cjkSeed % 16 === 0 ? (i % 7 === 0 ? '。' : '，') : '';
  return `${HANZI[cjkSeed % HANZI.length]}${mark}${i % 997 === 996 ? '\n' : ''}`;
}).join('');
const corpora: [string, string][] = [
  ['prose (README)', readFileSync(join(ROOT, 'README.md'), 'utf8')],
  ['code (src/**/*.ts)', sources(join(ROOT, 'src')).join('\n')],
  ['JSON (package-lock)', readFileSync(join(ROOT, 'package-lock.json'), 'utf8')],
  ['CJK', cjk],
];
// the JIT warms up on the other encoding, so o200k_base's own cache of merged pieces starts empty
for (const [, text] of corpora) for (const part of messages(text)) countTokens(part, TokenEncoding.Cl100kBase);
log('throughput (o200k_base, messages of 1-4 KB, each counted once)');
for (const [name, text] of corpora) {
  const parts = messages(text);
  const started = performance.now();
  const tokens = parts.reduce((n, part) => n + countTokens(part), 0);
  const ms = performance.now() - started;
  log(
    `  ${name.padEnd(22)} ${(text.length / 1e6).toFixed(2)} M chars  ${tokens.toString().padStart(7)} tokens  ` +
      `${((tokens / ms) * 1000 / 1e6).toFixed(2)} M tokens/s   (characters / 4: ${Math.round(text.length / 4)}, ${((text.length / 4 / tokens - 1) * 100).toFixed(0)} %)`,
  );
}

// 3. one turn
const tools = new ToolRegistry().schemasFor(BASE_TOOL_NAMES).tools.flatMap((t) => (t.type === 'function' ? [t.function] : []));
const block = (label: string, value: string) => ({ label, value, limit: 5000, description: null, read_only: false });
const systemOf = (turn: number): string =>
  compileSystemPrompt(DEFAULT_SYSTEM_PROMPT, [
    block('persona', 'I am Sam, a patient assistant who remembers what people tell me. '.repeat(6)),
    block('human', `Name: Alice. Loves science fiction, tea and long walks. Turn ${turn}. `.repeat(8)),
  ]);
const user = 'Can you remind me which book we talked about last week, and what I thought of its ending?';
const answer = 'You were reading "The Left Hand of Darkness" and found the ending moving but abrupt. '.repeat(3);
const turn = (system: string): number => {
  const started = performance.now();
  countTokensWithin(user, maxMessageTokens(128_000));
  promptFrameTokens(system, tools);
  estimateMessageTokens({ content: answer });
  return (performance.now() - started) * 1000;
};
const changed: number[] = [];
const same: number[] = [];
const fixed = systemOf(-1);
for (let i = 0; i < 200; i++) {
  changed.push(turn(systemOf(i))); // a memory edit in every turn: the system prompt is counted again
  same.push(turn(fixed));
}
const frame = promptFrameTokens(fixed, tools);
log(`one turn's counting (system prompt ${frame.systemTokens} tokens, ${tools.length} memory tools' schemas ${frame.toolTokens} tokens)`);
log(`  memory changed       p50 ${median(changed).toFixed(0).padStart(5)} µs`);
log(`  memory unchanged     p50 ${median(same).toFixed(0).padStart(5)} µs`);

// 4. the largest message
const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/';
let seed = 7;
const huge = Array.from({ length: 2_000_000 }, () => letters[(seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % letters.length]).join('');
const started = performance.now();
const size = countTokensWithin(huge, maxMessageTokens(128_000));
log(`size check of 2,000,000 random characters (limit ${maxMessageTokens(128_000)} tokens): ${(performance.now() - started).toFixed(0)} ms, about ${size.tokens} tokens`);
