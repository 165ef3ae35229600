/**
 * memloom's one error taxonomy. Model failures are classified once, at the activity boundary,
 * into {@link ModelErrorType}s that travel as Temporal `ApplicationFailure` types; everything
 * else a user can get wrong is a {@link MemloomError} subclass with a stable `code`.
 * @module
 */
import type { z } from 'zod';
import { budgetExceededMessage, type BudgetVerdict } from './budget.ts';

/** Typed failures of a model call. The value is the `ApplicationFailure.type`. */
export const ModelErrorType = {
  /** 429: back off, honouring Retry-After. */
  RateLimited: 'RateLimited',
  /** The request or the stream timed out (408 or client-side). */
  Timeout: 'Timeout',
  /** 5xx from the endpoint or its upstream. */
  Upstream5xx: 'Upstream5xx',
  /** Connection refused or reset, or a stream cut before it finished. */
  Connection: 'Connection',
  /** 400/422: the request itself is wrong; retrying cannot help. */
  BadRequest: 'BadRequest',
  /**
   * 401/403, LiteLLM's `no_db_connection` for a wrong proxy key, a provider key rejected behind
   * the proxy, or a 5xx answered to a request sent without any key.
   */
  AuthFailed: 'AuthFailed',
  /** 404, or LiteLLM's "Invalid model name". */
  ModelNotFound: 'ModelNotFound',
  /** The provider refused the content. */
  ContentPolicy: 'ContentPolicy',
  /** A spend limit was reached. */
  BudgetExceeded: 'BudgetExceeded',
  /** The prompt does not fit the model's context window. */
  ContextWindowExceeded: 'ContextWindowExceeded',
} as const;
export type ModelErrorType = (typeof ModelErrorType)[keyof typeof ModelErrorType];

/** Failures worth another attempt of the same call. */
export const RETRYABLE_MODEL_ERRORS: readonly string[] = [
  ModelErrorType.RateLimited,
  ModelErrorType.Timeout,
  ModelErrorType.Upstream5xx,
  ModelErrorType.Connection,
];

/**
 * Failures of any activity that are not about a model call: what the activity failure boundary
 * (activities/failure-boundary.ts) turns an error into. The value is the `ApplicationFailure.type`.
 */
export const ActivityFailureType = {
  /** A transient PostgreSQL failure (connection lost, failover, deadlock, lock or statement timeout): retried. */
  DatabaseUnavailable: 'DatabaseUnavailable',
  /** memloom is configured wrongly (no model endpoint, ...); the message says what to set. */
  ConfigError: 'ConfigError',
  /** An activity input failed validation; retrying the same input cannot help. */
  InvalidPayload: 'InvalidPayload',
  /** A bug in memloom's own code (a TypeError, ...); the worker logs the stack. */
  InternalError: 'InternalError',
  /** The agent a turn names does not exist (any more). */
  AgentNotFound: 'AgentNotFound',
} as const;
export type ActivityFailureType = (typeof ActivityFailureType)[keyof typeof ActivityFailureType];

/** Failure types that a Temporal retry policy must never retry. */
export const NON_RETRYABLE_FAILURE_TYPES: readonly string[] = [
  ModelErrorType.BadRequest,
  ModelErrorType.AuthFailed,
  ModelErrorType.ModelNotFound,
  ModelErrorType.ContentPolicy,
  ModelErrorType.BudgetExceeded,
  ModelErrorType.ContextWindowExceeded,
  ActivityFailureType.AgentNotFound,
  ActivityFailureType.InvalidPayload,
  ActivityFailureType.ConfigError,
  ActivityFailureType.InternalError,
];

export const ErrorCode = {
  Validation: 'validation_error',
  NotFound: 'not_found',
  Conflict: 'conflict',
  TurnFailed: 'turn_failed',
  PipelineFailed: 'pipeline_failed',
  Config: 'config_error',
  DatabaseUnavailable: 'database_unavailable',
  BudgetExceeded: 'budget_exceeded',
  ArchivalJobFailed: 'archival_job_failed',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class MemloomError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One problem with one input field. `path` is dotted, e.g. `llm_config.context_window`. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Bad input. The message names every field and why; nothing was written. */
export class ValidationError extends MemloomError {
  constructor(
    readonly issues: FieldIssue[],
    readonly subject = 'input',
  ) {
    super(ErrorCode.Validation, `invalid ${subject}: ${issues.map(formatIssue).join('; ')}`);
  }

  static fromZod(error: z.ZodError, subject?: string, prefix = ''): ValidationError {
    const issues = error.issues.map((issue) => ({
      path: [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.'),
      message: issue.message,
    }));
    return new ValidationError(issues, subject);
  }
}

function formatIssue(issue: FieldIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

export class NotFoundError extends MemloomError {
  constructor(
    readonly resource: string,
    readonly key: string,
    hint?: string,
  ) {
    super(ErrorCode.NotFound, `${resource} not found: ${key}${hint ? ` (${hint})` : ''}`);
  }
}

export class ConflictError extends MemloomError {
  constructor(message: string) {
    super(ErrorCode.Conflict, message);
  }
}

export class ConfigError extends MemloomError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Config, message, options);
  }
}

/** PostgreSQL kept failing transiently (connection dropped, failover, deadlock) after retries. */
export class DatabaseUnavailableError extends MemloomError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.DatabaseUnavailable, message, options);
  }
}

/** A turn that ended in a failure the workflow could not recover from (e.g. a 401). */
export class TurnFailedError extends MemloomError {
  constructor(
    readonly type: string,
    message: string,
    readonly agentId: string,
    readonly messageId: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.TurnFailed, message, options);
  }
}

/**
 * The agent has spent its budget (`max_budget` per `budget_duration`): a turn is refused before
 * any model call, and nothing of it is written. The message names the budget, the spend and
 * when the window resets.
 */
export class BudgetExceededError extends MemloomError {
  constructor(
    readonly agentId: string,
    readonly agentName: string,
    readonly verdict: BudgetVerdict,
  ) {
    super(ErrorCode.BudgetExceeded, budgetExceededMessage(agentName, verdict));
  }
}

/**
 * A pipeline run that did not complete. `type` says why: `StageFailed` (the message names the
 * stage and the agent), `BudgetExceeded`, `InvalidPayload` (its input), `AgentNotFound`, ...
 */
export class PipelineFailedError extends MemloomError {
  constructor(
    readonly type: string,
    message: string,
    readonly workflowId: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.PipelineFailed, message, options);
  }
}

/**
 * An archival import or re-embedding that did not complete. `type` says why: `Connection` (the
 * embedding endpoint is down), `AuthFailed`, `ConfigError`, `Cancelled`, ... A failed import
 * inserted nothing; a failed re-embedding keeps what its finished batches wrote.
 */
export class ArchivalJobFailedError extends MemloomError {
  constructor(
    readonly type: string,
    message: string,
    readonly workflowId: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.ArchivalJobFailed, message, options);
  }
}
