/**
 * A first-in first-out lock for workflow code. Update handlers start in arrival order, so
 * turns run one at a time in the order their messages arrived.
 * @module
 */
export class FifoLock {
  #tail: Promise<void> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
