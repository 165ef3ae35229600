/**
 * Every workflow type memloom registers on its task queue.
 * @module
 */
export { agentWorkflow } from './agent-workflow.ts';
export { pipelineWorkflow } from './pipeline-workflow.ts';
export { batchWorkflow } from './batch-workflow.ts';
export { archivalImportWorkflow, archivalReembedWorkflow } from './archival-workflows.ts';
