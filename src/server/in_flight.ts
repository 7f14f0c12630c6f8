/**
 * Tool calls in progress, so a transport that ends (stdin closed, a signal) can let them finish
 * or see them cancelled before the process exits and the audit log closes.
 *
 * @module
 */

/** A set of promises in progress. */
export class InFlight {
  readonly #pending = new Set<Promise<unknown>>();

  /** How many are in progress. */
  get size(): number {
    return this.#pending.size;
  }

  /** Tracks `work` until it settles; returns it. */
  track<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(() => {}, () => {});
    this.#pending.add(settled);
    settled.finally(() => this.#pending.delete(settled));
    return work;
  }

  /** Waits until nothing is in progress or `ms` passed; returns how many are still running. */
  async drain(ms: number): Promise<number> {
    if (!this.#pending.size) return 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, ms));
    const all = (async () => {
      while (this.#pending.size) await Promise.all([...this.#pending]);
    })();
    await Promise.race([all, timeout]);
    clearTimeout(timer);
    return this.#pending.size;
  }
}
