/**
 * Every activity of memloom, built from injected dependencies, each behind the failure boundary
 * that turns whatever it throws into a typed `ApplicationFailure`.
 * @module
 */
import type { ActivityDeps } from './activity-deps.ts';
import { withFailureBoundary } from './failure-boundary.ts';
import { createArchivalActivities } from './archival-activities.ts';
import { createCompactionActivities } from './compaction-activities.ts';
import { createModelActivities } from './model-activities.ts';
import { createPipelineActivities } from './pipeline-activities.ts';
import { createBatchActivities } from './batch-activities.ts';
import { createToolActivities } from './tool-activities.ts';
import { createTurnActivities } from './turn-activities.ts';

export type { ActivityDeps } from './activity-deps.ts';

export function createActivities(deps: ActivityDeps) {
  return withFailureBoundary(
    {
      ...createTurnActivities(deps),
      ...createModelActivities(deps),
      ...createCompactionActivities(deps),
      ...createToolActivities(deps),
      ...createPipelineActivities(deps),
      ...createBatchActivities(deps),
      ...createArchivalActivities(deps),
    },
    deps.logger,
  );
}

export type Activities = ReturnType<typeof createActivities>;
