/**
 * Archival imports and re-embedding, as the SDK runs them (`client.importArchivalFile`,
 * `client.reembedArchivalMemory`): the input checked here, the document chunked here and staged
 * in Postgres in one transaction, then the workflow `archival-import/<importId>` (or
 * `archival-reembed/<agentId>`) started — or joined, when it runs already — and followed until it
 * ends, with progress from Postgres.
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { requireAgent, type AgentRecord } from '../db/agent-store.ts';
import { findImport, stageImport, type ArchivalImportRecord } from '../db/archival-import-store.ts';
import { withTransaction, type Db } from '../db/pool.ts';
import { countStalePassages } from '../db/reembed-store.ts';
import {
  ARCHIVAL_IMPORT_WORKFLOW_TYPE,
  ARCHIVAL_REEMBED_WORKFLOW_TYPE,
  ArchivalImportStatus,
  archivalImportWorkflowId,
  archivalReembedWorkflowId,
  DEFAULT_REEMBED_BATCH,
  MAX_IMPORT_BYTES,
  MAX_IMPORT_CHUNKS,
  MAX_REEMBED_BATCH,
  type ArchivalImportResult,
  type ArchivalImportWorkflowInput,
  type ArchivalReembedResult,
  type ArchivalReembedWorkflowInput,
} from '../domain/archival.ts';
import { chunkSettingsIssues, chunkText, DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MIN_CHUNK_SIZE } from '../domain/chunking.ts';
import { ArchivalJobFailedError, ConflictError, ValidationError } from '../domain/errors.ts';
import { AgentIdKey, AgentNameKey } from '../domain/search-attributes.ts';
import { parseInput } from '../domain/validation.ts';
import { countTokens } from '../llm/token-count.ts';

/** How often a caller waiting for an import or a re-embedding reads its progress. */
const POLL_EVERY_MS = 300;

/** Where a job is, for a progress bar: `done` of `total` chunks (an import) or passages (a re-embedding). */
export interface ArchivalProgress {
  /** `embedding`: vectors being computed; `inserting`: an import's passages being inserted (in one transaction); `done`. */
  phase: 'embedding' | 'inserting' | 'done';
  done: number;
  total: number;
}

/** Options of `client.importArchivalFile`: exactly one of `file` and `text`. */
export interface ImportArchivalOptions {
  /** A UTF-8 text file, at most {@link MAX_IMPORT_BYTES} (10 MiB); read by this process. */
  file?: string;
  /** The document itself, instead of `file` (at most 10 MiB as UTF-8). */
  text?: string;
  /** At most this many tokens a chunk (o200k_base), 16 to 8191. @default the agent's `embedding_config.embedding_chunk_size`, else 300 */
  chunkSize?: number;
  /** Tokens each chunk repeats from the end of the one before; less than `chunkSize`. @default 30, or a tenth of a smaller chunk size */
  chunkOverlap?: number;
  /** Tags of every passage. @default [] */
  tags?: string[];
  /** Called as the import goes, a few times a second. */
  onProgress?: (progress: ArchivalProgress) => void;
}

/** What an import did. */
export interface ArchivalImportOutcome {
  importId: string;
  workflowId: string;
  agentId: string;
  agentName: string;
  /** The file's name, or null for `text`. */
  source: string | null;
  bytes: number;
  chunkSize: number;
  chunkOverlap: number;
  /** Chunks the document made, each a passage. */
  chunks: number;
  /** Passages this import added: 0 when the same document with the same settings was imported before. */
  insertedPassages: number;
  /** True when the same document with the same chunk settings had been imported into the agent already. */
  alreadyImported: boolean;
  /** The model of the passages' vectors; null: the agent has no `embedding_config`, so the passages have none (full-text search only). */
  embeddingModel: string | null;
  tags: string[];
}

/** Options of `client.reembedArchivalMemory`. */
export interface ReembedArchivalOptions {
  /** Passages embedded and committed per activity, 1 to 1000. @default 100 */
  batchSize?: number;
  /** Called as the re-embedding goes, a few times a second. */
  onProgress?: (progress: ArchivalProgress) => void;
}

/** What a re-embedding did. */
export interface ArchivalReembedOutcome {
  agentId: string;
  agentName: string;
  workflowId: string;
  embeddingModel: string;
  /** Passages given a vector of `embeddingModel`. */
  reembedded: number;
  /** Passages that had one already. */
  alreadyCurrent: number;
}

const progressFn = z.custom<(progress: ArchivalProgress) => void>((v) => typeof v === 'function', 'must be a function').optional();
const tokenCount = (min: number, max: number) =>
  z.number({ error: 'must be a number of tokens' }).int('must be a whole number of tokens').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);

const ImportOptionsSchema = z
  .object({
    file: z.string({ error: 'must be a path' }).min(1, 'must not be empty: the path of a text file').optional(),
    text: z.string({ error: 'must be a string' }).optional(),
    chunkSize: tokenCount(MIN_CHUNK_SIZE, MAX_CHUNK_SIZE).optional(),
    chunkOverlap: tokenCount(0, MAX_CHUNK_SIZE - 1).optional(),
    tags: z
      .array(z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(100, 'must be at most 100 characters'), { error: 'must be an array of strings' })
      .max(100, 'must have at most 100 tags')
      .default([]),
    onProgress: progressFn,
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.file === undefined && o.text === undefined) ctx.addIssue({ code: 'custom', path: ['file'], message: 'is required: the path of a text file (or give text)' });
    if (o.file !== undefined && o.text !== undefined) ctx.addIssue({ code: 'custom', path: ['text'], message: 'give file or text, not both' });
    if (o.chunkSize !== undefined && o.chunkOverlap !== undefined && o.chunkOverlap >= o.chunkSize) {
      ctx.addIssue({ code: 'custom', path: ['chunkOverlap'], message: `must be less than the chunk size (${o.chunkSize} tokens), got ${o.chunkOverlap}` });
    }
  });

const ReembedOptionsSchema = z
  .object({
    batchSize: z
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(MAX_REEMBED_BATCH, `must be at most ${MAX_REEMBED_BATCH}`)
      .default(DEFAULT_REEMBED_BATCH),
    onProgress: progressFn,
  })
  .strict();

/** `10.0 MiB` */
function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

const LIMIT = `at most ${mib(MAX_IMPORT_BYTES)} (${MAX_IMPORT_BYTES} bytes)`;

function invalid(path: string, message: string): ValidationError {
  return new ValidationError([{ path, message }], 'archival import');
}

/**
 * A document's text from the file at `path`: a ValidationError naming `file` when it is missing,
 * not a regular file, over the size limit (checked before it is read), binary (a NUL byte), not
 * UTF-8, or only whitespace. A UTF-8 byte order mark is dropped.
 */
export async function readDocument(path: string): Promise<{ text: string; bytes: number }> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw invalid('file', `${path} is not a file`);
    size = info.size;
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    const code = (error as { code?: string }).code;
    throw invalid('file', code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${(error as Error).message}`);
  }
  if (size > MAX_IMPORT_BYTES) throw invalid('file', `${path} is ${mib(size)} (${size} bytes); an import takes ${LIMIT}: split the file`);
  const data = await readFile(path);
  if (data.length > MAX_IMPORT_BYTES) throw invalid('file', `${path} is ${mib(data.length)} (${data.length} bytes); an import takes ${LIMIT}: split the file`);
  const nul = data.indexOf(0);
  if (nul !== -1) throw invalid('file', `${path} is a binary file (a NUL byte at byte ${nul}): an import takes UTF-8 text`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw invalid('file', `${path} is not UTF-8 text: convert it first (e.g. iconv -t UTF-8)`);
  }
  if (text.trim() === '') throw invalid('file', `${path} is ${data.length === 0 ? 'empty' : 'only whitespace'}: there is nothing to import`);
  return { text, bytes: data.length };
}

/** The text of `text`: a ValidationError naming `text` when it is over the size limit or only whitespace. */
function checkText(text: string): { text: string; bytes: number } {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_IMPORT_BYTES) throw invalid('text', `is ${mib(bytes)} (${bytes} bytes) as UTF-8; an import takes ${LIMIT}`);
  if (text.trim() === '') throw invalid('text', 'must not be empty: there is nothing to import');
  return { text: text.replace(/^\uFEFF/, ''), bytes };
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** `import-<32 hex>`, from the agent, the content and the chunk settings: the same import is the same id. */
export function archivalImportId(agentId: string, contentSha256: string, chunkSize: number, chunkOverlap: number): string {
  return `import-${sha256(`${agentId}\n${contentSha256}\n${chunkSize}\n${chunkOverlap}`).slice(0, 32)}`;
}

/** `AgentId` and `AgentName`: the UI lists an agent's imports and re-embeddings with its workflow. */
function agentSearchAttributes(agent: { id: string; name: string }) {
  return [
    { key: AgentIdKey, value: agent.id },
    { key: AgentNameKey, value: agent.name },
  ];
}

const sameTags = (a: readonly string[], b: readonly string[]): boolean => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

/** Waits for `result`, calling `report` at once, every {@link POLL_EVERY_MS} until it settles, and once it succeeded. */
async function follow<T>(result: Promise<T>, report: () => Promise<void>): Promise<T> {
  let settled = false;
  const outcome = result.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  void outcome.then(() => (settled = true));
  while (!settled) {
    await report().catch(() => undefined);
    await Promise.race([outcome, new Promise((r) => setTimeout(r, POLL_EVERY_MS))]);
  }
  const end = await outcome;
  if (!end.ok) throw end.error;
  await report().catch(() => undefined);
  return end.value;
}

/** A failed archival workflow as an {@link ArchivalJobFailedError} with its type and reason. */
function jobFailure(error: unknown, workflowId: string): unknown {
  if (!(error instanceof WorkflowFailedError)) return error;
  const cause = error.cause as { type?: string; message?: string; name?: string; cause?: { type?: string; message?: string } } | undefined;
  const root = cause?.cause && !cause.type ? cause.cause : cause;
  const type = root?.type ?? (cause?.name === 'CancelledFailure' ? 'Cancelled' : 'Error');
  return new ArchivalJobFailedError(type, `${workflowId} failed (${type}): ${root?.message ?? error.message}`, workflowId, { cause: error });
}

/**
 * Chunks a document, stages the chunks and runs (or joins) its import workflow; see
 * `MemloomClient.importArchivalFile`. `ready` runs once the input is checked, before anything
 * is written (a check that Temporal answers).
 */
export async function importArchivalFile(
  temporal: Client,
  db: Db,
  taskQueue: string,
  ref: string,
  options: ImportArchivalOptions,
  ready: () => Promise<void> = async () => undefined,
): Promise<ArchivalImportOutcome> {
  const o = parseInput(ImportOptionsSchema, options, 'archival import');
  const { text, bytes } = o.file !== undefined ? await readDocument(o.file) : checkText(o.text!);
  const agent = await requireAgent(db, ref);
  const chunkSize = o.chunkSize ?? agent.embedding_config?.embedding_chunk_size ?? DEFAULT_CHUNK_SIZE;
  const chunkOverlap = o.chunkOverlap ?? Math.min(DEFAULT_CHUNK_OVERLAP, Math.floor(chunkSize / 10));
  const issues = chunkSettingsIssues(chunkSize, chunkOverlap);
  if (issues.length > 0) throw new ValidationError(issues, 'archival import');
  const chunks = chunkText(text, { chunkSize, overlap: chunkOverlap, countTokens: (t) => countTokens(t) });
  if (chunks.length > MAX_IMPORT_CHUNKS) {
    throw invalid('chunkSize', `${chunkSize} tokens with an overlap of ${chunkOverlap} makes ${chunks.length} chunks; an import makes at most ${MAX_IMPORT_CHUNKS}: raise the chunk size`);
  }
  const contentSha256 = sha256(text);
  const importId = archivalImportId(agent.id, contentSha256, chunkSize, chunkOverlap);
  const source = o.file !== undefined ? basename(o.file) : null;
  await ready();
  const { record, staged } = await withTransaction(db, (tx) =>
    stageImport(tx, {
      id: importId,
      agentId: agent.id,
      source,
      contentSha256,
      bytes,
      chunkSize,
      chunkOverlap,
      embeddingModel: agent.embedding_config?.embedding_model ?? null,
      tags: o.tags,
      chunks,
    }),
  );
  if (!staged && !sameTags(record.tags, o.tags)) {
    throw new ConflictError(
      `this document was imported into agent ${agent.name} with the same chunk settings already (${importId}), tagged [${record.tags.join(', ')}]: ` +
        'its passages are there with those tags; give the same tags to answer from that import',
    );
  }
  const outcome = (r: ArchivalImportRecord, inserted: number): ArchivalImportOutcome => ({
    importId,
    workflowId: archivalImportWorkflowId(importId),
    agentId: agent.id,
    agentName: agent.name,
    source: r.source,
    bytes: r.bytes,
    chunkSize,
    chunkOverlap,
    chunks: r.totalChunks,
    insertedPassages: inserted,
    alreadyImported: !staged && r.status === ArchivalImportStatus.Done,
    embeddingModel: r.embeddingModel,
    tags: r.tags,
  });
  if (!staged && record.status === ArchivalImportStatus.Done) return outcome(record, 0);
  const result = await runImport(temporal, db, taskQueue, agent, record, o.onProgress);
  return outcome((await findImport(db, importId)) ?? record, result.insertedPassages);
}

/** Starts (or joins) the import's workflow and waits for it, reporting the chunks embedded. */
async function runImport(
  temporal: Client,
  db: Db,
  taskQueue: string,
  agent: AgentRecord,
  record: ArchivalImportRecord,
  onProgress: ((progress: ArchivalProgress) => void) | undefined,
): Promise<ArchivalImportResult> {
  const workflowId = archivalImportWorkflowId(record.id);
  const handle = await temporal.workflow.start<(input: ArchivalImportWorkflowInput) => Promise<ArchivalImportResult>>(ARCHIVAL_IMPORT_WORKFLOW_TYPE, {
    workflowId,
    taskQueue,
    args: [{ importId: record.id }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: agentSearchAttributes(agent),
    staticSummary: `archival import into agent ${agent.name}: ${record.totalChunks} chunks of ${record.source ?? 'text'}`,
  });
  const report = async (): Promise<void> => {
    const now = await findImport(db, record.id);
    if (!now || !onProgress) return;
    const total = now.totalChunks;
    if (now.status === ArchivalImportStatus.Done) onProgress({ phase: 'done', done: total, total });
    else if (now.embeddingModel !== null && now.embeddedChunks < total) onProgress({ phase: 'embedding', done: now.embeddedChunks, total });
    else onProgress({ phase: 'inserting', done: now.embeddingModel !== null ? total : 0, total });
  };
  try {
    return await follow(handle.result(), report);
  } catch (error) {
    throw jobFailure(error, workflowId);
  }
}

/**
 * Re-embeds the agent's stale passages through (or joining) `archival-reembed/<agentId>`; see
 * `MemloomClient.reembedArchivalMemory`. `ready` runs once the input is checked.
 */
export async function reembedArchivalMemory(
  temporal: Client,
  db: Db,
  taskQueue: string,
  ref: string,
  options: ReembedArchivalOptions,
  ready: () => Promise<void> = async () => undefined,
): Promise<ArchivalReembedOutcome> {
  const o = parseInput(ReembedOptionsSchema, options, 'archival reembed');
  const agent = await requireAgent(db, ref);
  const config = agent.embedding_config;
  if (!config) {
    throw new ValidationError(
      [{ path: 'embedding_config', message: `agent ${agent.name} has none, so there is nothing to embed with: choose a model first (memloom agent update ${agent.name} --embedding MODEL)` }],
      'archival reembed',
    );
  }
  const target = { model: config.embedding_model, dim: config.embedding_dim };
  await ready();
  const { stale: staleAtStart } = await countStalePassages(db, agent.id, target);
  const workflowId = archivalReembedWorkflowId(agent.id);
  const handle = await temporal.workflow.start<(input: ArchivalReembedWorkflowInput) => Promise<ArchivalReembedResult>>(ARCHIVAL_REEMBED_WORKFLOW_TYPE, {
    workflowId,
    taskQueue,
    args: [{ agentId: agent.id, batchSize: o.batchSize }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: agentSearchAttributes(agent),
    staticSummary: `re-embed the archival memory of agent ${agent.name} with ${config.embedding_model}`,
  });
  const report = async (): Promise<void> => {
    if (!o.onProgress || staleAtStart === 0) return;
    const { stale } = await countStalePassages(db, agent.id, target);
    o.onProgress({ phase: stale === 0 ? 'done' : 'embedding', done: Math.max(0, staleAtStart - stale), total: staleAtStart });
  };
  try {
    const result = await follow(handle.result(), report);
    return {
      agentId: agent.id,
      agentName: agent.name,
      workflowId,
      embeddingModel: result.embeddingModel,
      reembedded: result.reembedded,
      alreadyCurrent: result.alreadyCurrent,
    };
  } catch (error) {
    throw jobFailure(error, workflowId);
  }
}
