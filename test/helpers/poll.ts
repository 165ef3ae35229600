/** Polling for tests of things that act on their own clock (schedules, batch jobs, workers). */
import assert from 'node:assert/strict';

/** Polls `get` every 250 ms until `done` holds; its value. Fails with the last value after `timeoutMs`. */
export async function until<T>(what: string, get: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await get();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
