/**
 * Tolerant parsers for what the Proxmox API returns. Real clusters differ from the schema in
 * places (numbers as strings, `template` as `""`, extra fields), so numbers are coerced and
 * unknown fields are ignored.
 *
 * @module
 */
import { z } from "zod";

/** A number that may arrive as a numeric string. */
export const num = z.preprocess(
  (v) => (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)) ? Number(v) : v),
  z.number(),
);

/** A boolean that may arrive as 0/1, "0"/"1" or "". */
export const flag = z.preprocess(
  (v) => v === true || v === 1 || v === "1" || v === "true",
  z.boolean(),
);

/** An entry of `GET /cluster/resources`. */
export const ClusterResource = z.object({
  id: z.string(),
  type: z.string(),
  node: z.string().optional(),
  vmid: num.optional(),
  name: z.string().optional(),
  status: z.string().optional(),
  cpu: num.optional(),
  maxcpu: num.optional(),
  mem: num.optional(),
  maxmem: num.optional(),
  disk: num.optional(),
  maxdisk: num.optional(),
  uptime: num.optional(),
  template: flag.optional(),
  tags: z.string().optional(),
  pool: z.string().optional(),
  storage: z.string().optional(),
  content: z.string().optional(),
  plugintype: z.string().optional(),
  shared: flag.optional(),
  hastate: z.string().optional(),
  lock: z.string().optional(),
  level: z.string().optional(),
});

/** A parsed `/cluster/resources` entry. */
export type ClusterResource = z.infer<typeof ClusterResource>;

/** Parses a `/cluster/resources` answer, dropping entries that are not objects with id and type. */
export function parseResources(data: unknown): ClusterResource[] {
  if (!Array.isArray(data)) return [];
  const out: ClusterResource[] = [];
  for (const entry of data) {
    const r = ClusterResource.safeParse(entry);
    if (r.success) out.push(r.data);
  }
  return out;
}

/** An entry of `GET /nodes`. */
export const NodeEntry = z.object({
  node: z.string(),
  status: z.string().default("unknown"),
  cpu: num.optional(),
  maxcpu: num.optional(),
  mem: num.optional(),
  maxmem: num.optional(),
  disk: num.optional(),
  maxdisk: num.optional(),
  uptime: num.optional(),
  level: z.string().optional(),
  ssl_fingerprint: z.string().optional(),
});

/** A parsed `/nodes` entry. */
export type NodeEntry = z.infer<typeof NodeEntry>;

/** Splits a Proxmox tag list (`prod;web`, also `,` or space separated). */
export function splitTags(tags: string | undefined): string[] {
  return tags ? tags.split(/[;,\s]+/).filter(Boolean) : [];
}
