/**
 * Compact text renderings of results for the model: tables instead of pretty-printed JSON.
 *
 * @module
 */

const UNITS = ["B", "K", "M", "G", "T", "P"];

/** Bytes as a short binary-unit string: `1536` → `1.5K`, `4294967296` → `4G`. */
export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return "-";
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const text = v >= 100 || u === 0 ? Math.round(v).toString() : v.toFixed(1).replace(/\.0$/, "");
  return text + UNITS[u];
}

/** A fraction as a percentage: `0.0213` → `2.1%`. */
export function percent(fraction: number | undefined): string {
  if (fraction === undefined || !Number.isFinite(fraction)) return "-";
  return `${(fraction * 100).toFixed(1).replace(/\.0$/, "")}%`;
}

/** A fraction rounded to 4 decimals (`0.021345` → `0.0213`): enough for percentages, fewer tokens. */
export function roundFraction(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}

/** Seconds as a short duration: `93784` → `1d2h`. */
export function duration(seconds: number | undefined): string {
  if (!seconds || seconds < 0) return "-";
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d) return `${d}d${h}h`;
  if (h) return `${h}h${m}m`;
  return m ? `${m}m` : `${Math.floor(seconds)}s`;
}

/** Epoch seconds as `YYYY-MM-DD HH:MM` UTC. */
export function time(epochSeconds: number | undefined): string {
  if (!epochSeconds) return "-";
  return new Date(epochSeconds * 1000).toISOString().slice(0, 16).replace("T", " ");
}

/** Whitespace a cell must not keep: anything but a single space (tabs, newlines, runs). */
const CELL_SPACE = /[^\S ]| {2}/;

/** A cell value as text; absent values become `-`, whitespace runs one space. */
function cell(v: unknown): string {
  if (v === undefined || v === null || v === "") return "-";
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "object") return JSON.stringify(v);
  const text = String(v);
  // Most cells have no whitespace to fold: test first instead of copying every one.
  return CELL_SPACE.test(text) ? text.replace(/\s+/g, " ") : text;
}

/**
 * Rows as a header line and one line per row, columns separated by two spaces.
 * Each column is a key of the row or a [header, render] pair.
 */
export function table<R>(
  rows: readonly R[],
  columns: readonly (keyof R & string | [string, (row: R) => unknown])[],
): string {
  const cols = columns.map((c) =>
    typeof c === "string" ? [c, (r: R) => r[c as keyof R]] as const : c
  );
  const lines = [cols.map(([h]) => h).join("  ")];
  for (const row of rows) lines.push(cols.map(([, f]) => cell(f(row))).join("  "));
  return lines.join("\n");
}

/** Key/value pairs as `key: value` lines, skipping absent values. */
export function pairs(entries: Record<string, unknown>): string {
  return Object.entries(entries)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => `${k}: ${cell(v)}`)
    .join("\n");
}
