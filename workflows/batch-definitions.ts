/**
 * The batch workflow's messages, shared by the workflow and its callers.
 * @module
 */
import { defineQuery } from '@temporalio/workflow';
import type { BatchProgress } from '../src/domain/batch.ts';

/** The job's counts (selected, answered, failed, in flight), its run and its cursor. */
export const batchStatusQuery = defineQuery<BatchProgress>('batchStatus');
