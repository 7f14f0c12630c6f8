/**
 * Encoding of API paths and parameters the way `pveproxy` expects them.
 *
 * @module
 */

/** Request parameters: booleans are sent as 1/0, arrays as repeated keys, undefined omitted. */
export type Params = Record<string, string | number | boolean | string[] | undefined>;

/** Encodes `params` as query string or form body. */
export function encodeParams(params?: Params): URLSearchParams {
  const out = new URLSearchParams();
  if (!params) return out;
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) {
      for (const item of value) out.append(key, item);
    } else if (typeof value === "boolean") {
      out.append(key, value ? "1" : "0");
    } else if (typeof value === "number") {
      if (!Number.isFinite(value)) throw new TypeError(`Parameter ${key} is not a finite number`);
      out.append(key, String(value));
    } else {
      out.append(key, value);
    }
  }
  return out;
}

/**
 * Tagged template that URL-encodes every interpolated path segment:
 * `` apiPath`/nodes/${node}/tasks/${upid}/status` ``.
 */
export function apiPath(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  let out = strings[0];
  values.forEach((value, i) => {
    out += encodeURIComponent(String(value)) + strings[i + 1];
  });
  return out;
}
