/**
 * A pipeline run (`pipeline/<name>/<runId>`): its stages in dependency order, each stage's
 * messages with bounded concurrency, every message one `runStageItem` activity whose summary
 * names the stage and the agent. Budget from the usage ledger, cancellation (no further stage
 * or message starts; the ones in flight stop waiting), and failures that name the stage and the
 * agent. History holds ids, counts and the input; stage outputs are in Postgres.
 * @module
 */
import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { PipelineResult, PipelineRunStatus, PipelineWorkflowInput, PlannedItem } from '../src/domain/pipeline.ts';
import { PipelineAgentsKey } from '../src/domain/search-attributes.ts';
import { AGENT_MESSAGE, BOOKKEEPING } from './orchestration-options.ts';
import { pipelineStatusQuery } from './pipeline-definitions.ts';

const { planPipeline, expandStage, finishPipeline } = proxyActivities<Activities>(BOOKKEEPING);
const { runStageItem } = proxyActivities<Activities>(AGENT_MESSAGE);

export async function pipelineWorkflow(input: PipelineWorkflowInput): Promise<PipelineResult> {
  const { workflowId } = workflowInfo();
  const { name, maxBudget } = input;
  const status: PipelineRunStatus = { name, state: 'running', stages: [], spend: 0 };
  setHandler(pipelineStatusQuery, () => status, { description: 'The run: its stages, their progress and agents, and its spend' });
  /** Set on the first failure: no further message starts. */
  let stopped = false;
  const agents = new Set<string>();
  let summary = `Pipeline **${name}**`;

  const show = (): void => {
    const lines = status.stages.map((s) => {
      const count = s.total === null ? '' : ` ${s.done}/${s.total}`;
      return `- **${s.name}**: ${s.status}${count}${s.agents.length > 0 ? ` · ${s.agents.join(', ')}` : ''}`;
    });
    setCurrentDetails([`${summary} · **${status.state}**${maxBudget !== null ? ` · $${status.spend.toFixed(4)} of $${maxBudget}` : ''}`, ...lines].join('\n'));
  };

  const plan = await planPipeline.executeWithOptions({ ...BOOKKEEPING, summary: 'check the input, record the run' }, [
    { workflowId, name, input: input.input, maxBudget },
  ]);
  summary = plan.summary;
  status.stages = plan.stages.map((s) => ({ name: s.name, status: 'waiting', done: 0, total: null, agents: [] }));
  show();

  async function runStage(stage: PipelinePlan['stages'][number]): Promise<void> {
    const view = status.stages.find((s) => s.name === stage.name)!;
    view.status = 'running';
    show();
    const items = await expandStage.executeWithOptions({ ...BOOKKEEPING, summary: `stage ${stage.name}: choose its agent and messages` }, [
      { workflowId, name, stage: stage.name },
    ]);
    view.total = items.length;
    view.agents = [...new Set(items.map((i) => i.agentName))];
    const fresh = items.map((i) => i.agentId).filter((id) => !agents.has(id));
    if (fresh.length > 0) {
      for (const id of fresh) agents.add(id);
      upsertSearchAttributes([{ key: PipelineAgentsKey, value: [...agents] }]);
    }
    show();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < items.length && !stopped) {
        const item = items[next++]!;
        await runItem(stage.name, item, items.length);
        view.done++;
        show();
      }
    };
    await Promise.all(Array.from({ length: Math.min(stage.concurrency, items.length) }, lane));
    if (stopped) return;
    view.status = 'completed';
    show();
  }

  async function runItem(stage: string, item: PlannedItem, of: number): Promise<void> {
    if (maxBudget !== null && status.spend >= maxBudget) {
      throw ApplicationFailure.create({
        type: 'BudgetExceeded',
        message: `pipeline run over its budget: spent $${status.spend.toFixed(4)} of $${maxBudget} before stage ${stage} (agent ${item.agentName})`,
        nonRetryable: true,
      });
    }
    const label = item.label ? `: ${item.label.length > 60 ? `${item.label.slice(0, 57)}...` : item.label}` : '';
    const result = await runStageItem.executeWithOptions(
      { ...AGENT_MESSAGE, summary: `stage ${stage} · agent ${item.agentName}${of > 1 ? ` · ${item.item}/${of}${label}` : ''}` },
      [{ workflowId, name, stage, item: item.item }],
    );
    status.spend += result.cost;
    if (result.status === 'failed') {
      throw ApplicationFailure.create({
        type: 'StageFailed',
        message: `stage ${stage} failed: agent ${item.agentName} answered ${result.errorType}: ${result.errorMessage}`,
        nonRetryable: true,
        details: [{ stage, agent: item.agentName, errorType: result.errorType }],
      });
    }
  }

  const runs = new Map<string, Promise<void>>();
  try {
    for (const stage of plan.stages) {
      const deps = stage.after.map((d) => runs.get(d)!);
      const run = (async () => {
        await Promise.all(deps);
        if (!stopped) await runStage(stage);
      })();
      // a failure stops every lane; the first one is the run's
      run.catch(() => (stopped = true));
      runs.set(stage.name, run);
    }
    await Promise.all(runs.values());
  } catch (error) {
    stopped = true;
    // let the lanes in flight settle, so their stages' status is final
    await Promise.allSettled(runs.values());
    const cancelled = isCancellation(error);
    status.state = cancelled ? 'cancelled' : 'failed';
    for (const s of status.stages) if (s.status === 'running' || s.status === 'waiting') s.status = cancelled ? 'cancelled' : s.status === 'running' ? 'failed' : 'waiting';
    show();
    const failure = error instanceof ApplicationFailure ? error : (error as { cause?: unknown }).cause;
    await CancellationScope.nonCancellable(() =>
      finishPipeline({
        workflowId,
        name,
        status: cancelled ? 'cancelled' : 'failed',
        ...(failure instanceof ApplicationFailure ? { errorType: failure.type ?? 'Error', errorMessage: failure.message } : { errorMessage: String(error) }),
      }),
    );
    throw error;
  }
  const done = await finishPipeline.executeWithOptions({ ...BOOKKEEPING, summary: 'compute and store the output' }, [{ workflowId, name, status: 'completed' }]);
  status.state = 'completed';
  show();
  return { workflowId, name, status: 'completed', spend: status.spend, outputPreview: done.outputPreview };
}

type PipelinePlan = Awaited<ReturnType<Activities['planPipeline']>>;
