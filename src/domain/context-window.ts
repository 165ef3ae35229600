/**
 * Which recent messages go into the model's context. Pure: the caller loads the newest messages
 * (newest first, only as many as the budget can hold) and this picks the ones to send.
 *
 * Invariants:
 * - an assistant message with tool calls is sent only together with a return for every call,
 *   and a tool return only with its call: a turn that died mid-step never leaves a dangling
 *   call in the context (providers reject one);
 * - the context is a contiguous suffix of the history: once a group does not fit, older ones
 *   are left out;
 * - the newest group is always sent, even alone over budget: the model then reports the overflow.
 *
 * Budgets are in memloom's counted tokens (`src/llm/token-count.ts`); an agent's calibration, the
 * ratio of the `prompt_tokens` its endpoint reports to what memloom counted for the same prompt,
 * converts the model's window into them.
 * @module
 */

export interface ContextCandidate {
  id: string;
  role: 'user' | 'assistant' | 'tool' | 'system';
  toolCalls: readonly { id: string }[] | null;
  toolCallId: string | null;
  tokens: number;
}

/** Messages that must travel together: a plain message, or a call with all its returns. */
function groupOldestFirst<T extends ContextCandidate>(oldestFirst: readonly T[]): T[][] {
  const groups: T[][] = [];
  let open: { call: T; pending: Set<string>; returns: T[] } | null = null;

  const closeOpen = (): void => {
    if (open && open.pending.size === 0) groups.push([open.call, ...open.returns]);
    open = null; // an incomplete call group is dropped whole
  };

  for (const m of oldestFirst) {
    if (m.role === 'tool') {
      if (open && m.toolCallId !== null && open.pending.has(m.toolCallId)) {
        open.pending.delete(m.toolCallId);
        open.returns.push(m);
        if (open.pending.size === 0) closeOpen();
      }
      // else: an orphan return (its call is outside the window or was dropped)
      continue;
    }
    closeOpen();
    if (m.role === 'assistant' && m.toolCalls && m.toolCalls.length > 0) {
      open = { call: m, pending: new Set(m.toolCalls.map((c) => c.id)), returns: [] };
    } else {
      groups.push([m]);
    }
  }
  closeOpen();
  return groups;
}

/**
 * Picks the context from `newestFirst` within `budget` tokens; returns it oldest first.
 */
export function selectContext<T extends ContextCandidate>(newestFirst: readonly T[], budget: number): T[] {
  const groups = groupOldestFirst([...newestFirst].reverse());
  const chosen: T[][] = [];
  let used = 0;
  for (let i = groups.length - 1; i >= 0; i--) {
    const group = groups[i] ?? [];
    const cost = group.reduce((sum, m) => sum + m.tokens, 0);
    if (chosen.length > 0 && used + cost > budget) break;
    chosen.push(group);
    used += cost;
  }
  return chosen.reverse().flat();
}

/** How an agent's token calibration learns from reported usage. */
export const TOKEN_CALIBRATION = {
  /** The ratio before any report: counted tokens are taken at their word. */
  initial: 1,
  /** Bounds of the ratio: an endpoint's report outside them is taken as the bound. */
  min: 0.5,
  max: 3,
  /** Weight of a new report in the moving average (the first report is taken whole). */
  smoothing: 0.3,
} as const;

/**
 * What one model call says about the calibration: the ratio of the `reported` prompt tokens to
 * the `counted` ones, clamped to [{@link TOKEN_CALIBRATION}.min, .max]; null when either count is
 * missing or not positive (an endpoint that reports no usage, or zeros).
 */
export function calibrationSample(counted: number, reported: number | null | undefined): number | null {
  if (reported === null || reported === undefined || !(counted > 0) || !(reported > 0)) return null;
  return Math.min(TOKEN_CALIBRATION.max, Math.max(TOKEN_CALIBRATION.min, reported / counted));
}

/**
 * The calibration after a sample: an exponentially weighted moving average of the samples, the
 * first taken whole (`previous` null).
 */
export function nextCalibration(previous: number | null, sample: number): number {
  return previous === null ? sample : previous + TOKEN_CALIBRATION.smoothing * (sample - previous);
}

/**
 * Tokens left for messages once the system prompt, tool schemas and the reply are reserved, in
 * counted tokens: the window less the reply is what the endpoint will count, so it is divided by
 * the agent's `calibration` (reported per counted token) before the counted system prompt and
 * tool schemas are taken from it.
 */
export function messageBudget(opts: {
  contextWindow: number;
  systemTokens: number;
  toolTokens: number;
  maxOutputTokens?: number | undefined;
  /** @default TOKEN_CALIBRATION.initial */
  calibration?: number | undefined;
}): number {
  const reply = opts.maxOutputTokens ?? Math.min(4096, Math.floor(opts.contextWindow / 8));
  const prompt = Math.floor(Math.max(0, opts.contextWindow - reply) / (opts.calibration ?? TOKEN_CALIBRATION.initial));
  return Math.max(0, prompt - opts.systemTokens - opts.toolTokens);
}
