/**
 * Activity options of the workflows that orchestrate agents (pipelines, batch jobs): their
 * bookkeeping activities, and the activity that sends one message to an agent and waits for its
 * turn in the agent's mailbox.
 * @module
 */
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_FAILURE_TYPES } from '../src/domain/errors.ts';

const retry: RetryPolicy = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  maximumAttempts: 10,
  nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES],
};

/** Reading and writing the run's records in Postgres. */
export const BOOKKEEPING: ActivityOptions = { startToCloseTimeout: '1 minute', retry };

/**
 * One message to an agent: it waits for the agent's turn (queued behind others in the agent's
 * mailbox), so it is long, and heartbeats; a lost worker is noticed in 20 s and the message is
 * sent again under the same message id, which joins the same turn.
 */
export const AGENT_MESSAGE: ActivityOptions = { startToCloseTimeout: '2 hours', heartbeatTimeout: '20 seconds', retry: { ...retry, maximumAttempts: 5 } };
