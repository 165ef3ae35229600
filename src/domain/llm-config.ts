/**
 * Letta's `llm_config` and `embedding_config`, validated.
 * @module
 */
import { z } from 'zod';

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
});
export type LlmConfig = z.output<typeof LlmConfigSchema>;
export type LlmConfigInput = z.input<typeof LlmConfigSchema>;

export const EmbeddingConfigSchema = z.object({
  embedding_model: z.string().trim().min(1, 'must name a model'),
  embedding_endpoint_type: z.enum(MODEL_ENDPOINT_TYPES).default('openai'),
  embedding_endpoint: httpUrl.optional(),
  embedding_dim: z.number().int('must be an integer').positive('must be positive').max(4096, 'must be at most 4096'),
  embedding_chunk_size: z.number().int().positive().optional(),
});
export type EmbeddingConfig = z.output<typeof EmbeddingConfigSchema>;
export type EmbeddingConfigInput = z.input<typeof EmbeddingConfigSchema>;
