/**
 * What activities need, injected by the worker (and by tests).
 * @module
 */
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import { findAgent, type AgentRecord } from '../src/db/agent-store.ts';
import type { Db } from '../src/db/pool.ts';
import type { ModelClients } from '../src/llm/model-client.ts';
import type { WorkerMetrics } from '../src/metrics/worker-metrics.ts';
import type { MemloomClient } from '../src/client/memloom-client.ts';
import type { PipelineRegistry } from '../src/pipelines/registry.ts';
import type { ToolRegistry } from '../src/tools/registry.ts';

export interface ActivityDeps {
  db: Db;
  tools: ToolRegistry;
  models: ModelClients;
  logger: Logger;
  /** Counters for `--metrics-port`; NO_METRICS when off. */
  metrics?: WorkerMetrics;
  /** The pipelines this worker runs (built-ins and `--pipelines`); none: pipeline activities fail. */
  pipelines?: PipelineRegistry;
  /** A client of this worker's stack, for pipeline stages (created on first use). */
  client?: () => Promise<MemloomClient>;
}

export async function loadAgentOrFail(db: Db, agentId: string): Promise<AgentRecord> {
  const agent = await findAgent(db, agentId);
  if (!agent) throw ApplicationFailure.nonRetryable(`agent not found: ${agentId}`, 'AgentNotFound');
  return agent;
}
