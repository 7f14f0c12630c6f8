/**
 * Rate limits for changes: executed mutations per minute, and creations (guests, clones,
 * restores, downloads) per window. A refusal says when to retry.
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { Change } from "./change.ts";
import { PolicyRefusal, type Stage } from "./pipeline.ts";

/** Limits; 0 disables one. */
export interface RateLimits {
  /** Executed changes per rolling minute. */
  mutationsPerMinute: number;
  /** Creations per rolling window. */
  creations: number;
  /** The creation window in ms. */
  creationWindowMs: number;
}

/** A refusal by the rate limiter. */
export class RateLimitRefusal extends PolicyRefusal {
  /** Seconds until the call would be allowed. */
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message, "rate-limit");
    this.name = "RateLimitRefusal";
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

const MINUTE = 60_000;

/** Sliding-window counters of executed mutations and creations. */
export class RateLimiter {
  #limits: RateLimits;
  #clock: Clock;
  #mutations: number[] = [];
  /** Time and count of each creating change. */
  #creations: { at: number; count: number }[] = [];

  constructor(limits: RateLimits, clock: Clock) {
    this.#limits = limits;
    this.#clock = clock;
  }

  /** Throws {@link RateLimitRefusal} when `change` would exceed a limit now. */
  check(change: Change): void {
    const now = this.#clock.now();
    this.#prune(now);
    const { mutationsPerMinute, creations, creationWindowMs } = this.#limits;
    if (mutationsPerMinute > 0 && this.#mutations.length >= mutationsPerMinute) {
      const wait = this.#mutations[this.#mutations.length - mutationsPerMinute] + MINUTE - now;
      throw this.#refusal(
        `${mutationsPerMinute} changes were made in the last minute (max_mutations_per_minute)`,
        wait,
        now,
      );
    }
    if (creations > 0 && change.creates > 0) {
      const used = this.#creations.reduce((n, c) => n + c.count, 0);
      if (used + change.creates > creations) {
        let excess = used + change.creates - creations;
        let wait = creationWindowMs;
        for (const c of this.#creations) {
          excess -= c.count;
          if (excess <= 0) {
            wait = c.at + creationWindowMs - now;
            break;
          }
        }
        const window = Math.round(creationWindowMs / 60_000);
        throw this.#refusal(
          `${used} guests or volumes were created in the last ${window} min and the limit is ` +
            `${creations} (max_creations per creation_window): an unusual creation pattern. ` +
            "If this burst is intended, the operator can raise the limit",
          wait,
          now,
        );
      }
    }
  }

  /** Checks and records `change` as executed. */
  take(change: Change): void {
    this.check(change);
    const now = this.#clock.now();
    this.#mutations.push(now);
    if (change.creates > 0) this.#creations.push({ at: now, count: change.creates });
  }

  #prune(now: number): void {
    while (this.#mutations.length && this.#mutations[0] <= now - MINUTE) this.#mutations.shift();
    const window = this.#limits.creationWindowMs;
    while (this.#creations.length && this.#creations[0].at <= now - window) {
      this.#creations.shift();
    }
  }

  #refusal(why: string, waitMs: number, now: number): RateLimitRefusal {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    const at = new Date(now + seconds * 1000).toISOString().slice(11, 19);
    return new RateLimitRefusal(
      `Refused by the rate limit: ${why}. Nothing was changed; retry in ${seconds} s (after ${at} UTC)`,
      seconds,
    );
  }
}

/**
 * The rate-limit stage: refuses early (before anyone is asked to confirm) and takes the slot
 * last, in the step that sends the first request: after every other gate (token spent, audit
 * line written), so a call refused by those uses no slot.
 */
export function rateLimitStage(limiter: RateLimiter): Stage {
  return (call, next) => {
    const change = call.change;
    if (change) {
      limiter.check(change);
      call.lastChecks.push(() => limiter.take(change));
      call.passed.add("rate-limit");
    }
    return next();
  };
}
