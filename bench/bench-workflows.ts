/**
 * Workflows for `npm run bench`: memloom's agent workflow, and a bare baseline with the same
 * shape (an entity workflow answering Updates) whose turns run no-op activities.
 */
import { condition, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';

export { agentWorkflow } from '../workflows/agent-workflow.ts';

export interface NoopActivities {
  noop(): Promise<void>;
}

const { noop } = proxyActivities<NoopActivities>({ startToCloseTimeout: '30 seconds' });

export const baselineTurn = defineUpdate<number, [number]>('baselineTurn');

/** Answers each update by running `activities` no-op activities one after another. */
export async function baselineWorkflow(): Promise<void> {
  setHandler(baselineTurn, async (activities) => {
    for (let i = 0; i < activities; i++) await noop();
    return activities;
  });
  await condition(() => false);
}
