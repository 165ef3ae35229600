/**
 * Worker processes for the chaos run: `size` memloom workers (test/fixtures/worker-process.ts),
 * each its own process, kept at `size` — a killed or crashed worker is replaced at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER_ENTRY = fileURLToPath(new URL('../../test/fixtures/worker-process.ts', import.meta.url));
const READY_TIMEOUT_MS = 60_000;

export interface WorkerPoolOptions {
  size: number;
  /** Environment of the workers, over this process's own. */
  env: Record<string, string>;
  log: (line: string) => void;
}

interface Slot {
  child: ChildProcess | null;
  /** The child was SIGKILLed on purpose. */
  /** The child said "ready". */
  ready: boolean;
  killed: boolean;
  stderr: string;
}

export class WorkerPool {
  readonly #o: WorkerPoolOptions;
  readonly #slots: Slot[];
  #running = false;
  /** Workers killed on purpose. */
  kills = 0;
  /** Workers that exited without being asked (crash, fatal error). */
  unexpectedExits = 0;
  /** Workers started, replacements included. */
  starts = 0;

  constructor(options: WorkerPoolOptions) {
    this.#o = options;
    this.#slots = Array.from({ length: options.size }, () => ({ child: null, ready: false, killed: false, stderr: '' }));
  }

  /** Starts every worker and resolves once each says it is ready. */
  async start(): Promise<void> {
    this.#running = true;
    await Promise.all(this.#slots.map((slot) => this.#fill(slot)));
  }

  /** How many worker processes are alive. */
  alive(): number {
    return this.#slots.filter((s) => s.child !== null).length;
  }

  /** SIGKILLs a random live worker and starts its replacement (without waiting for it). Returns the killed pid. */
  killRandom(random: () => number): number | undefined {
    const live = this.#slots.filter((s) => s.child !== null && s.ready);
    const slot = live[Math.floor(random() * live.length)];
    const child = slot?.child;
    if (!slot || !child) return undefined;
    slot.killed = true;
    this.kills++;
    child.kill('SIGKILL');
    return child.pid;
  }

  /** Stops every worker (SIGKILL: nothing of theirs is waited for) and replaces none. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(
      this.#slots.map(async (slot) => {
        const child = slot.child;
        if (!child) return;
        slot.killed = true;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await exited;
      }),
    );
  }

  async #fill(slot: Slot): Promise<void> {
    for (let attempt = 1; this.#running; attempt++) {
      try {
        await this.#spawn(slot);
        return;
      } catch (error) {
        this.#o.log(`worker failed to start (attempt ${attempt}): ${error instanceof Error ? error.message : String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 5000)));
      }
    }
  }

  #spawn(slot: Slot): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_ENTRY], {
      env: { ...process.env, ...this.#o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.starts++;
    slot.child = child;
    slot.ready = false;
    slot.killed = false;
    slot.stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      slot.stderr = (slot.stderr + d.toString()).slice(-2000);
    });
    child.once('exit', (code, signal) => {
      if (slot.child !== child) return;
      slot.child = null;
      // a worker that never became ready is retried by #fill
      if (!slot.ready) return;
      if (!slot.killed) {
        this.unexpectedExits++;
        this.#o.log(`worker ${child.pid} exited by itself (${signal ?? code}): ${slot.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      }
      if (this.#running) void this.#fill(slot);
    });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`no "ready" within ${READY_TIMEOUT_MS} ms`));
      }, READY_TIMEOUT_MS);
      child.stdout?.on('data', (d: Buffer) => {
        if (!slot.ready && d.toString().includes('ready')) {
          slot.ready = true;
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`exited before ready (${signal ?? code}): ${slot.stderr.trim().split('\n').slice(-3).join(' | ')}`));
      });
    });
  }
}
