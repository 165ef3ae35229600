/**
 * Command-line values, validated with zod like every other edge: a bad value becomes a
 * {@link ValidationError} whose issue path is the flag the user typed (`--context-window`).
 * @module
 */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { ValidationError, type FieldIssue } from '../domain/errors.ts';
import { AgentRefSchema } from '../domain/ids.ts';
import { embeddingConfigOf, type EmbeddingChoice, type EmbeddingConfig, type EmbeddingConfigInput, type LlmConfigInput } from '../domain/llm-config.ts';

/** Subject of validation errors about the command line. */
const SUBJECT = 'arguments';

/** An integer flag value, strictly: `12` yes; `12.5`, `12abc`, `abc` no. */
export const intFlag = z
  .string()
  .trim()
  .regex(/^[+-]?\d+$/, { error: (issue) => `must be an integer, got ${JSON.stringify(issue.input)}` })
  .transform(Number);

/** A count flag value: an integer from 1 to `max`. */
export function countFlag(max: number) {
  return intFlag.pipe(z.number().min(1, 'must be at least 1').max(max, `must be at most ${max}`));
}

/** A decimal flag value, strictly: `0.7` yes; `0.7x`, `abc` no. */
export const numberFlag = z
  .string()
  .trim()
  .regex(/^[+-]?(\d+\.?\d*|\.\d+)$/, { error: (issue) => `must be a number, got ${JSON.stringify(issue.input)}` })
  .transform(Number);

/** Commander value collector for repeatable flags (`--tag a --tag b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `contextWindow` → `--context-window`. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Parses commander's option values with `schema`; issues name the flags. */
export function parseFlags<S extends z.ZodType>(schema: S, options: Record<string, unknown>): z.output<S> {
  const result = schema.safeParse(options);
  if (result.success) return result.data;
  throw new ValidationError(
    // flags are flat: `--tag` rather than `--tag.1`
    result.error.issues.map((issue) => {
      const key = issue.path[0];
      return { path: key === undefined ? '' : flagName(String(key)), message: issue.message };
    }),
    SUBJECT,
  );
}

/** The `<agent>` argument (an id or a name), validated like the SDK does. */
export function agentArg(value: string | undefined): string {
  const result = AgentRefSchema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((issue) => ({ path: '<agent>', message: issue.message })),
    SUBJECT,
  );
}

/** Throws a ValidationError about one flag. */
export function flagError(flag: string, message: string): never {
  throw new ValidationError([{ path: flag, message }], SUBJECT);
}

/** A `LABEL=VALUE` flag value (`--block human=...`), split on the first `=`. */
export const assignmentFlag = z
  .string()
  .refine((raw) => raw.indexOf('=') > 0, { error: (issue) => `must be LABEL=VALUE, got ${JSON.stringify(issue.input)}` })
  .transform((raw): [string, string] => [raw.slice(0, raw.indexOf('=')), raw.slice(raw.indexOf('=') + 1)]);

/**
 * Re-labels the issues of a client ValidationError with the flags that produced them, e.g.
 * `llm_config.context_window` → `--context-window`. Other errors pass through.
 */
export function withFlagPaths(error: unknown, toFlag: (path: string) => string | undefined): unknown {
  if (!(error instanceof ValidationError)) return error;
  const issues: FieldIssue[] = error.issues.map((i) => ({ path: toFlag(i.path) ?? i.path, message: i.message }));
  return new ValidationError(issues, error.subject);
}

// ---- llm_config flags, shared by `agent create`, `agent update` and `defaults llm` ----

export const LlmFlagsSchema = z.object({
  model: z.string().optional(),
  modelEndpoint: z.string().optional(),
  contextWindow: intFlag.optional(),
  temperature: numberFlag.optional(),
  maxTokens: intFlag.optional(),
});
export type LlmFlags = z.output<typeof LlmFlagsSchema>;

/** Default `context_window` when flags build an llm_config from scratch. */
export const DEFAULT_CONTEXT_WINDOW = 8192;

export function addLlmOptions(command: Command): Command {
  return command
    .addOption(new Option('--model <name>', 'model name as the endpoint knows it (a LiteLLM model group, e.g. gpt-4o-mini)'))
    .addOption(new Option('--model-endpoint <url>', "base URL of an OpenAI-compatible endpoint (default: the worker's LLM_BASE_URL)"))
    .addOption(new Option('--context-window <tokens>', `context window of the model in tokens (default ${DEFAULT_CONTEXT_WINDOW})`))
    .addOption(new Option('--temperature <t>', 'sampling temperature, 0 to 2'))
    .addOption(new Option('--max-tokens <n>', 'maximum tokens of one completion'));
}

export function hasLlmFlags(flags: LlmFlags): boolean {
  return Object.values(flags).some((v) => v !== undefined);
}

/**
 * An llm_config from flags, over `base` when given (an update). Without a base, `--model` is
 * required and the endpoint type is `openai`.
 */
export function llmConfigFromFlags(flags: LlmFlags, base?: LlmConfigInput): LlmConfigInput {
  const model = flags.model ?? base?.model;
  if (model === undefined) {
    flagError('--model', 'is required with --model-endpoint, --context-window, --temperature or --max-tokens');
  }
  return {
    ...base,
    model,
    model_endpoint_type: base?.model_endpoint_type ?? 'openai',
    ...(flags.modelEndpoint !== undefined ? { model_endpoint: flags.modelEndpoint } : {}),
    context_window: flags.contextWindow ?? base?.context_window ?? DEFAULT_CONTEXT_WINDOW,
    ...(flags.temperature !== undefined ? { temperature: flags.temperature } : {}),
    ...(flags.maxTokens !== undefined ? { max_tokens: flags.maxTokens } : {}),
  };
}

const LLM_FLAG_OF: Record<string, string> = {
  'llm_config.model': '--model',
  'llm_config.model_endpoint': '--model-endpoint',
  'llm_config.context_window': '--context-window',
  'llm_config.temperature': '--temperature',
  'llm_config.max_tokens': '--max-tokens',
};

/** The flag behind an llm_config issue path, for {@link withFlagPaths}. */
export function llmFlagOf(path: string): string | undefined {
  return LLM_FLAG_OF[path] ?? LLM_FLAG_OF[`llm_config.${path}`];
}

// ---- embedding_config flags: `defaults embedding` (--model, --endpoint, --dim) and `agent create/update` (--embedding, ...) ----

/** The flags that set each `embedding_config` field, by issue path. */
export type EmbeddingFlagNames = Record<'embedding_config.embedding_model' | 'embedding_config.embedding_endpoint' | 'embedding_config.embedding_dim', string>;

export const AGENT_EMBEDDING_FLAGS: EmbeddingFlagNames = {
  'embedding_config.embedding_model': '--embedding',
  'embedding_config.embedding_endpoint': '--embedding-endpoint',
  'embedding_config.embedding_dim': '--embedding-dim',
};

/** The flag behind an embedding_config issue path, for {@link withFlagPaths}. */
export function embeddingFlagOf(names: EmbeddingFlagNames): (path: string) => string | undefined {
  return (path) => (names as Record<string, string>)[path];
}

/**
 * An embedding_config from flags over `base` (the current default or the agent's config): a
 * ValidationError naming the flag when the model or its dimension is missing. The client checks
 * the values.
 */
export function embeddingConfigFromFlags(choice: EmbeddingChoice, base: EmbeddingConfig | null, names: EmbeddingFlagNames): EmbeddingConfigInput {
  const chosen = embeddingConfigOf(choice, base);
  if ('issues' in chosen) {
    const toFlag = embeddingFlagOf(names);
    const hint = (path: string): string => (path === 'embedding_config.embedding_dim' ? `: pass ${names['embedding_config.embedding_dim']} N` : '');
    throw new ValidationError(chosen.issues.map((i) => ({ path: toFlag(i.path) ?? i.path, message: `${i.message}${hint(i.path)}` })), SUBJECT);
  }
  return chosen.config;
}

/** The `--json` option every command has. */
export function addJsonOption(command: Command): Command {
  return command.option('--json', 'print the result as one JSON document on stdout (errors as JSON on stderr)');
}
