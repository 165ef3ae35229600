/**
 * The chaos run's model: a {@link Responder} for the scripted model server that plays a memloom
 * agent turn (memory edits, then a final reply naming the turn's marker) and, for a share of
 * calls, flaps: 500, 429 with `Retry-After: 1`, or a stalled stream.
 *
 * Stateless per request: the step is read from the request itself (the last message's role and
 * the marker `[M<n>]` in the last user message), so a retried call gets the same answer.
 */
import type { ChatRequest, Responder, ScriptedStep } from '../../src/dev/scripted-model-server.ts';
import { mulberry32 } from '../../src/domain/routing.ts';

/** Shares of model calls that fail, each in [0, 1]; their sum must be below 1. */
export interface ModelFaultRates {
  /** HTTP 500. @default 0 */
  status500?: number;
  /** HTTP 429 with `Retry-After: 1`. @default 0 */
  status429?: number;
  /** A stream that sends a few chunks and then hangs. @default 0 */
  stall?: number;
}

/** What the turn's tool step does. */
export const EditKind = {
  /** `core_memory_append` to `human` plus `archival_memory_insert`, in one step. */
  CoreAndArchival: 'core+archival',
  /** `archival_memory_insert` only (for long runs on one agent, whose block would fill up). */
  Archival: 'archival',
} as const;
export type EditKind = (typeof EditKind)[keyof typeof EditKind];

export interface FlakyModelOptions {
  faults: ModelFaultRates;
  edits: EditKind;
  /** Seed of the fault dice, so a run can be repeated. */
  seed: number;
}

export interface ModelFaultCounts {
  calls: number;
  status500: number;
  status429: number;
  stall: number;
}

const MARKER = /\[([A-Z]+\d+)\]/;

/** `[M12]`: the marker of turn 12, unique within a run, never a substring of another marker. */
export const marker = (prefix: string, n: number): string => `[${prefix}${n}]`;

/** The final reply the model gives to the turn whose marker is `mark`. */
export const finalReplyFor = (mark: string): string => `Done ${mark}`;

/** Text of the archival passage a turn writes. */
export const passageFor = (mark: string): string => `chaos passage ${mark}`;


function textOf(message: Record<string, unknown> | undefined): string {
  const content = message?.['content'];
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p: unknown) => (p !== null && typeof p === 'object' && 'text' in p ? String(p.text) : '')).join('');
}

/** The step a healthy model takes for this request. */
export function turnStep(request: ChatRequest, edits: EditKind): Extract<ScriptedStep, { kind: 'reply' }> {
  const last = request.messages.at(-1);
  const mark = MARKER.exec(textOf(request.messages.findLast((m) => m['role'] === 'user')))?.[0];
  // no marker: not a chaos turn (e.g. a summarization request): a plain answer
  if (!mark) return { kind: 'reply', content: 'ok' };
  if (last?.['role'] !== 'user') return { kind: 'reply', content: finalReplyFor(mark) };
  const archival = { name: 'archival_memory_insert', arguments: { content: passageFor(mark) } };
  const core = { name: 'core_memory_append', arguments: { label: 'human', content: mark } };
  return { kind: 'reply', toolCalls: edits === EditKind.Archival ? [archival] : [core, archival] };
}

/** The responder plus live counts of what it did. */
export function flakyModel(options: FlakyModelOptions): { responder: Responder; counts: ModelFaultCounts; setFaults(on: boolean): void } {
  const dice = mulberry32(options.seed);
  const counts: ModelFaultCounts = { calls: 0, status500: 0, status429: 0, stall: 0 };
  const { status500 = 0, status429 = 0, stall = 0 } = options.faults;
  let faultsOn = true;
  const responder: Responder = (request) => {
    counts.calls++;
    const healthy = turnStep(request, options.edits);
    if (!faultsOn) return healthy;
    const roll = dice();
    if (roll < status500) {
      counts.status500++;
      return { kind: 'error', status: 500 };
    }
    if (roll < status500 + status429) {
      counts.status429++;
      return { kind: 'error', status: 429, retryAfter: 1 };
    }
    if (roll < status500 + status429 + stall) {
      counts.stall++;
      // the role chunk and one content chunk, then silence with the socket open
      return { kind: 'stall', afterChunks: 1 };
    }
    return healthy;
  };
  return { responder, counts, setFaults: (on) => void (faultsOn = on) };
}
