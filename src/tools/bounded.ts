/**
 * Bounded answers for the universal API tools: an array is paged with a cursor, a `fields`
 * selector keeps only some keys, and a size cap cuts what is left and says how to narrow.
 *
 * @module
 */
import { type Page, paginate } from "./paginate.ts";

/** Largest structured answer, in bytes of JSON, before it is cut. */
export const ANSWER_CAP_BYTES = 12_000;

/** A bounded answer; `data` is the (possibly cut) value. */
export interface BoundedAnswer {
  data: unknown;
  /** Arrays: items on all pages. */
  total?: number;
  /** Arrays: items after this page. */
  more?: number;
  next_cursor?: string;
  /** Objects cut by the size cap: the keys left out. */
  omitted_keys?: string[];
  /** How to narrow when the answer was cut. */
  hint?: string;
}

/** Options of {@link boundAnswer}. */
export interface BoundOptions {
  fields?: readonly string[];
  limit: number;
  cursor?: string;
  /** Fingerprint of the query (path and params) the cursor belongs to. */
  query: string;
  capBytes?: number;
}

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v) ?? "").length;

function pickKeys(value: unknown, fields: readonly string[] | undefined): unknown {
  if (!fields || value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (Object.hasOwn(value, f)) out[f] = (value as Record<string, unknown>)[f];
  }
  return out;
}

/** Pages, selects and caps `data`. */
export function boundAnswer(data: unknown, opts: BoundOptions): BoundedAnswer {
  const cap = opts.capBytes ?? ANSWER_CAP_BYTES;
  if (Array.isArray(data)) {
    const items = opts.fields ? data.map((x) => pickKeys(x, opts.fields)) : data;
    let page: Page<unknown> = paginate(items, opts);
    let hint: string | undefined;
    if (bytes(page.items) > cap && page.items.length > 1) {
      let fit = 0;
      let used = 2;
      for (const item of page.items) {
        used += bytes(item) + 1;
        if (used > cap) break;
        fit++;
      }
      page = paginate(items, { ...opts, limit: Math.max(1, fit) });
      hint = `Cut to ${page.items.length} items to stay under ${cap} bytes: pass next_cursor ` +
        "for more, or fields=[...] to keep only some keys";
    }
    return {
      data: page.items,
      total: page.total,
      more: page.more,
      next_cursor: page.next_cursor,
      hint,
    };
  }
  if (opts.cursor) {
    return { data: pickKeys(data, opts.fields), hint: "cursor ignored: the answer is no list" };
  }
  const value = pickKeys(data, opts.fields);
  if (bytes(value) <= cap) return { data: value };
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    const omitted: string[] = [];
    let used = 2;
    for (const [k, v] of Object.entries(value)) {
      const size = bytes(k) + bytes(v) + 2;
      if (used + size > cap) omitted.push(k);
      else {
        out[k] = v;
        used += size;
      }
    }
    return {
      data: out,
      omitted_keys: omitted,
      hint: `Cut to stay under ${cap} bytes: ${omitted.length} keys left out; ask for them ` +
        "with fields=[...]",
    };
  }
  const text = String(value);
  return {
    data: text.slice(0, cap),
    hint: `Cut to the first ${cap} characters of ${text.length}`,
  };
}
