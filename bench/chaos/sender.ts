/**
 * A user sending one message the way a careful SDK user does: with an explicit message id, and
 * on any transport trouble (Temporal or Postgres unreachable, a dropped connection, an answer
 * that takes too long) sending the SAME id again. memloom promises a resend never gives a
 * second answer; the chaos run checks it.
 */
import type { MemloomClient } from '../../src/client/memloom-client.ts';
import { ConflictError, NotFoundError, TurnFailedError, ValidationError } from '../../src/domain/errors.ts';
import type { LettaResponse } from '../../src/domain/letta-message.ts';

/** How one message ended, as its sender saw it. */
export type SendOutcome =
  | { kind: 'answered'; response: LettaResponse; at: number }
  /** The turn failed for good (TurnFailedError): an answer, but not a reply. */
  | { kind: 'failed'; errorType: string; message: string; at: number }
  /** memloom refused the message (validation, conflict): never answered. */
  | { kind: 'rejected'; message: string; at: number }
  /** No answer before the run's deadline. */
  | { kind: 'lost'; lastError: string | undefined };

export interface SentTurn {
  n: number;
  marker: string;
  agentId: string;
  messageId: string;
  text: string;
  /** When the first attempt started (ms, the run's clock). */
  sentAt: number;
  /** Attempts made (1 = no resend). */
  attempts: number;
  /** Error names that caused a resend, e.g. `ServiceError`, `DatabaseError`, `AttemptTimeout`. */
  retriedOn: string[];
  outcome: SendOutcome;
}

export interface SendOptions {
  /** Give up on one attempt after this long and resend (the old one is left to finish). */
  attemptTimeoutMs: number;
  /** No new attempt after this time (the run's clock); the message is then lost. */
  deadline: number;
  now: () => number;
  /** Called on each resend. */
  onRetry?: (turn: SentTurn, error: string) => void;
}

/** Errors memloom answers on purpose: resending cannot change them. */
const isDefinitive = (error: unknown): boolean =>
  error instanceof ValidationError || error instanceof ConflictError || error instanceof NotFoundError;

class AttemptTimeout extends Error {
  override name = 'AttemptTimeout';
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function errorName(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.name.includes(code) ? `${error.name}(${code})` : error.name;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  // the abandoned attempt may still settle later: never an unhandled rejection
  promise.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new AttemptTimeout(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Sends `turn` until memloom answers it (or refuses it, or the deadline passes); fills in `turn.outcome`. */
export async function sendUntilAnswered(client: MemloomClient, turn: SentTurn, o: SendOptions): Promise<SentTurn> {
  let backoff = 250;
  let lastError: string | undefined;
  while (o.now() < o.deadline) {
    turn.attempts++;
    try {
      const timeout = Math.max(1000, Math.min(o.attemptTimeoutMs, o.deadline - o.now()));
      const response = await withTimeout(client.userMessage(turn.agentId, turn.text, { messageId: turn.messageId }), timeout);
      turn.outcome = { kind: 'answered', response, at: o.now() };
      return turn;
    } catch (error) {
      const name = errorName(error);
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof TurnFailedError) {
        turn.outcome = { kind: 'failed', errorType: error.type, message, at: o.now() };
        return turn;
      }
      if (isDefinitive(error)) {
        turn.outcome = { kind: 'rejected', message: `${name}: ${message}`, at: o.now() };
        return turn;
      }
      lastError = `${name}: ${message}`;
      turn.retriedOn.push(name);
      o.onRetry?.(turn, lastError);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 5000);
    }
  }
  turn.outcome = { kind: 'lost', lastError };
  return turn;
}
