/**
 * Every activity of memloom, built from injected dependencies.
 * @module
 */
import type { ActivityDeps } from './activity-deps.ts';
import { createModelActivities } from './model-activities.ts';
import { createToolActivities } from './tool-activities.ts';
import { createTurnActivities } from './turn-activities.ts';

export type { ActivityDeps } from './activity-deps.ts';

export function createActivities(deps: ActivityDeps) {
  return {
    ...createTurnActivities(deps),
    ...createModelActivities(deps),
    ...createToolActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
