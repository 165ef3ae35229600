/**
 * Every workflow type memloom registers on its task queue.
 * @module
 */
export { agentWorkflow } from './agent-workflow.ts';
