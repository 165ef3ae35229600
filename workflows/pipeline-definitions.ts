/**
 * The pipeline workflow's messages, shared by the workflow and its callers.
 * @module
 */
import { defineQuery } from '@temporalio/workflow';
import type { PipelineRunStatus } from '../src/domain/pipeline.ts';

/** The run's stages, their progress and agents, and its spend. */
export const pipelineStatusQuery = defineQuery<PipelineRunStatus>('pipelineStatus');
