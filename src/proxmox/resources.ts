/**
 * Tolerant parsers for what the Proxmox API returns, and an indexed snapshot of
 * `/cluster/resources`. Real clusters differ from the schema in places (numbers as strings,
 * `template` as `""`, extra fields), so numbers are coerced and unknown fields are ignored.
 *
 * @module
 */
import { z } from "zod";

/**
 * A number that may arrive as a numeric string. A union rather than a preprocess: most values
 * are numbers already, and these parsers run on every field of every answer.
 */
export const num = z.union([
  z.number(),
  z.string().transform((v, ctx) => {
    const n = Number(v);
    if (v.trim() !== "" && Number.isFinite(n)) return n;
    ctx.addIssue({ code: "custom", message: "Invalid input: expected number, received string" });
    return z.NEVER;
  }),
]);

/** A boolean that may arrive as 0/1, "0"/"1" or "": only true, 1, "1" and "true" are true. */
export const flag = z.unknown().transform((v) =>
  v === true || v === 1 || v === "1" || v === "true"
);

/** A parsed `/cluster/resources` entry. */
export interface ClusterResource {
  id: string;
  type: string;
  node?: string;
  vmid?: number;
  name?: string;
  status?: string;
  cpu?: number;
  maxcpu?: number;
  mem?: number;
  maxmem?: number;
  disk?: number;
  maxdisk?: number;
  uptime?: number;
  template?: boolean;
  tags?: string;
  pool?: string;
  storage?: string;
  content?: string;
  plugintype?: string;
  shared?: boolean;
  hastate?: string;
  lock?: string;
  level?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function toFlag(v: unknown): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  return v === true || v === 1 || v === "1" || v === "true";
}

/**
 * Parses one `/cluster/resources` entry: undefined unless it is an object with string `id` and
 * `type`; numbers are coerced, flags become booleans, malformed fields are left out. Written
 * without zod, with one object shape for every entry, because it runs once per entry on lists
 * of tens of thousands.
 */
export function parseResource(entry: unknown): ClusterResource | undefined {
  if (typeof entry !== "object" || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  if (typeof e.id !== "string" || typeof e.type !== "string") return undefined;
  const r: ClusterResource = {
    id: e.id,
    type: e.type,
    node: str(e.node),
    vmid: typeof e.vmid === "number" ? e.vmid : toNumber(e.vmid),
    name: str(e.name),
    status: str(e.status),
    cpu: typeof e.cpu === "number" ? e.cpu : toNumber(e.cpu),
    maxcpu: typeof e.maxcpu === "number" ? e.maxcpu : toNumber(e.maxcpu),
    mem: typeof e.mem === "number" ? e.mem : toNumber(e.mem),
    maxmem: typeof e.maxmem === "number" ? e.maxmem : toNumber(e.maxmem),
    disk: typeof e.disk === "number" ? e.disk : toNumber(e.disk),
    maxdisk: typeof e.maxdisk === "number" ? e.maxdisk : toNumber(e.maxdisk),
    uptime: typeof e.uptime === "number" ? e.uptime : toNumber(e.uptime),
    template: toFlag(e.template),
    tags: str(e.tags),
    pool: str(e.pool),
    storage: str(e.storage),
    content: str(e.content),
    plugintype: str(e.plugintype),
    shared: toFlag(e.shared),
    hastate: str(e.hastate),
    lock: str(e.lock),
    level: str(e.level),
  };
  return r;
}

/** Parses a `/cluster/resources` answer, dropping entries that are not objects with id and type. */
export function parseResources(data: unknown): ClusterResource[] {
  if (!Array.isArray(data)) return [];
  const out: ClusterResource[] = [];
  for (const entry of data) {
    const r = parseResource(entry);
    if (r) out.push(r);
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

/** True for guest entries (QEMU VMs and LXC containers). */
export function isGuest(r: ClusterResource): boolean {
  return r.type === "qemu" || r.type === "lxc";
}

/** Attributes a snapshot indexes; `type` also has the value `vm` (QEMU and LXC). */
export type IndexedAttribute = "type" | "node" | "status" | "tag" | "pool";

const EMPTY: readonly ClusterResource[] = Object.freeze([]);
const NO_TAGS: readonly string[] = Object.freeze([]);

interface TagInfo {
  tags: readonly string[];
  lower: readonly string[];
}

/**
 * One reading of `/cluster/resources`, indexed: by VMID, and by type, node, status, tag
 * (lower-case) and pool, each index list in snapshot order (VMID, then id). Immutable once
 * built; building is O(entries), every lookup after that is O(answer).
 */
export class ResourceSnapshot {
  /** When the reading was requested, in clock milliseconds. */
  readonly at: number;
  /** Every entry, ordered by VMID (entries without one last), then id. */
  readonly all: readonly ClusterResource[];
  #byVmid = new Map<number, ClusterResource>();
  #index: Record<IndexedAttribute, Map<string, ClusterResource[]>> = {
    type: new Map(),
    node: new Map(),
    status: new Map(),
    tag: new Map(),
    pool: new Map(),
  };
  /** Split tag lists by the `tags` text they came from (few distinct ones per cluster). */
  #tags = new Map<string, TagInfo>();
  #memo = new Map<string, unknown>();

  /** Indexes `entries` (parsed; copied into snapshot order when not in it). */
  constructor(entries: readonly ClusterResource[], at: number) {
    this.at = at;
    this.all = inSnapshotOrder(entries);
    this.#indexAll();
  }

  /** Parses (as {@link parseResources} does) and indexes a `/cluster/resources` answer. */
  static fromAnswer(data: unknown, at: number): ResourceSnapshot {
    return new ResourceSnapshot(parseResources(data), at);
  }

  #indexAll(): void {
    const { type, node, status, tag, pool } = this.#index;
    const tagInfo = this.#tags;
    const all = this.all;
    for (let i = 0; i < all.length; i++) {
      const r = all[i];
      add(type, r.type, r);
      if (r.type === "qemu" || r.type === "lxc") {
        add(type, "vm", r);
        if (r.vmid !== undefined) this.#byVmid.set(r.vmid, r);
      }
      if (r.node !== undefined) add(node, r.node, r);
      if (r.status !== undefined) add(status, r.status, r);
      if (r.pool !== undefined) add(pool, r.pool, r);
      if (r.type === "pool") {
        const name = r.id.replace(/^\/pool\//, "");
        if (name !== r.pool) add(pool, name, r);
      }
      if (r.tags) {
        let info = tagInfo.get(r.tags);
        if (!info) {
          const tags = splitTags(r.tags);
          info = { tags, lower: [...new Set(tags.map((t) => t.toLowerCase()))] };
          tagInfo.set(r.tags, info);
        }
        for (const t of info.lower) add(tag, t, r);
      }
    }
  }

  /** Entries whose `attribute` is `value` (tags: lower-case), in snapshot order. */
  lookup(attribute: IndexedAttribute, value: string): readonly ClusterResource[] {
    return this.#index[attribute].get(value) ?? EMPTY;
  }

  /** The tags of `r`, split once per distinct tag list when the snapshot was built. */
  tags(r: ClusterResource): readonly string[] {
    return (r.tags && this.#tags.get(r.tags)?.tags) || NO_TAGS;
  }

  /** The tags of `r` in lower case, without duplicates. */
  lowerTags(r: ClusterResource): readonly string[] {
    return (r.tags && this.#tags.get(r.tags)?.lower) || NO_TAGS;
  }

  /** The guest (QEMU or LXC) with `vmid`, if the snapshot has it. */
  guest(vmid: number): ClusterResource | undefined {
    return this.#byVmid.get(vmid);
  }

  /**
   * The value memoised under `key`, built by `build` on first use. Holds at most
   * {@link ResourceSnapshot.MEMO_LIMIT} values (the oldest is dropped); values must not be
   * mutated by callers.
   */
  memo<T>(key: string, build: () => T): T {
    if (this.#memo.has(key)) return this.#memo.get(key) as T;
    const value = build();
    if (this.#memo.size >= ResourceSnapshot.MEMO_LIMIT) {
      this.#memo.delete(this.#memo.keys().next().value!);
    }
    this.#memo.set(key, value);
    return value;
  }

  /** Most values {@link ResourceSnapshot.memo} keeps per snapshot. */
  static readonly MEMO_LIMIT = 32;

  /** Number of guests. */
  get guestCount(): number {
    return this.#byVmid.size;
  }

  /** The `count` guest VMIDs closest to `vmid` (for "did you mean" messages; scans). */
  nearby(vmid: number, count: number): number[] {
    return [...this.#byVmid.keys()]
      .sort((a, b) => Math.abs(a - vmid) - Math.abs(b - vmid) || a - b)
      .slice(0, count)
      .sort((a, b) => a - b);
  }
}

function add(map: Map<string, ClusterResource[]>, key: string, r: ClusterResource): void {
  const list = map.get(key);
  if (list) list.push(r);
  else map.set(key, [r]);
}

/**
 * `entries` if already in snapshot order, else a copy in it. Proxmox lists the guests (in some
 * order) and the few other entries apart: each part is sorted only when out of order, and the
 * entries without a VMID go last.
 */
function inSnapshotOrder(entries: readonly ClusterResource[]): readonly ClusterResource[] {
  let i = 1;
  while (i < entries.length && snapshotOrder(entries[i - 1], entries[i]) <= 0) i++;
  if (i >= entries.length) return entries;
  const keyed: ClusterResource[] = [];
  const rest: ClusterResource[] = [];
  let keyedSorted = true;
  let restSorted = true;
  for (const r of entries) {
    const part = r.vmid === undefined ? rest : keyed;
    if (part.length && snapshotOrder(part[part.length - 1], r) > 0) {
      if (part === keyed) keyedSorted = false;
      else restSorted = false;
    }
    part.push(r);
  }
  if (!keyedSorted) keyed.sort(snapshotOrder);
  if (!restSorted) rest.sort(snapshotOrder);
  for (const r of rest) keyed.push(r);
  return keyed;
}

function snapshotOrder(a: ClusterResource, b: ClusterResource): number {
  const x = a.vmid ?? Number.POSITIVE_INFINITY;
  const y = b.vmid ?? Number.POSITIVE_INFINITY;
  if (x !== y) return x < y ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
