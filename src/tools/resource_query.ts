/**
 * Filtering and sorting of `/cluster/resources`, shared by the cluster and guest tools.
 *
 * @module
 */
import { type ClusterResource, parseResources, splitTags } from "../proxmox/resources.ts";
import type { ToolContext } from "./context.ts";

/** Filters a caller can combine; all given ones must match. */
export interface ResourceFilter {
  /** Resource kind: `vm` means both qemu and lxc. */
  type?: "vm" | "qemu" | "lxc" | "node" | "storage" | "pool" | "sdn";
  node?: string;
  status?: string;
  tag?: string;
  pool?: string;
  /** Case-insensitive substring of the name (or storage ID). */
  name?: string;
  template?: boolean;
}

/** Sort keys for resource lists. */
export const SORT_KEYS = [
  "vmid",
  "name",
  "node",
  "cpu",
  "mem",
  "maxmem",
  "disk",
  "uptime",
] as const;

/** Reads `/cluster/resources` with the narrowest API-side type filter, then applies `filter`. */
export async function queryResources(
  ctx: ToolContext,
  filter: ResourceFilter,
): Promise<ClusterResource[]> {
  const apiType = filter.type === "qemu" || filter.type === "lxc" ? "vm" : filter.type;
  const params = apiType && apiType !== "pool" ? { type: apiType } : undefined;
  if (filter.node) await ctx.inventory.requireNode(filter.node, ctx.signal);
  const data = await ctx.api.get("/cluster/resources", params, { signal: ctx.signal });
  return parseResources(data).filter((r) => matches(r, filter));
}

function matches(r: ClusterResource, f: ResourceFilter): boolean {
  if (f.type) {
    if (f.type === "vm" ? r.type !== "qemu" && r.type !== "lxc" : r.type !== f.type) return false;
  }
  if (f.node && r.node !== f.node) return false;
  if (f.status && r.status !== f.status) return false;
  if (f.pool && r.pool !== f.pool && !(r.type === "pool" && r.id === `/pool/${f.pool}`)) {
    return false;
  }
  if (f.tag && !splitTags(r.tags).some((t) => t.toLowerCase() === f.tag!.toLowerCase())) {
    return false;
  }
  if (f.template !== undefined && Boolean(r.template) !== f.template) return false;
  if (f.name) {
    const hay = (r.name ?? r.storage ?? r.id).toLowerCase();
    if (!hay.includes(f.name.toLowerCase())) return false;
  }
  return true;
}

/** Sorts in place by `key`; absent values sort last. */
export function sortResources<T extends Record<string, unknown>>(
  items: T[],
  key: string,
  order: "asc" | "desc",
): T[] {
  const dir = order === "asc" ? 1 : -1;
  return items.sort((a, b) => {
    const x = a[key];
    const y = b[key];
    if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
    if (typeof x === "number" && typeof y === "number") return (x - y) * dir;
    return String(x).localeCompare(String(y)) * dir;
  });
}
