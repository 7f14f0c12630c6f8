/**
 * Argument schemas shared by the catalogue, each with an error that says what is allowed.
 *
 * @module
 */
import { z } from "zod";

/** A strict argument object: an unknown argument is refused with the list of known ones. */
export function args<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape).join(", ") || "(none)";
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `Unknown argument ${
          issue.keys.map((k) => `"${k}"`).join(", ")
        }: this tool accepts ${known}`
        : undefined,
  });
}

/** A VMID: an integer from 100 to 999999999. */
export const vmid = () =>
  z.int({ error: (i) => `vmid must be an integer from 100 to 999999999, got ${show(i.input)}` })
    .min(100, { error: (i) => `vmid must be from 100 to 999999999, got ${show(i.input)}` })
    .max(999999999, { error: (i) => `vmid must be from 100 to 999999999, got ${show(i.input)}` })
    .describe("Guest ID (100-999999999)");

/** A node name as Proxmox allows it. */
export const nodeName = () =>
  z.string().regex(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/, {
    error: (i) => `node must be a node name (letters, digits, '-'), got ${show(i.input)}`,
  });

/** An optional node that skips a lookup when the caller knows it. */
export const optionalNode = () => nodeName().optional().describe("Node; looked up if omitted");

/** A storage ID as Proxmox allows it. */
export const storageId = () =>
  z.string().regex(/^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]$/, {
    error: (i) => `storage must be a storage ID like "local-lvm", got ${show(i.input)}`,
  });

/** Page size: 1 to `max`, `fallback` by default. */
export const limit = (fallback = 50, max = 500) =>
  z.int({ error: (i) => `limit must be an integer from 1 to ${max}, got ${show(i.input)}` })
    .min(1, { error: `limit must be from 1 to ${max}` })
    .max(max, { error: `limit must be from 1 to ${max}` })
    .default(fallback)
    .describe(`Page size (default ${fallback}, max ${max})`);

/** An opaque cursor from a previous page's `next_cursor`. */
export const cursor = () =>
  z.string().max(200, { error: "cursor is too long: pass next_cursor from the previous page" })
    .optional().describe("next_cursor of the previous page");

/** A choice among `values`, with the allowed values named in the error. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, name: string) {
  return z.enum(values, {
    error: (i) => `${name} must be one of ${values.join(", ")}, got ${show(i.input)}`,
  });
}

/** A selection of output fields among `values`. */
export function fieldList<const T extends readonly [string, ...string[]]>(values: T) {
  return z.array(oneOf(values, "each field"))
    .min(1, { error: `fields must name at least one of ${values.join(", ")}` })
    .optional()
    .describe(`Return only these fields: ${values.join(",")}`);
}

/** Renders a rejected input for an error message. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? text.slice(0, 57) + "..." : text;
}
