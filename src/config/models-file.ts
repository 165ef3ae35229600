/**
 * MEMLOOM_MODELS / `--models FILE`: a LiteLLM `config.yaml`, read with a YAML parser and checked
 * with the schemas of `src/domain/model-policy.ts`. Every problem is reported at once, each
 * naming its path in LiteLLM's terms (`model_list[1].litellm_params.api_base`); keys memloom does
 * not use are listed, not fatal.
 *
 * Secrets: the checked config holds key references (`{ env: 'NAME' }`), never key values. Keys
 * are read only by {@link resolveDeploymentKeys}, which the worker calls.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, ValidationError, type FieldIssue } from '../domain/errors.ts';
import {
  AZURE_DEFAULT_API_VERSION,
  DeploymentEntrySchema,
  ENV_REFERENCE_PREFIX,
  formatConfigPath,
  LitellmParamsSchema,
  ModelInfoSchema,
  MODELS_FILE_SECTIONS,
  parseBudgetDuration,
  resolveRouterPolicy,
  RouterSettingsSchema,
  type ApiKeyRef,
  type DeploymentEntry,
  type ModelDeployment,
  type ModelGroup,
  type ModelsConfig,
} from '../domain/model-policy.ts';

/** A models file that passed the check. */
export interface CheckedModels {
  /** The file as the user named it. */
  source: string;
  config: ModelsConfig;
  /** Paths of keys memloom does not use (`general_settings`, `model_list[0].litellm_params.temperature`). */
  ignored: string[];
  /** Paths of `api_key`s written in the file rather than named as `os.environ/NAME`. */
  literalKeys: string[];
}

type Env = Record<string, string | undefined>;
type Mapping = Record<string, unknown>;

/** Literal keys of a checked config, by deployment id: kept out of the config object itself. */
const literalKeysOf = new WeakMap<ModelsConfig, ReadonlyMap<string, string>>();

/** Providers memloom calls with the `openai` SDK (`azure` with its Azure client); those after the first need an `api_base`. */
const OPENAI_COMPATIBLE = ['openai', 'hosted_vllm', 'litellm_proxy', 'azure'] as const;
const DEPLOYMENT_KEYS = Object.keys(DeploymentEntrySchema.shape);
const PARAM_KEYS = Object.keys(LitellmParamsSchema.shape);
const INFO_KEYS = Object.keys(ModelInfoSchema.shape);
const SETTINGS_KEYS = Object.keys(RouterSettingsSchema.shape);

const isMapping = (v: unknown): v is Mapping => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads and checks a models file; throws ConfigError if it cannot be read, ValidationError listing every problem. */
export async function loadModelsFile(path: string): Promise<CheckedModels> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError(`models file ${path}: ${reason}`, { cause: error });
  }
  return parseModelsConfig(text, path);
}

/** Checks the text of a LiteLLM config.yaml; `source` names it in errors. */
export function parseModelsConfig(text: string, source: string): CheckedModels {
  const subject = `models file ${source}`;
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ValidationError(
      doc.errors.map((e) => ({ path: '', message: `not valid YAML: ${(e.message.split('\n')[0] ?? e.code).replace(/:$/, '')}` })),
      subject,
    );
  }
  const raw = dropNulls(doc.toJS({ maxAliasCount: 1000 }) as unknown);
  if (!isMapping(raw)) {
    throw new ValidationError([{ path: '', message: 'must be a mapping with a model_list, as in a LiteLLM config.yaml' }], subject);
  }
  const issues: FieldIssue[] = [];
  const { groups, literals, literalKeys, groupNames } = readModelList(raw.model_list, issues);
  const router = resolveRouterPolicy(raw, groupNames, issues);
  if (issues.length > 0) throw new ValidationError(issues, subject);
  const config: ModelsConfig = { groups, router };
  literalKeysOf.set(config, literals);
  return { source, config, ignored: ignoredKeys(raw), literalKeys };
}

/**
 * The API key of every deployment, by deployment id (undefined: none configured), reading
 * `os.environ/NAME` references from `env`. Called by the worker only; the values must not be
 * logged, persisted or passed to workflows. A missing variable is a ValidationError naming the
 * path and the variable.
 */
export function resolveDeploymentKeys(config: ModelsConfig, env: Env = process.env): Map<string, string | undefined> {
  const literals = literalKeysOf.get(config);
  const keys = new Map<string, string | undefined>();
  const issues: FieldIssue[] = [];
  for (const deployment of config.groups.flatMap((g) => g.deployments)) {
    const ref = deployment.apiKey;
    if (ref === null) keys.set(deployment.id, undefined);
    else if ('env' in ref) {
      const value = env[ref.env]?.trim();
      if (value) keys.set(deployment.id, value);
      else issues.push({ path: `${deployment.path}.litellm_params.api_key`, message: `environment variable ${ref.env} is not set (os.environ/${ref.env})` });
    } else {
      const value = literals?.get(deployment.id);
      if (value === undefined) throw new ConfigError(`${deployment.path}.litellm_params.api_key: resolve keys with the config loadModelsFile returned`);
      keys.set(deployment.id, value);
    }
  }
  if (issues.length > 0) throw new ValidationError(issues, 'model keys');
  return keys;
}

/** YAML `key:` with no value means "not set", as in LiteLLM. */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (!isMapping(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, dropNulls(v)]),
  );
}

function zodIssues(error: z.ZodError, prefix: readonly PropertyKey[]): FieldIssue[] {
  return error.issues.map((issue) => ({ path: formatConfigPath([...prefix, ...issue.path]), message: issue.message }));
}

function readModelList(
  value: unknown,
  issues: FieldIssue[],
): { groups: ModelGroup[]; literals: Map<string, string>; literalKeys: string[]; groupNames: Set<string> } {
  const groups = new Map<string, ModelDeployment[]>();
  const literals = new Map<string, string>();
  const literalKeys: string[] = [];
  const idPaths = new Map<string, string>();
  const entries = Array.isArray(value) ? value : [];
  if (value === undefined) issues.push({ path: 'model_list', message: 'required: the list of deployments' });
  else if (!Array.isArray(value)) issues.push({ path: 'model_list', message: 'must be a list of deployments' });
  else if (value.length === 0) issues.push({ path: 'model_list', message: 'must list at least one deployment' });
  // every group named, even by entries with errors, so that fallbacks to it are not reported too
  const groupNames = new Set(entries.flatMap((e) => (isMapping(e) && typeof e.model_name === 'string' ? [e.model_name.trim()] : [])));
  entries.forEach((entry, index) => {
    const path = `model_list[${index}]`;
    if (!isMapping(entry)) {
      issues.push({ path, message: 'must be a mapping with model_name and litellm_params' });
      return;
    }
    const parsed = DeploymentEntrySchema.safeParse(entry);
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, ['model_list', index]));
      return;
    }
    const deployment = toDeployment(parsed.data, path, issues);
    if (deployment === undefined) return;
    const seen = idPaths.get(deployment.id);
    if (seen !== undefined) {
      issues.push(
        deployment.idFrom === 'model_info.id'
          ? { path: `${path}.model_info.id`, message: `duplicate deployment id "${deployment.id}" (also ${seen})` }
          : { path, message: `same model_name, model and api_base as ${seen}: give one of them a model_info.id` },
      );
      return;
    }
    idPaths.set(deployment.id, path);
    const key = parsed.data.litellm_params.api_key;
    if (key !== undefined && !key.startsWith(ENV_REFERENCE_PREFIX)) {
      literals.set(deployment.id, key);
      literalKeys.push(`${path}.litellm_params.api_key`);
    }
    groups.set(deployment.group, [...(groups.get(deployment.group) ?? []), deployment]);
  });
  return { groups: [...groups].map(([name, deployments]) => ({ name, deployments })), literals, literalKeys, groupNames };
}

/** The deployment an entry describes, or undefined after pushing why memloom cannot call it. */
function toDeployment(entry: DeploymentEntry, path: string, issues: FieldIssue[]): ModelDeployment | undefined {
  const params = entry.litellm_params;
  const info = entry.model_info ?? {};
  const slash = params.model.indexOf('/');
  const prefix = slash > 0 ? params.model.slice(0, slash) : undefined;
  const upstreamModel = prefix === undefined ? params.model : params.model.slice(slash + 1);
  const apiBase = params.api_base ?? null;
  const at = `${path}.litellm_params`;
  const proxyHint = `put this deployment behind a LiteLLM proxy and point api_base at it (model: litellm_proxy/${entry.model_name}, api_base: http://<proxy>:4000)`;
  if (prefix === 'azure_ai') {
    issues.push({ path: `${at}.model`, message: `azure_ai/ deployments are not supported directly: ${proxyHint}` });
    return undefined;
  }
  if (prefix === 'azure' && apiBase === null) {
    issues.push({ path: `${at}.api_base`, message: 'required for azure/ deployments: your Azure OpenAI resource endpoint, e.g. https://NAME.openai.azure.com' });
    return undefined;
  }
  if (prefix !== undefined && !(OPENAI_COMPATIBLE as readonly string[]).includes(prefix) && apiBase === null) {
    issues.push({ path: `${at}.model`, message: `${prefix}/ is not an OpenAI-compatible provider memloom can call: ${proxyHint}` });
    return undefined;
  }
  if ((prefix === 'hosted_vllm' || prefix === 'litellm_proxy') && apiBase === null) {
    issues.push({ path: `${at}.api_base`, message: `required for ${prefix}/ deployments: the server's OpenAI-compatible base URL` });
    return undefined;
  }
  if (upstreamModel.trim() === '') {
    issues.push({ path: `${at}.model`, message: `must name a model after ${prefix}/` });
    return undefined;
  }
  const apiKey: ApiKeyRef | null =
    params.api_key === undefined
      ? null
      : params.api_key.startsWith(ENV_REFERENCE_PREFIX)
        ? { env: params.api_key.slice(ENV_REFERENCE_PREFIX.length) }
        : { literal: true };
  const seconds = (s: number | undefined): number | null => (s === undefined ? null : Math.round(s * 1000));
  return {
    id: info.id ?? derivedId(entry.model_name, params.model, apiBase),
    idFrom: info.id !== undefined ? 'model_info.id' : 'derived',
    group: entry.model_name,
    path,
    model: params.model,
    provider: prefix ?? 'openai',
    upstreamModel,
    apiBase,
    apiKey,
    apiVersion: prefix === 'azure' ? (params.api_version ?? AZURE_DEFAULT_API_VERSION) : null,
    rpm: params.rpm ?? null,
    tpm: params.tpm ?? null,
    weight: params.weight ?? null,
    timeoutMs: seconds(params.timeout),
    streamTimeoutMs: seconds(params.stream_timeout),
    maxBudget: params.max_budget ?? null,
    budgetDuration:
      params.budget_duration === undefined ? null : { text: params.budget_duration, ms: parseBudgetDuration(params.budget_duration) ?? 0 },
    maxInputTokens: info.max_input_tokens ?? null,
    maxOutputTokens: info.max_output_tokens ?? null,
    inputCostPerToken: info.input_cost_per_token ?? null,
    outputCostPerToken: info.output_cost_per_token ?? null,
  };
}

/** A deployment id that stays the same while its group, model and api_base do. */
function derivedId(group: string, model: string, apiBase: string | null): string {
  return createHash('sha256').update(`${group}\n${model}\n${apiBase ?? ''}`).digest('hex').slice(0, 16);
}

/** Paths of the keys memloom does not read, each listed once. */
function ignoredKeys(raw: Mapping): string[] {
  const out: string[] = [];
  const unknown = (value: unknown, known: readonly string[], path: string): void => {
    if (!isMapping(value)) return;
    for (const key of Object.keys(value)) if (!known.includes(key)) out.push(path === '' ? key : `${path}.${key}`);
  };
  unknown(raw, MODELS_FILE_SECTIONS, '');
  if (Array.isArray(raw.model_list)) {
    raw.model_list.forEach((entry: unknown, index) => {
      const path = `model_list[${index}]`;
      unknown(entry, DEPLOYMENT_KEYS, path);
      if (!isMapping(entry)) return;
      unknown(entry.litellm_params, PARAM_KEYS, `${path}.litellm_params`);
      unknown(entry.model_info, INFO_KEYS, `${path}.model_info`);
    });
  }
  unknown(raw.router_settings, SETTINGS_KEYS, 'router_settings');
  unknown(raw.litellm_settings, SETTINGS_KEYS, 'litellm_settings');
  return out;
}
