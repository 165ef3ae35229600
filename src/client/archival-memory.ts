/**
 * Archival memory for the SDK (`client.insertArchivalMemory`, `client.searchArchivalMemory`). A
 * passage of an agent with an `embedding_config` is embedded in this process — at the config's
 * `embedding_endpoint`, else a group of the models file (MEMLOOM_MODELS) of that name, else
 * LLM_BASE_URL, with LLM_API_KEY — before anything is written, so an endpoint that fails leaves
 * no passage behind.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { readModelApiKey } from '../config/env.ts';
import { resolveDeploymentKeys } from '../config/models-file.ts';
import type { AgentRecord } from '../db/agent-store.ts';
import { insertPassages, listPassages, searchPassages, type Passage, type PassageSearch } from '../db/passage-store.ts';
import type { Db } from '../db/pool.ts';
import type { EmbeddingConfig } from '../domain/llm-config.ts';
import type { ModelsConfig } from '../domain/model-policy.ts';
import { embedTexts, EmbeddingError } from '../llm/embeddings.ts';
import { ModelClients } from '../llm/model-client.ts';

/** Filters of {@link searchArchival}; every field is optional. */
export interface ArchivalSearchFilters {
  /** Only passages with these tags. @default any tags */
  tags?: string[] | undefined;
  /** `any`: a passage with one of `tags`; `all`: with every one. @default 'any' */
  tagMatchMode?: 'any' | 'all' | undefined;
  /** Only passages stored at or after this time. */
  start?: Date | undefined;
  /** Only passages stored at or before this time. */
  end?: Date | undefined;
}

/**
 * Embeds texts with an agent's `embedding_config` from this process. The clients are built on
 * first use; the models file's keys are read only for a config that names one of its groups.
 */
export class ArchivalEmbedder {
  #plain: ModelClients | undefined;
  #routed: ModelClients | undefined;

  constructor(
    private readonly llmBaseUrl: string | undefined,
    private readonly modelsConfig: () => Promise<ModelsConfig | null>,
  ) {}

  async embed(config: EmbeddingConfig, texts: readonly string[]): Promise<number[][]> {
    return (await embedTexts(await this.#clients(config), config, texts)).vectors;
  }

  async #clients(config: EmbeddingConfig): Promise<ModelClients> {
    const models = config.embedding_endpoint === undefined ? await this.modelsConfig() : null;
    if (models?.groups.some((g) => g.name === config.embedding_model)) {
      return (this.#routed ??= new ModelClients({
        defaultBaseUrl: this.llmBaseUrl,
        apiKey: readModelApiKey(),
        models: { config: models, keys: resolveDeploymentKeys(models) },
      }));
    }
    return (this.#plain ??= new ModelClients({ defaultBaseUrl: this.llmBaseUrl, apiKey: readModelApiKey() }));
  }
}

/** Runs a database step (the client's retry of transient failures). */
type DbStep = <T>(fn: () => Promise<T>) => Promise<T>;

/**
 * Inserts one passage, embedded first when the agent has an `embedding_config`: an
 * {@link EmbeddingError} saying the passage was not inserted when the endpoint fails. Its source
 * key is new per call, so the database step is safe to retry after a lost connection.
 */
export async function insertArchival(
  db: Db,
  step: DbStep,
  embedder: ArchivalEmbedder,
  agent: AgentRecord,
  passage: { text: string; tags: string[] },
): Promise<Passage> {
  const config = agent.embedding_config;
  let embedding: number[] | null = null;
  if (config) {
    try {
      [embedding = null] = await embedder.embed(config, [passage.text]);
    } catch (error) {
      if (!(error instanceof EmbeddingError)) throw error;
      throw new EmbeddingError(error.type, `passage not inserted: ${error.message}`, error.retryable, error.status, error.retryAfterMs, { cause: error });
    }
  }
  const sourceKey = `client/${randomUUID()}`;
  const [row] = await step(() => insertPassages(db, agent.id, [{ ...passage, sourceKey, embedding, embeddingModel: config ? config.embedding_model : null }]));
  return row!;
}

/**
 * Searches an agent's archival memory; without a query (or a blank one), its newest passages.
 * Hybrid (vector and full text, fused) when the agent has an `embedding_config` and its endpoint
 * answers; full text when it has none, and also when the endpoint fails: a search still finds
 * passages by their words while the embedding endpoint is down.
 */
export async function searchArchival(
  db: Db,
  step: DbStep,
  embedder: ArchivalEmbedder,
  agent: AgentRecord,
  s: { query?: string | undefined; topK: number } & ArchivalSearchFilters,
): Promise<Passage[]> {
  const { query, ...rest } = s;
  if (query === undefined || query.trim() === '') return step(() => listPassages(db, agent.id, s.topK, rest));
  const config = agent.embedding_config;
  let embedding: number[] | null = null;
  if (config) {
    try {
      [embedding = null] = await embedder.embed(config, [query]);
    } catch (error) {
      if (!(error instanceof EmbeddingError)) throw error;
    }
  }
  const search: PassageSearch = { query, ...rest };
  return step(() => searchPassages(db, agent.id, { ...search, embedding, embeddingModel: config?.embedding_model ?? null }));
}
