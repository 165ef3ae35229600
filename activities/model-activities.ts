/**
 * The `callModel` activity: loads an agent's context from Postgres, calls its model, stores the
 * answer. Takes ids, returns ids and counters: no transcript passes through workflow history.
 * A memory consolidation turn (read from its turn record, so the workflow is the same for both
 * kinds) gets the conversation since the last consolidation instead of the recent context.
 * @module
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { findTurnMessage, insertMessageOnce, loadConsolidationMessages, loadContextSummary, loadRecentMessages } from '../src/db/message-store.ts';
import { findTurn } from '../src/db/turn-store.ts';
import { TurnKind } from '../src/domain/consolidation.ts';
import { recordUsage, stepUsage, type UsageRecord, type UsageServedBy } from '../src/db/usage-store.ts';
import { recordTokenCalibration } from '../src/db/token-calibration-store.ts';
import { selectContext } from '../src/domain/context-window.ts';
import { RETRYABLE_MODEL_ERRORS } from '../src/domain/errors.ts';
import type { Usage } from '../src/domain/letta-message.ts';
import type { StoredMessage, StoredToolCall } from '../src/domain/stored-message.ts';
import { DIRECT_DEPLOYMENT, type CallModelInput, type CallModelResult, type PickInput, type PickOutcome, type PlanOutcome, type StepKey } from '../src/domain/turn.ts';
import { streamIdleTimeoutMs } from '../src/domain/llm-config.ts';
import type { ModelPlan } from '../src/domain/model-chain.ts';
import type { FallbackRule, ModelDeployment, ModelGroup, ModelsConfig } from '../src/domain/model-policy.ts';
import { cooldownAfterFailure, pickDeployment as pickByStrategy, seededRandom, type Unavailable } from '../src/domain/routing.ts';
import { DIRECT_NUM_RETRIES, MODEL_CALL_START_TO_CLOSE_MS, MODEL_CHAIN_DEADLINE_MS } from '../src/domain/timeouts.ts';
import { budgetStatus } from '../src/db/budget-store.ts';
import { budgetExceededMessage } from '../src/domain/budget.ts';
import { beginDeploymentCall, endDeploymentCall, pruneRoutingState, readDeploymentLoads } from '../src/db/routing-store.ts';
import { NO_METRICS } from '../src/metrics/worker-metrics.ts';
import { streamChatCompletion, type StreamProgress } from '../src/llm/chat-completion.ts';
import { announceTurnEvent, stepMessageId } from '../src/db/turn-events.ts';
import { classifyModelError } from '../src/llm/error-classification.ts';
import { proxyMetaOfError, type ProxyCallMeta } from '../src/llm/litellm-metadata.ts';
import { estimateMessageTokens } from '../src/llm/token-count.ts';
import type { ToolRegistry } from '../src/tools/registry.ts';
import { ConfigError } from '../src/domain/errors.ts';
import { loadAgentOrFail, type ActivityDeps } from './activity-deps.ts';
import { createPromptFrames, type ToolRoute } from './context-frame.ts';
import { DeltaPublisher } from './delta-publisher.ts';
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
function servedBy(
  endpoint: string,
  meta: ProxyCallMeta | null | undefined,
  deploymentId: string | undefined,
): Pick<UsageRecord, 'deployment' | 'upstreamDeployment'> & UsageServedBy {
  return {
    // a routed call is the deployment of the models file; a direct one, what the proxy says
    deployment: deploymentId ?? meta?.modelId ?? endpoint,
    upstreamDeployment: deploymentId !== undefined ? (meta?.modelId ?? null) : null,
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
  const metrics = deps.metrics ?? NO_METRICS;
  const { agentTools, promptFrame } = createPromptFrames(deps);

  /** Cost of a call from `model_info` prices, when the endpoint reported none. */
  function priced(deployment: ModelDeployment | undefined, usage: Usage, reported: number | null | undefined): number | null {
    if (reported !== null && reported !== undefined) return reported;
    if (!deployment || (deployment.inputCostPerToken === null && deployment.outputCostPerToken === null)) return null;
    return usage.prompt_tokens * (deployment.inputCostPerToken ?? 0) + usage.completion_tokens * (deployment.outputCostPerToken ?? 0);
  }

  async function callModel(input: CallModelInput): Promise<CallModelResult> {
    const { agentId, turnId, attempt, step, route } = input;
    const agent = await loadAgentOrFail(db, agentId);
    const consolidation = (await findTurn(db, turnId))?.kind === TurnKind.Consolidation;
    // a consolidation rewrites memory: it is offered the memory tools only, never a user tool's side effects
    const offered = consolidation ? agent.tools.filter((n) => tools.get(n)?.kind === 'memory') : agent.tools;
    const done = await findTurnMessage(db, agentId, turnId, step, 0);
    if (done) {
      // an earlier attempt stored the answer and then lost its completion: do not call again
      announceTurnEvent(db, { kind: 'stored', turnId, attempt, step }, logger);
      const [{ routes }, used] = await Promise.all([agentTools(agentId, offered), stepUsage(db, agentId, turnId, step)]);
      return stepResult(routes, tools, done, used ?? NO_USAGE, done.toolCalls?.length ? 'tool_calls' : 'stop');
    }
    // no model call for an attempt that has lost its turn
    await assertOwnsTurn(db, turnId, attempt);

    const llm = agent.llm_config;
    const routed = route && route.deploymentId !== DIRECT_DEPLOYMENT ? models.deployment(route.deploymentId) : undefined;
    const group = route?.group ?? llm.model;
    const frame = await promptFrame(agent, offered, group, routed?.deployment);
    const { system, budget, routes, calibration: calibrated } = frame;
    // the summary of compacted messages opens the context (a consolidation reviews the messages themselves)
    const summary = consolidation ? null : await loadContextSummary(db, agentId);
    const room = Math.max(0, budget - (summary?.tokens ?? 0));
    const recent = consolidation
      ? // the conversation since the last consolidation, in context or not, then this turn's own messages
        await loadConsolidationMessages(db, agentId, turnId, agent.consolidated_through_seq, budget)
      : await loadRecentMessages(db, agentId, room);
    if (input.contextCheck && !consolidation) {
      // the messages are read until they cover the room: more means they do not all fit
      const inContext = recent.reduce((n, m) => n + m.tokens, 0);
      if (inContext > room) {
        return { messageId: '', toolCalls: [], finishReason: 'unknown', usage: NO_USAGE, contextFull: { tokens: inContext + (summary?.tokens ?? 0), budget } };
      }
    }
    const context = [...(summary ? [summary] : []), ...selectContext(recent, room)];
    const countedPrompt = frame.systemTokens + frame.toolTokens + context.reduce((n, m) => n + m.tokens, 0);

    const ctx = Context.current();
    const baseUrl = routed ? routed.baseUrl : models.resolveBaseUrl(llm.model_endpoint);
    const client = routed ? routed.client : models.get(llm.model_endpoint);
    const hasApiKey = routed ? routed.hasApiKey : models.hasApiKey;
    const usageBase = {
      agentId,
      workflowId: ctx.info.workflowExecution?.workflowId ?? null,
      turnId,
      step,
      attempt: ctx.info.attempt,
      modelGroup: group,
      chainAttempt: route?.chainAttempt ?? null,
      reason: route?.reason ?? null,
    };
    const deploymentLabel = routed?.deployment.id ?? baseUrl;
    // one row per attempt of the chain; a Temporal retry of the same attempt reuses it
    const call = { callId: `${turnId}/${attempt}/${step}/${route?.chainAttempt ?? ctx.info.attempt}`, deploymentId: deploymentLabel, group };
    if (routed) await beginDeploymentCall(db, { ...call, expiresInMs: MODEL_CALL_START_TO_CLOSE_MS });
    const started = Date.now();
    // heartbeat details: the stream's progress, so a stuck call is visible in `describe`
    let progress: StreamProgress = { chunks: 0 };
    const beat = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_EVERY_MS);
    // listeners (memloom serve's SSE) see the text as it streams, tagged with this attempt
    const deltas = new DeltaPublisher(db, { turnId, attempt, step, messageId: stepMessageId(turnId, step), call: `${route?.chainAttempt ?? 1}.${ctx.info.attempt}` }, logger);
    let answer;
    try {
      answer = await streamChatCompletion(
        client,
        {
          model: routed ? routed.deployment.upstreamModel : llm.model,
          messages: [{ role: 'system', content: system }, ...context.map(toChatMessage)],
          tools: frame.toolSchemas,
          temperature: llm.temperature,
          maxTokens: maxOutputTokens(llm.max_tokens, routed?.deployment),
          // a LiteLLM proxy with a database attributes spend per agent
          user: agentId,
        },
        {
          signal: ctx.cancellationSignal,
          idleTimeoutMs: routed?.deployment.streamTimeoutMs ?? streamIdleTimeoutMs(llm),
          onProgress: (next) => {
            progress = next;
            ctx.heartbeat(progress);
          },
          onDelta: (delta) => deltas.add(delta),
        },
      );
    } catch (error) {
      if (ctx.cancellationSignal.aborted) throw error;
      const failure = classifyModelError(error, { hasApiKey, baseUrl, modelGroup: group });
      const latencyMs = Date.now() - started;
      await recordUsage(db, {
        ...usageBase,
        ...servedBy(baseUrl, proxyMetaOfError(error), routed?.deployment.id),
        promptTokens: 0,
        completionTokens: 0,
        totalTokens: 0,
        latencyMs,
        outcome: failure.type,
      });
      if (routed) {
        const config = models.config!;
        const size = config.groups.find((g) => g.name === routed.deployment.group)?.deployments.length ?? 1;
        await endDeploymentCall(db, call, {
          ok: false,
          reason: `${failure.type}${failure.status !== undefined ? ` (${failure.status})` : ''}`,
          effect: cooldownAfterFailure(failure, config.router, size),
        });
      }
      metrics.modelCall({ group, deployment: deploymentLabel, outcome: failure.type, promptTokens: 0, completionTokens: 0, cost: null, latencyMs });
      logger.warn(
        { agentId, turnId, step, attempt: ctx.info.attempt, chainAttempt: route?.chainAttempt, deployment: routed?.deployment.id, type: failure.type, status: failure.status },
        'model call failed',
      );
      throw ApplicationFailure.create({
        type: failure.type,
        message: failure.message,
        nonRetryable: !RETRYABLE_MODEL_ERRORS.includes(failure.type),
        // the workflow's chain reads the provider's Retry-After from the details
        details: [{ retryAfterMs: failure.retryAfterMs ?? null }],
        ...(failure.retryAfterMs !== undefined ? { nextRetryDelay: failure.retryAfterMs } : {}),
      });
    } finally {
      clearInterval(beat);
      deltas.end();
    }

    const usage = answer.usage ?? {
      prompt_tokens: Math.round(countedPrompt * calibrated.ratio),
      completion_tokens: estimateMessageTokens(answer),
      total_tokens: 0,
    };
    if (usage.total_tokens === 0) usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const toolCalls = normalizeToolCallIds(answer.toolCalls, step);
    const latencyMs = Date.now() - started;
    const served = servedBy(baseUrl, answer.meta, routed?.deployment.id);
    const cost = priced(routed?.deployment, usage, served.cost);
    const stored = await withTurn(db, turnId, attempt, async (tx) => {
      const row = await insertMessageOnce(tx, {
        id: stepMessageId(turnId, step),
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
        ...served,
        cost,
        promptTokens: usage.prompt_tokens,
        completionTokens: usage.completion_tokens,
        totalTokens: usage.total_tokens,
        latencyMs,
        outcome: 'ok',
      });
      if (routed) await endDeploymentCall(tx, call, { ok: true, latencyMs, tokens: usage.total_tokens });
      await recordTokenCalibration(tx, { agentId, model: group, previous: calibrated, counted: countedPrompt, reported: answer.usage?.prompt_tokens ?? null });
      return row;
    });
    deltas.stored();
    metrics.modelCall({
      group,
      deployment: deploymentLabel,
      outcome: 'ok',
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      cost,
      latencyMs,
    });
    // now and then, drop routing rows nobody reads any more
    if (routed && Math.random() < PRUNE_CHANCE) await pruneRoutingState(db).catch((error: unknown) => logger.warn({ err: error }, 'pruning routing state failed'));
    return stepResult(routes, tools, stored, usage, answer.finishReason);
  }

  /** The router's pick among `groups` (in order: the first with a free deployment takes the call). */
  async function pickAmong(config: ModelsConfig, groups: readonly string[], options: { avoid?: string | undefined; requireOther: boolean; seed: string }): Promise<PickOutcome> {
    const candidates = groups.flatMap((name) => config.groups.filter((g) => g.name === name));
    const deployments = candidates.flatMap((g) => g.deployments);
    const { now, loads } = await readDeploymentLoads(
      db,
      deployments.map((d) => ({ id: d.id, hasBudget: d.maxBudget !== null, budgetWindowMs: d.budgetDuration?.ms ?? null })),
    );
    const random = seededRandom(options.seed);
    const blocked: { group: string; until: number; why: Unavailable[] }[] = [];
    for (const [i, group] of candidates.entries()) {
      const first = i === 0;
      const pick = pickByStrategy(group, loads, {
        strategy: config.router.routingStrategy,
        now,
        random,
        ...(first && options.avoid !== undefined ? { avoid: options.avoid } : {}),
        requireOther: first && options.requireOther,
      });
      if (pick.kind === 'picked') return { kind: 'picked', group: group.name, deploymentId: pick.deployment.id };
      if (pick.kind === 'unavailable') blocked.push({ group: group.name, until: pick.until, why: pick.blocked });
    }
    const until = Math.min(...blocked.map((b) => b.until));
    const reason =
      blocked.length === 0
        ? `no other deployment of ${groups.join(', ')}`
        : blocked
            .map((b) => `${blocked.length > 1 ? `${b.group}: ` : ''}${b.why.map((w) => `${w.deploymentId} ${w.reason}`).join(', ')}`)
            .join('; ');
    // the database's clock decided; the workflow waits by its own, so say how long from now
    return { kind: 'unavailable', until: Date.now() + (until - now), reason, overBudget: blocked.length > 0 && blocked.every((b) => b.why.every((w) => w.overBudget)) };
  }

  /**
   * The policy of one model step (a local activity, once per step): the agent's group and its
   * retries and fallbacks from the models file (or one direct deployment without it), the
   * agent's budget, and the first attempt's deployment.
   */
  async function planModelCall(key: StepKey): Promise<PlanOutcome> {
    const agent = await loadAgentOrFail(db, key.agentId);
    const verdict =
      agent.max_budget === null ? null : await budgetStatus(db, agent.id, { maxBudget: agent.max_budget, duration: agent.budget_duration });
    if (verdict?.exceeded) return { kind: 'refused', type: 'BudgetExceeded', message: budgetExceededMessage(agent.name, verdict) };
    const config = models.config;
    const group = config?.groups.find((g) => g.name === agent.llm_config.model);
    if (!config || !group) {
      if (config && agent.llm_config.model_endpoint === undefined && !models.hasDefaultEndpoint) {
        throw new ConfigError(
          `model "${agent.llm_config.model}" of agent ${agent.name} is not a model group of the models file (known: ${config.groups.map((g) => g.name).join(', ')}) and no LLM_BASE_URL is set for other models`,
        );
      }
      const plan: ModelPlan = {
        mode: 'direct',
        group: agent.llm_config.model,
        numRetries: DIRECT_NUM_RETRIES,
        retryAfterMs: 0,
        deadlineMs: MODEL_CHAIN_DEADLINE_MS,
        fallbacks: [],
        contextWindowFallbacks: [],
        contentPolicyFallbacks: [],
      };
      return { kind: 'plan', plan, pick: { kind: 'picked', group: plan.group, deploymentId: DIRECT_DEPLOYMENT } };
    }
    const plan = routedPlan(config, group);
    const pick = await pickAmong(config, [plan.group, ...plan.fallbacks], { requireOther: false, seed: `${key.turnId}/${key.attempt}/${key.step}/1` });
    return { kind: 'plan', plan, pick };
  }

  /** The router's pick for a later attempt of a step (a local activity). */
  async function pickDeployment(input: PickInput): Promise<PickOutcome> {
    const config = models.config;
    if (!config) throw new ConfigError('this worker has no models file (MEMLOOM_MODELS), but the agent\'s step was routed by one: workers must share one models file');
    return pickAmong(config, input.groups, {
      avoid: input.avoid,
      requireOther: input.requireOther,
      seed: `${input.turnId}/${input.attempt}/${input.step}/${input.chainAttempt}`,
    });
  }

  return { callModel, planModelCall, pickDeployment };
}

/** How often a successful routed call prunes old routing rows. */
const PRUNE_CHANCE = 0.01;

/** The step's policy for a group of the models file. */
export function routedPlan(config: ModelsConfig, group: ModelGroup): ModelPlan {
  const { router } = config;
  const rulesFor = (rules: readonly FallbackRule[]): string[] =>
    (rules.find((r) => r.group === group.name) ?? rules.find((r) => r.group === '*'))?.fallbacks.filter((g) => g !== group.name) ?? [];
  const fallbacks = rulesFor(router.fallbacks);
  return {
    mode: 'routed',
    group: group.name,
    numRetries: router.numRetries,
    retryAfterMs: router.retryAfterMs,
    deadlineMs: MODEL_CHAIN_DEADLINE_MS,
    fallbacks: [...fallbacks, ...router.defaultFallbacks.filter((g) => g !== group.name && !fallbacks.includes(g))],
    contextWindowFallbacks: rulesFor(router.contextWindowFallbacks),
    contentPolicyFallbacks: rulesFor(router.contentPolicyFallbacks),
  };
}

/** The agent's `max_tokens`, within the deployment's `max_output_tokens`. */
function maxOutputTokens(agentMax: number | undefined, deployment: ModelDeployment | undefined): number | undefined {
  const cap = deployment?.maxOutputTokens ?? undefined;
  if (agentMax === undefined) return cap;
  return cap === undefined ? agentMax : Math.min(agentMax, cap);
}
