/**
 * The frame of an agent's prompt, shared by the model call and compaction: the compiled system
 * prompt, the tool schemas the model is offered (and where each tool runs), and the tokens left
 * for messages in the context window, in memloom's counted tokens converted by the agent's
 * calibration for the model group.
 * @module
 */
import type { ChatCompletionTool } from 'openai/resources/chat/completions';
import type { AgentRecord } from '../src/db/agent-store.ts';
import { getBlocks } from '../src/db/agent-store.ts';
import { getTokenCalibration, type TokenCalibration } from '../src/db/token-calibration-store.ts';
import { findPublishedTools } from '../src/db/tool-store.ts';
import { messageBudget } from '../src/domain/context-window.ts';
import { compileSystemPrompt } from '../src/domain/memory-render.ts';
import type { ModelDeployment } from '../src/domain/model-policy.ts';
import { promptFrameTokens } from '../src/llm/token-count.ts';
import type { ActivityDeps } from './activity-deps.ts';

/** Where and how long a call of a tool runs: memory tools here, user tools where they are. */
export type ToolRoute = { timeoutMs: number; taskQueue?: string };

export interface PromptFrame {
  system: string;
  toolSchemas: ChatCompletionTool[];
  routes: Map<string, ToolRoute>;
  systemTokens: number;
  toolTokens: number;
  /** Counted tokens left for messages. */
  budget: number;
  /** The window the budget was taken from. */
  contextWindow: number;
  calibration: TokenCalibration;
}

export function createPromptFrames(deps: Pick<ActivityDeps, 'db' | 'tools' | 'logger'>) {
  const { db, tools, logger } = deps;

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

  /**
   * The frame of a prompt of `agent` offered `toolNames`, for model group `group`. A
   * context-window fallback group (not the agent's own) with a larger `max_input_tokens` lends
   * its window.
   */
  async function promptFrame(agent: AgentRecord, toolNames: readonly string[], group: string, deployment?: ModelDeployment): Promise<PromptFrame> {
    const llm = agent.llm_config;
    const [{ schemas, routes }, blocks, calibration] = await Promise.all([
      agentTools(agent.id, toolNames),
      getBlocks(db, agent.id),
      getTokenCalibration(db, agent.id, group),
    ]);
    const system = compileSystemPrompt(agent.system, blocks);
    const frame = promptFrameTokens(system, schemas.flatMap((t) => (t.type === 'function' ? [t.function] : [])));
    const lent = group !== llm.model ? (deployment?.maxInputTokens ?? 0) : 0;
    const contextWindow = Math.max(llm.context_window, lent);
    const budget = messageBudget({ contextWindow, ...frame, maxOutputTokens: llm.max_tokens, calibration: calibration.ratio });
    return { system, toolSchemas: schemas, routes, ...frame, budget, contextWindow, calibration };
  }

  return { agentTools, promptFrame };
}
