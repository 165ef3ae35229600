/**
 * OpenAI SDK clients for OpenAI-compatible endpoints (a LiteLLM proxy, vLLM, OpenAI itself).
 * SDK retries are off: retries are Temporal's. The API key comes from the worker's environment
 * and is sent as a Bearer token; it is never logged or stored.
 * @module
 */
import OpenAI from 'openai';
import { ConfigError } from '../domain/errors.ts';

export interface ModelClientOptions {
  /** Used when the agent's `llm_config.model_endpoint` is unset (LLM_BASE_URL / OPENAI_BASE_URL). */
  defaultBaseUrl: string | undefined;
  /** Bearer token for the endpoint (LLM_API_KEY / OPENAI_API_KEY). */
  apiKey: string | undefined;
  /** Per-request timeout. @default 300000 */
  timeoutMs?: number;
}

/** One OpenAI client per base URL, built lazily. */
export class ModelClients {
  readonly #clients = new Map<string, OpenAI>();

  constructor(private readonly options: ModelClientOptions) {}

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
        timeout: this.options.timeoutMs ?? 300_000,
      });
      this.#clients.set(baseURL, client);
    }
    return client;
  }
}
