/**
 * `memloom models`: the model groups of a LiteLLM `config.yaml` (MEMLOOM_MODELS / `--models`).
 * `models check FILE` prints what memloom understood, or every problem with its path.
 * @module
 */
import { Command } from 'commander';
import { redactUrl } from '../client/errors.ts';
import { loadModelsFile, type CheckedModels } from '../config/models-file.ts';
import type { FallbackRule, ModelDeployment, RouterPolicy, SettingSource } from '../domain/model-policy.ts';
import { setAction } from './command-context.ts';
import { addJsonOption } from './options.ts';
import { printResult } from './output.ts';

/** How a deployment's key is configured; never the key. */
export type KeySummary = `os.environ/${string}` | 'literal key in the file' | 'none';

/** One deployment as `models check` shows it. */
export interface DeploymentSummary extends Omit<ModelDeployment, 'apiKey' | 'apiBase'> {
  /** Its api_base without a password; null: OpenAI's own endpoint. */
  apiBase: string | null;
  apiKey: KeySummary;
}

/** What `models check --json` prints. Holds no key values. */
export interface ModelsCheckReport {
  file: string;
  groups: { name: string; deployments: DeploymentSummary[] }[];
  router: RouterPolicy;
  /** Paths of keys memloom does not use. */
  ignored: string[];
  /** Paths of `api_key`s written in the file. */
  literalKeys: string[];
}

export function modelsCheckReport(models: CheckedModels): ModelsCheckReport {
  return {
    file: models.source,
    groups: models.config.groups.map((group) => ({
      name: group.name,
      deployments: group.deployments.map((d) => ({
        ...d,
        apiBase: d.apiBase === null ? null : redactUrl(d.apiBase),
        apiKey: d.apiKey === null ? 'none' : 'env' in d.apiKey ? `os.environ/${d.apiKey.env}` : 'literal key in the file',
      })),
    })),
    router: models.config.router,
    ignored: models.ignored,
    literalKeys: models.literalKeys,
  };
}

const seconds = (ms: number | null): string => (ms === null ? 'none' : `${ms / 1000}s`);

function formatDeployment(d: DeploymentSummary): string {
  const facts = [
    `key ${d.apiKey}`,
    d.rpm !== null ? `rpm ${d.rpm}` : '',
    d.tpm !== null ? `tpm ${d.tpm}` : '',
    d.weight !== null ? `weight ${d.weight}` : '',
    d.timeoutMs !== null ? `timeout ${seconds(d.timeoutMs)}` : '',
    d.streamTimeoutMs !== null ? `stream_timeout ${seconds(d.streamTimeoutMs)}` : '',
    d.maxBudget !== null ? `budget $${d.maxBudget}${d.budgetDuration ? ` per ${d.budgetDuration.text}` : ''}` : '',
    d.maxInputTokens !== null ? `max_input_tokens ${d.maxInputTokens}` : '',
    d.maxOutputTokens !== null ? `max_output_tokens ${d.maxOutputTokens}` : '',
    d.inputCostPerToken !== null || d.outputCostPerToken !== null
      ? `cost/token in ${d.inputCostPerToken ?? '?'} out ${d.outputCostPerToken ?? '?'}`
      : '',
  ].filter((f) => f !== '');
  return [
    `  - ${d.id}${d.idFrom === 'derived' ? ' (derived id)' : ''}: ${d.model} at ${d.apiBase ?? 'OpenAI (no api_base)'}`,
    `      ${facts.join(', ')}`,
  ].join('\n');
}

const rulesText = (rules: FallbackRule[]): string =>
  rules.length === 0 ? 'none' : rules.map((r) => `${r.group} -> ${r.fallbacks.join(', ')}`).join('; ');

function formatRouter(router: RouterPolicy): string[] {
  const from = (source: SettingSource): string => (source === 'default' ? '(LiteLLM default)' : `(${source})`);
  const rows: [string, string, SettingSource][] = [
    ['routing_strategy', router.routingStrategy, router.sources.routing_strategy],
    ['num_retries', String(router.numRetries), router.sources.num_retries],
    ['retry_after', seconds(router.retryAfterMs), router.sources.retry_after],
    ['allowed_fails', String(router.allowedFails), router.sources.allowed_fails],
    ['cooldown_time', seconds(router.cooldownTimeMs), router.sources.cooldown_time],
    ['timeout', seconds(router.timeoutMs), router.sources.timeout],
    ['fallbacks', rulesText(router.fallbacks), router.sources.fallbacks],
    ['context_window_fallbacks', rulesText(router.contextWindowFallbacks), router.sources.context_window_fallbacks],
    ['content_policy_fallbacks', rulesText(router.contentPolicyFallbacks), router.sources.content_policy_fallbacks],
    ['default_fallbacks', router.defaultFallbacks.join(', ') || 'none', router.sources.default_fallbacks],
  ];
  return rows.map(([key, value, source]) => `  ${key.padEnd(25)} ${value} ${from(source)}`);
}

export function formatModelsCheck(report: ModelsCheckReport): string {
  const deployments = report.groups.reduce((n, g) => n + g.deployments.length, 0);
  return [
    `${report.file}: OK, ${report.groups.length} model group(s), ${deployments} deployment(s)`,
    ...report.groups.flatMap((g) => [`group ${g.name}:`, ...g.deployments.map(formatDeployment)]),
    'router settings in effect:',
    ...formatRouter(report.router),
    ...(report.literalKeys.length > 0
      ? ['warnings:', ...report.literalKeys.map((p) => `  - ${p}: literal key in the file (prefer os.environ/NAME)`)]
      : []),
    ...(report.ignored.length > 0 ? ['ignored keys (memloom does not use them):', ...report.ignored.map((p) => `  - ${p}`)] : []),
  ].join('\n');
}

export function modelsCommands(): Command {
  const models = new Command('models')
    .summary('check a LiteLLM config.yaml of model groups')
    .description(
      'Model groups and their deployments, described in a LiteLLM config.yaml (MEMLOOM_MODELS, or `memloom worker --models FILE`). ' +
        'The worker validates the file at start; routing turns by it is not active yet.',
    );
  const check = new Command('check')
    .summary('validate a LiteLLM config.yaml and print what memloom understood')
    .description(
      'Validate a LiteLLM config.yaml: model_list (litellm_params, model_info), router_settings and litellm_settings. ' +
        'Prints the groups with their deployments and ids, the router settings in effect, the fallbacks and the keys memloom ignores; ' +
        'or every problem with its path (model_list[1].litellm_params.api_base: must be a URL) and exits 1. Never prints an API key.',
    )
    .argument('<file>', 'the config.yaml');
  addJsonOption(check);
  check.addHelpText('after', '\nExamples:\n  $ memloom models check ./config.yaml\n  $ memloom models check ./config.yaml --json | jq .groups');
  models.addCommand(
    setAction(check, async (ctx, [file]) => {
      printResult(ctx.mode, modelsCheckReport(await loadModelsFile(file!)), formatModelsCheck);
    }),
  );
  return models;
}
