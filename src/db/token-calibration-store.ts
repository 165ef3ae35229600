/**
 * The `token_calibration` table: per agent and model, how many tokens the endpoint reports for
 * each token memloom counts (see `nextCalibration` in `src/domain/context-window.ts`).
 * @module
 */
import { calibrationSample, nextCalibration, TOKEN_CALIBRATION } from '../domain/context-window.ts';
import type { Queryable } from './pool.ts';

/** An agent's calibration for one model. */
export interface TokenCalibration {
  /** Reported prompt tokens per counted token. */
  ratio: number;
  /** Model calls it learned from. */
  samples: number;
}

/** The calibration of `agentId` for `model`; `TOKEN_CALIBRATION.initial` with no sample yet. */
export async function getTokenCalibration(db: Queryable, agentId: string, model: string): Promise<TokenCalibration> {
  const { rows } = await db.query<TokenCalibration>('SELECT ratio, samples FROM token_calibration WHERE agent_id = $1 AND model = $2', [
    agentId,
    model,
  ]);
  return rows[0] ?? { ratio: TOKEN_CALIBRATION.initial, samples: 0 };
}

/**
 * Learns from one model call: memloom counted its prompt at `counted` tokens, the endpoint
 * reported `reported` (null or 0: it reported no usage, and nothing changes); `previous` is the
 * calibration the call's context was budgeted with. Run it in the transaction that stores the
 * call's answer, so a retried call never learns twice. (An agent's model calls run one at a time,
 * so `previous` is the latest; were two to race, one report would be lost from the average.)
 */
export async function recordTokenCalibration(
  db: Queryable,
  sample: { agentId: string; model: string; previous: TokenCalibration; counted: number; reported: number | null },
): Promise<void> {
  const observed = calibrationSample(sample.counted, sample.reported);
  if (observed === null) return;
  const ratio = nextCalibration(sample.previous.samples > 0 ? sample.previous.ratio : null, observed);
  await db.query(
    `INSERT INTO token_calibration (agent_id, model, ratio, samples, last_counted, last_reported)
     VALUES ($1, $2, $3, 1, $4, $5)
     ON CONFLICT (agent_id, model) DO UPDATE
       SET ratio = excluded.ratio, samples = token_calibration.samples + 1,
           last_counted = excluded.last_counted, last_reported = excluded.last_reported, updated_at = now()`,
    [sample.agentId, sample.model, ratio, sample.counted, sample.reported],
  );
}
