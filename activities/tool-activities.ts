/**
 * The `runTool` activity: runs one tool call of a model step and stores its return.
 * Memory tools run inside the transaction that stores the return, so an edit is applied exactly
 * once however often the activity is retried; what they need from a model endpoint first (the
 * archival tools' embeddings) comes before that transaction opens. User tools run at least once
 * (their side effects are theirs); their result is stored once.
 * @module
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import type { AgentRecord } from '../src/db/agent-store.ts';
import { findTurnMessage, insertMessageOnce, tryInsertMessage, type NewMessage } from '../src/db/message-store.ts';
import { announceTurnEvent } from '../src/db/turn-events.ts';
import type { StoredMessage, StoredToolCall, ToolStatus } from '../src/domain/stored-message.ts';
import type { RunToolInput, RunToolResult } from '../src/domain/turn.ts';
import { embedTexts, EmbeddingError, type EmbedOptions } from '../src/llm/embeddings.ts';
import { estimateMessageTokens } from '../src/llm/token-count.ts';
import { stringifyToolResult, ToolError } from '../src/tools/define-tool.ts';
import type { Embedder, MemoryTool } from '../src/tools/memory-tools.ts';
import type { RegisteredTool } from '../src/tools/registry.ts';
import { loadAgentOrFail, type ActivityDeps } from './activity-deps.ts';
import { embeddingFailure } from './failure-boundary.ts';
import { assertOwnsTurn, withTurn } from './turn-fence.ts';

/** Longer tool results are cut: they would crowd the model's context out. */
export const MAX_TOOL_RETURN_CHARS = 20_000;

/**
 * One embedding request of a memory tool: it fits the call's timeout (MEMORY_TOOL_TIMEOUT_MS,
 * 30 s) with a retry by the SDK; Temporal retries the activity after that.
 */
const MEMORY_TOOL_EMBEDDING: EmbedOptions = { timeoutMs: 12_000, maxRetries: 1 };

class AlreadyStored extends Error {}

interface ToolOutcome {
  status: ToolStatus;
  content: string;
}

/** The model reads which argument was wrong and why. */
function invalidArguments(toolName: string, error: z.ZodError): ToolOutcome {
  const issues = error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ');
  return errorOutcome(`invalid arguments for ${toolName}: ${issues}`);
}

function errorOutcome(message: string): ToolOutcome {
  return { status: 'error', content: `Error: ${message}` };
}

function truncate(text: string): string {
  return text.length <= MAX_TOOL_RETURN_CHARS
    ? text
    : `${text.slice(0, MAX_TOOL_RETURN_CHARS)}\n[truncated ${text.length - MAX_TOOL_RETURN_CHARS} characters]`;
}

function toolReturn(input: RunToolInput, outcome: ToolOutcome, call: StoredToolCall): NewMessage {
  const content = truncate(outcome.content);
  return {
    agentId: input.agentId,
    turnId: input.turnId,
    step: input.step,
    idx: input.index,
    role: 'tool',
    content,
    toolCallId: call.id,
    toolName: call.name,
    toolStatus: outcome.status,
    tokens: estimateMessageTokens({ content }),
    sequenced: true,
  };
}

export function createToolActivities(deps: ActivityDeps) {
  const { db, tools, logger, models } = deps;

  /** The agent's embedder, or null without an embedding_config. */
  function embedderOf(agent: AgentRecord, signal: AbortSignal): Embedder | null {
    const config = agent.embedding_config;
    if (!config) return null;
    return async (texts) => ({ vectors: (await embedTexts(models, config, texts, { ...MEMORY_TOOL_EMBEDDING, signal })).vectors, model: config.embedding_model });
  }

  /** Runs the tool's `prepare` (no transaction open), heartbeating; an embedding failure fails the activity, typed. */
  async function prepareMemoryTool(tool: MemoryTool, args: z.output<MemoryTool['parameters']>, agent: AgentRecord): Promise<unknown> {
    if (!tool.prepare) return undefined;
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), 1000);
    try {
      return await tool.prepare(args, { agentId: agent.id, embed: embedderOf(agent, ctx.cancellationSignal) });
    } catch (error) {
      if (error instanceof EmbeddingError && !ctx.cancellationSignal.aborted) throw embeddingFailure(error);
      throw error;
    } finally {
      clearInterval(beat);
    }
  }

  /** Runs the call and stores its return; listeners of the turn hear that it is stored. */
  async function runTool(input: RunToolInput): Promise<RunToolResult> {
    const result = await callTool(input);
    announceTurnEvent(db, { kind: 'stored', turnId: input.turnId, attempt: input.attempt, step: input.step }, logger);
    return result;
  }

  async function callTool(input: RunToolInput): Promise<RunToolResult> {
    const { agentId, turnId, attempt, step, index } = input;
    const done = await findTurnMessage(db, agentId, turnId, step, index);
    if (done) return { messageId: done.id, status: done.toolStatus ?? 'success' };

    // calls are addressed by position: providers may omit or repeat their ids
    const call = (await findTurnMessage(db, agentId, turnId, step, 0))?.toolCalls?.[index - 1];
    if (!call) {
      throw ApplicationFailure.nonRetryable(`tool call #${index} of step ${step} of turn ${turnId} not found`, 'InvalidPayload');
    }
    await assertOwnsTurn(db, turnId, attempt);
    const agent = await loadAgentOrFail(db, agentId);

    const store = (outcome: ToolOutcome): Promise<StoredMessage> =>
      withTurn(db, turnId, attempt, (tx) => insertMessageOnce(tx, toolReturn(input, outcome, call)));

    let args: unknown;
    try {
      args = JSON.parse(call.arguments);
    } catch {
      const row = await store(errorOutcome(`arguments of ${call.name} are not valid JSON: ${call.arguments.slice(0, 200)}`));
      return { messageId: row.id, status: 'error' };
    }

    const entry = tools.get(call.name);
    if (!entry || !agent.tools.includes(call.name)) {
      const available = agent.tools.filter((t) => tools.get(t)).join(', ');
      const row = await store(errorOutcome(`tool "${call.name}" is not available. Available tools: ${available || 'none'}.`));
      return { messageId: row.id, status: 'error' };
    }

    const row =
      entry.kind === 'memory'
        ? await runMemoryTool(entry, args, input, call, agent)
        : await store(await runUserTool(entry, args, input, call));
    logger.debug({ agentId, turnId, step, tool: call.name, status: row.toolStatus }, 'tool ran');
    return { messageId: row.id, status: row.toolStatus ?? 'success' };
  }

  async function runMemoryTool(
    entry: Extract<RegisteredTool, { kind: 'memory' }>,
    rawArgs: unknown,
    input: RunToolInput,
    call: StoredToolCall,
    agent: AgentRecord,
  ): Promise<StoredMessage> {
    const parsed = entry.tool.parameters.safeParse(rawArgs);
    const storeOutcome = (outcome: ToolOutcome): Promise<StoredMessage> =>
      withTurn(db, input.turnId, input.attempt, (tx) => insertMessageOnce(tx, toolReturn(input, outcome, call)));
    if (!parsed.success) return storeOutcome(invalidArguments(entry.tool.name, parsed.error));
    let prepared: unknown;
    try {
      prepared = await prepareMemoryTool(entry.tool, parsed.data, agent);
    } catch (error) {
      if (!(error instanceof ToolError)) throw error;
      return storeOutcome(errorOutcome(error.message));
    }
    const callKey = `${input.agentId}/${input.turnId}/${input.step}/${input.index}`;
    try {
      // the edit, its tool return and the fence check commit together or not at all
      return await withTurn(db, input.turnId, input.attempt, async (tx) => {
        let outcome: ToolOutcome;
        await tx.query('SAVEPOINT tool');
        try {
          const value = await entry.tool.execute(parsed.data, { tx, agentId: input.agentId, callKey }, prepared);
          outcome = { status: 'success', content: stringifyToolResult(value) };
        } catch (error) {
          if (!(error instanceof ToolError)) throw error;
          await tx.query('ROLLBACK TO SAVEPOINT tool');
          outcome = errorOutcome(error.message);
        }
        await tx.query('RELEASE SAVEPOINT tool');
        const row = await tryInsertMessage(tx, toolReturn(input, outcome, call));
        // a concurrent attempt committed first: roll this attempt's edit back, keep the first
        if (!row) throw new AlreadyStored();
        return row;
      });
    } catch (error) {
      if (!(error instanceof AlreadyStored)) throw error;
      return (await findTurnMessage(db, input.agentId, input.turnId, input.step, input.index))!;
    }
  }

  async function runUserTool(
    entry: Extract<RegisteredTool, { kind: 'user' }>,
    rawArgs: unknown,
    input: RunToolInput,
    call: StoredToolCall,
  ): Promise<ToolOutcome> {
    const parsed = entry.tool.parameters.safeParse(rawArgs);
    if (!parsed.success) return invalidArguments(entry.tool.name, parsed.error);
    const ctx = Context.current();
    const { name } = entry.tool;
    const timeoutMs = tools.timeoutMsFor(name);
    const timeoutMessage = `tool ${name} timed out after ${timeoutMs / 1000} s`;
    // the tool's signal aborts on its own timeout or on the activity's cancellation
    const timeout = new AbortController();
    const TIMED_OUT = Symbol('timed out');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => {
        // settled before the abort, so a tool that rejects on abort does not win the race
        resolve(TIMED_OUT);
        timeout.abort(new Error(timeoutMessage));
      }, timeoutMs);
    });
    const beat = setInterval(() => ctx.heartbeat(), 1000);
    const running = (async () =>
      entry.tool.execute(parsed.data, {
        agentId: input.agentId,
        turnId: input.turnId,
        step: input.step,
        toolCallId: call.id,
        signal: AbortSignal.any([timeout.signal, ctx.cancellationSignal]),
      }))();
    // a tool that ignores its signal may settle after the race is over: nobody is left to tell
    running.catch(() => undefined);
    try {
      // a tool that never settles must not hold the activity past its timeout or its cancellation
      const value = await Promise.race([running, timedOut, ctx.cancelled]);
      if (value === TIMED_OUT) return errorOutcome(timeoutMessage);
      return { status: 'success', content: stringifyToolResult(value) };
    } catch (error) {
      if (ctx.cancellationSignal.aborted) throw error;
      return errorOutcome(error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timer);
      clearInterval(beat);
    }
  }

  return { runTool };
}

