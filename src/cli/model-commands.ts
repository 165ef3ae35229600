/**
 * `memloom models`: the model groups of a LiteLLM `config.yaml` (MEMLOOM_MODELS / `--models`).
 * `models check FILE` prints what memloom understood, or every problem with its path;
 * `models list` shows each deployment's live routing state.
 * @module
 */
import { Command } from 'commander';
import { describeDbError, redactUrl } from '../client/errors.ts';
import { DeploymentState, modelsReport, SpendWindowKind, type DeploymentReport, type ModelsReport } from '../client/models-report.ts';
import { loadConfig } from '../config/env.ts';
import { loadModelsFile, type CheckedModels } from '../config/models-file.ts';
import { formatUsd } from '../domain/budget.ts';
import { ConfigError } from '../domain/errors.ts';
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

/** What `models list --json` prints: the report, and the file it describes. Holds no key values. */
export interface ModelsListReport extends ModelsReport {
  file: string;
}

/** Why `models list` has nothing to list, and how to fix it. */
export const NO_MODELS_FILE =
  'no models file is configured: set MEMLOOM_MODELS to a LiteLLM config.yaml, or pass --models FILE (check it with `memloom models check FILE`)';

/** `HH:MM:SS` on this machine's clock. */
function clock(iso: string): string {
  const d = new Date(iso);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

const usd = (n: number): string => `$${n.toFixed(4)}`;

function stateText(d: DeploymentReport): string {
  if (d.state === DeploymentState.OverBudget) {
    const resets = d.spend_window.resets_at;
    return resets === null ? 'over budget' : `over budget (resets ${resets.slice(0, 16).replace('T', ' ')} UTC)`;
  }
  if (d.state === DeploymentState.CoolingDown && d.cooling_down_until !== null) {
    return `cooling down until ${clock(d.cooling_down_until)}${d.cooldown_reason ? ` (${d.cooldown_reason})` : ''}`;
  }
  return 'ready';
}

function spendText(d: DeploymentReport): string {
  const spent = usd(d.spend_usd);
  if (d.budget === null || d.spend_window.kind === SpendWindowKind.Last24h) return `${spent} (24h)`;
  if (d.spend_window.kind === SpendWindowKind.Lifetime) return `${spent} of ${formatUsd(d.budget.max_usd)} (lifetime)`;
  return `${spent} of ${formatUsd(d.budget.max_usd)}/${d.budget.duration}`;
}

const used = (n: number, limit: number | null): string => (limit === null ? String(n) : `${n}/${limit}`);

const LIST_COLUMNS = ['GROUP', 'DEPLOYMENT', 'STATE', 'FAILS/MIN', 'RPM', 'TPM', 'IN FLIGHT', 'P50', 'SPEND'] as const;
/** Columns of text, left-aligned; the numbers are right-aligned. */
const LEFT_ALIGNED = 3;

/** The deployments as a table, then the router settings in effect. */
export function formatModelsList(report: ModelsListReport): string {
  const table = [
    [...LIST_COLUMNS],
    ...report.groups.flatMap((g) =>
      g.deployments.map((d) => [
        g.name,
        d.id,
        stateText(d),
        String(d.failures_this_minute),
        used(d.rpm_used, d.rpm_limit),
        used(d.tpm_used, d.tpm_limit),
        String(d.in_flight),
        d.p50_latency_ms === null ? '-' : `${Math.round(d.p50_latency_ms)} ms`,
        spendText(d),
      ]),
    ),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]): string =>
    row.map((cell, i) => (i < LEFT_ALIGNED ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [
    `Deployments of ${report.file} at ${clock(report.at)}:`,
    ...table.map(line),
    'RPM, TPM: used this minute (/ limit). P50: successful calls of the last hour.',
    'SPEND (USD): in the window of max_budget per budget_duration (windows aligned to 00:00 UTC), all time for a lifetime',
    '  max_budget (no budget_duration), else the last 24h.',
    'router settings in effect:',
    ...formatRouter(report.router),
  ].join('\n');
}

function listCommand(): Command {
  const list = new Command('list')
    .summary('the deployments of the models file and their live routing state')
    .description(
      'List the model groups of the models file (MEMLOOM_MODELS, or --models FILE) and, for each deployment, its live routing ' +
        'state read from PostgreSQL: ready, cooling down until when and why, or over budget; failures this minute; requests and ' +
        'tokens this minute against its rpm/tpm; calls in flight; p50 latency of the last hour; and spend in USD (in its budget ' +
        'window when it has max_budget, else the last 24 hours). Then the router settings in effect. ' +
        'Without a models file it exits 1 saying how to set one. Never prints an API key.',
    )
    .option('--models <file>', 'the LiteLLM config.yaml (default: MEMLOOM_MODELS)');
  addJsonOption(list);
  list.addHelpText(
    'after',
    '\nExamples:\n  $ MEMLOOM_MODELS=./config.yaml memloom models list\n  $ memloom models list --models ./config.yaml --json | jq \'.groups[].deployments[] | {id, state, spend_usd}\'',
  );
  return setAction(list, async (ctx, _args, options) => {
    const file = (options['models'] as string | undefined) ?? loadConfig(ctx.overrides).modelsFile;
    if (file === undefined) throw new ConfigError(NO_MODELS_FILE);
    const models = await loadModelsFile(file);
    const client = await ctx.client();
    const report = await modelsReport(client.db, models.config).catch((error: unknown) => {
      throw describeDbError(error, client.config.databaseUrl);
    });
    printResult(ctx.mode, { file: models.source, ...report } satisfies ModelsListReport, formatModelsList);
  });
}

export function modelsCommands(): Command {
  const models = new Command('models')
    .summary('check a LiteLLM config.yaml of model groups, and list its deployments\' routing state')
    .description(
      'Model groups and their deployments, described in a LiteLLM config.yaml (MEMLOOM_MODELS, or `memloom worker --models FILE`): ' +
        'check a file, or list its deployments with their live routing state (cooldowns, failures, rpm/tpm, latency, spend).',
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
  models.addCommand(listCommand());
  return models;
}
