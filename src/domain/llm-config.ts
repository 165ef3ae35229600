/**
 * Letta's `llm_config` and `embedding_config`, validated.
 * @module
 */
import { z } from 'zod';
import type { FieldIssue } from './errors.ts';
import { DEFAULT_STREAM_IDLE_TIMEOUT_MS, STREAM_IDLE_TIMEOUT_RANGE_S } from './timeouts.ts';

/** Letta's `model_endpoint_type` values. memloom calls every one through the OpenAI API shape. */
export const MODEL_ENDPOINT_TYPES = [
  'openai', 'anthropic', 'google_ai', 'google_vertex', 'azure', 'groq', 'ollama', 'webui',
  'webui-legacy', 'lmstudio', 'lmstudio-legacy', 'lmstudio-chatcompletions', 'llamacpp',
  'koboldcpp', 'vllm', 'hugging-face', 'minimax', 'mistral', 'together', 'bedrock', 'deepseek',
  'xai', 'openrouter', 'litellm',
] as const;

function isHttpUrl(value: string): boolean {
  try {
    return /^https?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
}

const httpUrl = z.string().refine(isHttpUrl, 'must be an http(s) URL');

export const LlmConfigSchema = z.object({
  model: z.string().trim().min(1, 'must name a model'),
  model_endpoint_type: z.enum(MODEL_ENDPOINT_TYPES).default('openai'),
  /** Base URL of an OpenAI-compatible endpoint (a LiteLLM proxy); unset = the worker's LLM_BASE_URL. */
  model_endpoint: httpUrl.optional(),
  context_window: z
    .number()
    .int('must be an integer')
    .min(512, 'must be at least 512 tokens')
    .max(10_000_000, 'must be at most 10000000 tokens'),
  temperature: z.number().min(0, 'must be between 0 and 2').max(2, 'must be between 0 and 2').optional(),
  max_tokens: z.number().int('must be an integer').positive('must be positive').optional(),
  /**
   * Seconds a model stream may send nothing (before its first chunk too) before the call is
   * aborted and retried as a `Timeout`: a stalled upstream would otherwise hold it until the
   * activity's start-to-close timeout. @default 60 ({@link DEFAULT_STREAM_IDLE_TIMEOUT_MS})
   */
  stream_idle_timeout: z
    .number()
    .int('must be a whole number of seconds')
    .min(STREAM_IDLE_TIMEOUT_RANGE_S.min, `must be at least ${STREAM_IDLE_TIMEOUT_RANGE_S.min} second`)
    .max(STREAM_IDLE_TIMEOUT_RANGE_S.max, `must be at most ${STREAM_IDLE_TIMEOUT_RANGE_S.max} seconds (one hour)`)
    .optional(),
});
export type LlmConfig = z.output<typeof LlmConfigSchema>;
export type LlmConfigInput = z.input<typeof LlmConfigSchema>;

/** How long a model stream of an agent with this `llm_config` may stay silent, in milliseconds. */
export function streamIdleTimeoutMs(llm: Pick<LlmConfig, 'stream_idle_timeout'>): number {
  return llm.stream_idle_timeout === undefined ? DEFAULT_STREAM_IDLE_TIMEOUT_MS : llm.stream_idle_timeout * 1000;
}

export const EmbeddingConfigSchema = z.object({
  embedding_model: z.string().trim().min(1, 'must name a model'),
  embedding_endpoint_type: z.enum(MODEL_ENDPOINT_TYPES).default('openai'),
  embedding_endpoint: httpUrl.optional(),
  embedding_dim: z.number().int('must be an integer').positive('must be positive').max(4096, 'must be at most 4096'),
  embedding_chunk_size: z.number().int().positive().optional(),
});
export type EmbeddingConfig = z.output<typeof EmbeddingConfigSchema>;
export type EmbeddingConfigInput = z.input<typeof EmbeddingConfigSchema>;

/**
 * Dimensions of the embedding models memloom knows, by name (a provider prefix such as
 * `openai/` is ignored): an `embedding_config` for one of them may leave `embedding_dim` out.
 */
export const KNOWN_EMBEDDING_DIMS: Readonly<Record<string, number>> = {
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

/** The dimension of a model of {@link KNOWN_EMBEDDING_DIMS}, else undefined. */
export function knownEmbeddingDim(model: string): number | undefined {
  const name = model.trim().slice(model.trim().lastIndexOf('/') + 1);
  return Object.hasOwn(KNOWN_EMBEDDING_DIMS, name) ? KNOWN_EMBEDDING_DIMS[name] : undefined;
}

/** An embedding model chosen by name, as `memloom defaults embedding` and `--embedding` give it. */
export interface EmbeddingChoice {
  model?: string | undefined;
  endpoint?: string | undefined;
  dim?: number | undefined;
}

/**
 * The `embedding_config` a choice stands for, over `base` (the current default, or the agent's
 * current config): what the choice leaves out comes from `base`; the endpoint stays when the model
 * changes (another model of the same server), the dimension does not — a new model's dimension is
 * the choice's, else the one memloom knows ({@link KNOWN_EMBEDDING_DIMS}). Returns the issues
 * (paths `embedding_config.*`) when the model or its dimension is unknown; the config is still to
 * be validated with {@link EmbeddingConfigSchema}.
 */
export function embeddingConfigOf(choice: EmbeddingChoice, base: EmbeddingConfig | null | undefined): { config: EmbeddingConfigInput } | { issues: FieldIssue[] } {
  const model = (choice.model ?? base?.embedding_model)?.trim();
  if (model === undefined) return { issues: [{ path: 'embedding_config.embedding_model', message: 'is required: name the embedding model' }] };
  if (model === '') return { issues: [{ path: 'embedding_config.embedding_model', message: 'must name a model' }] };
  const sameModel = base !== null && base !== undefined && base.embedding_model === model;
  const dim = choice.dim ?? (sameModel ? base.embedding_dim : knownEmbeddingDim(model));
  if (dim === undefined) {
    const known = Object.entries(KNOWN_EMBEDDING_DIMS).map(([name, d]) => `${name} (${d})`).join(', ');
    return {
      issues: [{ path: 'embedding_config.embedding_dim', message: `is required: memloom does not know the dimension of "${model}" (it knows ${known})` }],
    };
  }
  const endpoint = choice.endpoint ?? base?.embedding_endpoint;
  return {
    config: {
      embedding_model: model,
      embedding_endpoint_type: base?.embedding_endpoint_type ?? 'openai',
      ...(endpoint !== undefined ? { embedding_endpoint: endpoint } : {}),
      embedding_dim: dim,
      ...(sameModel && base.embedding_chunk_size !== undefined ? { embedding_chunk_size: base.embedding_chunk_size } : {}),
    },
  };
}
