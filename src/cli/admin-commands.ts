/**
 * `memloom migrate` (database and Temporal setup) and `memloom defaults` (persisted defaults).
 * @module
 */
import { Command } from 'commander';
import { z } from 'zod';
import { describeDbError, redactUrl } from '../client/errors.ts';
import { lazyTemporalConnection, temporalReadiness } from '../client/temporal-connection.ts';
import { loadConfig, type MemloomConfig } from '../config/env.ts';
import { ensureDatabase, migrate } from '../db/migrate.ts';
import { createDb } from '../db/pool.ts';
import type { EmbeddingConfig, LlmConfig } from '../domain/llm-config.ts';
import { MEMLOOM_SEARCH_ATTRIBUTES } from '../domain/search-attributes.ts';
import { setAction } from './command-context.ts';
import { formatEmbeddingConfig, formatLlmConfig } from './format.ts';
import {
  addJsonOption,
  addLlmOptions,
  embeddingConfigFromFlags,
  embeddingFlagOf,
  hasLlmFlags,
  intFlag,
  llmConfigFromFlags,
  llmFlagOf,
  LlmFlagsSchema,
  parseFlags,
  withFlagPaths,
  type EmbeddingFlagNames,
} from './options.ts';
import { printResult } from './output.ts';

/** What `memloom migrate` did. */
export interface MigrateReport {
  /** The database, password redacted. */
  database: string;
  /** True when the database did not exist and was created. */
  databaseCreated: boolean;
  applied: string[];
  alreadyApplied: string[];
  /** Null with --no-search-attributes. */
  searchAttributes: { namespace: string; added: string[] } | null;
}

async function migrateDatabase(config: MemloomConfig): Promise<Omit<MigrateReport, 'searchAttributes'>> {
  const database = redactUrl(config.databaseUrl);
  try {
    const databaseCreated = await ensureDatabase(config.databaseUrl);
    const db = createDb({ connectionString: config.databaseUrl, max: 1 });
    try {
      return { database, databaseCreated, ...(await migrate(db)) };
    } finally {
      await db.end();
    }
  } catch (error) {
    throw describeDbError(error, config.databaseUrl);
  }
}

async function addSearchAttributes(config: MemloomConfig): Promise<{ namespace: string; added: string[] }> {
  const connection = lazyTemporalConnection(config.temporalAddress);
  try {
    // fails at once, naming the address, when nothing answers there
    await temporalReadiness(connection, config.temporalAddress, { ownsConnection: true })();
    // loaded on use: the Temporal protos are large, and only this command needs them
    const { registerSearchAttributes } = await import('../client/search-attributes.ts');
    return { namespace: config.temporalNamespace, added: await registerSearchAttributes(connection, config.temporalNamespace) };
  } finally {
    await connection.close();
  }
}

function formatMigrateReport(r: MigrateReport): string {
  const lines = [`database ${r.database}${r.databaseCreated ? ': created' : ''}`];
  lines.push(
    r.applied.length > 0
      ? `migrations applied: ${r.applied.join(', ')}${r.alreadyApplied.length > 0 ? ` (${r.alreadyApplied.length} already applied)` : ''}`
      : `migrations: all ${r.alreadyApplied.length} already applied, nothing to do`,
  );
  if (r.searchAttributes === null) lines.push('search attributes: skipped (--no-search-attributes)');
  else if (r.searchAttributes.added.length > 0) {
    lines.push(`search attributes added in namespace ${r.searchAttributes.namespace}: ${r.searchAttributes.added.join(', ')}`);
  } else lines.push(`search attributes: all registered in namespace ${r.searchAttributes.namespace}`);
  return lines.join('\n');
}

export function migrateCommand(): Command {
  const command = new Command('migrate')
    .summary('set up the database and Temporal: create, migrate, register search attributes')
    .description(
      "Set up memloom's storage: create the PostgreSQL database if missing, apply pending SQL migrations, " +
        `and register memloom's search attributes (${MEMLOOM_SEARCH_ATTRIBUTES.map((k) => k.name).join(', ')}) in the Temporal namespace. ` +
        'Safe to run again; run it after upgrading memloom.',
    )
    .option('--no-search-attributes', 'skip the Temporal search attributes (e.g. on Temporal Cloud, where they are managed elsewhere)');
  addJsonOption(command);
  command.addHelpText(
    'after',
    '\nExamples:\n  $ memloom migrate\n  $ memloom migrate --database-url postgresql://postgres@db:5432/memloom --temporal-address temporal:7233',
  );
  return setAction(command, async (ctx, _args, options) => {
    const config = loadConfig(ctx.overrides);
    const db = await migrateDatabase(config);
    const searchAttributes = options.searchAttributes === false ? null : await addSearchAttributes(config);
    printResult(ctx.mode, { ...db, searchAttributes } satisfies MigrateReport, formatMigrateReport);
  });
}

function defaultsLlmCommand(): Command {
  const command = new Command('llm')
    .summary('show or set the default llm_config of new agents').description(
    'Show the default llm_config that agents created without model flags get, or set it with model flags ' +
      '(merged into the current default; --model is required when there is none).',
  );
  addLlmOptions(command);
  addJsonOption(command);
  command.addHelpText(
    'after',
    '\nExamples:\n  $ memloom defaults llm\n  $ memloom defaults llm --model gpt-4o-mini --model-endpoint http://localhost:4000 --context-window 128000',
  );
  return setAction(command, async (ctx, _args, options) => {
    const flags = parseFlags(LlmFlagsSchema, options);
    const client = await ctx.client();
    const current = await client.getDefaultLlmConfig();
    if (!hasLlmFlags(flags)) {
      printResult(ctx.mode, current, (c: LlmConfig | null) =>
        c ? `default llm_config: ${formatLlmConfig(c)}` : 'no default llm_config: set one with `memloom defaults llm --model NAME`',
      );
      return;
    }
    const next = await client.setDefaultLlmConfig(llmConfigFromFlags(flags, current ?? undefined)).catch((e: unknown) => {
      throw withFlagPaths(e, llmFlagOf);
    });
    printResult(ctx.mode, next, (c) => `default llm_config set: ${formatLlmConfig(c)}`);
  });
}

const DefaultsEmbeddingFlagsSchema = z.object({ model: z.string().optional(), endpoint: z.string().optional(), dim: intFlag.optional() });

const DEFAULTS_EMBEDDING_FLAGS: EmbeddingFlagNames = {
  'embedding_config.embedding_model': '--model',
  'embedding_config.embedding_endpoint': '--endpoint',
  'embedding_config.embedding_dim': '--dim',
};

function defaultsEmbeddingCommand(): Command {
  const command = new Command('embedding')
    .summary('show or set the default embedding_config of new agents')
    .description(
      'Show the default embedding_config (the model that embeds archival memory) that agents created without --embedding get, ' +
        'or set it (merged into the current default; --model is required when there is none). --dim may be left out for ' +
        "OpenAI's text-embedding-3-small, text-embedding-3-large and text-embedding-ada-002; without --endpoint the worker's LLM_BASE_URL is used.",
    )
    .option('--model <name>', 'embedding model as the endpoint knows it (a LiteLLM model group, e.g. text-embedding-3-small)')
    .option('--endpoint <url>', "base URL of an OpenAI-compatible endpoint serving /v1/embeddings (default: the worker's LLM_BASE_URL)")
    .option('--dim <n>', 'dimension of the vectors the model returns (1 to 4096)');
  addJsonOption(command);
  command.addHelpText(
    'after',
    '\nExamples:\n  $ memloom defaults embedding\n  $ memloom defaults embedding --model text-embedding-3-small --endpoint http://localhost:4000\n' +
      '  $ memloom defaults embedding --model nomic-embed-text --endpoint http://localhost:11434/v1 --dim 768',
  );
  return setAction(command, async (ctx, _args, options) => {
    const flags = parseFlags(DefaultsEmbeddingFlagsSchema, options);
    const client = await ctx.client();
    const current = await client.getDefaultEmbeddingConfig();
    if (flags.model === undefined && flags.endpoint === undefined && flags.dim === undefined) {
      printResult(ctx.mode, current, (c: EmbeddingConfig | null) =>
        c ? `default embedding_config: ${formatEmbeddingConfig(c)}` : 'no default embedding_config: set one with `memloom defaults embedding --model NAME`',
      );
      return;
    }
    const config = embeddingConfigFromFlags(flags, current, DEFAULTS_EMBEDDING_FLAGS);
    const next = await client.setDefaultEmbeddingConfig(config).catch((e: unknown) => {
      throw withFlagPaths(e, embeddingFlagOf(DEFAULTS_EMBEDDING_FLAGS));
    });
    printResult(ctx.mode, next, (c) => `default embedding_config set: ${formatEmbeddingConfig(c)}`);
  });
}

export function defaultsCommands(): Command {
  return new Command('defaults')
    .summary('show or set persisted defaults for new agents')
    .description('Show or set persisted defaults (stored in PostgreSQL) that new agents get: the model (llm) and the embedding model (embedding).')
    .addCommand(defaultsLlmCommand())
    .addCommand(defaultsEmbeddingCommand());
}
