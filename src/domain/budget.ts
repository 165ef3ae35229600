/**
 * Spend budgets, as LiteLLM has them (`max_budget` USD per `budget_duration`): the window a
 * budget counts in, the verdict on a spend, and the words a user reads when a turn is refused.
 * Pure: the spend itself is summed from the usage ledger by `src/db/budget-store.ts`.
 *
 * Windows are fixed periods aligned to the Unix epoch (UTC), not rolling: a `1d` budget counts
 * from 00:00Z and resets at the next 00:00Z, so every worker agrees on the window without state.
 * @module
 */
import { z } from 'zod';
import { parseBudgetDuration } from './model-policy.ts';

const DURATION_HINT = 'must be a duration such as 30s, 10m, 1h, 1d, 7d, 30d, 2w or 1mo';

/** The longest budget window: ten years keeps every reset a valid date. */
export const MAX_BUDGET_DURATION_MS = 3650 * 86_400_000;

/** `max_budget`: USD, more than 0. */
export const MaxBudgetSchema = z
  .number({ error: 'must be a number of US dollars' })
  .positive('must be more than 0 (US dollars)')
  .max(1e12, 'must be at most 1000000000000 (US dollars)');

/** `budget_duration`: a LiteLLM duration (`30s 10m 1h 1d 7d 30d 2w 1mo`), kept as written. */
export const BudgetDurationSchema = z
  .string({ error: DURATION_HINT })
  .trim()
  .superRefine((text, ctx) => {
    const ms = parseBudgetDuration(text);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: `${DURATION_HINT}, got ${JSON.stringify(text)}` });
    else if (ms > MAX_BUDGET_DURATION_MS) ctx.addIssue({ code: 'custom', message: 'must be at most 3650d (ten years)' });
  });

/** A budget: at most `maxBudget` USD per `duration` window, or in all when `duration` is null. */
export interface Budget {
  /** USD. */
  maxBudget: number;
  /** As written (`1d`); null: a lifetime budget that never resets. */
  duration: string | null;
}

/** The window a budget counts spend in now. */
export interface BudgetWindow {
  /** Null for a lifetime budget: all spend counts. */
  start: Date | null;
  /** When the window ends and spend starts again from 0; null for a lifetime budget. */
  resetsAt: Date | null;
}

/** How a budget stands: what it allows, what was spent in its window, and whether that is all of it. */
export interface BudgetVerdict {
  /** USD. */
  maxBudget: number;
  /** USD spent in the window (model calls whose cost is known). */
  spend: number;
  /** As written (`1d`); null: a lifetime budget. */
  duration: string | null;
  /** Start of the current window; null for a lifetime budget. */
  windowStart: Date | null;
  /** End of the current window; null for a lifetime budget. */
  resetsAt: Date | null;
  /** The spend has reached the budget: no further model call. */
  exceeded: boolean;
}

/**
 * The current window of `budget` at `now`: start = floor(now / duration) × duration since the
 * epoch, reset at start + duration.
 *
 * @example
 * ```ts
 * budgetWindow({ maxBudget: 1, duration: '1d' }, new Date('2026-11-26T15:00:00Z'));
 * // { start: 2026-11-26T00:00:00Z, resetsAt: 2026-11-27T00:00:00Z }
 * ```
 */
export function budgetWindow(budget: Budget, now: Date): BudgetWindow {
  if (budget.duration === null) return { start: null, resetsAt: null };
  const ms = parseBudgetDuration(budget.duration);
  if (ms === undefined) throw new RangeError(`not a budget duration: ${JSON.stringify(budget.duration)}`);
  const start = Math.floor(now.getTime() / ms) * ms;
  return { start: new Date(start), resetsAt: new Date(start + ms) };
}

/** The verdict on `spend` (USD, summed over `window`). A budget is used up once spend reaches it, as in LiteLLM. */
export function budgetVerdict(budget: Budget, window: BudgetWindow, spend: number): BudgetVerdict {
  return {
    maxBudget: budget.maxBudget,
    spend,
    duration: budget.duration,
    windowStart: window.start,
    resetsAt: window.resetsAt,
    exceeded: spend >= budget.maxBudget,
  };
}

/** `1.2345` → `$1.2345`, `1` → `$1.00`, `0.000123` → `$0.000123`: cents always, at most six decimals. */
export function formatUsd(amount: number): string {
  const [whole, decimals = ''] = amount.toFixed(6).split('.');
  return `$${whole}.${decimals.replace(/0+$/, '').padEnd(2, '0')}`;
}

/** `2026-11-27T00:00:00Z`: an instant without milliseconds when it has none. */
export function formatInstant(date: Date): string {
  return date.toISOString().replace('.000Z', 'Z');
}

/** `$0.25 of $1.00 this 1d window (resets at 2026-11-27T00:00:00Z)`, or `... of $1.00 (lifetime budget)`. */
export function formatBudgetSpend(v: BudgetVerdict): string {
  const spent = `${formatUsd(v.spend)} of ${formatUsd(v.maxBudget)}`;
  return v.duration === null || v.resetsAt === null
    ? `${spent} (lifetime budget)`
    : `${spent} this ${v.duration} window (resets at ${formatInstant(v.resetsAt)})`;
}

/**
 * Why a turn of agent `agentName` was refused, e.g. `agent "x" is over its budget: spent
 * $1.2345 of $1.00 this 1d window; resets at 2026-11-27T00:00:00Z`.
 */
export function budgetExceededMessage(agentName: string, v: BudgetVerdict): string {
  const spent = `spent ${formatUsd(v.spend)} of ${formatUsd(v.maxBudget)}`;
  const when =
    v.duration === null || v.resetsAt === null
      ? ' in all (a lifetime budget: it never resets; raise it with max_budget, or give it a budget_duration)'
      : ` this ${v.duration} window; resets at ${formatInstant(v.resetsAt)}`;
  return `agent "${agentName}" is over its budget: ${spent}${when}`;
}
