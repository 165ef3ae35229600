/**
 * A real LiteLLM proxy (`litellm[proxy]`, pinned by scripts/install-litellm.sh) for the tests
 * that run memloom behind one: its own config file, a free port on 127.0.0.1, a random master
 * key, no database. It runs as a plain gateway by default (`num_retries: 0`, no cooldowns, no
 * fallbacks): memloom's workflow holds the retry and routing policy.
 *
 * @example
 * ```ts
 * const proxy = await startLiteLlmProxy({
 *   config: { model_list: [{ model_name: 'fast', litellm_params: { model: 'openai/m', api_base: model.url, api_key: 'k' } }] },
 * });
 * const openai = new OpenAI({ baseURL: proxy.url, apiKey: proxy.masterKey });
 * ```
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach } from 'node:test';
import { parse, stringify } from 'yaml';
import { freePort } from '../../src/dev/temporal-cli.ts';

/** The version scripts/install-litellm.sh installs. */
export const LITELLM_VERSION = '1.108.7';

export interface LiteLlmProxyOptions {
  /**
   * A LiteLLM `config.yaml`, as an object or YAML text. `general_settings.master_key` is always
   * set to `os.environ/LITELLM_MASTER_KEY` (the key this helper generates); `router_settings`
   * default to {@link GATEWAY_ROUTER_SETTINGS}.
   */
  config: Record<string, unknown> | string;
  /** Extra environment of the proxy process (it gets only PATH, HOME, TMPDIR and LANG of this one). */
  env?: Record<string, string>;
  /**
   * How long to wait for `/health/liveliness` to answer. Importing the proxy takes ~8 s on an
   * idle machine. @default 120_000
   */
  startTimeoutMs?: number;
}

export interface LiteLlmProxy {
  /** Base URL for the openai SDK and `llm_config.model_endpoint`: `http://127.0.0.1:<port>/v1`. */
  readonly url: string;
  readonly port: number;
  /** The proxy's master key: the key a worker must send. */
  readonly masterKey: string;
  /** Everything the proxy printed so far (its last 256 KiB). */
  output(): string;
  /** Stops the proxy's process group and removes its config file; idempotent. */
  stop(): Promise<void>;
}

/** The proxy as a plain gateway: one upstream call per request, no proxy-side retry or cooldown. */
export const GATEWAY_ROUTER_SETTINGS = { num_retries: 0, disable_cooldowns: true } as const;

/**
 * Environment that keeps the proxy off the network at startup: the model cost map from the
 * package instead of GitHub, telemetry vetoed, no feedback banner; Python output unbuffered so a
 * failure's output is complete.
 */
const OFFLINE_ENV = {
  LITELLM_LOCAL_MODEL_COST_MAP: 'True',
  LITELLM_TELEMETRY_DISABLED: 'true',
  LITELLM_DONT_SHOW_FEEDBACK_BOX: 'true',
  PYTHONUNBUFFERED: '1',
  NO_COLOR: '1',
} as const;

const OUTPUT_LIMIT = 256 * 1024;
const INSTALL_HINT = 'run `bash scripts/install-litellm.sh` and set LITELLM_PATH to the path it prints';

/** `LITELLM_PATH`, else the install script's default venv; throws naming the install script when absent. */
export function findLiteLlm(env: NodeJS.ProcessEnv = process.env): string {
  const venv = env.MEMLOOM_LITELLM_VENV ?? join(homedir(), '.cache', 'memloom', `litellm-${LITELLM_VERSION}`);
  const path = env.LITELLM_PATH || join(venv, 'bin', 'litellm');
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    const from = env.LITELLM_PATH ? 'LITELLM_PATH' : 'the default venv';
    throw new Error(`the LiteLLM proxy is not installed: no executable ${path} (${from}); ${INSTALL_HINT}`);
  }
}

/** The config with the helper's master key reference and the gateway router defaults. */
export function proxyConfig(config: LiteLlmProxyOptions['config']): Record<string, unknown> {
  const parsed: unknown = typeof config === 'string' ? parse(config) : config;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('startLiteLlmProxy: config must be a mapping (a LiteLLM config.yaml)');
  }
  const given = parsed as Record<string, unknown>;
  const section = (name: string): Record<string, unknown> => (given[name] ?? {}) as Record<string, unknown>;
  return {
    ...given,
    router_settings: { ...GATEWAY_ROUTER_SETTINGS, ...section('router_settings') },
    general_settings: { ...section('general_settings'), master_key: 'os.environ/LITELLM_MASTER_KEY' },
  };
}

/** The last {@link OUTPUT_LIMIT} characters a process printed, with marks to read what came after one. */
class OutputBuffer {
  #text = '';
  /** Characters dropped from the front so far. */
  #dropped = 0;

  append(chunk: string): void {
    this.#text += chunk;
    if (this.#text.length > OUTPUT_LIMIT) {
      const cut = this.#text.length - OUTPUT_LIMIT;
      this.#text = this.#text.slice(cut);
      this.#dropped += cut;
    }
  }

  mark(): number {
    return this.#dropped + this.#text.length;
  }

  since(mark = 0): string {
    return this.#text.slice(Math.max(0, mark - this.#dropped));
  }
}

/**
 * Starts a LiteLLM proxy and waits until it serves. Stopped by an `after` hook of the calling
 * test file; a failed test prints what the proxy logged while it ran.
 */
export async function startLiteLlmProxy(options: LiteLlmProxyOptions): Promise<LiteLlmProxy> {
  const binary = findLiteLlm();
  const dir = mkdtempSync(join(tmpdir(), 'memloom-litellm-'));
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, stringify(proxyConfig(options.config)));
  const port = await freePort();
  const masterKey = `sk-${randomBytes(24).toString('hex')}`;
  const inherited = Object.fromEntries(
    ['PATH', 'HOME', 'TMPDIR', 'LANG'].flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k]]])),
  ) as Record<string, string>;

  const child = spawn(binary, ['--config', configFile, '--port', String(port), '--host', '127.0.0.1'], {
    // its own process group: stop() ends the proxy and whatever it started
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...inherited, ...OFFLINE_ENV, ...options.env, LITELLM_MASTER_KEY: masterKey },
  });
  const output = new OutputBuffer();
  child.stdout.on('data', (d: Buffer) => output.append(d.toString()));
  child.stderr.on('data', (d: Buffer) => output.append(d.toString()));
  let exit: string | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = signal ?? `code ${code}`;
      resolve();
    });
    child.once('error', (error) => {
      exit = error.message;
      resolve();
    });
  });
  const killGroup = (signal: NodeJS.Signals): void => {
    if (exit !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  // a test process that dies without running its hooks must not leave a proxy behind
  const onExit = (): void => killGroup('SIGKILL');
  process.once('exit', onExit);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      process.off('exit', onExit);
      child.ref();
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    })());

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  try {
    while (!(await alive(url))) {
      if (exit !== null) throw new Error(`the LiteLLM proxy (${binary}) exited (${exit}) before it served`);
      if (Date.now() > deadline) throw new Error(`the LiteLLM proxy did not answer ${url}/health/liveliness in time`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}; its output:\n${output.since()}`, { cause: error });
  }
  // the proxy must not keep the test process alive: `after` stops it
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();

  let mark = 0;
  beforeEach(() => {
    mark = output.mark();
  });
  afterEach((t) => {
    // `passed` is there since Node 20.12 (21.7), not yet in @types/node 20
    if ('passed' in t && t.passed === false) process.stderr.write(`\n--- LiteLLM proxy output during "${t.name}":\n${output.since(mark)}\n---\n`);
  });
  after(stop);
  return { url: `${url}/v1`, port, masterKey, output: () => output.since(), stop };
}

async function alive(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/health/liveliness`, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
