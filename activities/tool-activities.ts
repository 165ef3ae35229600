/**
 * The `runTool` activity: runs one tool call of a model step and stores its return.
 * Memory tools run inside the transaction that stores the return, so an edit is applied exactly
 * once however often the activity is retried. User tools run at least once (their side effects
 * are theirs); their result is stored once.
 * @module
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import { findTurnMessage, insertMessageOnce, tryInsertMessage, type NewMessage } from '../src/db/message-store.ts';
import { withTransaction, type Queryable } from '../src/db/pool.ts';
import type { StoredMessage, ToolStatus } from '../src/domain/stored-message.ts';
import type { RunToolInput, RunToolResult } from '../src/domain/turn.ts';
import { estimateMessageTokens } from '../src/llm/token-count.ts';
import { stringifyToolResult, ToolError } from '../src/tools/define-tool.ts';
import type { RegisteredTool } from '../src/tools/registry.ts';
import { loadAgentOrFail, type ActivityDeps } from './activity-deps.ts';

/** Longer tool results are cut: they would crowd the model's context out. */
export const MAX_TOOL_RETURN_CHARS = 20_000;

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

function toolReturn(input: RunToolInput, outcome: ToolOutcome, toolName: string): NewMessage {
  const content = truncate(outcome.content);
  return {
    agentId: input.agentId,
    turnId: input.turnId,
    step: input.step,
    idx: input.index,
    role: 'tool',
    content,
    toolCallId: input.toolCallId,
    toolName,
    toolStatus: outcome.status,
    tokens: estimateMessageTokens({ content }),
    sequenced: true,
  };
}

export function createToolActivities(deps: ActivityDeps) {
  const { db, tools, logger } = deps;

  async function runTool(input: RunToolInput): Promise<RunToolResult> {
    const { agentId, turnId, step, index, toolCallId } = input;
    const done = await findTurnMessage(db, agentId, turnId, step, index);
    if (done) return { messageId: done.id, status: done.toolStatus ?? 'success' };

    const callMessage = await findTurnMessage(db, agentId, turnId, step, 0);
    const call = callMessage?.toolCalls?.find((c) => c.id === toolCallId);
    if (!callMessage || !call) {
      throw ApplicationFailure.nonRetryable(`tool call ${toolCallId} of step ${step} not found`, 'InvalidPayload');
    }
    const agent = await loadAgentOrFail(db, agentId);

    const store = (tx: Queryable, outcome: ToolOutcome): Promise<StoredMessage> =>
      insertMessageOnce(tx, toolReturn(input, outcome, call.name));

    let args: unknown;
    try {
      args = JSON.parse(call.arguments);
    } catch {
      const row = await store(db, errorOutcome(`arguments of ${call.name} are not valid JSON: ${call.arguments.slice(0, 200)}`));
      return { messageId: row.id, status: 'error' };
    }

    const entry = tools.get(call.name);
    if (!entry || !agent.tools.includes(call.name)) {
      const available = agent.tools.filter((t) => tools.get(t)).join(', ');
      const row = await store(db, errorOutcome(`tool "${call.name}" is not available. Available tools: ${available || 'none'}.`));
      return { messageId: row.id, status: 'error' };
    }

    const row =
      entry.kind === 'memory'
        ? await runMemoryTool(entry, args, input)
        : await store(db, await runUserTool(entry, args, input));
    logger.debug({ agentId, turnId, step, tool: call.name, status: row.toolStatus }, 'tool ran');
    return { messageId: row.id, status: row.toolStatus ?? 'success' };
  }

  async function runMemoryTool(
    entry: Extract<RegisteredTool, { kind: 'memory' }>,
    rawArgs: unknown,
    input: RunToolInput,
  ): Promise<StoredMessage> {
    const parsed = entry.tool.parameters.safeParse(rawArgs);
    if (!parsed.success) return insertMessageOnce(db, toolReturn(input, invalidArguments(entry.tool.name, parsed.error), entry.tool.name));
    const callKey = `${input.agentId}/${input.turnId}/${input.step}/${input.index}`;
    try {
      return await withTransaction(db, async (tx) => {
        let outcome: ToolOutcome;
        await tx.query('SAVEPOINT tool');
        try {
          const value = await entry.tool.execute(parsed.data, { tx, agentId: input.agentId, callKey });
          outcome = { status: 'success', content: stringifyToolResult(value) };
        } catch (error) {
          if (!(error instanceof ToolError)) throw error;
          await tx.query('ROLLBACK TO SAVEPOINT tool');
          outcome = errorOutcome(error.message);
        }
        await tx.query('RELEASE SAVEPOINT tool');
        const row = await tryInsertMessage(tx, toolReturn(input, outcome, entry.tool.name));
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
  ): Promise<ToolOutcome> {
    const parsed = entry.tool.parameters.safeParse(rawArgs);
    if (!parsed.success) return invalidArguments(entry.tool.name, parsed.error);
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), 1000);
    try {
      const value = await entry.tool.execute(parsed.data, {
        agentId: input.agentId,
        turnId: input.turnId,
        step: input.step,
        toolCallId: input.toolCallId,
        signal: ctx.cancellationSignal,
      });
      return { status: 'success', content: stringifyToolResult(value) };
    } catch (error) {
      if (ctx.cancellationSignal.aborted) throw error;
      return errorOutcome(error instanceof Error ? error.message : String(error));
    } finally {
      clearInterval(beat);
    }
  }

  return { runTool };
}

