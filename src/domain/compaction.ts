/**
 * Compaction, Letta's summarizer: when an agent's in-context messages no longer fit its context
 * window, the oldest of them are summarized (with the previous summary) by a model, the summary
 * is stored as a message that opens every later context, and the summarized messages leave the
 * context. Recall keeps every message: `conversation_search` and `memloom messages` still find
 * them. Pure: the settings, where to cut, the summarizer's prompt and the stored summary's text.
 * @module
 */
import { z } from 'zod';
import type { ContextCandidate } from './context-window.ts';

/** Why a compaction ran. */
export const CompactionTrigger = {
  /** Before a step: the in-context messages would not fit the window. */
  ContextFull: 'context_full',
  /** The endpoint answered a step with a context overflow (after any `context_window_fallbacks`). */
  ContextOverflow: 'context_overflow',
  /** `memloom agent compact` / `client.compactAgent()`. */
  Manual: 'manual',
} as const;
export type CompactionTrigger = (typeof CompactionTrigger)[keyof typeof CompactionTrigger];

/** Compactions one model step may run before it calls the model with what fits. */
export const MAX_COMPACTIONS_PER_STEP = 3;

/**
 * An agent's `compaction_settings` (Letta's names): how much a compaction evicts and which model
 * writes the summary.
 */
export const CompactionSettingsSchema = z
  .object({
    /**
     * The share of the message budget a compaction frees: after it, the kept messages take at
     * most (1 − this) of it. Letta's `sliding_window_percentage`. @default 0.3
     */
    sliding_window_percentage: z
      .number({ message: 'must be a number' })
      .gt(0, 'must be more than 0')
      .max(0.9, 'must be at most 0.9 (the newest messages always stay)')
      .optional(),
    /** The model (or model group of the models file) that writes summaries. @default the agent's own model */
    model: z.string().trim().min(1, 'must name a model').max(200, 'must be at most 200 characters').optional(),
    /** The most characters of conversation one summary reads; older text beyond it is cut. @default 50,000 */
    clip_chars: z.number().int('must be an integer').min(1000, 'must be at least 1000').max(1_000_000, 'must be at most 1,000,000').optional(),
  })
  .strict();
export type CompactionSettings = z.output<typeof CompactionSettingsSchema>;

export const DEFAULT_COMPACTION = { sliding_window_percentage: 0.3, clip_chars: 50_000 } as const;

/** The settings in effect: the agent's, else the defaults. */
export function compactionSettings(s: CompactionSettings | null | undefined): Required<Omit<CompactionSettings, 'model'>> & { model: string | null } {
  return {
    sliding_window_percentage: s?.sliding_window_percentage ?? DEFAULT_COMPACTION.sliding_window_percentage,
    clip_chars: s?.clip_chars ?? DEFAULT_COMPACTION.clip_chars,
    model: s?.model ?? null,
  };
}

/** Where a compaction cuts: the first `evict` messages (oldest first) leave the context. */
export interface EvictionPlan {
  evict: number;
  tokensBefore: number;
  tokensAfter: number;
}

/**
 * The shortest oldest-first prefix of `messages` to evict so the rest takes at most `target`
 * tokens. Cuts only before a user message or a plain assistant message, never between a tool
 * call and its returns; the newest such group always stays. `evict: 0` when nothing can go.
 */
export function planEviction(messages: readonly ContextCandidate[], target: number): EvictionPlan {
  const tokensBefore = messages.reduce((n, m) => n + m.tokens, 0);
  // cut points: indexes where a group starts (a tool return never starts one)
  const starts: number[] = [];
  for (const [i, m] of messages.entries()) if (m.role !== 'tool') starts.push(i);
  let kept = tokensBefore;
  let evict = 0;
  // never past the newest group's start: it always stays
  for (const cut of starts.slice(1)) {
    if (kept <= target) break;
    for (let i = evict; i < cut; i++) kept -= messages[i]!.tokens;
    evict = cut;
  }
  return { evict, tokensBefore, tokensAfter: kept };
}

/**
 * The tokens the kept messages may take after a compaction: (1 − percentage) of the message
 * budget less the summary's room; after an overflow the endpoint reported (our count was low) and
 * on demand, of what was in context if that is less.
 */
export function evictionTarget(opts: { budget: number; inContext: number; percentage: number; summaryRoom: number; trigger: CompactionTrigger }): number {
  const base = opts.trigger !== CompactionTrigger.ContextFull ? Math.min(opts.budget, opts.inContext) : opts.budget;
  return Math.max(0, Math.floor(base * (1 - opts.percentage)) - opts.summaryRoom);
}

/** The most tokens a summary may take: a fifth of the message budget, within 100–1500. */
export function summaryTokenLimit(budget: number): number {
  return Math.max(100, Math.min(1500, Math.floor(budget / 5)));
}

/** The summarizer's system prompt; its first line marks a summarization request (the scripted test models look for it). */
export const SUMMARIZER_MARKER = '[memloom summarizer]';

export function summarizerSystemPrompt(maxWords: number): string {
  return [
    `${SUMMARIZER_MARKER} Your job is to summarize a history of previous messages in a conversation between an AI persona and a human.`,
    'The conversation you are given is the oldest part of the AI\'s context window, which is being cleared to make room; it may start with a summary of even older messages.',
    'Summarize what happened from the perspective of the AI, in the first person.',
    'Keep every fact the human shared (names, dates, numbers, places, preferences, plans) word for word, and any promise or open question.',
    `Keep the summary under ${maxWords} words. Output only the summary, nothing else.`,
  ].join('\n');
}

/** One message as the summarizer reads it. */
export interface TranscriptLine {
  role: string;
  text: string;
}

/**
 * The summarizer's user message: the previous summary, then the evicted messages as a transcript,
 * the oldest text cut first when it is over `clipChars`.
 */
export function summarizerInput(previousSummary: string | null, lines: readonly TranscriptLine[], clipChars: number): string {
  const rendered = lines.map((l) => `${l.role}: ${l.text}`);
  let transcript = rendered.join('\n');
  if (transcript.length > clipChars) transcript = `[… earlier text cut …]\n${transcript.slice(transcript.length - clipChars)}`;
  return [
    ...(previousSummary ? ['Summary of the messages before these:', previousSummary, ''] : []),
    'Messages to summarize:',
    transcript,
  ].join('\n');
}

/** Numbers a compaction reports (Letta's `compaction_stats`). */
export interface CompactionStats {
  trigger: CompactionTrigger;
  context_tokens_before: number;
  context_tokens_after: number;
  context_window: number;
  messages_count_before: number;
  messages_count_after: number;
}

const SUMMARY_INTRO = 'The following is a summary of the previous messages:\n ';

/** The stored summary message: Letta's `system_alert` JSON, which the model reads as a user message. */
export function summaryMessageContent(opts: { evicted: number; summary: string; time: Date; stats: CompactionStats }): string {
  return JSON.stringify({
    type: 'system_alert',
    message:
      `Note: ${opts.evicted} messages from the beginning of the conversation have been hidden from view due to memory constraints.\n` +
      `${SUMMARY_INTRO}${opts.summary}`,
    time: opts.time.toISOString(),
    compaction_stats: opts.stats,
  });
}

/**
 * The summary text, the count of messages it hid (from its notice) and the stats of a stored
 * summary message; null when it is not one.
 */
export function parseSummaryMessage(content: string | null): { summary: string; evicted: number | null; stats: CompactionStats | null } | null {
  if (!content) return null;
  let parsed: { type?: unknown; message?: unknown; compaction_stats?: CompactionStats };
  try {
    parsed = JSON.parse(content) as typeof parsed;
  } catch {
    return null;
  }
  if (parsed.type !== 'system_alert' || typeof parsed.message !== 'string') return null;
  const at = parsed.message.indexOf(SUMMARY_INTRO);
  const summary = at < 0 ? parsed.message : parsed.message.slice(at + SUMMARY_INTRO.length).trimStart();
  const evicted = /^Note: (\d+) messages? from the beginning/.exec(parsed.message)?.[1];
  return { summary, evicted: evicted === undefined ? null : Number(evicted), stats: parsed.compaction_stats ?? null };
}

/** What a compaction did. */
export interface CompactionResult {
  agentId: string;
  trigger: CompactionTrigger;
  /** Messages that left the context (0: nothing to compact). */
  evictedMessages: number;
  /** The new summary message; null when nothing was compacted. */
  summaryMessageId: string | null;
  /** In-context message tokens (memloom's count) before and after, the summary included. */
  tokensBefore: number;
  tokensAfter: number;
  /** The model that wrote the summary; null when nothing was compacted. */
  model: string | null;
}
