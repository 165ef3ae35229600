/**
 * A first-in first-out lock for workflow code. Update handlers start in arrival order, so
 * turns run one at a time in the order their messages arrived.
 * @module
 */
export class FifoLock {
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  /** Turns queued or running. */
  get size(): number {
    return this.#waiting;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.#waiting++;
    const result = this.#tail.then(fn);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result.finally(() => {
      this.#waiting--;
    });
  }
}
