/**
 * Process configuration. This module is the only place in memloom that reads `process.env`:
 * everything else receives resolved options.
 * @module
 */
import { z } from 'zod';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const EnvSchema = z.object({
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: optionalString,
  MEMLOOM_TASK_QUEUE: optionalString,
  DATABASE_URL: optionalString,
  LLM_BASE_URL: optionalString,
  OPENAI_BASE_URL: optionalString,
  LLM_API_KEY: optionalString,
  OPENAI_API_KEY: optionalString,
  MEMLOOM_HOME: optionalString,
  MEMLOOM_LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
    .optional()
    .catch(undefined),
  TEMPORAL_CLI_PATH: optionalString,
});

/** Where memloom's services are, resolved once from options over environment over defaults. */
export interface MemloomConfig {
  /** gRPC address of the Temporal frontend. @default '127.0.0.1:7233' */
  temporalAddress: string;
  /** @default 'default' */
  temporalNamespace: string;
  /** Task queue of memloom's workflows and activities. @default 'memloom' */
  taskQueue: string;
  /** PostgreSQL connection string. @default 'postgresql://postgres@127.0.0.1:5432/memloom' */
  databaseUrl: string;
  /** Base URL of the OpenAI-compatible endpoint used when an agent names none. */
  llmBaseUrl: string | undefined;
  /** Data folder of the embedded stack. @default '.memloom' */
  home: string;
  /** pino level. @default 'info' */
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Explicit path of the Temporal CLI binary. */
  temporalCliPath: string | undefined;
}

export const DEFAULT_CONFIG = {
  temporalAddress: '127.0.0.1:7233',
  temporalNamespace: 'default',
  taskQueue: 'memloom',
  databaseUrl: 'postgresql://postgres@127.0.0.1:5432/memloom',
  home: '.memloom',
  logLevel: 'info',
} as const satisfies Partial<MemloomConfig>;

type Env = Record<string, string | undefined>;

function readEnv(env: Env): z.output<typeof EnvSchema> {
  return EnvSchema.parse(env);
}

/**
 * Resolves the configuration: explicit options win over environment variables, which win over
 * defaults. Never contains a secret.
 */
export function loadConfig(options: Partial<MemloomConfig> = {}, env: Env = process.env): MemloomConfig {
  const e = readEnv(env);
  const defined = Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined),
  ) as Partial<MemloomConfig>;
  return {
    temporalAddress: e.TEMPORAL_ADDRESS ?? DEFAULT_CONFIG.temporalAddress,
    temporalNamespace: e.TEMPORAL_NAMESPACE ?? DEFAULT_CONFIG.temporalNamespace,
    taskQueue: e.MEMLOOM_TASK_QUEUE ?? DEFAULT_CONFIG.taskQueue,
    databaseUrl: e.DATABASE_URL ?? DEFAULT_CONFIG.databaseUrl,
    llmBaseUrl: e.LLM_BASE_URL ?? e.OPENAI_BASE_URL,
    home: e.MEMLOOM_HOME ?? DEFAULT_CONFIG.home,
    logLevel: e.MEMLOOM_LOG_LEVEL ?? DEFAULT_CONFIG.logLevel,
    temporalCliPath: e.TEMPORAL_CLI_PATH,
    ...defined,
  };
}

/**
 * The model endpoint's API key. Read only by the worker process, at the moment a model client
 * is built; it never enters workflow inputs, results, Postgres or logs.
 */
export function readModelApiKey(env: Env = process.env): string | undefined {
  const e = readEnv(env);
  return e.LLM_API_KEY ?? e.OPENAI_API_KEY;
}

/** DATABASE_URL as the user set it, without memloom's default (the dev stack embeds Postgres then). */
export function readExplicitDatabaseUrl(env: Env = process.env): string | undefined {
  return readEnv(env).DATABASE_URL;
}

/** What the dev stack and the demo need from the environment besides {@link MemloomConfig}. */
export function readDevEnv(env: Env = process.env): { pathEnv: string | undefined; demoModel: string | undefined } {
  return { pathEnv: env.PATH, demoModel: env.MEMLOOM_DEMO_MODEL?.trim() || undefined };
}
