/**
 * Text for people: agents, memory blocks, Letta messages and responses. Pure functions that
 * return strings; {@link ./output.ts} prints them.
 * @module
 */
import type { AgentState, Block } from '../domain/agent.ts';
import { formatBudgetSpend, formatUsd, type BudgetVerdict } from '../domain/budget.ts';
import { compactionSettings } from '../domain/compaction.ts';
import type { LettaMessage, LettaResponse } from '../domain/letta-message.ts';
import type { EmbeddingConfig, LlmConfig } from '../domain/llm-config.ts';
import type { AgentWorkflowStatus } from '../domain/turn.ts';
import type { TurnDetails } from '../client/memloom-client.ts';
import type { TurnModelCall } from '../db/usage-store.ts';
import type { UsageTotals } from '../db/usage-store.ts';

/** Tool returns longer than this are cut in text output (`--json` has them whole). */
const TOOL_RETURN_PREVIEW = 500;

/** Continuation lines of a multi-line value, indented under their label. */
function indent(text: string): string {
  return text.replace(/\n/g, '\n  ');
}

function preview(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters; --json shows all)`;
}

/** One line (or indented block) per Letta message, e.g. `assistant: Hello!`. */
export function formatMessage(m: LettaMessage): string {
  switch (m.message_type) {
    case 'user_message':
      return `user: ${indent(m.content)}`;
    case 'system_message':
      return `system: ${indent(m.content)}`;
    case 'reasoning_message':
      return `reasoning: ${indent(m.reasoning)}`;
    case 'assistant_message':
      return `assistant: ${indent(m.content)}`;
    case 'tool_call_message':
      return `tool call: ${m.tool_call.name}(${m.tool_call.arguments})`;
    case 'tool_return_message':
      return `tool return (${m.status}): ${indent(preview(m.tool_return, TOOL_RETURN_PREVIEW))}`;
    case 'summary_message': {
      const hidden = m.evicted_messages === null ? '' : ` (${m.evicted_messages} earlier message${m.evicted_messages === 1 ? '' : 's'} hidden)`;
      return `summary${hidden}: ${indent(m.summary)}`;
    }
  }
}

export function formatResponse(r: LettaResponse): string {
  const u = r.usage;
  const stop =
    `stop: ${r.stop_reason.stop_reason} · steps ${u.step_count} · ` +
    `tokens ${u.total_tokens} (prompt ${u.prompt_tokens}, completion ${u.completion_tokens})`;
  return [...r.messages.map(formatMessage), stop].join('\n');
}

export function formatMessages(messages: LettaMessage[]): string {
  return messages.length === 0 ? '(no messages)' : messages.map(formatMessage).join('\n');
}

export function formatLlmConfig(c: LlmConfig): string {
  const parts = [c.model_endpoint_type, c.model_endpoint ?? 'default endpoint', `context ${c.context_window}`];
  if (c.temperature !== undefined) parts.push(`temperature ${c.temperature}`);
  if (c.max_tokens !== undefined) parts.push(`max_tokens ${c.max_tokens}`);
  return `${c.model} (${parts.join(', ')})`;
}

/** `text-embedding-3-small (openai, http://localhost:4000, dim 1536)`. */
export function formatEmbeddingConfig(c: EmbeddingConfig): string {
  return `${c.embedding_model} (${c.embedding_endpoint_type}, ${c.embedding_endpoint ?? 'default endpoint'}, dim ${c.embedding_dim})`;
}

export function formatBlock(b: Block): string {
  const flags = b.read_only ? ', read-only' : '';
  const head = `${b.label} (${b.value.length}/${b.limit} chars${flags})`;
  const description = b.description ? `\n  ${indent(b.description)}` : '';
  return `${head}:${description}\n  ${b.value === '' ? '(empty)' : indent(b.value)}`;
}

export function formatBlocks(blocks: Block[]): string {
  return blocks.length === 0 ? '(no memory blocks)' : blocks.map(formatBlock).join('\n');
}

export function formatStatus(status: AgentWorkflowStatus | null): string {
  if (!status) return 'not running (its workflow starts with the next message)';
  const current = status.currentMessageId ? ` on ${status.currentMessageId}, step ${status.currentStep}` : '';
  const turns = status.turnsCompleted === 1 ? '1 turn' : `${status.turnsCompleted} turns`;
  const failed = status.turnsFailed > 0 ? ` · ${status.turnsFailed} failed` : '';
  return `${status.state}${current} · ${turns} answered${failed} · ${status.queuedTurns} queued`;
}

function field(name: string, value: string): string {
  return `${`${name}:`.padEnd(13)}${value}`;
}

/** Model calls, tokens and (when the endpoint reported it, e.g. a LiteLLM proxy) cost. */
export function formatUsage(u: UsageTotals): string {
  const cost = u.cost === null ? '' : ` · $${u.cost.toFixed(4)}`;
  return `${u.calls} model calls · tokens ${u.total_tokens} (prompt ${u.prompt_tokens}, completion ${u.completion_tokens})${cost}`;
}

/**
 * An agent's budget: with its verdict, the spend of the current window (`$0.25 of $1.00 this 1d
 * window (resets at ...)`); without, what it allows (`$1.00 per 1d window`).
 */
export function formatBudget(a: Pick<AgentState, 'max_budget' | 'budget_duration'>, verdict?: BudgetVerdict | null): string {
  if (verdict) return formatBudgetSpend(verdict);
  if (a.max_budget === null) return 'none';
  return a.budget_duration === null ? `${formatUsd(a.max_budget)} (lifetime budget)` : `${formatUsd(a.max_budget)} per ${a.budget_duration} window`;
}

/**
 * An agent's compaction settings in effect, the defaults marked: `frees 30% of the message budget
 * (default) · summarizer gpt-4o-mini · reads at most 50,000 characters (default)`.
 */
export function formatCompactionSettings(a: Pick<AgentState, 'compaction_settings' | 'llm_config'>): string {
  const set = a.compaction_settings ?? {};
  const s = compactionSettings(set);
  const mark = (given: unknown): string => (given === undefined ? ' (default)' : '');
  return [
    `frees ${Number((s.sliding_window_percentage * 100).toFixed(1))}% of the message budget${mark(set.sliding_window_percentage)}`,
    `summarizer ${s.model ?? a.llm_config.model}${set.model === undefined ? " (default: the agent's model)" : ''}`,
    `reads at most ${s.clip_chars.toLocaleString('en-US')} characters${mark(set.clip_chars)}`,
  ].join(' · ');
}

export function formatAgent(a: AgentState, status?: AgentWorkflowStatus | null, usage?: UsageTotals, budget?: BudgetVerdict | null): string {
  const lines = [
    field('id', a.id),
    field('name', a.name),
    ...(a.description ? [field('description', a.description)] : []),
    field('model', formatLlmConfig(a.llm_config)),
    ...(a.embedding_config ? [field('embedding', `${a.embedding_config.embedding_model} (dim ${a.embedding_config.embedding_dim})`)] : []),
    field('tools', a.tools.length > 0 ? a.tools.join(', ') : '(none)'),
    field('tags', a.tags.length > 0 ? a.tags.join(', ') : '(none)'),
    ...(status !== undefined ? [field('status', formatStatus(status))] : []),
    ...(usage !== undefined ? [field('usage', formatUsage(usage))] : []),
    ...(budget !== undefined || a.max_budget !== null ? [field('budget', formatBudget(a, budget))] : []),
    field('compaction', formatCompactionSettings(a)),
    field('created', a.created_at),
    field('system', indent(a.system)),
    'memory:',
    ...a.blocks.map((b) => `  ${formatBlock(b).replace(/\n/g, '\n  ')}`),
  ];
  return lines.join('\n');
}

/** One agent per line: id, name, model, tags. */
export function formatAgentList(list: AgentState[]): string {
  if (list.length === 0) return '(no agents; create one with `memloom agent create --name NAME`)';
  const rows = list.map((a) => [a.id, a.name, a.llm_config.model, a.tags.join(',')]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  ').trimEnd()).join('\n');
}

/** `  step 1 · 2. fast · fast-1 · fallback from smart after Upstream5xx → ok · 130 tokens · $0.0004 · 812 ms` */
function formatModelCall(c: TurnModelCall): string {
  const where = [`${c.chainAttempt ?? '-'}. ${c.modelGroup}`, c.deployment, ...(c.reason ? [c.reason] : [])].join(' · ');
  const result = [c.outcome, ...(c.outcome === 'ok' ? [`${c.totalTokens} tokens`] : []), ...(c.cost !== null ? [`$${c.cost.toFixed(4)}`] : []), `${c.latencyMs} ms`];
  return `  step ${c.step ?? '-'} · ${where} → ${result.join(' · ')}`;
}

/** A turn record, its attempts, its model calls, then its messages step by step. */
export function formatTurn(t: TurnDetails): string {
  const u = t.usage;
  const outcome =
    t.status === 'completed'
      ? `${t.stopReason ?? ''} · steps ${t.stepCount} · tokens ${u.total_tokens} (prompt ${u.prompt_tokens}, completion ${u.completion_tokens})`
      : t.status === 'failed' || t.status === 'cancelled'
        ? `${t.errorType ?? 'Error'}: ${t.errorMessage ?? ''}`
        : t.status === 'queued'
          ? `attempt ${t.attempt}, waiting in the agent's queue (if its sender stopped before the agent got it, send it again with --message-id ${t.messageId})`
          : `attempt ${t.attempt}`;
  const lines = [
    field('turn', t.messageId),
    field('agent', t.agentId),
    field('status', `${t.status} · ${outcome}`),
    field('max steps', String(t.maxSteps)),
    field('created', t.createdAt.toISOString()),
    ...(t.finishedAt ? [field('finished', t.finishedAt.toISOString())] : []),
    'attempts:',
    ...t.attempts.map((a) => {
      const how = a.status === 'failed' ? ` (${a.errorType ?? 'Error'}: ${a.errorMessage ?? ''})` : a.stopReason ? ` (${a.stopReason})` : '';
      return `  ${a.attempt}. ${a.status}${how} · steps ${a.stepBase + 1}..${a.stepBase + a.stepCount}`;
    }),
    ...(t.modelCalls.length > 0 ? ['model calls:', ...t.modelCalls.map(formatModelCall)] : []),
    'messages:',
    ...t.messages.map((m) => `  ${formatMessage(m).replace(/\n/g, '\n  ')}`),
  ];
  return lines.join('\n');
}
