/**
 * `memloom usage`: model calls, tokens, cost, failed calls and p50 latency from the `usage`
 * table, per agent, model group, deployment or UTC day.
 * @module
 */
import { Command, Option } from 'commander';
import type { UsageReport } from '../client/memloom-client.ts';
import { UsageGroupBy, type UsageReportTotals } from '../db/usage-store.ts';
import { setAction } from './command-context.ts';
import { addJsonOption, withFlagPaths } from './options.ts';
import { printResult } from './output.ts';

/** The SDK's option names, as the flags that set them. */
const FLAG_OF: Record<string, string> = { agent: '--agent', by: '--by', since: '--since' };

const HEADING: Record<UsageGroupBy, string> = { agent: 'AGENT', model: 'MODEL', deployment: 'DEPLOYMENT', day: 'DAY (UTC)' };

const COLUMNS = ['CALLS', 'FAILED', 'PROMPT', 'COMPLETION', 'TOTAL', 'COST (USD)', 'P50 LATENCY'] as const;

function cells(t: UsageReportTotals): string[] {
  return [
    String(t.calls),
    String(t.failed_calls),
    String(t.prompt_tokens),
    String(t.completion_tokens),
    String(t.total_tokens),
    t.cost === null ? '-' : `$${t.cost.toFixed(4)}`,
    t.p50_latency_ms === null ? '-' : `${Math.round(t.p50_latency_ms)} ms`,
  ];
}

/** The report as a table: the group first (left-aligned), numbers right-aligned, a total line last. */
export function formatUsageReport(report: UsageReport): string {
  const scope = [
    report.agent ? `of agent ${report.agent.name}` : '',
    report.since ? `since ${report.since}` : 'all time',
  ].filter((s) => s !== '');
  const table = [
    [HEADING[report.by], ...COLUMNS],
    ...report.rows.map((r) => [r.label, ...cells(r)]),
    ['total', ...cells(report.total)],
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]): string =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [
    `Model calls by ${report.by}, ${scope.join(', ')}${report.rows.length === 0 ? ': none' : ''}`,
    ...table.map(line),
    ...(report.total.cost === null && report.total.calls > 0 ? ['cost: - when the endpoint reported none (a LiteLLM proxy reports it)'] : []),
  ].join('\n');
}

export function usageCommand(): Command {
  const command = new Command('usage')
    .summary('model calls, tokens and cost per agent, model, deployment or day')
    .description(
      'Report model calls from the usage table: calls, tokens (prompt, completion, total), cost in USD (when the endpoint ' +
        'reported it, as a LiteLLM proxy does), failed calls (attempts that did not answer) and p50 latency, one row per ' +
        'agent, model group, deployment or UTC day, sorted by cost then calls, and a total line.',
    )
    .option('--agent <agent>', 'only the calls of this agent (id or name)')
    .addOption(new Option('--by <group>', 'one row per agent, model (group), deployment or day (UTC)').choices(Object.values(UsageGroupBy)).default(UsageGroupBy.Agent))
    .option('--since <when>', 'only calls from a duration ago (1h, 7d, 30d) or an ISO date (2025-01-31) on (default: all time)');
  addJsonOption(command);
  command.addHelpText(
    'after',
    '\nExamples:\n  $ memloom usage --since 7d\n  $ memloom usage --by model --since 30d\n  $ memloom usage --agent my-assistant --by day --json',
  );
  return setAction(command, async (ctx, _args, options) => {
    const client = await ctx.client();
    const report = await client
      .usageReport({
        by: options['by'] as UsageGroupBy,
        ...(options['agent'] !== undefined ? { agent: String(options['agent']) } : {}),
        ...(options['since'] !== undefined ? { since: String(options['since']) } : {}),
      })
      .catch((error: unknown) => {
        throw withFlagPaths(error, (path) => FLAG_OF[path]);
      });
    printResult(ctx.mode, report, formatUsageReport);
  });
}
