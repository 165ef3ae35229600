/**
 * Model policy: the parts of a LiteLLM `config.yaml` memloom understands, as zod schemas over
 * LiteLLM's own key names, and the resolved shape ({@link ModelsConfig}) the rest of memloom
 * reads. Pure: no I/O, importable by workflows. Reading and checking the file is
 * `src/config/models-file.ts`.
 * @module
 */
import { z } from 'zod';
import type { FieldIssue } from './errors.ts';

/** LiteLLM's `routing_strategy` values memloom implements. */
export const RoutingStrategy = {
  SimpleShuffle: 'simple-shuffle',
  LeastBusy: 'least-busy',
  UsageBasedV2: 'usage-based-routing-v2',
  LatencyBased: 'latency-based-routing',
} as const;
export type RoutingStrategy = (typeof RoutingStrategy)[keyof typeof RoutingStrategy];

const STRATEGIES = Object.values(RoutingStrategy) as [RoutingStrategy, ...RoutingStrategy[]];

/**
 * Where a deployment's API key comes from. Never the key itself: a literal key in the file is
 * only marked as such, and keys are read by the worker when it resolves them.
 */
export type ApiKeyRef = { env: string } | { literal: true };

/** The Azure OpenAI API version an `azure/` deployment uses when `api_version` is not set. */
export const AZURE_DEFAULT_API_VERSION = '2024-10-21';

/** `os.environ/NAME`: LiteLLM's way to name an environment variable in config.yaml. */
export const ENV_REFERENCE_PREFIX = 'os.environ/';

const DURATION_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, mo: 2_592_000 } as const;

/** LiteLLM's `budget_duration` (`30s`, `10m`, `1h`, `1d`, `7d`, `30d`, `2w`, `1mo`) in ms, or undefined. */
export function parseBudgetDuration(text: string): number | undefined {
  const match = /^(\d+)(s|m|h|d|w|mo)$/.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * DURATION_SECONDS[match[2] as keyof typeof DURATION_SECONDS] * 1000;
  return ms > 0 ? ms : undefined;
}

/** `['model_list', 1, 'litellm_params', 'api_base']` → `model_list[1].litellm_params.api_base`. */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out === '' ? String(key) : `${out}.${String(key)}`),
    '',
  );
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const required = (what: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? `required: ${what}` : `must be ${what}`;

const text = (what: string) => z.string({ error: required(what) }).trim().min(1, `must be ${what}`);
const count = z.number({ error: 'must be a whole number' }).int('must be a whole number').min(0, 'must be 0 or more');
const positiveCount = z.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'must be at least 1');
const amount = z.number({ error: 'must be a number' }).min(0, 'must be 0 or more');
const seconds = z.number({ error: 'must be a number of seconds' }).min(0, 'must be 0 or more seconds');
const positiveSeconds = z.number({ error: 'must be a number of seconds' }).positive('must be more than 0 seconds');

const ApiKeyFieldSchema = z
  .string({ error: 'must be a string: the key, or os.environ/NAME' })
  .trim()
  .min(1, 'must not be empty: the key, or os.environ/NAME')
  .superRefine((value, ctx) => {
    if (value.startsWith(ENV_REFERENCE_PREFIX) && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value.slice(ENV_REFERENCE_PREFIX.length))) {
      ctx.addIssue({ code: 'custom', message: 'os.environ/ must be followed by an environment variable name, e.g. os.environ/OPENAI_API_KEY' });
    }
  });

/** `litellm_params` keys memloom uses. */
export const LitellmParamsSchema = z.object({
  model: text('the provider/model name, e.g. openai/gpt-4o-mini'),
  api_base: z
    .string({ error: 'must be a URL' })
    .trim()
    .refine(isHttpUrl, {
      error: (issue) =>
        String(issue.input).startsWith(ENV_REFERENCE_PREFIX)
          ? 'must be a URL (os.environ/ is supported in api_key only)'
          : 'must be a URL (http:// or https://)',
    })
    .optional(),
  api_key: ApiKeyFieldSchema.optional(),
  /** Azure OpenAI's `api-version` query parameter (azure/ deployments). */
  api_version: text('an Azure OpenAI API version, e.g. 2024-10-21').optional(),
  rpm: positiveCount.optional(),
  tpm: positiveCount.optional(),
  weight: amount.optional(),
  timeout: positiveSeconds.optional(),
  stream_timeout: positiveSeconds.optional(),
  max_budget: amount.optional(),
  budget_duration: z
    .string({ error: 'must be a duration such as 30s, 10m, 1h, 1d, 7d or 30d' })
    .refine((v) => parseBudgetDuration(v) !== undefined, 'must be a duration such as 30s, 10m, 1h, 1d, 7d or 30d')
    .optional(),
});

/** `model_info` keys memloom uses. */
export const ModelInfoSchema = z.object({
  id: z.union([z.string(), z.number()], { error: 'must be a string' }).transform(String).pipe(text('a non-empty id')).optional(),
  max_input_tokens: positiveCount.optional(),
  max_output_tokens: positiveCount.optional(),
  input_cost_per_token: amount.optional(),
  output_cost_per_token: amount.optional(),
});

/** One `model_list[]` entry: a deployment of the group `model_name`. */
export const DeploymentEntrySchema = z.object({
  model_name: z.union([z.string(), z.number()], { error: required('a model group name') }).transform(String).pipe(text('a model group name')),
  litellm_params: z.record(z.string(), z.unknown(), { error: required('a mapping with at least model') }).pipe(LitellmParamsSchema),
  model_info: z.record(z.string(), z.unknown(), { error: 'must be a mapping' }).pipe(ModelInfoSchema).optional(),
});
export type DeploymentEntry = z.output<typeof DeploymentEntrySchema>;

const groupList = z.array(text('a model group name'), { error: 'must be a list of model group names' });

/** LiteLLM's fallbacks: a list of single-key maps, `[{ gpt-4o: [gpt-4o-mini] }]`. */
const FallbackListSchema = z.array(
  z
    .record(z.string(), groupList, { error: 'must be a map of one model group to its fallback groups, e.g. { gpt-4o: [gpt-4o-mini] }' })
    .refine((m) => Object.keys(m).length === 1, 'must name exactly one model group, e.g. { gpt-4o: [gpt-4o-mini] }'),
  { error: 'must be a list of { group: [fallback groups] } maps' },
);

/** `router_settings` (and the same keys under `litellm_settings`) memloom uses. */
export const RouterSettingsSchema = z.object({
  routing_strategy: z.enum(STRATEGIES, { error: `must be one of ${STRATEGIES.join(', ')}` }).optional(),
  num_retries: count.optional(),
  retry_after: seconds.optional(),
  allowed_fails: count.optional(),
  cooldown_time: seconds.optional(),
  timeout: positiveSeconds.optional(),
  fallbacks: FallbackListSchema.optional(),
  context_window_fallbacks: FallbackListSchema.optional(),
  content_policy_fallbacks: FallbackListSchema.optional(),
  default_fallbacks: groupList.optional(),
});
export type RouterSettings = z.output<typeof RouterSettingsSchema>;

/** Sections of config.yaml memloom reads; the others (`general_settings`, ...) are ignored. */
export const MODELS_FILE_SECTIONS = ['model_list', 'router_settings', 'litellm_settings'] as const;

/** One deployment: where one group's calls can go. */
export interface ModelDeployment {
  /** `model_info.id`, or a stable hash of group, model and api_base. Unique in the file. */
  id: string;
  idFrom: 'model_info.id' | 'derived';
  /** The model group (`model_name`) it serves. */
  group: string;
  /** Its place in the file, e.g. `model_list[2]`. */
  path: string;
  /** `litellm_params.model` as written, e.g. `openai/gpt-4o-mini`. */
  model: string;
  /** The provider prefix (`openai`, `hosted_vllm`, `litellm_proxy`, ...); `openai` when there is none. */
  provider: string;
  /** The model name sent to the endpoint: `model` without its provider prefix. */
  upstreamModel: string;
  /** OpenAI-compatible base URL; null means OpenAI's own endpoint. */
  apiBase: string | null;
  apiKey: ApiKeyRef | null;
  /** `api_version` of an `azure/` deployment (its default when the file gives none); null otherwise. */
  apiVersion: string | null;
  rpm: number | null;
  tpm: number | null;
  weight: number | null;
  timeoutMs: number | null;
  streamTimeoutMs: number | null;
  /** USD. */
  maxBudget: number | null;
  /** As written (`1d`) and in ms. */
  budgetDuration: { text: string; ms: number } | null;
  maxInputTokens: number | null;
  maxOutputTokens: number | null;
  /** USD per token. */
  inputCostPerToken: number | null;
  outputCostPerToken: number | null;
}

export interface ModelGroup {
  name: string;
  deployments: ModelDeployment[];
}

/** The context window a group offers an agent: the smallest `max_input_tokens` of its deployments; null when none sets it. */
export function groupContextWindow(group: ModelGroup): number | null {
  const windows = group.deployments.flatMap((d) => (d.maxInputTokens === null ? [] : [d.maxInputTokens]));
  return windows.length > 0 ? Math.min(...windows) : null;
}

/** One fallbacks entry: when `group` fails, try `fallbacks` in order. `*` is any group. */
export interface FallbackRule {
  group: string;
  fallbacks: string[];
}

/** Which section a router setting came from. */
export type SettingSource = 'router_settings' | 'litellm_settings' | 'default';

/** The router settings in effect: router_settings over litellm_settings over LiteLLM's defaults. */
export interface RouterPolicy {
  routingStrategy: RoutingStrategy;
  numRetries: number;
  retryAfterMs: number;
  allowedFails: number;
  cooldownTimeMs: number;
  /** Bound of one whole call; null: none. */
  timeoutMs: number | null;
  fallbacks: FallbackRule[];
  contextWindowFallbacks: FallbackRule[];
  contentPolicyFallbacks: FallbackRule[];
  defaultFallbacks: string[];
  /** Where each setting came from. */
  sources: Record<keyof RouterSettings, SettingSource>;
}

/** LiteLLM's router defaults, used for the settings a file leaves out. */
export const ROUTER_DEFAULTS = {
  routing_strategy: RoutingStrategy.SimpleShuffle,
  num_retries: 2,
  retry_after: 0,
  allowed_fails: 3,
  cooldown_time: 5,
  timeout: null,
  fallbacks: [],
  context_window_fallbacks: [],
  content_policy_fallbacks: [],
  default_fallbacks: [],
} as const;

/** A checked models file. Holds key references, never key values. */
export interface ModelsConfig {
  groups: ModelGroup[];
  router: RouterPolicy;
}

type SettingKey = keyof RouterSettings;
const SETTING_SECTIONS = ['router_settings', 'litellm_settings'] as const;
const FALLBACK_KEYS = ['fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks'] as const;

/**
 * The router settings in effect, checking each key of `router_settings` and `litellm_settings`
 * of the file's top-level mapping `file` (router_settings wins); every fallback must name a group
 * of `groups` (`*` in fallbacks means any group). Pushes path-named problems onto `issues`.
 */
export function resolveRouterPolicy(file: Record<string, unknown>, groups: ReadonlySet<string>, issues: FieldIssue[]): RouterPolicy {
  const settings: Partial<Record<SettingKey, { value: unknown; source: SettingSource }>> = {};
  for (const section of [...SETTING_SECTIONS].reverse()) {
    const raw = file[section];
    if (raw === undefined) continue;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      issues.push({ path: section, message: 'must be a mapping' });
      continue;
    }
    for (const [key, schema] of Object.entries(RouterSettingsSchema.shape) as [SettingKey, z.ZodType][]) {
      const value = (raw as Record<string, unknown>)[key];
      if (value === undefined) continue;
      const parsed = schema.safeParse(value);
      if (!parsed.success) {
        issues.push(...parsed.error.issues.map((i) => ({ path: formatConfigPath([section, key, ...i.path]), message: i.message })));
        continue;
      }
      checkGroups(key, parsed.data, section, groups, issues);
      settings[key] = { value: parsed.data, source: section };
    }
  }
  const get = <K extends SettingKey>(key: K): NonNullable<RouterSettings[K]> | (typeof ROUTER_DEFAULTS)[K] =>
    (settings[key]?.value as NonNullable<RouterSettings[K]> | undefined) ?? ROUTER_DEFAULTS[key];
  const ms = (s: number | null): number | null => (s === null ? null : Math.round(s * 1000));
  const rules = (list: readonly Record<string, string[]>[]): FallbackRule[] =>
    list.flatMap((m) => Object.entries(m).map(([group, fallbacks]) => ({ group, fallbacks })));
  const sources = Object.fromEntries(
    Object.keys(RouterSettingsSchema.shape).map((key) => [key, settings[key as SettingKey]?.source ?? 'default']),
  ) as Record<SettingKey, SettingSource>;
  return {
    routingStrategy: get('routing_strategy'),
    numRetries: get('num_retries'),
    retryAfterMs: ms(get('retry_after')) ?? 0,
    allowedFails: get('allowed_fails'),
    cooldownTimeMs: ms(get('cooldown_time')) ?? 0,
    timeoutMs: ms(get('timeout')),
    fallbacks: rules(get('fallbacks')),
    contextWindowFallbacks: rules(get('context_window_fallbacks')),
    contentPolicyFallbacks: rules(get('content_policy_fallbacks')),
    defaultFallbacks: [...get('default_fallbacks')],
    sources,
  };
}

/** Every group a fallback setting names must exist. */
function checkGroups(key: SettingKey, value: unknown, section: string, groups: ReadonlySet<string>, issues: FieldIssue[]): void {
  const known = `known groups: ${[...groups].join(', ') || 'none'}`;
  const check = (name: string, path: PropertyKey[], wildcard: boolean): void => {
    if (!groups.has(name) && !(wildcard && name === '*')) {
      issues.push({ path: formatConfigPath([section, key, ...path]), message: `no model group named "${name}" (${known})` });
    }
  };
  if (key === 'default_fallbacks') (value as string[]).forEach((name, i) => check(name, [i], false));
  if (!(FALLBACK_KEYS as readonly string[]).includes(key)) return;
  (value as Record<string, string[]>[]).forEach((rule, r) => {
    for (const [group, targets] of Object.entries(rule)) {
      check(group, [r, group], true);
      targets.forEach((name, i) => check(name, [r, group, i], false));
    }
  });
}
