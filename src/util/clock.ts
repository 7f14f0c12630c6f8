/** A source of the current time in epoch milliseconds; injectable so tests control time. */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to; for tests. */
export class ManualClock implements Clock {
  #now: number;
  /** Starts at `start` epoch milliseconds. */
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }
  /** Current time in epoch milliseconds. */
  now(): number {
    return this.#now;
  }
  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.#now += ms;
  }
}
