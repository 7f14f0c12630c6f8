/**
 * Filtering and sorting of `/cluster/resources`, shared by the cluster and guest tools. Queries
 * run on the inventory's indexed snapshot: candidates come from the narrowest index, so a
 * filtered query costs O(matches), and a repeated query (paging on) costs O(page).
 *
 * @module
 */
import {
  type ClusterResource,
  type IndexedAttribute,
  isGuest,
  type ResourceSnapshot,
} from "../proxmox/resources.ts";
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

/** How to order a query's result. */
export interface ResourceSort {
  key: string;
  order: "asc" | "desc";
}

/**
 * The resources matching `filter`, ordered by `sort`, from the inventory's snapshot (read from
 * the cluster when absent or stale). A given node is checked against the node list first.
 */
export async function queryResources(
  ctx: ToolContext,
  filter: ResourceFilter,
  sort: ResourceSort = { key: "vmid", order: "asc" },
): Promise<readonly ClusterResource[]> {
  // Both readings at once: on a cold cache the node list costs no extra round trip.
  const reading = ctx.inventory.resources(ctx.signal);
  if (filter.node) {
    reading.catch(() => {/* the node's error comes first; the reading's is seen below */});
    await ctx.inventory.requireNode(filter.node, ctx.signal);
  }
  return selectResources(await reading, filter, sort);
}

/** Filters and sorts `snapshot`; the result is memoised on the snapshot per filter and sort. */
export function selectResources(
  snapshot: ResourceSnapshot,
  filter: ResourceFilter,
  sort: ResourceSort = { key: "vmid", order: "asc" },
): readonly ClusterResource[] {
  const key = JSON.stringify([
    filter.type,
    filter.node,
    filter.status,
    filter.tag?.toLowerCase(),
    filter.pool,
    filter.name?.toLowerCase(),
    filter.template,
    sort.key,
    sort.order,
  ]);
  return snapshot.memo(key, () => {
    const found = narrowest(snapshot, filter).filter((r) => matches(snapshot, r, filter));
    // Snapshot order is VMID then id: ascending VMID needs no sort.
    if (sort.key === "vmid" && sort.order === "asc") return found;
    return sortResources(found, sort.key, sort.order);
  });
}

/** The shortest index list that every match must be in. */
function narrowest(s: ResourceSnapshot, f: ResourceFilter): readonly ClusterResource[] {
  const keys: [IndexedAttribute, string | undefined][] = [
    ["type", f.type],
    ["node", f.node],
    ["status", f.status],
    ["tag", f.tag?.toLowerCase()],
    ["pool", f.pool],
  ];
  let best = s.all;
  for (const [attribute, value] of keys) {
    if (value === undefined || value === "") continue;
    const list = s.lookup(attribute, value);
    if (list.length < best.length) best = list;
  }
  return best;
}

function matches(s: ResourceSnapshot, r: ClusterResource, f: ResourceFilter): boolean {
  if (f.type) {
    if (f.type === "vm" ? !isGuest(r) : r.type !== f.type) return false;
  }
  if (f.node && r.node !== f.node) return false;
  if (f.status && r.status !== f.status) return false;
  if (f.pool && r.pool !== f.pool && !(r.type === "pool" && r.id === `/pool/${f.pool}`)) {
    return false;
  }
  if (f.tag) {
    if (!s.lowerTags(r).includes(f.tag.toLowerCase())) return false;
  }
  if (f.template !== undefined && Boolean(r.template) !== f.template) return false;
  if (f.name) {
    const hay = (r.name ?? r.storage ?? r.id).toLowerCase();
    if (!hay.includes(f.name.toLowerCase())) return false;
  }
  return true;
}

const collator = new Intl.Collator("en", { numeric: true });

/**
 * Sorts in place by `key`; absent values sort last, numbers numerically, text in natural order
 * (`web-2` before `web-10`). The sort is stable, so ties keep their order.
 */
export function sortResources<T extends object>(
  items: T[],
  key: string,
  order: "asc" | "desc",
): T[] {
  const dir = order === "asc" ? 1 : -1;
  return items.sort((a, b) => {
    const x = (a as Record<string, unknown>)[key];
    const y = (b as Record<string, unknown>)[key];
    if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? 1 : -1;
    if (typeof x === "number" && typeof y === "number") return (x - y) * dir;
    return collator.compare(String(x), String(y)) * dir;
  });
}
