/**
 * Whether an OpenAI-compatible endpoint serves a model, asked of its `GET /v1/models` (a LiteLLM
 * proxy lists its `model_name`s there). Only a list that lacks the model is an answer of "no":
 * an endpoint that cannot be reached, times out, refuses the request (the caller holds no key:
 * keys live in the worker) or has no `/models` leaves the question open.
 * @module
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';

/** How long the check may take before it gives up as unchecked. @default 3000 */
export const MODEL_CHECK_TIMEOUT_MS = 3000;

/** What the endpoint said about a model. */
export type ModelCheck =
  | { status: 'served' }
  /** The endpoint listed its models and this one is not among them. */
  | { status: 'not-served'; served: string[] }
  /** No answer to the question; `reason` says why, for a one-line note. */
  | { status: 'unchecked'; reason: string };

export interface ModelCheckOptions {
  /** Base URL of the endpoint, as the worker uses it (`http://localhost:4000`, `.../v1`). */
  baseUrl: string;
  model: string;
  /** @default MODEL_CHECK_TIMEOUT_MS */
  timeoutMs?: number;
}

/**
 * Asks the endpoint for its models, without an API key, and says whether `model` is one of them.
 * Never throws.
 *
 * @example
 * ```ts
 * const check = await checkModelServed({ baseUrl: 'http://localhost:4000', model: 'gpt-4o-mini' });
 * if (check.status === 'not-served') console.error(`served: ${check.served.join(', ')}`);
 * ```
 */
export async function checkModelServed(options: ModelCheckOptions): Promise<ModelCheck> {
  const timeoutMs = options.timeoutMs ?? MODEL_CHECK_TIMEOUT_MS;
  const openai = new OpenAI({
    baseURL: options.baseUrl.replace(/\/+$/, ''),
    // the SDK insists on a key; send no Authorization header at all
    apiKey: 'no-key',
    defaultHeaders: { Authorization: null },
    maxRetries: 0,
    timeout: timeoutMs,
  });
  let served: string[];
  try {
    const page = await openai.models.list();
    const data: unknown = page.data;
    if (!Array.isArray(data)) return { status: 'unchecked', reason: 'its /models answer is not a list of models' };
    served = data.flatMap((m: unknown) => (typeof m === 'object' && m !== null && typeof (m as { id?: unknown }).id === 'string' ? [(m as { id: string }).id] : []));
  } catch (error) {
    return { status: 'unchecked', reason: uncheckedReason(error, timeoutMs) };
  }
  return served.includes(options.model) ? { status: 'served' } : { status: 'not-served', served };
}

function uncheckedReason(error: unknown, timeoutMs: number): string {
  if (error instanceof APIConnectionTimeoutError) return `no answer from its /models within ${timeoutMs / 1000}s`;
  if (error instanceof APIConnectionError) return 'cannot reach it';
  if (error instanceof APIError && error.status !== undefined) return `its /models answered ${error.status}`;
  return `its /models answer is not a list of models`;
}
