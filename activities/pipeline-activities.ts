/**
 * Activities of the pipeline workflow. The pipeline's own functions (which agent, what message,
 * the output) run here, on the worker that registered the pipeline; each stage message goes to
 * its agent through the agent's own mailbox (`userMessage`), under a message id derived from the
 * run, the stage and the item, so a retried or resumed stage never asks twice.
 * @module
 */
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { MemloomClient } from '../src/client/memloom-client.ts';
import { createRun, expandStageOnce, findRun, finishRun, markStageItem, stageItems, stageOutputs } from '../src/db/pipeline-store.ts';
import { NotFoundError, TurnFailedError, ValidationError } from '../src/domain/errors.ts';
import type { LettaResponse } from '../src/domain/letta-message.ts';
import { DEFAULT_STAGE_CONCURRENCY, type AgentRef, type PipelineDefinition, type StageContext } from '../src/pipelines/define-pipeline.ts';
import type { PipelinePlan, PlannedItem, StageItemKey, StageItemResult } from '../src/domain/pipeline.ts';
import type { PipelineRegistry } from '../src/pipelines/registry.ts';
import type { ActivityDeps } from './activity-deps.ts';

/** What the pipeline activities need beyond the common dependencies. */
export interface PipelineDeps {
  pipelines: PipelineRegistry;
  /** A client of this worker's stack, to create agents and send stage messages. */
  client: () => Promise<MemloomClient>;
}

/** How often a stage message heartbeats while its agent works. */
const HEARTBEAT_EVERY_MS = 5000;

/** `message-<uuid>` from the run, the stage and the item: the same on every retry. */
export function stageMessageId(workflowId: string, stage: string, item: number): string {
  const h = createHash('sha256').update(`${workflowId}\n${stage}\n${item}`).digest('hex');
  return `message-${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The text of the last assistant message of a turn's answer. */
function answerText(r: LettaResponse): string {
  for (const m of [...r.messages].reverse()) if (m.message_type === 'assistant_message') return m.content;
  return '';
}

export function createPipelineActivities(deps: ActivityDeps & Partial<PipelineDeps>) {
  const { db } = deps;
  const registry = (): PipelineRegistry => {
    if (!deps.pipelines) throw ApplicationFailure.nonRetryable('this worker runs no pipelines', 'ConfigError');
    return deps.pipelines;
  };
  const client = (): Promise<MemloomClient> => {
    if (!deps.client) throw ApplicationFailure.nonRetryable('this worker has no client for pipeline stages', 'ConfigError');
    return deps.client();
  };

  async function contextOf(workflowId: string, def: PipelineDefinition): Promise<StageContext<Record<string, unknown>>> {
    const run = await findRun(db, workflowId);
    if (!run) throw ApplicationFailure.nonRetryable(`no pipeline run ${workflowId}`, 'InternalError');
    return { input: def.input.parse(run.input), outputs: await stageOutputs(db, workflowId) };
  }

  /** The agent a stage names: by id or name, or created from its template on first use. */
  async function resolveAgent(ref: AgentRef, stage: string): Promise<{ id: string; name: string }> {
    const c = await client();
    const name = typeof ref === 'string' ? ref : ref.name;
    try {
      const a = await c.getAgent(name);
      return { id: a.id, name: a.name };
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      if (typeof ref === 'string') {
        throw ApplicationFailure.nonRetryable(`stage ${stage}: no agent named ${ref}`, 'AgentNotFound');
      }
    }
    const template = ref as Exclude<AgentRef, string>;
    const defaults = await c.getDefaultLlmConfig();
    const llm = template.llm_config ?? defaults ?? undefined;
    try {
      const created = await c.createAgent({
        ...template,
        ...(llm ? { llm_config: defaults && template.llm_config ? { ...defaults, ...template.llm_config } : llm } : {}),
      });
      return { id: created.id, name: created.name };
    } catch (error) {
      // another stage created it meanwhile
      if ((error as { code?: string }).code === 'conflict') {
        const a = await c.getAgent(template.name);
        return { id: a.id, name: a.name };
      }
      if (error instanceof ValidationError) throw ApplicationFailure.nonRetryable(`stage ${stage}: agent template ${template.name}: ${error.message}`, 'InvalidPayload');
      throw error;
    }
  }

  /** Validates the input with the pipeline's schema, records the run, and returns its stages. */
  async function planPipeline(input: { workflowId: string; name: string; input: unknown; maxBudget: number | null }): Promise<PipelinePlan> {
    const def = registry().require(input.name);
    const parsed = def.input.safeParse(input.input);
    if (!parsed.success) {
      const error = ValidationError.fromZod(parsed.error, `input of pipeline ${def.name}`);
      throw ApplicationFailure.nonRetryable(error.message, 'InvalidPayload');
    }
    await createRun(db, { workflowId: input.workflowId, name: def.name, input: parsed.data, maxBudget: input.maxBudget });
    return {
      summary: def.summary?.(parsed.data) ?? def.name,
      stages: def.stageNames.map((name) => ({
        name,
        after: [...(def.stages[name]!.after ?? [])],
        concurrency: def.stages[name]!.concurrency ?? DEFAULT_STAGE_CONCURRENCY,
      })),
    };
  }

  /** A stage's messages: their agents and message ids, decided once and stored. */
  async function expandStage(key: { workflowId: string; name: string; stage: string }): Promise<PlannedItem[]> {
    const def = registry().require(key.name);
    const stage = def.stages[key.stage];
    if (!stage) throw ApplicationFailure.nonRetryable(`pipeline ${def.name} has no stage ${key.stage}`, 'InternalError');
    const stored = await stageItems(db, key.workflowId, key.stage);
    let items = stored;
    if (stored.length === 0) {
      const ctx = await contextOf(key.workflowId, def);
      const labels: (string | null)[] = stage.forEach ? [...stage.forEach(ctx)] : [null];
      const resolved = new Map<string, { id: string; name: string }>();
      const planned = [];
      for (const [i, label] of labels.entries()) {
        const ref = stage.agent({ ...ctx, item: label ?? undefined, index: i });
        const refKey = typeof ref === 'string' ? ref : ref.name;
        let agent = resolved.get(refKey);
        if (!agent) resolved.set(refKey, (agent = await resolveAgent(ref, key.stage)));
        planned.push({ item: i + 1, label, agentId: agent.id, messageId: stageMessageId(key.workflowId, key.stage, i + 1) });
      }
      items = await expandStageOnce(db, key.workflowId, key.stage, planned);
    }
    const c = await client();
    const names = new Map<string, string>();
    for (const i of items) if (i.agentId && !names.has(i.agentId)) names.set(i.agentId, (await c.getAgent(i.agentId)).name);
    return items.map((i) => ({ item: i.item, label: i.label, agentId: i.agentId!, agentName: names.get(i.agentId!) ?? i.agentId! }));
  }

  /** Sends one stage message through its agent's mailbox and waits for the answer. */
  async function runStageItem(key: StageItemKey): Promise<StageItemResult> {
    const def = registry().require(key.name);
    const stage = def.stages[key.stage]!;
    const item = (await stageItems(db, key.workflowId, key.stage)).find((i) => i.item === key.item);
    if (!item?.agentId) throw ApplicationFailure.nonRetryable(`stage ${key.stage} item ${key.item} was not expanded`, 'InternalError');
    const ctx = await contextOf(key.workflowId, def);
    const text = stage.message({ ...ctx, item: item.label ?? undefined });
    await markStageItem(db, key, { status: 'running' });
    const activity = Context.current();
    const beat = setInterval(() => activity.heartbeat(), HEARTBEAT_EVERY_MS);
    const c = await client();
    try {
      const cancelled = new Promise<never>((_, reject) => {
        activity.cancellationSignal.addEventListener('abort', () => reject(new CancelledFailure('the pipeline run was cancelled')), { once: true });
      });
      // the turn itself goes on in the agent if the run is cancelled: only the wait ends
      const answer = await Promise.race([c.userMessage(item.agentId, text, { messageId: item.messageId, maxSteps: stage.maxSteps ?? 10 }), cancelled]);
      const output = answerText(answer);
      await markStageItem(db, key, { status: 'completed', output });
      return { status: 'completed', errorType: null, errorMessage: null, ...(await turnCost(item.messageId)) };
    } catch (error) {
      if (error instanceof CancelledFailure) {
        // the turn goes on in its agent; this run stops waiting for it
        await markStageItem(db, key, { status: 'cancelled' });
        throw error;
      }
      if (!(error instanceof TurnFailedError)) throw error;
      await markStageItem(db, key, { status: 'failed', errorType: error.type, errorMessage: error.message });
      return { status: 'failed', errorType: error.type, errorMessage: error.message, ...(await turnCost(item.messageId)) };
    } finally {
      clearInterval(beat);
    }
  }

  async function turnCost(messageId: string): Promise<{ totalTokens: number; cost: number }> {
    const { rows } = await db.query<{ total_tokens: number; cost: number }>(
      'SELECT coalesce(sum(total_tokens), 0)::int AS total_tokens, coalesce(sum(cost), 0)::float8 AS cost FROM usage WHERE turn_id = $1',
      [messageId],
    );
    return { totalTokens: rows[0]?.total_tokens ?? 0, cost: rows[0]?.cost ?? 0 };
  }

  /** Records the run's end; a completed run's output comes from the pipeline's `output`. Returns a preview. */
  async function finishPipeline(end: {
    workflowId: string;
    name: string;
    status: 'completed' | 'failed' | 'cancelled';
    errorType?: string;
    errorMessage?: string;
  }): Promise<{ outputPreview: string }> {
    if (end.status !== 'completed') {
      await finishRun(db, end.workflowId, { status: end.status, errorType: end.errorType ?? null, errorMessage: end.errorMessage ?? null });
      return { outputPreview: '' };
    }
    const def = registry().require(end.name);
    const ctx = await contextOf(end.workflowId, def);
    const output = def.output ? def.output(ctx) : ctx.outputs;
    await finishRun(db, end.workflowId, { status: 'completed', output });
    return { outputPreview: JSON.stringify(output).slice(0, 200) };
  }

  return { planPipeline, expandStage, runStageItem, finishPipeline };
}
