/**
 * Small statistics for benchmark samples: percentiles, medians, token estimates.
 *
 * @module
 */

/** Summary of a set of latency samples in milliseconds. */
export interface Summary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/** The `p`-th percentile (0–100) of `sorted` by the nearest-rank method. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/** The median of `values` (nearest rank). */
export function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** Summarises latency samples. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((s, v) => s + v, 0);
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    mean: round(sum / Math.max(1, sorted.length)),
    min: round(sorted[0] ?? NaN),
    max: round(sorted[sorted.length - 1] ?? NaN),
  };
}

/** Rounds to 3 decimals (microseconds when the unit is ms). */
export function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

const encoder = new TextEncoder();

/** UTF-8 size of `text` in bytes. */
export function byteSize(text: string): number {
  return encoder.encode(text).length;
}

/** Estimated tokens of a text of `bytes` UTF-8 bytes: bytes / 4, rounded up. */
export function tokens(bytes: number): number {
  return Math.ceil(bytes / 4);
}
