/**
 * OpenAI SDK clients for OpenAI-compatible endpoints (a LiteLLM proxy, vLLM, OpenAI itself).
 * SDK retries are off: retries are Temporal's. The API key comes from the worker's environment
 * and is sent as a Bearer token; it is never logged or stored.
 * @module
 */
import OpenAI, { AzureOpenAI } from 'openai';
import { ConfigError } from '../domain/errors.ts';
import type { ModelDeployment, ModelsConfig } from '../domain/model-policy.ts';
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
  /**
   * A checked models file (MEMLOOM_MODELS) and each deployment's key by deployment id, from
   * `resolveDeploymentKeys`: its groups are routed; other models use the default endpoint.
   */
  models?: { config: ModelsConfig; keys: ReadonlyMap<string, string | undefined> };
}

/** OpenAI's own API, for `openai/` deployments without an `api_base`. */
const OPENAI_API_BASE = 'https://api.openai.com/v1';

/** A deployment of the models file, ready to call. */
export interface RoutedDeployment {
  deployment: ModelDeployment;
  client: OpenAI;
  baseUrl: string;
  hasApiKey: boolean;
}

/** One OpenAI client per base URL, built lazily. */
export class ModelClients {
  readonly #clients = new Map<string, OpenAI>();

  readonly #routed = new Map<string, RoutedDeployment>();
  readonly #deployments: ReadonlyMap<string, ModelDeployment>;

  constructor(private readonly options: ModelClientOptions) {
    this.#deployments = new Map((options.models?.config.groups ?? []).flatMap((g) => g.deployments.map((d) => [d.id, d])));
  }

  /** The models file's config, when the worker has one. */
  get config(): ModelsConfig | undefined {
    return this.options.models?.config;
  }

  /** A deployment of the models file by id, with its client; ConfigError if this worker's file has none such. */
  deployment(id: string): RoutedDeployment {
    let routed = this.#routed.get(id);
    if (routed) return routed;
    const deployment = this.#deployments.get(id);
    if (!deployment) {
      throw new ConfigError(`deployment "${id}" is not in this worker's models file (MEMLOOM_MODELS): workers must share one models file`);
    }
    const baseUrl = (deployment.apiBase ?? OPENAI_API_BASE).replace(/\/+$/, '');
    const apiKey = this.options.models?.keys.get(id);
    const ceiling = this.options.timeoutMs ?? MODEL_REQUEST_TIMEOUT_MS;
    // litellm_params.timeout, else router_settings.timeout; never past the activity's own bound
    const timeoutMs = Math.min(deployment.timeoutMs ?? this.options.models?.config.router.timeoutMs ?? ceiling, ceiling);
    const client =
      deployment.provider === 'azure'
        ? // Azure OpenAI: /openai/deployments/<deployment>/chat/completions?api-version=..., key in `api-key`
          new AzureOpenAI({
            endpoint: baseUrl,
            apiKey: apiKey || 'no-key',
            apiVersion: deployment.apiVersion ?? undefined,
            deployment: deployment.upstreamModel,
            maxRetries: 0,
            timeout: timeoutMs,
          })
        : openaiClient(baseUrl, apiKey, timeoutMs);
    routed = { deployment, baseUrl, hasApiKey: apiKey !== undefined && apiKey !== '', client };
    this.#routed.set(id, routed);
    return routed;
  }

  /** Whether requests carry an API key; a keyless request refused with a 5xx is reported as missing credentials. */
  get hasApiKey(): boolean {
    return this.options.apiKey !== undefined && this.options.apiKey !== '';
  }

  /** Whether models outside the models file have somewhere to go (LLM_BASE_URL). */
  get hasDefaultEndpoint(): boolean {
    return this.options.defaultBaseUrl !== undefined && this.options.defaultBaseUrl !== '';
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
      client = openaiClient(baseURL, this.options.apiKey, this.options.timeoutMs ?? MODEL_REQUEST_TIMEOUT_MS);
      this.#clients.set(baseURL, client);
    }
    return client;
  }
}

function openaiClient(baseURL: string, apiKey: string | undefined, timeout: number): OpenAI {
  return new OpenAI({
    baseURL,
    // the SDK insists on a key; without one, send no Authorization header at all
    apiKey: apiKey || 'no-key',
    ...(apiKey ? {} : { defaultHeaders: { Authorization: null } }),
    maxRetries: 0,
    timeout,
  });
}
