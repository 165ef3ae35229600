/**
 * What the tests of the model check share (test/client/model-check.test.ts and
 * model-groups.test.ts): a stack without a worker (creating and updating agents runs no
 * workflow), the agents written, the `/models` questions the scripted endpoint was asked, and
 * the ValidationError a refused model is.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../../src/domain/errors.ts';
import { startTestStack, type TestStack } from './stack.ts';

/** test/fixtures/models/good.yaml: a LiteLLM config.yaml whose groups are smart and fast. */
export const GOOD_MODELS_FILE = fileURLToPath(new URL('../fixtures/models/good.yaml', import.meta.url));

export interface ModelCheckStack extends TestStack {
  /** How many agents the database holds. */
  agentCount(): Promise<number>;
  /** How many times the scripted model server was asked `GET /models`. */
  modelsAsked(): number;
}

/** A test stack without a worker, with the counts the model-check tests compare. */
export async function startModelCheckStack(): Promise<ModelCheckStack> {
  const stack = await startTestStack({ startWorker: false });
  return Object.assign(stack, {
    async agentCount(): Promise<number> {
      const { rows } = await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM agents');
      return rows[0]!.n;
    },
    modelsAsked: (): number => stack.model.requests.filter((r) => r.path.endsWith('/models')).length,
  });
}

/** The ValidationError `promise` rejects with; fails the test on anything else. */
export async function validationError(promise: Promise<unknown>): Promise<ValidationError> {
  let caught: unknown;
  await promise.catch((e: unknown) => (caught = e));
  assert.ok(caught instanceof ValidationError, `expected a ValidationError, got ${String(caught)}`);
  return caught;
}
