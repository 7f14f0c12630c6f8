/**
 * Cursor pagination and field selection for list results.
 *
 * @module
 */
import { ToolInputError } from "./context.ts";

/** One page of a list. */
export interface Page<T> {
  items: T[];
  /** Items matching the filters, on all pages. */
  total: number;
  /** Items after this page. */
  more: number;
  /** Pass as `cursor` to get the next page; absent on the last page. */
  next_cursor?: string;
}

/** FNV-1a hash of `text`, base 36: a short fingerprint of a query. */
function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(36);
}

/** A cursor: the offset and the fingerprint of the query, e.g. `50.1x9kq2`. Short on purpose. */
function encodeCursor(offset: number, query: string): string {
  return `${offset}.${fingerprint(query)}`;
}

function decodeCursor(cursor: string, query: string): number {
  const m = /^(\d{1,9})\.([0-9a-z]{1,7})$/.exec(cursor);
  if (!m) {
    throw new ToolInputError(
      "Invalid cursor: pass next_cursor from the previous page unchanged, or omit it for page one",
    );
  }
  if (m[2] !== fingerprint(query)) {
    throw new ToolInputError(
      "Invalid cursor: it belongs to a query with other filters; repeat the same filters or start without a cursor",
    );
  }
  return Number(m[1]);
}

/**
 * Cuts one page out of `items`. `query` fingerprints the filters so a cursor is only valid
 * for the query that produced it.
 */
export function paginate<T>(
  items: readonly T[],
  opts: { limit: number; cursor?: string; query: string },
): Page<T> {
  const offset = opts.cursor ? decodeCursor(opts.cursor, opts.query) : 0;
  const page = items.slice(offset, offset + opts.limit);
  const end = offset + page.length;
  return {
    items: page,
    total: items.length,
    more: items.length - end,
    ...(end < items.length ? { next_cursor: encodeCursor(end, opts.query) } : {}),
  };
}

/** Keeps only `fields` of each item (all of `defaults` when no fields are asked for). */
export function pick<T extends object>(
  items: readonly T[],
  fields: readonly string[] | undefined,
  defaults: readonly string[],
): Partial<T>[] {
  const keep = fields ?? defaults;
  return items.map((item) => {
    const out: Record<string, unknown> = {};
    for (const f of keep) {
      const v = (item as Record<string, unknown>)[f];
      if (v !== undefined) out[f] = v;
    }
    return out as Partial<T>;
  });
}

/**
 * A stable fingerprint of the filter and sort arguments of a list call (not the page size,
 * cursor or field selection, which may change from page to page).
 */
export function queryKey(filters: Record<string, unknown>): string {
  const { cursor: _c, limit: _l, fields: _f, ...rest } = filters;
  return JSON.stringify(Object.keys(rest).sort().map((k) => [k, rest[k]]));
}
