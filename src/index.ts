/**
 * memloom: durable Letta-style agents on Temporal, PostgreSQL and any OpenAI-compatible
 * (LiteLLM) endpoint.
 *
 * @example
 * ```ts
 * import { createClient } from 'memloom';
 * const client = await createClient();
 * const agent = await client.createAgent({ name: 'my-assistant', memory_blocks: [{ label: 'human', value: '' }] });
 * const r = await client.userMessage(agent.id, 'Hi! My name is Alice.');
 * ```
 * @module
 */
export {
  createClient,
  MemloomClient,
  type ClientOptions,
  type CompactAgentOptions,
  type ConsolidateMemoryOptions,
  type DefaultEmbeddingConfigInput,
  type StartedTurn,
  type UserMessageOptions,
} from './client/memloom-client.ts';
export type { CompactionResult, CompactionSettings, CompactionTrigger } from './domain/compaction.ts';
export { ConsolidationStatus, type ConsolidationResult } from './domain/consolidation.ts';
export { defineTool, ToolError, type ToolContext, type ToolDefinition, type ToolSpec } from './tools/define-tool.ts';
export { BASE_TOOL_NAMES } from './tools/memory-tools.ts';
export {
  definePipeline,
  type AgentRef,
  type AgentTemplate,
  type AskStage,
  type PipelineDefinition,
  type PipelineSpec,
  type StageContext,
  type StageOutputs,
} from './pipelines/define-pipeline.ts';
export {
  PipelineRunHandle,
  type PipelineInfo,
  type PipelineRunDetails,
  type PipelineRunOutput,
  type PipelineRunSummary,
  type StartPipelineOptions,
} from './client/pipeline-runs.ts';
export type { PipelineRunStatus, StageStatus } from './domain/pipeline.ts';
export {
  ScheduleOverlap,
  type BackfillOptions,
  type CreateScheduleOptions,
  type PipelineScheduleAction,
  type ScheduleActionSpec,
  type ScheduleDetails,
  type UpdateScheduleOptions,
} from './client/schedules.ts';
export { BatchHandle, type BatchDetails, type StartBatchOptions } from './client/batches.ts';
export type { BatchCounts, BatchProgress, BatchResult, BatchSelector } from './domain/batch.ts';
export type { BatchItemRecord } from './db/batch-store.ts';
export type { ArchivalImportOutcome, ArchivalProgress, ArchivalReembedOutcome, ImportArchivalOptions, ReembedArchivalOptions } from './client/archival.ts';
export type { ArchivalSearchFilters } from './client/archival-memory.ts';
export type { Passage } from './db/passage-store.ts';
export { EmbeddingError } from './llm/embeddings.ts';
export { loadConfig, type MemloomConfig } from './config/env.ts';
export { createMemloomWorker, type MemloomWorker, type MemloomWorkerOptions } from '../workers/agent-worker.ts';
export {
  ArchivalJobFailedError,
  ConfigError,
  ConflictError,
  MemloomError,
  ModelErrorType,
  NotFoundError,
  PipelineFailedError,
  TurnFailedError,
  ValidationError,
  type FieldIssue,
} from './domain/errors.ts';
export type { AgentState, Block, CreateAgentInput, CreateBlockInput, UpdateAgentInput, UpdateBlockInput } from './domain/agent.ts';
export type { EmbeddingConfig, EmbeddingConfigInput, LlmConfig, LlmConfigInput } from './domain/llm-config.ts';
export type {
  AssistantMessage,
  LettaMessage,
  LettaResponse,
  ReasoningMessage,
  StopReason,
  ToolCallMessage,
  ToolReturnMessage,
  UsageStatistics,
  UserMessage,
} from './domain/letta-message.ts';
export type { AgentWorkflowStatus } from './domain/turn.ts';
export { DeploymentState, SpendWindowKind, type DeploymentReport, type ModelsReport, type SpendWindow } from './client/models-report.ts';
export { loadModelsFile, parseModelsConfig, type CheckedModels } from './config/models-file.ts';
export type { ModelDeployment, ModelGroup, ModelsConfig, RouterPolicy, RoutingStrategy } from './domain/model-policy.ts';
export type { TurnModelCall } from './db/usage-store.ts';
