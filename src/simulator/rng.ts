/**
 * Deterministic pseudo-random numbers for scenarios and usage figures.
 *
 * @module
 */

/** Mixes integers into a well-spread 32-bit unsigned hash. */
export function hash32(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part | 0), 0x01000193);
    h = Math.imul(h ^ Math.floor(part / 0x100000000), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return h >>> 0;
}

/** A number in [0, 1) derived from the given integers. */
export function unit(...parts: number[]): number {
  return hash32(...parts) / 0x100000000;
}

/** A seeded generator (mulberry32): same seed, same sequence. */
export class Rng {
  #state: number;
  /** Starts from `seed`. */
  constructor(seed: number) {
    this.#state = hash32(seed) || 1;
  }
  /** Next number in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) | 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  }
  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  /** Hex string of `digits` digits. */
  hex(digits: number): string {
    let out = "";
    for (let i = 0; i < digits; i++) out += Math.floor(this.next() * 16).toString(16);
    return out;
  }
}
