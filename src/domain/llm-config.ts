/**
 * Letta's `llm_config` and `embedding_config`, validated.
 * @module
 */
import { z } from 'zod';
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
