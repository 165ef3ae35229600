/**
 * Fencing: a model or tool attempt writes only while its turn attempt owns the turn. An
 * activity that timed out, or whose turn failed or was retried meanwhile, writes nothing.
 * @module
 */
import { ApplicationFailure } from '@temporalio/common';
import { withTransaction, type Db, type DbClient } from '../src/db/pool.ts';
import { ownsTurn } from '../src/db/turn-store.ts';

export const TURN_SUPERSEDED = 'TurnSuperseded';

function superseded(turnId: string, attempt: number): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `attempt ${attempt} of turn ${turnId} no longer owns the turn; its result is discarded`,
    TURN_SUPERSEDED,
  );
}

/** Throws `TurnSuperseded` unless the attempt owns the turn now (a cheap check before costly work). */
export async function assertOwnsTurn(db: Db, turnId: string, attempt: number): Promise<void> {
  if (!(await ownsTurn(db, turnId, attempt))) throw superseded(turnId, attempt);
}

/**
 * Runs `fn` in a transaction that holds the turn for `attempt`: the turn cannot finish or
 * change hands until it commits, so its writes land inside their own turn or not at all.
 */
export function withTurn<T>(db: Db, turnId: string, attempt: number, fn: (tx: DbClient) => Promise<T>): Promise<T> {
  return withTransaction(db, async (tx) => {
    if (!(await ownsTurn(tx, turnId, attempt))) throw superseded(turnId, attempt);
    return fn(tx);
  });
}
