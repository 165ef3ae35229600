/**
 * OpenAI SDK clients for OpenAI-compatible endpoints (a LiteLLM proxy, vLLM, OpenAI itself).
 * SDK retries are off: retries are Temporal's. The API key comes from the worker's environment
 * and is sent as a Bearer token; it is never logged or stored.
 * @module
 */
import OpenAI from 'openai';
import { ConfigError } from '../domain/errors.ts';
import { MODEL_REQUEST_TIMEOUT_MS } from '../domain/timeouts.ts';

export interface ModelClientOptions {
  /** Used when the agent's `llm_config.model_endpoint` is unset (LLM_BASE_URL / OPENAI_BASE_URL). */
  defaultBaseUrl: string | undefined;
  /** Bearer token for the endpoint (LLM_API_KEY / OPENAI_API_KEY). */
  apiKey: string | undefined;
  /**
   * Per-request timeout of the openai SDK (until the response headers; a silent stream body is the
   * stream idle timeout's job). Keep it below the `callModel` start-to-close timeout, so the client
   * gives up first and the attempt is classified as `Timeout`.
   * @default MODEL_REQUEST_TIMEOUT_MS (270 s)
   */
  timeoutMs?: number;
}

/** One OpenAI client per base URL, built lazily. */
export class ModelClients {
  readonly #clients = new Map<string, OpenAI>();

  constructor(private readonly options: ModelClientOptions) {}

  /** Whether requests carry an API key; a keyless request refused with a 5xx is reported as missing credentials. */
  get hasApiKey(): boolean {
    return this.options.apiKey !== undefined && this.options.apiKey !== '';
  }

  /** The base URL a call with this `model_endpoint` goes to. */
  resolveBaseUrl(modelEndpoint: string | undefined): string {
    const url = modelEndpoint ?? this.options.defaultBaseUrl;
    if (!url) {
      throw new ConfigError(
        'no model endpoint: set llm_config.model_endpoint on the agent, or LLM_BASE_URL on the worker',
      );
    }
    return url.replace(/\/+$/, '');
  }

  get(modelEndpoint: string | undefined): OpenAI {
    const baseURL = this.resolveBaseUrl(modelEndpoint);
    let client = this.#clients.get(baseURL);
    if (!client) {
      const apiKey = this.options.apiKey;
      client = new OpenAI({
        baseURL,
        // the SDK insists on a key; without one, send no Authorization header at all
        apiKey: apiKey ?? 'no-key',
        ...(apiKey ? {} : { defaultHeaders: { Authorization: null } }),
        maxRetries: 0,
        timeout: this.options.timeoutMs ?? MODEL_REQUEST_TIMEOUT_MS,
      });
      this.#clients.set(baseURL, client);
    }
    return client;
  }
}
