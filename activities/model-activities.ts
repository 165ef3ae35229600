/**
 * The `callModel` activity: loads an agent's context from Postgres, calls its model, stores the
 * answer. Takes ids, returns ids and counters: no transcript passes through workflow history.
 * @module
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { getBlocks } from '../src/db/agent-store.ts';
import { findPublishedTools } from '../src/db/tool-store.ts';
import { findTurnMessage, insertMessageOnce, loadRecentMessages } from '../src/db/message-store.ts';
import { recordUsage, stepUsage, type UsageRecord, type UsageServedBy } from '../src/db/usage-store.ts';
import { messageBudget, selectContext } from '../src/domain/context-window.ts';
import { RETRYABLE_MODEL_ERRORS } from '../src/domain/errors.ts';
import type { Usage } from '../src/domain/letta-message.ts';
import { compileSystemPrompt } from '../src/domain/memory-render.ts';
import type { StoredMessage, StoredToolCall } from '../src/domain/stored-message.ts';
import type { CallModelResult, StepKey } from '../src/domain/turn.ts';
import { streamIdleTimeoutMs } from '../src/domain/llm-config.ts';
import { streamChatCompletion, type StreamProgress } from '../src/llm/chat-completion.ts';
import { classifyModelError } from '../src/llm/error-classification.ts';
import { proxyMetaOfError, type ProxyCallMeta } from '../src/llm/litellm-metadata.ts';
import { estimateMessageTokens, estimateTokens } from '../src/llm/token-count.ts';
import type { ToolRegistry } from '../src/tools/registry.ts';
import { loadAgentOrFail, type ActivityDeps } from './activity-deps.ts';
import { assertOwnsTurn, withTurn } from './turn-fence.ts';

/**
 * How often a model call heartbeats while it waits (a long time to first token must not trip the
 * 10 s heartbeatTimeout); each chunk heartbeats too (the SDK throttles). A stalled stream is the
 * stream idle timeout's to detect, not the heartbeat's: the worker is alive.
 */
const HEARTBEAT_EVERY_MS = 1000;

export function toChatMessage(m: StoredMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case 'user':
      return { role: 'user', content: m.content ?? '' };
    case 'system':
      return { role: 'system', content: m.content ?? '' };
    case 'tool':
      return { role: 'tool', tool_call_id: m.toolCallId ?? '', content: m.content ?? '' };
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls && m.toolCalls.length > 0
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function' as const,
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : {}),
      };
  }
}

/**
 * Tool-call ids as stored: unique within the step. Providers may omit ids or repeat them
 * (`call_0` on every call); a missing or repeated id gets `call_<step>_<position>`.
 */
export function normalizeToolCallIds(calls: readonly StoredToolCall[], step: number): StoredToolCall[] {
  const seen = new Set<string>();
  return calls.map((call, i) => {
    let id = call.id.trim();
    if (id === '' || seen.has(id)) id = `call_${step}_${i + 1}`;
    while (seen.has(id)) id = `${id}_`;
    seen.add(id);
    return { ...call, id };
  });
}

/** Where and how long a call of a tool runs: memory tools here, user tools where they are. */
type ToolRoute = { timeoutMs: number; taskQueue?: string };

function stepResult(
  routes: ReadonlyMap<string, ToolRoute>,
  tools: ToolRegistry,
  m: StoredMessage,
  usage: Usage,
  finishReason: CallModelResult['finishReason'],
): CallModelResult {
  return {
    messageId: m.id,
    // a name the agent does not have runs here and becomes an error result the model reads
    toolCalls: (m.toolCalls ?? []).map((c) => ({ name: c.name, ...(routes.get(c.name) ?? { timeoutMs: tools.timeoutMsFor(c.name) }) })),
    finishReason,
    usage,
  };
}

const NO_USAGE: Usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

/**
 * The usage fields a LiteLLM proxy's report fills in: the deployment that answered (its id, else
 * the endpoint called), the group that served it, and the proxy's cost.
 */
function servedBy(endpoint: string, meta: ProxyCallMeta | null | undefined): Pick<UsageRecord, 'deployment'> & UsageServedBy {
  return {
    deployment: meta?.modelId ?? endpoint,
    endpoint,
    modelGroupServed: meta?.modelGroup ?? null,
    apiBase: meta?.apiBase ?? null,
    callId: meta?.callId ?? null,
    attemptedRetries: meta?.attemptedRetries ?? null,
    attemptedFallbacks: meta?.attemptedFallbacks ?? null,
    cost: meta?.cost ?? null,
  };
}

export function createModelActivities(deps: ActivityDeps) {
  const { db, tools, models, logger } = deps;

  /**
   * The agent's tools as the model sees them, and where each runs: memory tools on this task
   * queue, user tools on the task queue of the workers that published them.
   */
  async function agentTools(agentId: string, names: readonly string[]): Promise<{ schemas: ChatCompletionTool[]; routes: Map<string, ToolRoute> }> {
    const memory = names.filter((n) => tools.get(n)?.kind === 'memory');
    const published = await findPublishedTools(db, names.filter((n) => tools.get(n)?.kind !== 'memory'));
    const routes = new Map<string, ToolRoute>(memory.map((n) => [n, { timeoutMs: tools.timeoutMsFor(n) }]));
    for (const t of published) routes.set(t.name, { timeoutMs: t.timeoutMs, taskQueue: t.taskQueue });
    const unknown = names.filter((n) => !routes.has(n));
    if (unknown.length > 0) logger.warn({ agentId, tools: unknown }, 'agent names tools no worker has registered');
    const schemas: ChatCompletionTool[] = [
      ...tools.schemasFor(memory).tools,
      ...published.map((t) => ({ type: 'function' as const, function: { name: t.name, description: t.description, parameters: t.parameters } })),
    ];
    return { schemas, routes };
  }

  async function callModel(key: StepKey): Promise<CallModelResult> {
    const { agentId, turnId, attempt, step } = key;
    const agent = await loadAgentOrFail(db, agentId);
    const { schemas: toolSchemas, routes } = await agentTools(agentId, agent.tools);
    const done = await findTurnMessage(db, agentId, turnId, step, 0);
    if (done) {
      // an earlier attempt stored the answer and then lost its completion: do not call again
      const used = await stepUsage(db, agentId, turnId, step);
      return stepResult(routes, tools, done, used ?? NO_USAGE, done.toolCalls?.length ? 'tool_calls' : 'stop');
    }
    // no model call for an attempt that has lost its turn
    await assertOwnsTurn(db, turnId, attempt);

    const llm = agent.llm_config;
    const system = compileSystemPrompt(agent.system, await getBlocks(db, agentId));
    const budget = messageBudget({
      contextWindow: llm.context_window,
      systemTokens: estimateTokens(system),
      toolTokens: estimateTokens(JSON.stringify(toolSchemas)),
      maxOutputTokens: llm.max_tokens,
    });
    const context = selectContext(await loadRecentMessages(db, agentId, budget), budget);

    const ctx = Context.current();
    const baseUrl = models.resolveBaseUrl(llm.model_endpoint);
    const usageBase = {
      agentId,
      workflowId: ctx.info.workflowExecution?.workflowId ?? null,
      turnId,
      step,
      attempt: ctx.info.attempt,
      modelGroup: llm.model,
    };
    const started = Date.now();
    // heartbeat details: the stream's progress, so a stuck call is visible in `describe`
    let progress: StreamProgress = { chunks: 0 };
    const beat = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_EVERY_MS);
    let answer;
    try {
      answer = await streamChatCompletion(
        models.get(llm.model_endpoint),
        {
          model: llm.model,
          messages: [{ role: 'system', content: system }, ...context.map(toChatMessage)],
          tools: toolSchemas,
          temperature: llm.temperature,
          maxTokens: llm.max_tokens,
          // a LiteLLM proxy with a database attributes spend per agent
          user: agentId,
        },
        {
          signal: ctx.cancellationSignal,
          idleTimeoutMs: streamIdleTimeoutMs(llm),
          onProgress: (next) => {
            progress = next;
            ctx.heartbeat(progress);
          },
        },
      );
    } catch (error) {
      if (ctx.cancellationSignal.aborted) throw error;
      const failure = classifyModelError(error, { hasApiKey: models.hasApiKey, baseUrl, modelGroup: llm.model });
      await recordUsage(db, {
        ...usageBase,
        ...servedBy(baseUrl, proxyMetaOfError(error)),
        promptTokens: 0,
        completionTokens: 0,
        totalTokens: 0,
        latencyMs: Date.now() - started,
        outcome: failure.type,
      });
      logger.warn({ agentId, turnId, step, attempt: ctx.info.attempt, type: failure.type, status: failure.status }, 'model call failed');
      throw ApplicationFailure.create({
        type: failure.type,
        message: failure.message,
        nonRetryable: !RETRYABLE_MODEL_ERRORS.includes(failure.type),
        ...(failure.retryAfterMs !== undefined ? { nextRetryDelay: failure.retryAfterMs } : {}),
      });
    } finally {
      clearInterval(beat);
    }

    const usage = answer.usage ?? {
      prompt_tokens: estimateTokens(system) + context.reduce((n, m) => n + m.tokens, 0),
      completion_tokens: estimateMessageTokens(answer),
      total_tokens: 0,
    };
    if (usage.total_tokens === 0) usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const toolCalls = normalizeToolCallIds(answer.toolCalls, step);
    const stored = await withTurn(db, turnId, attempt, async (tx) => {
      const row = await insertMessageOnce(tx, {
        agentId,
        turnId,
        step,
        idx: 0,
        role: 'assistant',
        content: answer.content,
        reasoning: answer.reasoning,
        toolCalls: toolCalls.length > 0 ? toolCalls : null,
        tokens: estimateMessageTokens(answer),
        sequenced: true,
      });
      await recordUsage(tx, {
        ...usageBase,
        ...servedBy(baseUrl, answer.meta),
        promptTokens: usage.prompt_tokens,
        completionTokens: usage.completion_tokens,
        totalTokens: usage.total_tokens,
        latencyMs: Date.now() - started,
        outcome: 'ok',
      });
      return row;
    });
    return stepResult(routes, tools, stored, usage, answer.finishReason);
  }

  return { callModel };
}
