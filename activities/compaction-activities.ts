/**
 * The `compactContext` activity, Letta's summarizer: the oldest in-context messages of an agent
 * are summarized by its summarizer model (its `compaction_settings.model`, else its own model)
 * together with the previous summary; the summary is stored as a message of kind `summary` that
 * opens every later context, and the summarized messages leave the context in the same
 * transaction (recall keeps them). Takes ids, returns counters: no text in workflow history.
 *
 * The summary's row is keyed like the step's own messages: (turn, step, idx = −round) for a
 * compaction a step needed, (request id, 0, 0) for one on demand. An attempt that finds its row
 * stored answers from it, so a retry never summarizes twice.
 * @module
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import type { AgentRecord } from '../src/db/agent-store.ts';
import { evictFromContext, findTurnMessage, insertMessageOnce, loadContextSummary, loadInContextMessages } from '../src/db/message-store.ts';
import { withTransaction, type Queryable } from '../src/db/pool.ts';
import { COMPACTION_REASON, recordUsage } from '../src/db/usage-store.ts';
import {
  CompactionTrigger,
  compactionSettings,
  evictionTarget,
  parseSummaryMessage,
  planEviction,
  summarizerInput,
  summarizerSystemPrompt,
  summaryMessageContent,
  summaryTokenLimit,
  type CompactionResult,
  type TranscriptLine,
} from '../src/domain/compaction.ts';
import { RETRYABLE_MODEL_ERRORS } from '../src/domain/errors.ts';
import { streamIdleTimeoutMs } from '../src/domain/llm-config.ts';
import type { StoredMessage } from '../src/domain/stored-message.ts';
import { streamChatCompletion } from '../src/llm/chat-completion.ts';
import { classifyModelError } from '../src/llm/error-classification.ts';
import { countTokens, estimateMessageTokens } from '../src/llm/token-count.ts';
import { loadAgentOrFail, type ActivityDeps } from './activity-deps.ts';
import { createPromptFrames } from './context-frame.ts';
import { withTurn } from './turn-fence.ts';

/** Which compaction: one a model step needed (round 1.. within the step), or one on demand. */
export type CompactInput =
  | { agentId: string; trigger: 'context_full' | 'context_overflow'; turnId: string; attempt: number; step: number; round: number }
  | { agentId: string; trigger: 'manual'; requestId: string };

const HEARTBEAT_EVERY_MS = 1000;

/** The row key of the summary a compaction writes. */
function summaryKey(input: CompactInput): { turnId: string; step: number; idx: number } {
  return input.trigger === CompactionTrigger.Manual
    ? { turnId: input.requestId, step: 0, idx: 0 }
    : { turnId: input.turnId, step: input.step, idx: -input.round };
}

/** A message as the summarizer reads it: who said what, tool calls and returns in short. */
function transcriptLine(m: StoredMessage): TranscriptLine {
  if (m.role === 'tool') return { role: `tool ${m.toolName ?? ''} returned`.replace('  ', ' '), text: m.content ?? '' };
  if (m.role === 'assistant') {
    const calls = (m.toolCalls ?? []).map((c) => `[calls ${c.name}(${c.arguments})]`).join(' ');
    return { role: 'assistant', text: [m.content ?? '', calls].filter((t) => t !== '').join(' ') };
  }
  return { role: m.role, text: m.content ?? '' };
}

export function createCompactionActivities(deps: ActivityDeps) {
  const { db, models, logger } = deps;
  const { promptFrame } = createPromptFrames(deps);

  /** The summarizer's client and model name: a model group of the models file, else an endpoint's model. */
  function summarizer(agent: AgentRecord, name: string): { client: OpenAI; model: string; baseUrl: string; hasApiKey: boolean; deployment: string } {
    const group = models.config?.groups.find((g) => g.name === name);
    const first = group?.deployments[0];
    if (first) {
      const routed = models.deployment(first.id);
      return { client: routed.client, model: first.upstreamModel, baseUrl: routed.baseUrl, hasApiKey: routed.hasApiKey, deployment: first.id };
    }
    // the agent's own endpoint serves its model and, unless told otherwise, its summarizer
    const endpoint = agent.llm_config.model_endpoint;
    const baseUrl = models.resolveBaseUrl(endpoint);
    return { client: models.get(endpoint), model: name, baseUrl, hasApiKey: models.hasApiKey, deployment: baseUrl };
  }

  /** What an earlier attempt's stored summary says it did. */
  function fromStored(agentId: string, trigger: CompactionTrigger, row: StoredMessage, model: string): CompactionResult {
    const parsed = parseSummaryMessage(row.content);
    const stats = parsed?.stats;
    return {
      agentId,
      trigger,
      evictedMessages: parsed?.evicted ?? 0,
      summaryMessageId: row.id,
      tokensBefore: stats?.context_tokens_before ?? 0,
      tokensAfter: stats?.context_tokens_after ?? 0,
      model,
    };
  }

  async function compactContext(input: CompactInput): Promise<CompactionResult> {
    const { agentId, trigger } = input;
    const agent = await loadAgentOrFail(db, agentId);
    const settings = compactionSettings(agent.compaction_settings);
    const model = settings.model ?? agent.llm_config.model;
    const key = summaryKey(input);
    const stored = await findTurnMessage(db, agentId, key.turnId, key.step, key.idx);
    if (stored) return fromStored(agentId, trigger, stored, model);

    const [frame, previous, messages] = await Promise.all([
      promptFrame(agent, agent.tools, agent.llm_config.model),
      loadContextSummary(db, agentId),
      loadInContextMessages(db, agentId),
    ]);
    const summaryRoom = summaryTokenLimit(frame.budget);
    const inContext = messages.reduce((n, m) => n + m.tokens, 0) + (previous?.tokens ?? 0);
    const target = evictionTarget({ budget: frame.budget, inContext, percentage: settings.sliding_window_percentage, summaryRoom, trigger });
    const plan = planEviction(messages, target);
    const nothing: CompactionResult = { agentId, trigger, evictedMessages: 0, summaryMessageId: null, tokensBefore: inContext, tokensAfter: inContext, model: null };
    if (plan.evict === 0) return nothing;
    const evicted = messages.slice(0, plan.evict);

    const who = summarizer(agent, model);
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    const started = Date.now();
    const usageBase = {
      agentId,
      workflowId: ctx.info.workflowExecution?.workflowId ?? null,
      turnId: key.turnId,
      step: key.step,
      attempt: ctx.info.attempt,
      modelGroup: model,
      deployment: who.deployment,
      endpoint: who.baseUrl,
      reason: COMPACTION_REASON,
    };
    let answer;
    try {
      answer = await streamChatCompletion(
        who.client,
        {
          model: who.model,
          messages: [
            { role: 'system', content: summarizerSystemPrompt(Math.floor(summaryRoom * 0.6)) },
            {
              role: 'user',
              content: summarizerInput(previous ? (parseSummaryMessage(previous.content)?.summary ?? previous.content) : null, evicted.map(transcriptLine), settings.clip_chars),
            },
          ],
          tools: [],
          maxTokens: summaryRoom,
          user: agentId,
        },
        { signal: ctx.cancellationSignal, idleTimeoutMs: streamIdleTimeoutMs(agent.llm_config), onProgress: () => ctx.heartbeat() },
      );
    } catch (error) {
      if (ctx.cancellationSignal.aborted) throw error;
      const failure = classifyModelError(error, { hasApiKey: who.hasApiKey, baseUrl: who.baseUrl, modelGroup: model });
      await recordUsage(db, { ...usageBase, promptTokens: 0, completionTokens: 0, totalTokens: 0, latencyMs: Date.now() - started, outcome: failure.type });
      logger.warn({ agentId, trigger, model, type: failure.type, status: failure.status }, 'compaction: the summarizer call failed');
      throw ApplicationFailure.create({
        type: failure.type,
        message: `compaction: the summarizer (${model}) failed: ${failure.message}`,
        nonRetryable: !RETRYABLE_MODEL_ERRORS.includes(failure.type),
        ...(failure.retryAfterMs !== undefined ? { nextRetryDelay: failure.retryAfterMs } : {}),
      });
    } finally {
      clearInterval(beat);
    }

    const summary = clipToTokens((answer.content ?? '').trim() || '(the summarizer returned nothing)', summaryRoom);
    const now = new Date();
    const countAfter = messages.length - plan.evict;
    const content = (tokensAfter: number): string =>
      summaryMessageContent({
        evicted: plan.evict,
        summary,
        time: now,
        stats: {
          trigger,
          context_tokens_before: inContext,
          context_tokens_after: tokensAfter,
          context_window: frame.contextWindow,
          messages_count_before: messages.length + (previous ? 1 : 0),
          messages_count_after: countAfter + 1,
        },
      });
    // the stats count the summary itself: measure it, then write it with its own size
    const summaryTokens = estimateMessageTokens({ content: content(plan.tokensAfter) });
    const text = content(plan.tokensAfter + summaryTokens);
    const usage = answer.usage;
    const write = async (tx: Queryable): Promise<StoredMessage> => {
      const row = await insertMessageOnce(tx, {
        agentId,
        ...key,
        role: 'user',
        content: text,
        kind: 'summary',
        tokens: estimateMessageTokens({ content: text }),
        sequenced: true,
      });
      await evictFromContext(tx, agentId, evicted.at(-1)!.seq!, row.id);
      await recordUsage(tx, {
        ...usageBase,
        promptTokens: usage?.prompt_tokens ?? 0,
        completionTokens: usage?.completion_tokens ?? 0,
        totalTokens: usage?.total_tokens ?? 0,
        latencyMs: Date.now() - started,
        outcome: 'ok',
      });
      return row;
    };
    const row = input.trigger === CompactionTrigger.Manual ? await withTransaction(db, write) : await withTurn(db, input.turnId, input.attempt, write);
    logger.info({ agentId, trigger, evicted: plan.evict, tokensBefore: inContext, tokensAfter: plan.tokensAfter + row.tokens, model }, 'compacted context');
    return {
      agentId,
      trigger,
      evictedMessages: plan.evict,
      summaryMessageId: row.id,
      tokensBefore: inContext,
      tokensAfter: plan.tokensAfter + row.tokens,
      model,
    };
  }

  return { compactContext };
}

/** `text` within `limit` tokens, cut at a word with an ellipsis when longer. */
function clipToTokens(text: string, limit: number): string {
  if (countTokens(text) <= limit) return text;
  let chars = Math.floor(text.length * (limit / countTokens(text)) * 0.95);
  while (chars > 0 && countTokens(text.slice(0, chars)) > limit - 2) chars = Math.floor(chars * 0.9);
  const cut = text.slice(0, chars);
  const space = cut.lastIndexOf(' ');
  return `${space > chars / 2 ? cut.slice(0, space) : cut} …`;
}
