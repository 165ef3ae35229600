/**
 * Timeouts shared by the workflow (activity options) and the activities (client timeouts). Each
 * client-side timeout fires before the Temporal timeout around it, so a slow model or tool fails
 * with an error memloom classifies (`Timeout`, a tool error result) instead of an opaque activity
 * timeout. Pure: safe to import from workflow code.
 * @module
 */

/** startToCloseTimeout of a `callModel` activity: the longest one model call may take, streaming included. */
export const MODEL_CALL_START_TO_CLOSE_MS = 300_000;

/**
 * The openai SDK's per-request timeout (until the response headers arrive). Strictly below
 * {@link MODEL_CALL_START_TO_CLOSE_MS}, so the client gives up first and the attempt fails as a
 * retryable `Timeout` recorded in the usage table, rather than being killed by Temporal.
 */
export const MODEL_REQUEST_TIMEOUT_MS = 270_000;

/**
 * A model stream that sends no chunk for this long (the first chunk included) is aborted and the
 * attempt fails as `Timeout`: a stalled upstream keeps the socket open and would otherwise hold
 * the call until start-to-close. Per agent: `llm_config.stream_idle_timeout` (seconds).
 */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 60_000;

/** Bounds of `llm_config.stream_idle_timeout`, in seconds: at least one second, at most an hour. */
export const STREAM_IDLE_TIMEOUT_RANGE_S = { min: 1, max: 3600 } as const;

/** A user tool runs at most this long unless `defineTool({ timeoutMs })` says otherwise. */
export const DEFAULT_TOOL_TIMEOUT_MS = 60_000;

/** The longest tool timeout `defineTool` accepts: a longer job belongs in its own workflow. */
export const MAX_TOOL_TIMEOUT_MS = 3_600_000;

/** Memory tools only touch Postgres (whose statements have their own timeouts): a short bound. */
export const MEMORY_TOOL_TIMEOUT_MS = 30_000;

/** Room a `runTool` activity needs beyond its tool's timeout: load the call, store the result. */
export const TOOL_ACTIVITY_MARGIN_MS = 30_000;

/**
 * startToCloseTimeout of a `runTool` activity whose tool may run `toolTimeoutMs`: the tool's own
 * timeout fires first and becomes an error tool result; Temporal's is the backstop.
 *
 * @example
 * ```ts
 * proxyActivities({ startToCloseTimeout: toolActivityStartToCloseMs(call.timeoutMs) });
 * ```
 */
export function toolActivityStartToCloseMs(toolTimeoutMs: number): number {
  return toolTimeoutMs + TOOL_ACTIVITY_MARGIN_MS;
}

/**
 * The model calls of one step (every attempt, backoff and wait for a cooldown) end this long
 * after its first attempt: a wait that would end later fails the step instead.
 */
export const MODEL_CHAIN_DEADLINE_MS = 600_000;

/** Attempts after the first of a direct call (no models file group): 6 in all, as before routing. */
export const DIRECT_NUM_RETRIES = 5;
