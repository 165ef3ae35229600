/**
 * Process configuration. This module is the only place in memloom that reads `process.env`:
 * everything else receives resolved options.
 * @module
 */
import { z } from 'zod';
import { ConfigError } from '../domain/errors.ts';

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
  MEMLOOM_ACTIVITY_CONCURRENCY: optionalString,
  MEMLOOM_DB_POOL_SIZE: optionalString,
  MEMLOOM_AGENT_IDLE_TIMEOUT: optionalString,
  MEMLOOM_MODELS: optionalString,
  MEMLOOM_METRICS_PORT: optionalString,
  MEMLOOM_API_KEY: optionalString,
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
  /**
   * Activities one worker runs at once (Temporal's `maxConcurrentActivityTaskExecutions`;
   * MEMLOOM_ACTIVITY_CONCURRENCY). @default 20
   */
  activityConcurrency: number;
  /**
   * Connections of the worker's PostgreSQL pool (MEMLOOM_DB_POOL_SIZE): every running activity
   * may hold one. @default activityConcurrency
   */
  dbPoolSize: number;
  /**
   * An agent's workflow ends after this long without a turn; its next message starts it again
   * (MEMLOOM_AGENT_IDLE_TIMEOUT: `90s`, `30m`, `1h`, or milliseconds). @default 3600000 (1 h)
   */
  agentIdleTimeoutMs: number;
  /**
   * A LiteLLM config.yaml of model groups (MEMLOOM_MODELS), validated by the worker at start
   * (`loadModelsFile` in ./models-file.ts).
   */
  modelsFile: string | undefined;
  /**
   * The worker serves Prometheus metrics (memloom's and the Temporal SDK's) at `/metrics` on this
   * port (MEMLOOM_METRICS_PORT, `memloom worker --metrics-port`). @default undefined: none
   */
  metricsPort: number | undefined;
}

export const DEFAULT_CONFIG = {
  temporalAddress: '127.0.0.1:7233',
  temporalNamespace: 'default',
  taskQueue: 'memloom',
  databaseUrl: 'postgresql://postgres@127.0.0.1:5432/memloom',
  home: '.memloom',
  logLevel: 'info',
  activityConcurrency: 20,
  agentIdleTimeoutMs: 3_600_000,
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
    ...poolSettings(e, options),
    agentIdleTimeoutMs:
      e.MEMLOOM_AGENT_IDLE_TIMEOUT === undefined
        ? DEFAULT_CONFIG.agentIdleTimeoutMs
        : parseDuration(e.MEMLOOM_AGENT_IDLE_TIMEOUT, 'MEMLOOM_AGENT_IDLE_TIMEOUT'),
    modelsFile: e.MEMLOOM_MODELS,
    metricsPort: e.MEMLOOM_METRICS_PORT === undefined ? undefined : parsePort(e.MEMLOOM_METRICS_PORT, 'MEMLOOM_METRICS_PORT'),
    ...defined,
  };
}

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `500ms`, `90s`, `30m`, `1h`, `1d`, or a plain number of milliseconds; throws ConfigError naming `name`. */
export function parseDuration(text: string, name: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  const value = match ? Number(match[1]) * DURATION_UNITS_MS[(match[2] ?? 'ms') as keyof typeof DURATION_UNITS_MS] : NaN;
  if (!Number.isFinite(value) || value < 1000 || value > 365 * 86_400_000) {
    throw new ConfigError(`${name}: must be a duration between 1s and 365d such as 90s, 30m or 1h (got "${text}")`);
  }
  return Math.round(value);
}

/** Activity concurrency and pool size: the pool defaults to the concurrency it has to serve. */
function poolSettings(
  e: z.output<typeof EnvSchema>,
  options: Partial<MemloomConfig>,
): Pick<MemloomConfig, 'activityConcurrency' | 'dbPoolSize'> {
  const activityConcurrency =
    options.activityConcurrency ??
    parsePositiveInt(e.MEMLOOM_ACTIVITY_CONCURRENCY, 'MEMLOOM_ACTIVITY_CONCURRENCY') ??
    DEFAULT_CONFIG.activityConcurrency;
  const dbPoolSize = options.dbPoolSize ?? parsePositiveInt(e.MEMLOOM_DB_POOL_SIZE, 'MEMLOOM_DB_POOL_SIZE') ?? activityConcurrency;
  return { activityConcurrency, dbPoolSize };
}

/** A whole number from 1 to 10,000; throws ConfigError naming `name`. */
function parsePositiveInt(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > 10_000) {
    throw new ConfigError(`${name}: must be a whole number from 1 to 10000 (got "${text}")`);
  }
  return value;
}

/** A TCP port from 1 to 65535; throws ConfigError naming `name`. */
export function parsePort(text: string, name: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > 65_535) {
    throw new ConfigError(`${name}: must be a port number from 1 to 65535 (got "${text}")`);
  }
  return value;
}

/**
 * The model endpoint's API key. Read only by the worker process, at the moment a model client
 * is built; it never enters workflow inputs, results, Postgres or logs.
 */
export function readModelApiKey(env: Env = process.env): string | undefined {
  const e = readEnv(env);
  return e.LLM_API_KEY ?? e.OPENAI_API_KEY;
}

/**
 * The key `memloom serve` requires of every request (`Authorization: Bearer <key>`); read only
 * by that command, never logged. Undefined when unset or blank.
 */
export function readServerApiKey(env: Env = process.env): string | undefined {
  return readEnv(env).MEMLOOM_API_KEY;
}

/** DATABASE_URL as the user set it, without memloom's default (the dev stack embeds Postgres then). */
export function readExplicitDatabaseUrl(env: Env = process.env): string | undefined {
  return readEnv(env).DATABASE_URL;
}

/** What the dev stack and the demo need from the environment besides {@link MemloomConfig}. */
export function readDevEnv(env: Env = process.env): { pathEnv: string | undefined; demoModel: string | undefined } {
  return { pathEnv: env.PATH, demoModel: env.MEMLOOM_DEMO_MODEL?.trim() || undefined };
}

/** MEMLOOM_LOG_FORMAT (`pretty` or `json`); undefined leaves the choice to the terminal. */
export function readLogFormat(env: Env = process.env): 'pretty' | 'json' | undefined {
  const value = env.MEMLOOM_LOG_FORMAT?.trim();
  if (!value) return undefined;
  if (value !== 'pretty' && value !== 'json') throw new ConfigError(`MEMLOOM_LOG_FORMAT: must be pretty or json (got "${value}")`);
  return value;
}
