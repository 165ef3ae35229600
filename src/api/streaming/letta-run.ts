/**
 * A turn as Letta's `Run`: the run id is the turn's message id with Letta's `run-` prefix
 * (`message-<uuid>` ↔ `run-<uuid>`), so a run needs no table of its own — `GET /v1/runs/{id}`
 * reads the turn record, the durable answer to "what happened to this message". Also the stop
 * reasons and `error_message` payloads a stream ends with.
 * @module
 */
import { z } from 'zod';
import type { TurnRecord } from '../../db/turn-store.ts';
import { ModelErrorType } from '../../domain/errors.ts';
import { isId } from '../../domain/ids.ts';
import { TurnStatus, TURN_CANCELLED_FAILURE } from '../../domain/turn.ts';

const RUN_PREFIX = 'run-';
const MESSAGE_PREFIX = 'message-';

/** The run id of a turn: `run-<uuid of its message id>`. */
export function runIdOf(messageId: string): string {
  return RUN_PREFIX + messageId.slice(MESSAGE_PREFIX.length);
}

/** The turn (message id) of a run id; a message id is taken as it is. Null when it is neither. */
export function messageIdOfRun(runId: string): string | null {
  const messageId = runId.startsWith(RUN_PREFIX) ? MESSAGE_PREFIX + runId.slice(RUN_PREFIX.length) : runId;
  return isId('message', messageId) ? messageId.toLowerCase() : null;
}

/** Letta's run statuses of memloom's turn statuses. */
const RUN_STATUS = {
  [TurnStatus.Queued]: 'created',
  [TurnStatus.Running]: 'running',
  [TurnStatus.Completed]: 'completed',
  [TurnStatus.Failed]: 'failed',
  [TurnStatus.Cancelled]: 'cancelled',
} as const satisfies Record<TurnStatus, string>;

const MODEL_FAILURES: ReadonlySet<string> = new Set(Object.values(ModelErrorType));

/** Letta's stop reason of a finished turn: its own, `cancelled`, or `llm_api_error` / `error` for a failure. */
export function stopReasonOf(turn: Pick<TurnRecord, 'status' | 'stopReason' | 'errorType'>): string | null {
  switch (turn.status) {
    case TurnStatus.Completed:
      return turn.stopReason ?? 'end_turn';
    case TurnStatus.Cancelled:
      return 'cancelled';
    case TurnStatus.Failed:
      if (turn.errorType === TURN_CANCELLED_FAILURE) return 'cancelled';
      return MODEL_FAILURES.has(turn.errorType ?? '') ? 'llm_api_error' : 'error';
    default:
      return null;
  }
}

/** Letta's `error_type` of a memloom failure type. */
const LETTA_ERROR_TYPE: Record<string, string> = {
  [ModelErrorType.RateLimited]: 'llm_rate_limit',
  [ModelErrorType.Timeout]: 'llm_timeout',
  [ModelErrorType.AuthFailed]: 'llm_authentication',
  [ModelErrorType.Connection]: 'llm_connection_error',
  [ModelErrorType.Upstream5xx]: 'llm_server_error',
  [ModelErrorType.BadRequest]: 'llm_bad_request',
  [ModelErrorType.ModelNotFound]: 'llm_not_found',
  [ModelErrorType.ContextWindowExceeded]: 'context_window_exceeded',
};

/** Letta's `error_message` event of a failed turn (or of a stream that could not follow its turn). */
export function lettaErrorMessage(runId: string, type: string, message: string): Record<string, unknown> {
  return {
    message_type: 'error_message',
    run_id: runId,
    error_type: LETTA_ERROR_TYPE[type] ?? (MODEL_FAILURES.has(type) ? 'llm_error' : 'internal_error'),
    message,
    detail: `memloom error type: ${type}`,
    memloom_error_type: type,
  };
}

const iso = () => z.string().meta({ description: 'ISO 8601 time', format: 'date-time' });

export const RunSchema = z
  .object({
    id: z.string().meta({ description: '`run-<uuid>`: the uuid of the turn’s message id', example: 'run-0f7c0e7a-3c55-4c1b-9d0e-2d4f5e6a7b8c' }),
    agent_id: z.string(),
    status: z.enum(['created', 'running', 'completed', 'failed', 'cancelled']).meta({ description: '`created`: queued behind the agent’s earlier turns' }),
    stop_reason: z.string().nullable(),
    background: z.boolean().meta({ description: 'Always true: a memloom turn runs durably on its own' }),
    created_at: iso(),
    completed_at: iso().nullable(),
    total_duration_ns: z.number().int().nullable(),
    ttft_ns: z.null(),
    metadata: z.null(),
    conversation_id: z.null(),
    message_id: z.string().meta({ description: 'memloom: the user message (the turn) of this run' }),
    step_count: z.number().int(),
    usage: z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() }),
    error_type: z.string().nullable().meta({ description: 'memloom: why a failed run failed (`RateLimited`, `AuthFailed`, `Cancelled`, ...)' }),
  })
  .meta({ id: 'Run' });
export type LettaRun = z.output<typeof RunSchema>;

export function lettaRun(turn: TurnRecord): LettaRun {
  const finished = turn.finishedAt;
  return {
    id: runIdOf(turn.messageId),
    agent_id: turn.agentId,
    status: RUN_STATUS[turn.status],
    stop_reason: stopReasonOf(turn),
    background: true,
    created_at: turn.createdAt.toISOString(),
    completed_at: finished ? finished.toISOString() : null,
    total_duration_ns: finished ? (finished.getTime() - turn.createdAt.getTime()) * 1_000_000 : null,
    ttft_ns: null,
    metadata: null,
    conversation_id: null,
    message_id: turn.messageId,
    step_count: turn.stepCount,
    usage: turn.usage,
    error_type: turn.errorType,
  };
}
