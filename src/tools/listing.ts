/**
 * What list tools share: the inventory item schema, pages of items, and their compact text.
 *
 * @module
 */
import { z } from "zod";
import { type ClusterResource, splitTags } from "../proxmox/resources.ts";
import { bytes, duration, percent, roundFraction, table } from "./format.ts";
import type { Page } from "./paginate.ts";

/** One entry of the cluster inventory (node, guest, storage, pool) as list tools return it. */
export const ResourceItem = z.object({
  id: z.string().optional(),
  type: z.string().optional().describe("qemu, lxc, node, storage, pool, sdn"),
  node: z.string().optional(),
  vmid: z.number().optional(),
  name: z.string().optional(),
  status: z.string().optional(),
  cpu: z.number().optional().describe("fraction of maxcpu"),
  maxcpu: z.number().optional(),
  mem: z.number().optional().describe("bytes"),
  maxmem: z.number().optional().describe("bytes"),
  disk: z.number().optional(),
  maxdisk: z.number().optional(),
  uptime: z.number().optional().describe("seconds"),
  tags: z.array(z.string()).optional(),
  pool: z.string().optional(),
  template: z.boolean().optional(),
  storage: z.string().optional(),
  content: z.string().optional(),
  plugintype: z.string().optional(),
  shared: z.boolean().optional(),
  hastate: z.string().optional(),
  lock: z.string().optional(),
});

/** An inventory entry as list tools return it. */
export type ResourceItem = z.infer<typeof ResourceItem>;

/** Converts a parsed `/cluster/resources` entry into a list item. */
export function toResourceItem(r: ClusterResource): ResourceItem {
  const { level: _level, tags, template, cpu, ...rest } = r;
  return {
    ...rest,
    cpu: cpu === undefined ? undefined : roundFraction(cpu),
    tags: tags ? splitTags(tags) : undefined,
    template: template || undefined,
  };
}

/** Output schema of a paginated list of `item`. */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    total: z.number().describe("matches on all pages"),
    more: z.number().describe("matches after this page"),
    next_cursor: z.string().optional(),
  });
}

/** The summary line under a list: how many shown, how many in all, how to get the rest. */
export function pageFooter(
  p: { items: unknown[]; total: number; more: number; next_cursor?: string },
) {
  const head = `${p.items.length} of ${p.total}`;
  return p.next_cursor ? `${head}; ${p.more} more: next_cursor=${p.next_cursor}` : head;
}

/** A cell of a list table: usage in human units, tags joined, others as they are. */
export function renderUsage(field: string, v: unknown): unknown {
  if (Array.isArray(v)) return v.join(";");
  if (typeof v !== "number") return v;
  if (field === "cpu") return percent(v);
  if (field === "uptime") return duration(v);
  if (["mem", "maxmem", "disk", "maxdisk"].includes(field)) return bytes(v);
  return v;
}

/** A page of items with `fields` selected, as structured content and a text table. */
export function listAnswer<T extends object>(
  page: Page<unknown>,
  items: Partial<T>[],
  fields: readonly string[],
) {
  const cols = fields.map((f) =>
    [f, (r: Partial<T>) => renderUsage(f, (r as Record<string, unknown>)[f])] as [
      string,
      (r: Partial<T>) => unknown,
    ]
  );
  return {
    structured: { ...page, items },
    text: `${table(items, cols)}\n${pageFooter(page)}`,
  };
}

/**
 * Output schema of a list of rows whose fields are named in `fields` instead of spelled out as
 * a JSON schema: keeps `tools/list` small where one tool returns several kinds of rows.
 */
export function rows(fields: string) {
  return z.array(z.object({}).loose()).describe(fields);
}
