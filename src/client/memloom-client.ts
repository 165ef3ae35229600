/**
 * The TypeScript SDK: agents, their memory, and messages to them.
 * @module
 */
import {
  Client,
  type Connection,
  WithStartWorkflowOperation,
  type Workflow,
  isGrpcServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { z } from 'zod';
import { loadConfig, type MemloomConfig } from '../config/env.ts';
import { loadModelsFile, type CheckedModels } from '../config/models-file.ts';
import { modelsReport, type ModelsReport } from './models-report.ts';
import * as pipelines from './pipeline-runs.ts';
import type { PipelineInfo, PipelineRunHandle, PipelineRunOutput, PipelineRunSummary, StartPipelineOptions } from './pipeline-runs.ts';
import * as batches from './batches.ts';
import * as archival from './archival.ts';
import type { BatchResult } from '../domain/batch.ts';
import * as schedules from './schedules.ts';
import type { BackfillOptions, CreateScheduleOptions, ScheduleDetails, UpdateScheduleOptions } from './schedules.ts';
import * as agents from '../db/agent-store.ts';
import { agentBudgetStatus } from '../db/budget-store.ts';
import * as messages from '../db/message-store.ts';
import { retryTransient } from '../db/db-errors.ts';
import * as passages from '../db/passage-store.ts';
import type { Passage } from '../db/passage-store.ts';
import { createDb, withTransaction, type Db } from '../db/pool.ts';
import { getSetting, putSetting, SettingKey } from '../db/settings-store.ts';
import { getTokenCalibration } from '../db/token-calibration-store.ts';
import {
  admitTurn,
  findTurn,
  listOpenTurns,
  listTurnAttempts,
  requestRetry,
  turnResultOf,
  type TurnAttemptRecord,
  type TurnRecord,
} from '../db/turn-store.ts';
import { findPublishedTools } from '../db/tool-store.ts';
import {
  listTurnModelCalls,
  usageReport,
  usageTotals,
  UsageGroupBy,
  type TurnModelCall,
  type UsageReportRow,
  type UsageReportTotals,
  type UsageTotals,
} from '../db/usage-store.ts';
import { parseBudgetDuration, type ModelsConfig } from '../domain/model-policy.ts';
import type { BudgetVerdict } from '../domain/budget.ts';
import {
  BlockLabelSchema,
  blockLimitProblem,
  CreateAgentSchema,
  DEFAULT_SYSTEM_PROMPT,
  maxBlockLimit,
  maxMessageTokens,
  messageSizeProblem,
  resolveAgentLlmConfig,
  UpdateAgentSchema,
  UpdateBlockSchema,
  type AgentState,
  type AgentLlmConfig,
  type Block,
  type CreateAgentInput,
  type UpdateAgentInput,
  type UpdateBlockInput,
} from '../domain/agent.ts';
import type { CompactionResult, CompactionSettings } from '../domain/compaction.ts';
import {
  BLOCK_EDIT_TOOL_NAMES,
  changedBlockLabels,
  CONSOLIDATION_INSTRUCTION,
  ConsolidationStatus,
  TurnKind,
  type ConsolidationResult,
} from '../domain/consolidation.ts';
import { BudgetExceededError, ConfigError, ConflictError, NotFoundError, TurnFailedError, ValidationError } from '../domain/errors.ts';
import { AgentRefSchema, agentWorkflowId, IdPrefix, idSchema, MessageIdSchema, newId } from '../domain/ids.ts';
import { toLettaMessages, type LettaMessage, type LettaResponse } from '../domain/letta-message.ts';
import {
  EmbeddingConfigSchema,
  embeddingConfigOf,
  knownEmbeddingDim,
  LlmConfigSchema,
  type EmbeddingConfig,
  type EmbeddingConfigInput,
  type LlmConfig,
  type LlmConfigInput,
} from '../domain/llm-config.ts';
import { AgentIdKey, AgentNameKey } from '../domain/search-attributes.ts';
import {
  DEFAULT_MAX_STEPS,
  isFinalTurnStatus,
  MaxStepsSchema,
  RUN_CLOSING_FAILURE,
  TurnStatus,
  turnUpdateId,
  type AgentWorkflowStatus,
  type TurnResult,
} from '../domain/turn.ts';
import { parseInput } from '../domain/validation.ts';
import { checkModelServed } from '../llm/model-catalog.ts';
import { countTokensWithin, estimateMessageTokens, MESSAGE_OVERHEAD_TOKENS } from '../llm/token-count.ts';
import { BASE_TOOL_NAMES } from '../tools/memory-tools.ts';
import {
  AGENT_WORKFLOW_TYPE,
  agentRenamedSignal,
  cancelTurnSignal,
  compactUpdate,
  compactUpdateId,
  sendMessageUpdate,
  statusQuery,
} from '../../workflows/agent-definitions.ts';
import { describeDbError, redactUrl } from './errors.ts';
import { buildLettaResponse } from './letta-response.ts';
import { awaitReadyInterceptor, lazyTemporalConnection, temporalReadiness } from './temporal-connection.ts';
import { turnProgress } from './turn-progress.ts';
import { ArchivalEmbedder, insertArchival, searchArchival, type ArchivalSearchFilters } from './archival-memory.ts';
import { listTools, modelChoices, type ModelChoice, type ToolInfo } from './catalog.ts';
import { cursorFields, MessagePageSchema, PageOrderSchema, PassagePageSchema, type MessagePage, type PageOrder, type PassagePage } from './pages.ts';

/** Per-call options of {@link MemloomClient.createAgent} and {@link MemloomClient.updateAgent}. */
export interface AgentWriteOptions {
  /**
   * Called with a one-line note when the model could not be checked against its endpoint's
   * `GET /v1/models` (unreachable, an error answer, no endpoint known here); the agent is written anyway.
   */
  onModelUnchecked?: (note: string) => void;
  /**
   * The `context_window` of an `llm_config` given without one when no models file gives it (no
   * file, or the group sets no `max_input_tokens`). An update falls back to the agent's current
   * window. @default none: such an `llm_config` is a ValidationError
   */
  defaultContextWindow?: number;
}

/** Models an error lists of those an endpoint serves. */
const MAX_LISTED_MODELS = 20;

export interface ClientOptions extends Partial<MemloomConfig> {
  /** An existing Temporal connection (not closed by {@link MemloomClient.close}). */
  connection?: Connection;
  /** An existing pool (not closed by {@link MemloomClient.close}). */
  db?: Db;
  /**
   * The models config (a checked LiteLLM config.yaml, see `loadModelsFile`): agents must name one
   * of its groups, and their `context_window` defaults to the group's `max_input_tokens`.
   * @default the file MEMLOOM_MODELS names (`modelsFile`), read on first use; none without it
   */
  models?: ModelsConfig;
}

/** What {@link MemloomClient.listAgents} lists. */
export interface AgentListFilter {
  /** Only the agent of this name. */
  name?: string;
  /** Only agents with these tags. */
  tags?: string[];
  /** An agent must have every tag of `tags` (false: one of them). @default true */
  matchAllTags?: boolean;
  /** 1 to 1000. @default 1000 */
  limit?: number;
  /** Agents after this agent id, in `order`. */
  after?: string;
  /** The `limit` agents just before this agent id, in `order`. */
  before?: string;
  /** By creation time. @default 'desc', newest first */
  order?: PageOrder;
}

export interface UserMessageOptions {
  /**
   * Idempotency key: `message-<uuid>`. Sending again with the same id returns the same turn
   * instead of a second answer. @default a new id
   */
  messageId?: string;
  /** @default 10 */
  maxSteps?: number;
}

/** Per-call options of {@link MemloomClient.consolidateMemory}. */
export interface ConsolidateMemoryOptions {
  /**
   * Idempotency key: `message-<uuid>`. Consolidating again with the same id returns that
   * consolidation's outcome instead of running a second one. @default a new id
   */
  messageId?: string;
  /** At most this many model calls in the consolidation turn. @default 10 */
  maxSteps?: number;
}

/** Per-call options of {@link MemloomClient.compactAgent}. */
export interface CompactAgentOptions {
  /**
   * Idempotency key: `message-<uuid>`. Compacting again with the same id returns that
   * compaction's result instead of running a second one. @default a new id
   */
  requestId?: string;
}

/**
 * A user message. Its real cap is per agent: at most half the agent's context window in tokens
 * as its endpoint counts them (see `messageSizeProblem`); this bound only keeps absurd inputs out.
 */
export const UserTextSchema = z
  .string({ error: 'must be a string' })
  .refine((t) => t.trim().length > 0, 'must not be empty')
  .refine((t) => t.length <= 2_000_000, 'must be at most 2000000 characters');

/** An archival passage. */
export const PassageTextSchema = z
  .string({ error: 'must be a string' })
  .refine((t) => t.trim().length > 0, 'must not be empty')
  .refine((t) => t.length <= 200_000, 'must be at most 200000 characters');

const count = (max: number) =>
  z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(max, `must be at most ${max}`);
const TagListSchema = z
  .array(z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(100, 'must be at most 100 characters'), {
    error: 'must be an array of strings',
  })
  .max(100, 'must have at most 100 tags');

const UserMessageOptionsSchema = z.object({ messageId: MessageIdSchema.optional(), maxSteps: MaxStepsSchema.optional() });
const ConsolidateMemoryOptionsSchema = UserMessageOptionsSchema.strict();
const CompactAgentOptionsSchema = z.object({ requestId: MessageIdSchema.optional() }).strict();
const ListMessagesSchema = z.object({
  limit: count(1000).default(100),
  before: z.number({ error: 'must be a number' }).int('must be an integer').optional(),
});
const ListAgentsSchema = z
  .object({
    name: z.string({ error: 'must be a string' }).optional(),
    tags: TagListSchema.optional(),
    matchAllTags: z.boolean({ error: 'must be a boolean' }).optional(),
    limit: count(1000).optional(),
    ...cursorFields('agent'),
    order: PageOrderSchema.optional(),
  })
  .strict();
const ArchivalSearchSchema = z.object({
  query: z.string({ error: 'must be a string' }).optional(),
  topK: count(1000),
  tags: TagListSchema.optional(),
  tagMatchMode: z.enum(['any', 'all'], { error: 'must be "any" or "all"' }).optional(),
  start: z.date({ error: 'must be a valid Date' }).optional(),
  end: z.date({ error: 'must be a valid Date' }).optional(),
});

const SINCE_HINT = 'must be a duration such as 1h, 7d or 30d, or an ISO date such as 2025-01-31';
/** `--since`: a duration back from now (`7d`) or an ISO date/time; read when the report is asked for. */
const SinceSchema = z.union([z.date(), z.string()], { error: SINCE_HINT }).transform((value, ctx) => {
  if (value instanceof Date) {
    if (!Number.isNaN(value.getTime())) return value;
  } else {
    const back = parseBudgetDuration(value);
    if (back !== undefined) return new Date(Date.now() - back);
    if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value.trim()) && !Number.isNaN(Date.parse(value))) {
      return new Date(value.trim());
    }
  }
  ctx.addIssue({ code: 'custom', message: `${SINCE_HINT}, got ${JSON.stringify(value)}` });
  return z.NEVER;
});
const UsageReportOptionsSchema = z
  .object({
    agent: AgentRefSchema.optional(),
    by: z.enum(UsageGroupBy, { error: `must be one of ${Object.values(UsageGroupBy).join(', ')}` }).default(UsageGroupBy.Agent),
    since: SinceSchema.optional(),
  })
  .strict();

/** What {@link MemloomClient.usageReport} is asked. */
export interface UsageReportOptions {
  /** Only this agent's calls (an id or a name). @default all agents */
  agent?: string;
  /** One row per agent, model group, deployment or UTC day. @default 'agent' */
  by?: UsageGroupBy;
  /** Only calls from this time on: a duration back from now (`1h`, `7d`, `30d`), an ISO date, or a Date. @default all time */
  since?: string | Date;
}

/** Model calls per agent, model group, deployment or day, as `memloom usage` prints them. */
export interface UsageReport {
  by: UsageGroupBy;
  /** The start of the report (ISO); null: all time. */
  since: string | null;
  /** The agent the report is limited to; null: every agent. */
  agent: { id: string; name: string } | null;
  /** Sorted by cost (unknown last), then calls, descending. */
  rows: UsageReportRow[];
  total: UsageReportTotals;
}

/** A deployment that is an endpoint URL with a password shows it as `***`. */
function withoutPassword(key: string): string {
  try {
    return new URL(key).password ? redactUrl(key) : key;
  } catch {
    return key;
  }
}

/** An `embedding_config` as {@link MemloomClient.setDefaultEmbeddingConfig} takes it: `embedding_dim` may be left out for a model memloom knows. */
export type DefaultEmbeddingConfigInput = Omit<EmbeddingConfigInput, 'embedding_dim'> & { embedding_dim?: number };

/**
 * A default `embedding_config`, with the known dimension of its model when it gives none; a
 * missing dimension memloom does not know is an issue at `embedding_config.embedding_dim` saying so.
 */
function parseEmbeddingDefault(config: DefaultEmbeddingConfigInput): EmbeddingConfig {
  const given = config as Partial<DefaultEmbeddingConfigInput> | null;
  const model = typeof given?.embedding_model === 'string' ? given.embedding_model : undefined;
  const missingDim = given !== null && typeof given === 'object' && given.embedding_dim === undefined && model !== undefined;
  const dim = missingDim ? knownEmbeddingDim(model) : undefined;
  try {
    return parseInput(EmbeddingConfigSchema, dim === undefined ? config : { ...config, embedding_dim: dim }, 'embedding_config', 'embedding_config');
  } catch (error) {
    const unknown = missingDim && dim === undefined ? embeddingConfigOf({ model }, null) : undefined;
    if (!(error instanceof ValidationError) || unknown === undefined || !('issues' in unknown)) throw error;
    const why = new Map(unknown.issues.map((i) => [i.path, i.message]));
    throw new ValidationError(error.issues.map((i) => ({ path: i.path, message: why.get(i.path) ?? i.message })), error.subject);
  }
}

/**
 * The budget columns an update writes: `max_budget: null` removes the budget with its duration;
 * a `budget_duration` needs a budget, given now or already set.
 */
function budgetPatch(
  agent: agents.AgentRecord,
  patch: { max_budget?: number | null | undefined; budget_duration?: string | null | undefined },
): Pick<agents.AgentPatch, 'max_budget' | 'budget_duration'> {
  if (patch.max_budget === null) return { max_budget: null, budget_duration: null };
  if (patch.budget_duration != null && patch.max_budget === undefined && agent.max_budget === null) {
    throw new ValidationError(
      [{ path: 'budget_duration', message: `needs a max_budget: agent ${agent.name} has no budget; pass max_budget too` }],
      'agent update',
    );
  }
  return {
    ...(patch.max_budget !== undefined ? { max_budget: patch.max_budget } : {}),
    ...(patch.budget_duration !== undefined ? { budget_duration: patch.budget_duration } : {}),
  };
}

/** Validates how a caller names an agent (`idOrName`). */
function agentRef(idOrName: unknown): string {
  return parseInput(AgentRefSchema, idOrName, 'agent', 'idOrName');
}

/**
 * Temporal refuses more unfinished Updates per workflow than `history.maxInFlightUpdates` (10 by
 * default), and queued turns are unfinished Updates. The SDK retries that refusal a few times;
 * past those, a long queue keeps waiting for a slot here, up to `deadline`.
 */
const IN_FLIGHT_RETRY_MS = { initial: 500, max: 5000, deadline: 15 * 60_000 } as const;

/** How long a sender waits before sending again to an agent whose run is closing. */
const CLOSING_RETRY_MS = 200;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A turn's record with its attempts and messages, as `memloom turn show` prints it. */
export interface TurnDetails extends Omit<TurnRecord, 'kind'> {
  /** A user message's turn, or a memory consolidation's (`getTurn` always sets it). @default 'message' */
  kind?: TurnKind;
  attempts: TurnAttemptRecord[];
  /** Every model call attempt: the chain of each step (group, deployment, why, outcome). */
  modelCalls: TurnModelCall[];
  messages: LettaMessage[];
}

/** A turn {@link MemloomClient.startMessage} sent: its record, and the answer to wait for if one wants to. */
export interface StartedTurn {
  turn: TurnRecord;
  answer: Promise<LettaResponse>;
}

/** How often a send is repeated when the agent's run ended under it. */
const RUN_GONE_RETRIES = 10;
const GRPC_NOT_FOUND = 5;

/** The workflow run an update was routed to has completed meanwhile (gRPC NOT_FOUND). */
function isRunGone(error: unknown): boolean {
  if (error instanceof WorkflowNotFoundError) return true;
  const cause = (error as { cause?: unknown }).cause;
  return [error, cause].some((e) => isGrpcServiceError(e) && e.code === GRPC_NOT_FOUND);
}

function isTooManyInFlightUpdates(error: unknown): boolean {
  const text = String((error as { message?: unknown }).message ?? '') + String((error as { cause?: { message?: unknown } }).cause?.message ?? '');
  return /in-flight|in flight|too many updates|ResourceExhausted|RESOURCE_EXHAUSTED/i.test(text) && !(error instanceof WorkflowUpdateFailedError);
}

/**
 * A memloom client: connects to Temporal and Postgres.
 *
 * @example
 * ```ts
 * const client = await createClient();
 * const agent = await client.createAgent({ name: 'my-assistant', memory_blocks: [{ label: 'human', value: '' }] });
 * const r = await client.userMessage(agent.id, 'Hi! My name is Alice.');
 * console.log(r.messages.at(-1));
 * await client.close();
 * ```
 */
export async function createClient(options: ClientOptions = {}): Promise<MemloomClient> {
  const { connection: givenConnection, db: givenDb, models, ...overrides } = options;
  const config = loadConfig(overrides);
  // lazy: commands that only read Postgres never wait for Temporal; the first workflow call
  // checks the server and names TEMPORAL_ADDRESS when it cannot be reached
  const connection = givenConnection ?? lazyTemporalConnection(config.temporalAddress);
  const db = givenDb ?? createDb({ connectionString: config.databaseUrl });
  return new MemloomClient(config, connection, db, { ownsConnection: !givenConnection, ownsDb: !givenDb }, models);
}

export class MemloomClient {
  readonly temporal: Client;
  /** Checks once that Temporal answers; a ConfigError naming TEMPORAL_ADDRESS when it does not. */
  readonly #temporalReady: () => Promise<void>;
  /** The models file (MEMLOOM_MODELS), read once on first use. */
  #models: Promise<CheckedModels> | undefined;
  /** The models config given to {@link createClient}, which wins over MEMLOOM_MODELS. */
  readonly #givenModels: ModelsConfig | undefined;
  /** Embeds archival passages and queries with an agent's embedding_config, from this process. */
  readonly #archivalEmbedder: ArchivalEmbedder;

  constructor(
    readonly config: MemloomConfig,
    readonly connection: Connection,
    readonly db: Db,
    private readonly owns: { ownsConnection: boolean; ownsDb: boolean },
    models?: ModelsConfig,
  ) {
    this.#givenModels = models;
    this.#archivalEmbedder = new ArchivalEmbedder(config.llmBaseUrl, async () => (await this.#modelsConfig())?.config ?? null);
    this.#temporalReady = temporalReadiness(connection, config.temporalAddress, owns);
    // the connection is lazy: the first workflow call checks the server
    this.temporal = new Client({
      connection,
      namespace: config.temporalNamespace,
      interceptors: { workflow: [awaitReadyInterceptor(this.#temporalReady)] },
    });
  }

  /** Runs a database step, again after a transient failure (a dropped connection, a failover). */
  /**
   * Runs a Postgres step, retrying transient failures (a dropped connection, a failover) when
   * the step is idempotent; a step that is not (it would write twice after a lost COMMIT) says so.
   */
  async #db<T>(fn: () => Promise<T>, opts: { idempotent: boolean } = { idempotent: true }): Promise<T> {
    try {
      return await (opts.idempotent ? retryTransient(fn) : fn());
    } catch (error) {
      throw describeDbError(error, this.config.databaseUrl);
    }
  }

  /** The `llm_config` new agents get when they bring none (persisted in Postgres). */
  async setDefaultLlmConfig(config: LlmConfigInput): Promise<LlmConfig> {
    const parsed = parseInput(LlmConfigSchema, config, 'llm_config', 'llm_config');
    await this.#db(() => putSetting(this.db, SettingKey.DefaultLlmConfig, parsed));
    return parsed;
  }

  async getDefaultLlmConfig(): Promise<LlmConfig | null> {
    const value = await this.#db(() => getSetting(this.db, SettingKey.DefaultLlmConfig));
    return value === undefined ? null : LlmConfigSchema.parse(value);
  }

  /**
   * The `embedding_config` new agents get when they bring none (persisted in Postgres). Its
   * `embedding_dim` may be left out for a model memloom knows (`KNOWN_EMBEDDING_DIMS`: OpenAI's text-embedding models).
   *
   * @example
   * ```ts
   * await client.setDefaultEmbeddingConfig({ embedding_model: 'text-embedding-3-small', embedding_endpoint: 'http://localhost:4000' });
   * await client.setDefaultEmbeddingConfig({ embedding_model: 'nomic-embed-text', embedding_dim: 768 });
   * ```
   */
  async setDefaultEmbeddingConfig(config: DefaultEmbeddingConfigInput): Promise<EmbeddingConfig> {
    const parsed = parseEmbeddingDefault(config);
    await this.#db(() => putSetting(this.db, SettingKey.DefaultEmbeddingConfig, parsed));
    return parsed;
  }

  async getDefaultEmbeddingConfig(): Promise<EmbeddingConfig | null> {
    const value = await this.#db(() => getSetting(this.db, SettingKey.DefaultEmbeddingConfig));
    return value === undefined ? null : EmbeddingConfigSchema.parse(value);
  }

  /**
   * Creates an agent. Without `llm_config`, the default set by {@link setDefaultLlmConfig} is
   * copied in; without `embedding_config` or `embedding` (a model name), the default set by
   * {@link setDefaultEmbeddingConfig}.
   */
  async createAgent(input: CreateAgentInput, options: AgentWriteOptions = {}): Promise<AgentState> {
    const parsed = parseInput(CreateAgentSchema, input, 'agent');
    return this.#db(async () => {
      const given = parsed.llm_config ?? (await this.getDefaultLlmConfig());
      if (!given) {
        throw new ValidationError(
          [{ path: 'llm_config', message: 'is required: pass one, or set a default with setDefaultLlmConfig' }],
          'agent',
        );
      }
      const llm = await this.#resolveLlmConfig(given, options.defaultContextWindow, 'agent');
      const tooLarge = parsed.memory_blocks.flatMap((b, i) => {
        const problem = blockLimitProblem(b.limit, parsed.name, llm.context_window);
        return problem ? [{ path: `memory_blocks.${i}.limit`, message: problem }] : [];
      });
      if (tooLarge.length > 0) throw new ValidationError(tooLarge, 'agent');
      await this.#checkModelServed(llm, 'agent', options);
      await this.#checkSummarizer(parsed.compaction_settings, llm, 'agent', options);
      const embedding = await this.#embeddingConfig(parsed, await this.getDefaultEmbeddingConfig(), 'agent');
      const { include_base_tools, embedding: _model, ...rest } = parsed;
      const tools = [...new Set([...(include_base_tools ? BASE_TOOL_NAMES : []), ...parsed.tools])];
      return agents.insertAgent(this.db, {
        ...rest,
        system: parsed.system ?? DEFAULT_SYSTEM_PROMPT,
        llm_config: llm,
        embedding_config: embedding,
        tools,
      });
    }, { idempotent: false });
  }

  /**
   * Agents, newest first (`order: 'asc'`: oldest first); an agent must have every tag of `tags`
   * (`matchAllTags: false`: one of them). `limit` is 1 to 1000; `after` and `before` are agent
   * ids: a cursor page, as Letta's `GET /v1/agents/` pages.
   */
  async listAgents(filter: AgentListFilter = {}): Promise<AgentState[]> {
    const parsed = parseInput(ListAgentsSchema, filter, 'agent listing');
    return this.#db(() => agents.listAgents(this.db, parsed));
  }

  /** An agent by id or unique name; throws NotFoundError. */
  async getAgent(idOrName: string): Promise<AgentState> {
    const ref = agentRef(idOrName);
    return this.#db(async () => {
      const agent = await agents.requireAgent(this.db, ref);
      return agents.toAgentState(agent, await agents.getBlocks(this.db, agent.id));
    });
  }

  async updateAgent(idOrName: string, patch: UpdateAgentInput, options: AgentWriteOptions = {}): Promise<AgentState> {
    const ref = agentRef(idOrName);
    const parsed = parseInput(UpdateAgentSchema, patch, 'agent update');
    return this.#db(async () => {
      const agent = await agents.requireAgent(this.db, ref);
      const { llm_config: givenLlm, max_budget: _budget, budget_duration: _window, embedding: _model, ...rest } = parsed;
      const changes: agents.AgentPatch = { ...rest, ...budgetPatch(agent, parsed) };
      if (parsed.embedding !== undefined) {
        changes.embedding_config = await this.#embeddingConfig(parsed, agent.embedding_config ?? (await this.getDefaultEmbeddingConfig()), 'agent update');
      }
      if (givenLlm) {
        const llm = await this.#resolveLlmConfig(givenLlm, options.defaultContextWindow ?? agent.llm_config.context_window, 'agent update');
        changes.llm_config = llm;
        const window = llm.context_window;
        const blocks = await agents.getBlocks(this.db, agent.id);
        const over = blocks.filter((b) => blockLimitProblem(b.limit, agent.name, window) !== undefined);
        if (over.length > 0) {
          const list = over.map((b) => `"${b.label}" (${b.limit})`).join(', ');
          throw new ValidationError(
            [
              {
                path: 'llm_config.context_window',
                message: `is ${window} tokens, too small for the block limits of ${list}: this window allows at most ${maxBlockLimit(window)} characters a block; lower those limits first`,
              },
            ],
            'agent update',
          );
        }
        const was = agent.llm_config;
        if (llm.model !== was.model || llm.model_endpoint !== was.model_endpoint) {
          await this.#checkModelServed(llm, 'agent update', options);
        }
      }
      await this.#checkSummarizer(parsed.compaction_settings, changes.llm_config ?? agent.llm_config, 'agent update', options);
      return agents.updateAgent(this.db, agent.id, changes);
    }).then(async (updated) => {
      if (parsed.name !== undefined) await this.#announceRename(updated.id, updated.name);
      return updated;
    });
  }

  /**
   * Creates a schedule that starts a pipeline run on a cron expression or an interval, on this
   * client's task queue. Every field is checked first (a ValidationError naming each bad one,
   * nothing created); an existing id is a ConflictError.
   *
   * @example
   * ```ts
   * await client.createSchedule('nightly-research', {
   *   cron: '0 3 * * *',
   *   timezone: 'Europe/Paris',
   *   action: { type: 'pipeline', name: 'research-and-write', input: { topic: 'tidal power' } },
   *   overlap: 'skip',
   * });
   * ```
   */
  async createSchedule(id: string, options: CreateScheduleOptions): Promise<ScheduleDetails> {
    await this.#temporalReady();
    return this.#db(() => schedules.createSchedule(this.temporal, this.db, this.config.taskQueue, id, options), { idempotent: true });
  }

  /** The schedules whose runs go to this client's task queue, by id. */
  async listSchedules(): Promise<ScheduleDetails[]> {
    await this.#temporalReady();
    return schedules.listSchedules(this.temporal, this.config.taskQueue);
  }

  /** A schedule: its action, times, policies, state, next and recent runs; a NotFoundError when there is none. */
  async getSchedule(id: string): Promise<ScheduleDetails> {
    await this.#temporalReady();
    return schedules.describeSchedule(this.temporal, id);
  }

  /** Changes what `options` gives (checked like {@link createSchedule}); the rest stays. */
  async updateSchedule(id: string, options: UpdateScheduleOptions): Promise<ScheduleDetails> {
    await this.#temporalReady();
    return this.#db(() => schedules.updateSchedule(this.temporal, this.db, id, options), { idempotent: true });
  }

  /** Pauses a schedule: no run starts until it is unpaused. */
  async pauseSchedule(id: string, note?: string): Promise<ScheduleDetails> {
    await this.#temporalReady();
    return schedules.pauseSchedule(this.temporal, id, note);
  }

  async unpauseSchedule(id: string, note?: string): Promise<ScheduleDetails> {
    await this.#temporalReady();
    return schedules.unpauseSchedule(this.temporal, id, note);
  }

  /** Starts one run now, even when paused and whatever the overlap policy. */
  async triggerSchedule(id: string): Promise<ScheduleDetails> {
    await this.#temporalReady();
    return schedules.triggerSchedule(this.temporal, id);
  }

  /** Takes the runs the schedule would have taken from `from` to `to`, now. */
  async backfillSchedule(id: string, options: BackfillOptions): Promise<ScheduleDetails> {
    await this.#temporalReady();
    return schedules.backfillSchedule(this.temporal, id, options);
  }

  /** Deletes a schedule; the runs it started are not touched. */
  async deleteSchedule(id: string): Promise<void> {
    await this.#temporalReady();
    return schedules.deleteSchedule(this.temporal, id);
  }

  /** The pipelines workers run (published at their start), and the built-ins. */
  async listPipelines(): Promise<PipelineInfo[]> {
    return this.#db(() => pipelines.listPipelines(this.db), { idempotent: true });
  }

  /**
   * Starts a run of pipeline `name` with `input`; returns its handle at once.
   *
   * @example
   * ```ts
   * const run = await client.startPipeline('research-and-write', { topic: 'tidal power', subtopics: ['cost', 'ecology'] });
   * console.log(run.workflowId); // pipeline/research-and-write/<uuid>
   * const { output } = await run.result();
   * ```
   */
  async startPipeline(name: string, input: unknown, options: StartPipelineOptions = {}): Promise<PipelineRunHandle> {
    await this.#temporalReady();
    return pipelines.startPipeline(this.temporal, this.db, this.config.taskQueue, name, input, options);
  }

  /** Runs pipeline `name` and waits for its output; a PipelineFailedError names the stage and agent that failed. */
  async runPipeline(name: string, input: unknown, options: StartPipelineOptions = {}): Promise<PipelineRunOutput> {
    return (await this.startPipeline(name, input, options)).result();
  }

  /** A handle on a run, by its workflow id or its run id. */
  async getPipelineRun(idOrRunId: string): Promise<PipelineRunHandle> {
    const id = parseInput(z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty'), idOrRunId, 'pipeline run', 'runId');
    return this.#db(() => pipelines.pipelineRun(this.temporal, this.db, id), { idempotent: true });
  }

  /** Pipeline runs from Temporal visibility, newest first; `status` is running, completed, failed, cancelled, terminated or timed_out. */
  async pipelineRuns(filter: { name?: string; status?: string; limit?: number } = {}): Promise<PipelineRunSummary[]> {
    return pipelines.pipelineRuns(this.temporal, filter);
  }

  /**
   * Starts a batch job: `prompt` sent to each selected agent (`agents`, a `tag`, or `all`)
   * through its own mailbox, `concurrency` at a time; returns its handle at once. Bad input (no
   * agents chosen, a tag no agent has, a bad concurrency) is a ValidationError and starts nothing.
   *
   * @example
   * ```ts
   * const job = await client.startBatch({ prompt: 'Summarize your week.', tag: 'team-a', concurrency: 8 });
   * const { counts } = await job.result(); // { selected: 40, answered: 39, failed: 1 }
   * ```
   */
  async startBatch(options: batches.StartBatchOptions): Promise<batches.BatchHandle> {
    await this.#temporalReady(); // record no job that cannot run
    return this.#db(() => batches.startBatch(this.temporal, this.db, this.config.taskQueue, options), { idempotent: false });
  }

  /** Runs a batch job and waits for its counts; an agent's failure is counted, it does not fail the job. */
  async runBatch(options: batches.StartBatchOptions): Promise<BatchResult> {
    return (await this.startBatch(options)).result();
  }

  /** A handle on a batch job, by its id (or its workflow id `batch/<id>`). */
  async getBatch(batchId: string): Promise<batches.BatchHandle> {
    return this.#db(() => batches.getBatch(this.temporal, this.db, batchId));
  }

  /**
   * What routing sees of each deployment of the models file: cooling down until, failures this
   * minute, rpm/tpm used, calls in flight, p50 latency, spend — `memloom models list`. A
   * ConfigError without a models file (createClient's `models`, or MEMLOOM_MODELS).
   */
  async modelsReport(): Promise<ModelsReport> {
    const models = await this.#modelsConfig();
    if (!models) throw new ConfigError('no models file is configured: set MEMLOOM_MODELS to a LiteLLM config.yaml, or pass models to createClient');
    return this.#db(() => modelsReport(this.db, models.config), { idempotent: true });
  }

  /**
   * The models config in effect and what to call it in errors: the one given to
   * {@link createClient}, else the file MEMLOOM_MODELS names (read once; a bad file is a
   * ValidationError naming its paths), else null.
   */
  async #modelsConfig(): Promise<{ config: ModelsConfig; source: string } | null> {
    if (this.#givenModels) return { config: this.#givenModels, source: 'the models config' };
    const file = this.config.modelsFile;
    if (file === undefined) return null;
    this.#models ??= loadModelsFile(file).catch((error: unknown) => {
      this.#models = undefined;
      throw error;
    });
    return { config: (await this.#models).config, source: file };
  }

  /**
   * The agent's `llm_config` from `llm` as given: with a models config, `llm.model` must be one
   * of its groups (a ValidationError at `llm_config.model` listing them) and a missing
   * `context_window` is the group's `max_input_tokens`; else `fallbackWindow`.
   */
  /**
   * The `embedding_config` of an agent input: its own, else the one `embedding` (a model name)
   * stands for over `base`, else `base`. A ValidationError at `embedding` when memloom does not
   * know the named model's dimension.
   */
  async #embeddingConfig(
    input: { embedding?: string | undefined; embedding_config?: EmbeddingConfig | undefined },
    base: EmbeddingConfig | null,
    subject: string,
  ): Promise<EmbeddingConfig | undefined> {
    if (input.embedding_config !== undefined) return input.embedding_config;
    if (input.embedding === undefined) return base ?? undefined;
    const chosen = embeddingConfigOf({ model: input.embedding }, base);
    if ('issues' in chosen) {
      const issues = chosen.issues.map((i) => ({ path: 'embedding', message: `${i.message.replace(/^is required: /, '')}: give embedding_config with its embedding_dim instead` }));
      throw new ValidationError(issues, subject);
    }
    return parseInput(EmbeddingConfigSchema, chosen.config, subject, 'embedding_config');
  }

  async #resolveLlmConfig(llm: AgentLlmConfig, fallbackWindow: number | undefined, subject: string): Promise<LlmConfig> {
    const resolved = resolveAgentLlmConfig(llm, await this.#modelsConfig(), fallbackWindow);
    if ('issues' in resolved) throw new ValidationError(resolved.issues, subject);
    return resolved.llm;
  }

  /**
   * Without a models config, asks `llm.model` of its endpoint's `GET /v1/models` (the agent's
   * `model_endpoint`, else LLM_BASE_URL): a ValidationError at `llm_config.model` when the endpoint
   * lists its models and this one is not among them. Anything short of such a list is not an
   * error, only a note. With a models config the group was checked by {@link #resolveLlmConfig}.
   */
  async #checkModelServed(
    llm: LlmConfig,
    subject: string,
    options: AgentWriteOptions,
    field: { path: string; model: string } = { path: 'llm_config.model', model: llm.model },
  ): Promise<void> {
    if ((await this.#modelsConfig()) !== null) return;
    const baseUrl = llm.model_endpoint ?? this.config.llmBaseUrl;
    const note = (text: string): void => options.onModelUnchecked?.(`note: model "${field.model}" not checked: ${text}`);
    if (baseUrl === undefined) return note('no model endpoint known here (llm_config.model_endpoint or LLM_BASE_URL)');
    const where = redactUrl(baseUrl);
    const check = await checkModelServed({ baseUrl, model: field.model });
    if (check.status === 'unchecked') return note(`${where}: ${check.reason}`);
    if (check.status === 'served') return;
    const listed = check.served.slice(0, MAX_LISTED_MODELS).join(', ');
    const more = check.served.length > MAX_LISTED_MODELS ? ` and ${check.served.length - MAX_LISTED_MODELS} more` : '';
    const serves = check.served.length === 0 ? 'it lists no models' : `it serves ${listed}${more}`;
    throw new ValidationError([{ path: field.path, message: `"${field.model}" is not served by ${where}: ${serves}` }], subject);
  }

  /**
   * The summarizer of `compaction_settings.model`: with a models config, one of its groups;
   * without, a model the agent's endpoint serves (as {@link #checkModelServed} asks it). A
   * ValidationError at `compaction_settings.model` otherwise, so a typo fails here and not in
   * the first compaction of a full context.
   */
  async #checkSummarizer(settings: CompactionSettings | null | undefined, llm: LlmConfig, subject: string, options: AgentWriteOptions): Promise<void> {
    const model = settings?.model;
    if (model === undefined) return;
    const models = await this.#modelsConfig();
    if (models === null) return this.#checkModelServed(llm, subject, options, { path: 'compaction_settings.model', model });
    if (models.config.groups.some((g) => g.name === model)) return;
    const known = models.config.groups.map((g) => g.name).join(', ') || 'none';
    throw new ValidationError([{ path: 'compaction_settings.model', message: `"${model}" is not a model group of ${models.source}: the groups are ${known}` }], subject);
  }

  /** Tells a running agent workflow its new name: its `AgentName` search attribute and details follow. */
  async #announceRename(agentId: string, name: string): Promise<void> {
    try {
      await this.temporal.workflow.getHandle(agentWorkflowId(agentId)).signal(agentRenamedSignal, { name });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }

  /** Deletes the agent with its messages, passages and unshared blocks, and stops its workflow. */
  async deleteAgent(idOrName: string): Promise<AgentState> {
    const state = await this.getAgent(idOrName);
    try {
      await this.temporal.workflow.getHandle(agentWorkflowId(state.id)).terminate('agent deleted');
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    await this.#db(() => agents.deleteAgent(this.db, state.id));
    return state;
  }

  /** The agent's core memory blocks. */
  async getMemory(idOrName: string): Promise<Block[]> {
    return (await this.getAgent(idOrName)).blocks;
  }

  /** Edits one block; the value must fit the block's limit. */
  async updateBlock(idOrName: string, label: string, fields: UpdateBlockInput): Promise<Block> {
    const ref = agentRef(idOrName);
    const blockLabel = parseInput(BlockLabelSchema, label, 'memory block', 'label');
    const parsed = parseInput(UpdateBlockSchema, fields, `memory block "${blockLabel}"`);
    return this.#db(async () => {
      const agent = await agents.requireAgent(this.db, ref);
      const problem = parsed.limit === undefined ? undefined : blockLimitProblem(parsed.limit, agent.name, agent.llm_config.context_window);
      if (problem) throw new ValidationError([{ path: 'limit', message: problem }], `memory block "${blockLabel}"`);
      return agents.updateBlockByLabel(this.db, agent.id, blockLabel, parsed);
    });
  }

  /**
   * Sends a user message and waits for the agent's answer (a durable turn on the agent's
   * workflow). The message and its turn record are stored together first; sending a message id
   * again returns that turn's outcome and never a second answer. Throws {@link TurnFailedError}
   * when the turn cannot finish, e.g. on a 401; it stays failed until {@link retryTurn}. Throws
   * {@link BudgetExceededError}, having written nothing, when the agent has spent its `max_budget`.
   */
  async userMessage(idOrName: string, text: string, options: UserMessageOptions = {}): Promise<LettaResponse> {
    const { agent, turn } = await this.#admitMessage(idOrName, text, options);
    return this.#answer(agent.name, turn);
  }

  /**
   * Sends a user message as {@link userMessage} does, but returns once the agent's workflow has
   * accepted its turn (it is durable then), without waiting for it: `turn` is its record as
   * stored (`queued`, or the outcome of a message id sent before), `answer` what
   * {@link userMessage} would return. Nobody needs to wait for `answer`: the turn runs anyway.
   */
  async startMessage(idOrName: string, text: string, options: UserMessageOptions = {}): Promise<StartedTurn> {
    const { agent, turn } = await this.#admitMessage(idOrName, text, options);
    if (!isFinalTurnStatus(turn.status)) await this.#acceptTurn(agent, turn);
    // joins the Update by its id (or sends it again when the run was closing), as userMessage does
    const answer = this.#answer(agent.name, turn);
    answer.catch(() => undefined);
    return { turn, answer };
  }

  /**
   * Stops a queued or running turn: a queued one before its first step, a running one at its next
   * step boundary, abandoning a model call in flight (a tool already called finishes). The turn
   * then ends `cancelled` (its sender gets a {@link TurnFailedError} of type `Cancelled`). Returns
   * the turn's record as it was: a finished turn is left as it is.
   */
  async cancelTurn(messageId: string): Promise<TurnRecord> {
    const id = parseInput(MessageIdSchema, messageId, 'turn', 'messageId');
    const turn = await this.#db(() => findTurn(this.db, id));
    if (!turn) throw new NotFoundError('turn', id, 'no message was sent with this id');
    if (isFinalTurnStatus(turn.status)) return turn;
    try {
      await this.temporal.workflow.getHandle(agentWorkflowId(turn.agentId)).signal(cancelTurnSignal, { messageId: id });
    } catch (error) {
      // no run of the agent: nothing runs the turn now
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
    return turn;
  }

  /** Stops every queued or running turn of the agent (see {@link cancelTurn}); returns their records as they were. */
  async cancelOpenTurns(idOrName: string): Promise<TurnRecord[]> {
    const ref = agentRef(idOrName);
    const open = await this.#db(async () => listOpenTurns(this.db, (await agents.requireAgent(this.db, ref)).id));
    return Promise.all(open.map((t) => this.cancelTurn(t.messageId)));
  }

  /** A turn's record and the messages its current attempt has stored so far (the user message left out). */
  async turnState(messageId: string): Promise<{ turn: TurnRecord; messages: LettaMessage[] }> {
    const id = parseInput(MessageIdSchema, messageId, 'turn', 'messageId');
    return this.#db(async () => {
      const turn = await findTurn(this.db, id);
      if (!turn) throw new NotFoundError('turn', id, 'no message was sent with this id');
      const rows = await messages.listTurnMessages(this.db, turn.agentId, id);
      return { turn, messages: rows.filter((r) => r.step > turn.stepBase).flatMap(toLettaMessages) };
    });
  }

  /** Checks a user message and stores it with its queued turn (or finds the turn of a message id sent before). */
  async #admitMessage(idOrName: string, text: string, options: UserMessageOptions): Promise<{ agent: agents.AgentRecord; turn: TurnRecord }> {
    const ref = agentRef(idOrName);
    const content = parseInput(UserTextSchema, text, 'message', 'text');
    const opts = parseInput(UserMessageOptionsSchema, options, 'message options');
    const agent = await this.#db(() => agents.requireAgent(this.db, ref));
    // the size the endpoint would see: counted tokens times its reports for this agent's prompts; a
    // huge text is counted only as far as the limit
    const contextWindow = agent.llm_config.context_window;
    const { ratio } = await this.#db(() => getTokenCalibration(this.db, agent.id, agent.llm_config.model));
    const size = countTokensWithin(content, Math.floor(maxMessageTokens(contextWindow) / ratio));
    const tooLarge = messageSizeProblem(Math.ceil(size.tokens * ratio), agent.name, contextWindow);
    if (tooLarge) throw new ValidationError([{ path: 'text', message: tooLarge }], 'message');
    // a resent message id is answered from its turn, whatever the budget says now
    const resent = opts.messageId !== undefined && (await this.#db(() => findTurn(this.db, opts.messageId!))) !== null;
    if (!resent) await this.#checkBudget(agent);
    await this.#temporalReady(); // store no message for a turn that cannot run
    const messageId = opts.messageId ?? newId(IdPrefix.Message);
    const { turn } = await this.#db(() =>
      withTransaction(this.db, (tx) =>
        admitTurn(tx, {
          messageId,
          agentId: agent.id,
          text: content,
          // as estimateMessageTokens({ content }) counts, without counting the text again
          tokens: MESSAGE_OVERHEAD_TOKENS + size.tokens,
          maxSteps: opts.maxSteps ?? DEFAULT_MAX_STEPS,
        }),
      ),
    );
    return { agent, turn };
  }

  /**
   * Runs the next attempt of a failed turn, after every turn already answered, and waits for
   * it. A completed turn returns its answer; a queued or running one is waited for. A failed
   * turn of an agent over its budget is not run again: {@link BudgetExceededError}.
   */
  async retryTurn(messageId: string): Promise<LettaResponse> {
    const id = parseInput(MessageIdSchema, messageId, 'turn', 'messageId');
    const existing = await this.#db(() => findTurn(this.db, id));
    if (!existing) throw new NotFoundError('turn', id, 'no message was sent with this id');
    const agent = await this.#db(() => agents.requireAgent(this.db, existing.agentId));
    // only a failed or cancelled turn runs again: that attempt is a new turn for the budget
    if (existing.status === TurnStatus.Failed || existing.status === TurnStatus.Cancelled) await this.#checkBudget(agent);
    await this.#temporalReady(); // request no retry that cannot run
    const turn = await this.#db(() => withTransaction(this.db, (tx) => requestRetry(tx, id)));
    if (!turn) throw new NotFoundError('turn', id, 'no message was sent with this id');
    return this.#answer(agent.name, turn);
  }

  /** A turn's record, its attempts and its messages (the user message first). */
  async getTurn(messageId: string): Promise<TurnDetails> {
    const id = parseInput(MessageIdSchema, messageId, 'turn', 'messageId');
    return this.#db(async () => {
      const turn = await findTurn(this.db, id);
      if (!turn) throw new NotFoundError('turn', id, 'no message was sent with this id');
      const [attempts, modelCalls, rows] = await Promise.all([
        listTurnAttempts(this.db, id),
        listTurnModelCalls(this.db, id),
        messages.listTurnMessages(this.db, turn.agentId, id),
      ]);
      return { ...turn, attempts, modelCalls, messages: rows.flatMap(toLettaMessages) };
    });
  }

  /**
   * The names among `tools` that no running or past worker has registered (built-in memory
   * tools are always there). An agent may name them; the model is offered them only once a
   * worker with them starts (`memloom worker --tools MODULE`).
   */
  async unregisteredTools(tools: readonly string[]): Promise<string[]> {
    const names = parseInput(z.array(z.string({ error: 'must be a string' }), { error: 'must be an array of tool names' }), tools, 'tools', 'tools');
    const candidates = names.filter((n) => !BASE_TOOL_NAMES.includes(n));
    const published = new Set((await this.#db(() => findPublishedTools(this.db, candidates))).map((t) => t.name));
    return candidates.filter((n) => !published.has(n));
  }

  /**
   * One line on what a turn is doing while its sender waits, e.g. "model call failing:
   * RateLimited, attempt 3 of 6, next in 4 s (step 1)" or "no worker is polling task queue ...".
   */
  async turnProgress(messageId: string): Promise<string> {
    const id = parseInput(MessageIdSchema, messageId, 'turn', 'messageId');
    const turn = await this.#db(() => findTurn(this.db, id));
    if (!turn) return 'storing the message';
    if (isFinalTurnStatus(turn.status)) return `turn ${turn.status}`;
    return turnProgress(this.temporal, this.config.temporalNamespace, this.config.taskQueue, turn.agentId, id);
  }

  /** The answer of a turn: from its record when it is finished, else from the agent's workflow. */
  async #answer(agentName: string, turn: TurnRecord): Promise<LettaResponse> {
    const result = await this.#outcome(agentName, turn);
    const rows = await this.#db(() => messages.listTurnMessages(this.db, turn.agentId, turn.messageId));
    return buildLettaResponse(result, rows);
  }

  /** A turn's result: from its record when it is finished, else from the agent's workflow; TurnFailedError when it failed. */
  async #outcome(agentName: string, turn: TurnRecord): Promise<TurnResult> {
    if (turn.status === TurnStatus.Failed || turn.status === TurnStatus.Cancelled) {
      const type = turn.errorType ?? 'Error';
      throw new TurnFailedError(type, `turn failed (${type}): ${turn.errorMessage ?? turn.status}`, turn.agentId, turn.messageId);
    }
    return turn.status === TurnStatus.Completed ? turnResultOf(turn) : this.#runTurn(turn.agentId, agentName, turn.messageId, turn.attempt);
  }

  /**
   * Consolidates the agent's memory (Letta's sleep-time memory rewriting): one turn in the
   * agent's own mailbox, after the messages sent before it, in which the model reviews the
   * messages since the last consolidation and rewrites the core memory blocks with the memory
   * tools (it is offered no other tool). Nothing of it is shown to the user: {@link listMessages}
   * and `conversation_search` leave it out and later turns do not see it ({@link getTurn} shows
   * it). With no message since the last consolidation no turn runs: status `nothing-new`.
   *
   * A resent `messageId` returns that consolidation's outcome, never a second turn (an id that
   * found nothing new admitted no turn: sent again, it looks again). Throws {@link TurnFailedError}
   * when the turn fails, {@link BudgetExceededError} (nothing written) over the agent's budget, and
   * a ValidationError when the agent has no memory tool that edits a block.
   *
   * @example
   * ```ts
   * const r = await client.consolidateMemory('my-assistant');
   * console.log(r.status, r.reviewedMessages, r.blocksChanged); // consolidated 12 [ 'human' ]
   * ```
   */
  async consolidateMemory(idOrName: string, options: ConsolidateMemoryOptions = {}): Promise<ConsolidationResult> {
    const ref = agentRef(idOrName);
    const opts = parseInput(ConsolidateMemoryOptionsSchema, options, 'consolidation options');
    const agent = await this.#db(() => agents.requireAgent(this.db, ref));
    const sent = opts.messageId === undefined ? null : await this.#db(() => findTurn(this.db, opts.messageId!));
    if (sent && (sent.kind !== TurnKind.Consolidation || sent.agentId !== agent.id)) {
      const other = sent.kind === TurnKind.Consolidation ? "another agent's memory consolidation" : 'a user message';
      throw new ConflictError(`message id ${sent.messageId} is already used by ${other}`);
    }
    const turn = sent ?? (await this.#admitConsolidation(agent, opts.maxSteps ?? DEFAULT_MAX_STEPS, opts.messageId));
    const base = { agentId: agent.id, agentName: agent.name };
    if (!turn) {
      return {
        ...base,
        messageId: null,
        status: ConsolidationStatus.NothingNew,
        reviewedMessages: 0,
        blocksChanged: [],
        usage: { message_type: 'usage_statistics', prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, step_count: 0 },
      };
    }
    const result = await this.#outcome(agent.name, turn);
    const [rows, reviewed] = await this.#db(() =>
      Promise.all([
        messages.listTurnMessages(this.db, agent.id, turn.messageId),
        messages.countConsolidationReview(this.db, agent.id, turn.messageId),
      ]),
    );
    return {
      ...base,
      messageId: turn.messageId,
      status: ConsolidationStatus.Consolidated,
      reviewedMessages: reviewed,
      blocksChanged: changedBlockLabels(rows),
      usage: { message_type: 'usage_statistics', ...result.usage, step_count: result.stepCount },
    };
  }

  /** Stores a consolidation's instruction with its queued turn; null when the agent has nothing new to review. */
  async #admitConsolidation(agent: agents.AgentRecord, maxSteps: number, messageId: string | undefined): Promise<TurnRecord | null> {
    if (!agent.tools.some((t) => BLOCK_EDIT_TOOL_NAMES.includes(t))) {
      throw new ValidationError(
        [{ path: 'idOrName', message: `agent ${agent.name} has none of the memory tools that edit a block (${BLOCK_EDIT_TOOL_NAMES.join(', ')}): a consolidation could not change its memory` }],
        'memory consolidation',
      );
    }
    const news = await this.#db(() => messages.hasUnconsolidatedMessages(this.db, agent.id, agent.consolidated_through_seq));
    if (!news) return null;
    await this.#checkBudget(agent);
    await this.#temporalReady(); // store no instruction for a turn that cannot run
    const { turn } = await this.#db(() =>
      withTransaction(this.db, (tx) =>
        admitTurn(tx, {
          messageId: messageId ?? newId(IdPrefix.Message),
          agentId: agent.id,
          text: CONSOLIDATION_INSTRUCTION,
          tokens: estimateMessageTokens({ content: CONSOLIDATION_INSTRUCTION }),
          maxSteps,
          kind: TurnKind.Consolidation,
        }),
      ),
    );
    return turn;
  }

  async #runTurn(agentId: string, agentName: string, messageId: string, attempt: number): Promise<TurnResult> {
    return this.#agentUpdate({ id: agentId, name: agentName }, sendMessageUpdate, {
      args: [{ messageId, attempt }],
      updateId: turnUpdateId(messageId, attempt),
      failed: (type, message, cause) => new TurnFailedError(type, `turn failed (${type}): ${message}`, agentId, messageId, { cause }),
    });
  }

  /** Starting the agent's workflow when no run of it is open (for Update-with-Start). */
  #agentStart(agent: { id: string; name: string }): WithStartWorkflowOperation<Workflow> {
    return new WithStartWorkflowOperation(AGENT_WORKFLOW_TYPE, {
      workflowId: agentWorkflowId(agent.id),
      taskQueue: this.config.taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [{ agentId: agent.id, agentName: agent.name, idleTimeoutMs: this.config.agentIdleTimeoutMs }],
      typedSearchAttributes: [
        { key: AgentIdKey, value: agent.id },
        { key: AgentNameKey, value: agent.name },
      ],
      staticSummary: `Agent ${agent.name}`,
      staticDetails: `memloom agent \`${agent.id}\`: one Update per user message, turns run in arrival order.`,
    });
  }

  /**
   * Delivers a turn's Update and returns once the workflow accepted it (it is in the history). A
   * run that is closing rejects it without a trace, and a run that just ended or a full queue of
   * Updates refuses it: then the resend of {@link #answer}, which follows, delivers it.
   */
  async #acceptTurn(agent: { id: string; name: string }, turn: TurnRecord): Promise<void> {
    try {
      await this.temporal.workflow.startUpdateWithStart(sendMessageUpdate, {
        args: [{ messageId: turn.messageId, attempt: turn.attempt }],
        updateId: turnUpdateId(turn.messageId, turn.attempt),
        waitForStage: 'ACCEPTED',
        startWorkflowOperation: this.#agentStart(agent),
      });
    } catch (error) {
      if (!isRunGone(error) && !isTooManyInFlightUpdates(error)) throw error;
    }
  }

  /**
   * Sends an Update to the agent's workflow with Update-with-Start (starting the workflow when
   * none runs) and waits for its result. Sent again: while the run is closing (to reach the next
   * run), when the run ended as the Update reached it, and while Temporal refuses more in-flight
   * Updates (up to a deadline); `updateId` deduplicates every resend. An Update the workflow
   * rejected or failed becomes the error `failed` makes of its failure type and message.
   */
  async #agentUpdate<Ret, Args extends unknown[]>(
    agent: { id: string; name: string },
    update: UpdateDefinition<Ret, Args>,
    request: { args: Args; updateId: string; failed: (type: string, message: string, cause: WorkflowUpdateFailedError) => Error },
  ): Promise<Ret> {
    let delay: number = IN_FLIGHT_RETRY_MS.initial;
    const deadline = Date.now() + IN_FLIGHT_RETRY_MS.deadline;
    let runGoneRetries = 0;
    for (;;) {
      const start = this.#agentStart(agent);
      try {
        return await this.temporal.workflow.executeUpdateWithStart(update, { args: request.args, updateId: request.updateId, startWorkflowOperation: start });
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError) {
          const cause = error.cause;
          const type = cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : 'Error';
          if (type === RUN_CLOSING_FAILURE) {
            // the run is about to continue as new or end: the next send reaches the next run
            await sleep(CLOSING_RETRY_MS);
            continue;
          }
          throw request.failed(type, cause?.message ?? error.message, error);
        }
        if (isRunGone(error) && runGoneRetries++ < RUN_GONE_RETRIES) {
          // the run ended (idle) as this send reached it: sent again, it starts the next run;
          // the update id and what the Update stored (a turn record, a summary) make sending again safe
          await sleep(CLOSING_RETRY_MS);
          continue;
        }
        if (!isTooManyInFlightUpdates(error) || Date.now() > deadline) throw error;
        await sleep(delay);
        delay = Math.min(delay * 2, IN_FLIGHT_RETRY_MS.max);
      }
    }
  }

  /**
   * Compacts the agent's context now (Letta's summarizer, on demand): in the agent's own mailbox,
   * after the turns sent before it, the oldest in-context messages are summarized by the
   * summarizer model (`compaction_settings.model`, else the agent's own) together with the
   * previous summary, and leave the context; the summary opens every later context. Recall keeps
   * every message ({@link listMessages}, `conversation_search`). When nothing can go (the newest
   * messages always stay) no model is called: `evictedMessages: 0`, `summaryMessageId: null`.
   *
   * A resent `requestId` returns that compaction's result, never a second one. Throws
   * {@link TurnFailedError} (its `messageId` is the request id) when the summarizer fails, and
   * {@link BudgetExceededError}, having run nothing, when the agent has spent its `max_budget`.
   *
   * @example
   * ```ts
   * const r = await client.compactAgent('my-assistant');
   * console.log(r.evictedMessages, r.tokensBefore, r.tokensAfter, r.model); // 12 1840 610 'gpt-4o-mini'
   * ```
   */
  async compactAgent(idOrName: string, options: CompactAgentOptions = {}): Promise<CompactionResult> {
    const ref = agentRef(idOrName);
    const opts = parseInput(CompactAgentOptionsSchema, options, 'compaction options');
    const agent = await this.#db(() => agents.requireAgent(this.db, ref));
    const requestId = opts.requestId ?? newId(IdPrefix.Message);
    if (opts.requestId !== undefined) {
      // the summary is keyed by the request id as a turn's messages are by theirs: never both
      const sent = await this.#db(() => findTurn(this.db, requestId));
      if (sent) throw new ConflictError(`request id ${requestId} is already used by a message to agent ${sent.agentId}`);
    }
    const done = opts.requestId !== undefined && (await this.#db(() => messages.findTurnMessage(this.db, agent.id, requestId, 0, 0))) !== null;
    // a resent request answers from its summary, whatever the budget says now
    if (!done) await this.#checkBudget(agent);
    await this.#temporalReady(); // ask nothing of a workflow that cannot run
    return this.#agentUpdate(agent, compactUpdate, {
      args: [{ requestId }],
      updateId: compactUpdateId(requestId),
      failed: (type, message, cause) => new TurnFailedError(type, `compaction failed (${type}): ${message}`, agent.id, requestId, { cause }),
    });
  }

  /** Recall memory, oldest first: the last `limit` messages (before seq `before`); memory consolidations are left out. */
  async listMessages(idOrName: string, options: { limit?: number; before?: number } = {}): Promise<LettaMessage[]> {
    const ref = agentRef(idOrName);
    const opts = parseInput(ListMessagesSchema, options, 'message listing');
    return this.#db(async () => {
      const agent = await agents.requireAgent(this.db, ref);
      return (await messages.listMessages(this.db, agent.id, opts)).flatMap(toLettaMessages);
    });
  }

  /**
   * Adds a passage to the agent's archival memory. With an `embedding_config`, the passage is
   * embedded first, in this process (the config's `embedding_endpoint`, else a group of the models
   * file, else LLM_BASE_URL, with LLM_API_KEY): when the endpoint fails, an `EmbeddingError` says
   * so and nothing is inserted.
   *
   * @example
   * ```ts
   * await client.insertArchivalMemory('my-assistant', "Alice's birthday is March 3.", ['personal']);
   * ```
   */
  async insertArchivalMemory(idOrName: string, text: string, tags: string[] = []): Promise<Passage> {
    const ref = agentRef(idOrName);
    const content = parseInput(PassageTextSchema, text, 'passage', 'text');
    const tagList = parseInput(TagListSchema, tags, 'passage', 'tags');
    const agent = await this.#db(() => agents.requireAgent(this.db, ref));
    return insertArchival(this.db, (fn) => this.#db(fn), this.#archivalEmbedder, agent, { text: content, tags: tagList });
  }

  /**
   * Searches archival memory, best first, each passage with its `score`: hybrid (by meaning and
   * by words, fused by reciprocal rank) when the agent has an `embedding_config` and its endpoint
   * answers, else full text. Without a query, the newest passages.
   *
   * @example
   * ```ts
   * const passages = await client.searchArchivalMemory('my-assistant', 'weekend hobbies', 5, { tags: ['personal'] });
   * ```
   */
  async searchArchivalMemory(idOrName: string, query?: string, topK = 10, filters: ArchivalSearchFilters = {}): Promise<Passage[]> {
    const ref = agentRef(idOrName);
    const s = parseInput(ArchivalSearchSchema, { ...filters, query, topK }, 'archival search');
    const agent = await this.#db(() => agents.requireAgent(this.db, ref));
    return searchArchival(this.db, (fn) => this.#db(fn), this.#archivalEmbedder, agent, s);
  }

  /**
   * Imports a document into the agent's archival memory: chunked here (at most `chunkSize` tokens
   * a chunk, each repeating `chunkOverlap` tokens of the one before, cut at paragraphs, then
   * sentences, then words), staged in Postgres, then embedded with the agent's `embedding_config`
   * and inserted as passages by the workflow `archival-import/<importId>` — all of them in one
   * transaction, or none. Importing the same document with the same settings again inserts
   * nothing (`alreadyImported`); a second call while it runs joins it. An agent without
   * `embedding_config` gets passages without vectors (full-text search only).
   *
   * Bad input is a ValidationError before anything is written: a file over 10 MiB (checked
   * before it is read), empty, binary or not UTF-8 (path `file`); an overlap not under the chunk
   * size (`chunkOverlap`). An embedding endpoint that stays down fails the import with an
   * {@link ArchivalJobFailedError} (`type` `Connection`, ...), and nothing is inserted.
   *
   * @example
   * ```ts
   * const r = await client.importArchivalFile('librarian', { file: 'notes.md', tags: ['notes'], onProgress: (p) => console.log(p.done, p.total) });
   * console.log(r.chunks, r.insertedPassages, r.embeddingModel); // 42 42 text-embedding-3-small
   * ```
   */
  async importArchivalFile(idOrName: string, options: archival.ImportArchivalOptions): Promise<archival.ArchivalImportOutcome> {
    const ref = agentRef(idOrName);
    return this.#db(() => archival.importArchivalFile(this.temporal, this.db, this.config.taskQueue, ref, options, () => this.#temporalReady()), { idempotent: false });
  }

  /**
   * Recomputes the vectors of the agent's passages that are not of its current embedding model
   * (after `updateAgent(..., { embedding })`), in batches of `batchSize` passages each committed
   * on its own, through the workflow `archival-reembed/<agentId>` (a second call while it runs
   * joins it). Resumable: stopped halfway, the next call re-embeds only what is left. A
   * ValidationError at `embedding_config` for an agent without one; an
   * {@link ArchivalJobFailedError} when the endpoint fails for good.
   *
   * @example
   * ```ts
   * await client.updateAgent('librarian', { embedding: 'text-embedding-3-large' });
   * const r = await client.reembedArchivalMemory('librarian');
   * console.log(r.reembedded, r.alreadyCurrent); // 1200 0
   * ```
   */
  async reembedArchivalMemory(idOrName: string, options: archival.ReembedArchivalOptions = {}): Promise<archival.ArchivalReembedOutcome> {
    const ref = agentRef(idOrName);
    return this.#db(() => archival.reembedArchivalMemory(this.temporal, this.db, this.config.taskQueue, ref, options, () => this.#temporalReady()), { idempotent: false });
  }

  /**
   * How the agent's budget stands now: its `max_budget`, the spend (USD) in its current
   * `budget_duration` window and when that resets; null when the agent has no budget.
   */
  async getBudget(idOrName: string): Promise<BudgetVerdict | null> {
    const ref = agentRef(idOrName);
    return this.#db(async () => agentBudgetStatus(this.db, (await agents.requireAgent(this.db, ref)).id));
  }

  /**
   * Refuses a new turn of an agent that has spent its budget: a {@link BudgetExceededError}
   * naming the budget, the spend and when it resets. Runs before anything of the turn is written.
   */
  async #checkBudget(agent: { id: string; name: string }): Promise<void> {
    const verdict = await this.#db(() => agentBudgetStatus(this.db, agent.id));
    if (verdict?.exceeded) throw new BudgetExceededError(agent.id, agent.name, verdict);
  }

  /** Token usage of every model call the agent made. */
  async getUsage(idOrName: string): Promise<UsageTotals> {
    const ref = agentRef(idOrName);
    return this.#db(async () => usageTotals(this.db, (await agents.requireAgent(this.db, ref)).id));
  }

  /**
   * Calls, tokens (prompt, completion, total), cost (USD, when the endpoint reported it), failed
   * calls and p50 latency of model calls, grouped by agent, model group, deployment or UTC day.
   *
   * @example
   * ```ts
   * const report = await client.usageReport({ by: 'model', since: '7d' });
   * for (const row of report.rows) console.log(row.label, row.calls, row.cost);
   * ```
   */
  async usageReport(options: UsageReportOptions = {}): Promise<UsageReport> {
    const o = parseInput(UsageReportOptionsSchema, options, 'usage report');
    return this.#db(async () => {
      const agent = o.agent === undefined ? null : await agents.requireAgent(this.db, o.agent);
      const { rows, total } = await usageReport(this.db, { by: o.by, agentId: agent?.id ?? null, since: o.since ?? null });
      return {
        by: o.by,
        since: o.since?.toISOString() ?? null,
        agent: agent === null ? null : { id: agent.id, name: agent.name },
        rows: o.by === UsageGroupBy.Deployment ? rows.map((r) => ({ ...r, key: withoutPassword(r.key), label: withoutPassword(r.label) })) : rows,
        total,
      };
    });
  }

  /** What the agent's workflow is doing; null when it is not running. */
  async getStatus(idOrName: string): Promise<AgentWorkflowStatus | null> {
    const agent = await this.#db(() => agents.requireAgent(this.db, agentRef(idOrName)));
    try {
      return await this.temporal.workflow.getHandle(agentWorkflowId(agent.id)).query(statusQuery);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    }
  }

  /** One block of the agent's core memory, by label; a NotFoundError naming the agent's labels when it has none. */
  async getBlock(idOrName: string, label: string): Promise<Block> {
    const blockLabel = parseInput(BlockLabelSchema, label, 'memory block', 'label');
    const agent = await this.getAgent(idOrName);
    const block = agent.blocks.find((b) => b.label === blockLabel);
    if (!block) throw new NotFoundError('memory block', blockLabel, `agent ${agent.name} has ${agent.blocks.map((b) => b.label).join(', ') || 'no blocks'}`);
    return block;
  }

  /**
   * A cursor page of the agent's recall memory, as Letta's `GET /v1/agents/{id}/messages` pages
   * it: newest first by default; `after` and `before` are message ids (a ValidationError when not
   * `message-<uuid>`; an id of no message of this agent gives an empty page). Memory
   * consolidations are left out.
   *
   * @example
   * ```ts
   * const newest = await client.pageMessages('my-assistant', { limit: 20 });
   * const older = await client.pageMessages('my-assistant', { limit: 20, after: newest.at(-1)!.id });
   * ```
   */
  async pageMessages(idOrName: string, page: MessagePage = {}): Promise<LettaMessage[]> {
    const ref = agentRef(idOrName);
    const p = parseInput(MessagePageSchema, page, 'message page');
    return this.#db(async () => {
      const agent = await agents.requireAgent(this.db, ref);
      // newest first is the exact mirror of oldest first, down to the LettaMessages of one stored message (as Letta)
      return (await messages.pageMessages(this.db, agent.id, p)).flatMap((row) => (p.order === 'asc' ? toLettaMessages(row) : toLettaMessages(row).reverse()));
    });
  }

  /**
   * A cursor page of the agent's archival memory, oldest first by default (`order: 'desc'`:
   * newest first); `search` keeps the passages containing it (case-insensitive); `after` and
   * `before` are passage ids. {@link searchArchivalMemory} ranks by relevance instead.
   */
  async listArchivalMemory(idOrName: string, page: PassagePage = {}): Promise<Passage[]> {
    const ref = agentRef(idOrName);
    const p = parseInput(PassagePageSchema, page, 'passage page');
    return this.#db(async () => passages.pagePassages(this.db, (await agents.requireAgent(this.db, ref)).id, p));
  }

  /** Deletes one passage of the agent's archival memory; a NotFoundError when the agent has no such passage. */
  async deleteArchivalMemory(idOrName: string, passageId: string): Promise<void> {
    const ref = agentRef(idOrName);
    const id = parseInput(idSchema(IdPrefix.Passage), passageId, 'passage', 'passageId');
    const deleted = await this.#db(async () => passages.deletePassage(this.db, (await agents.requireAgent(this.db, ref)).id, id));
    if (!deleted) throw new NotFoundError('passage', id, `agent ${idOrName} has no passage with this id`);
  }

  /** The tools agents can name: the built-in memory tools, then the user tools workers published (`memloom worker --tools`). */
  async listTools(): Promise<ToolInfo[]> {
    return this.#db(() => listTools(this.db));
  }

  /**
   * The models agents can name in `llm_config.model`: the groups of the models file (createClient's
   * `models`, or MEMLOOM_MODELS) with their context windows, then the default llm_config's model.
   */
  async listModels(): Promise<ModelChoice[]> {
    const models = await this.#modelsConfig();
    return modelChoices(models?.config ?? null, await this.getDefaultLlmConfig());
  }

  /** Closes the connections this client opened. */
  async close(): Promise<void> {
    if (this.owns.ownsDb) await this.db.end();
    if (this.owns.ownsConnection) await this.connection.close();
  }
}
