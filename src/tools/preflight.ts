/**
 * Preflight checks for mutating tools, run before anything is sent: guests and their facts,
 * free VMIDs, node capacity, storage, bridges, volumes. Every failure is a `ToolInputError`
 * (or a typed Proxmox error such as `GuestNotFoundError`) that says what is wrong and what
 * would be valid. Reads are cached for one plan. Scope is not decided here: the scope stage
 * checks every target of the requests a plan sends.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import { GuestNotFoundError } from "../proxmox/guests.ts";
import {
  type ClusterResource,
  flag,
  NodeEntry,
  num,
  parseResources,
  splitTags,
} from "../proxmox/resources.ts";
import type { GuestKind } from "../safety/change.ts";
import { ProxmoxApiError } from "../proxmox/errors.ts";
import { type ToolContext, ToolInputError } from "./context.ts";

/** Everything a plan needs to know about one existing guest. */
export interface GuestFacts {
  vmid: number;
  node: string;
  type: GuestKind;
  name?: string;
  status: string;
  running: boolean;
  template: boolean;
  tags: string[];
  pool?: string;
  protection: boolean;
  lock?: string;
  /** The current configuration, values as strings. */
  config: Record<string, string>;
  /** `/nodes/{node}/{type}/{vmid}`. */
  path: string;
}

/** A storage as `GET /nodes/{node}/storage` lists it. */
export const StorageEntry = z.object({
  storage: z.string(),
  type: z.string().optional(),
  content: z.string().default(""),
  enabled: flag.optional(),
  active: flag.optional(),
  shared: flag.optional(),
  avail: num.optional(),
  total: num.optional(),
}).loose();
/** A parsed storage entry. */
export type StorageEntry = z.infer<typeof StorageEntry>;

const VolumeEntry = z.object({
  volid: z.string(),
  content: z.string().optional(),
  size: num.optional(),
  vmid: num.optional(),
  protected: flag.optional(),
  format: z.string().optional(),
  ctime: num.optional(),
  notes: z.string().optional(),
}).loose();
/** A volume on a storage. */
export type VolumeEntry = z.infer<typeof VolumeEntry>;

const NodeStatus = z.object({
  memory: z.object({ total: num, free: num.optional(), available: num.optional(), used: num })
    .loose(),
  cpuinfo: z.object({ cpus: num }).loose(),
}).loose();

const GiB = 1024 ** 3;

/** Bytes as GiB with one decimal: `3.1 GiB`. */
export function gib(bytes: number): string {
  const v = bytes / GiB;
  return `${v >= 100 ? Math.round(v) : Math.round(v * 10) / 10} GiB`;
}

/** Cached cluster reads for one plan. */
export class Facts {
  readonly ctx: ToolContext;
  #memo = new Map<string, Promise<unknown>>();

  constructor(ctx: ToolContext) {
    this.ctx = ctx;
  }

  #get<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.#memo.get(key) as Promise<T> | undefined;
    if (!p) this.#memo.set(key, p = load());
    return p;
  }

  #read(path: string, params?: Record<string, string | number | boolean | undefined>) {
    return this.ctx.api.get<unknown>(path, params, { signal: this.ctx.signal });
  }

  /** Every guest of the cluster (`/cluster/resources?type=vm`). */
  guests(): Promise<ClusterResource[]> {
    return this.#get(
      "guests",
      async () =>
        parseResources(await this.#read("/cluster/resources", { type: "vm" }))
          .filter((r) => r.type === "qemu" || r.type === "lxc"),
    );
  }

  /** VMIDs in use anywhere in the cluster. */
  async usedVmids(): Promise<Set<number>> {
    const ids = new Set<number>();
    for (const g of await this.guests()) {
      const id = g.vmid ?? Number(g.id.split("/")[1]);
      if (Number.isInteger(id)) ids.add(id);
    }
    return ids;
  }

  /** The cluster's nodes, read fresh. */
  nodes(): Promise<NodeEntry[]> {
    return this.#get("nodes", async () => z.array(NodeEntry).parse(await this.#read("/nodes")));
  }

  /** An existing guest with its config; `GuestNotFoundError` when no guest has `vmid`. */
  guest(vmid: number, node?: string): Promise<GuestFacts> {
    return this.#get(`guest:${vmid}`, () => this.#loadGuest(vmid, node));
  }

  async #loadGuest(vmid: number, node?: string): Promise<GuestFacts> {
    const all = await this.guests();
    const r = all.find((g) => (g.vmid ?? Number(g.id.split("/")[1])) === vmid);
    if (!r || !r.node) {
      const near = [...await this.usedVmids()].sort((a, b) =>
        Math.abs(a - vmid) - Math.abs(b - vmid)
      ).slice(0, 3).sort((a, b) => a - b);
      throw new GuestNotFoundError(vmid, { nearby: near });
    }
    if (node && node !== r.node) {
      throw new ToolInputError(`Guest ${vmid} is on node ${r.node}, not ${node}`);
    }
    const type: GuestKind = r.type === "lxc" ? "lxc" : "qemu";
    const path = apiPath`/nodes/${r.node}/${type}/${vmid}`;
    const raw = z.record(z.string(), z.unknown()).parse(await this.#read(`${path}/config`));
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (v === undefined || v === null || typeof v === "object") continue;
      config[k] = typeof v === "boolean" ? (v ? "1" : "0") : String(v);
    }
    const tags = splitTags(config.tags ?? r.tags);
    const name = (type === "qemu" ? config.name : config.hostname) ?? r.name;
    const status = r.status ?? "unknown";
    return {
      vmid,
      node: r.node,
      type,
      name,
      status,
      running: status === "running",
      template: config.template === "1" || r.template === true,
      tags,
      pool: r.pool,
      protection: config.protection === "1",
      lock: config.lock ?? r.lock,
      config,
      path,
    };
  }

  /** A node that exists and is online; the error lists the online nodes. */
  async onlineNode(name: string): Promise<NodeEntry> {
    const nodes = await this.nodes();
    const online = nodes.filter((n) => n.status === "online").map((n) => n.node).sort();
    const found = nodes.find((n) => n.node === name);
    if (!found) {
      throw new ToolInputError(
        `Unknown node "${name}": nodes are ${nodes.map((n) => n.node).sort().join(", ")}`,
      );
    }
    if (found.status !== "online") {
      throw new ToolInputError(
        `Node ${name} is ${found.status}: online nodes are ${online.join(", ") || "none"}`,
      );
    }
    return found;
  }

  /** Free memory (bytes) and CPUs of a node, from `/nodes/{node}/status`. */
  nodeCapacity(node: string): Promise<{ free: number; total: number; cpus: number }> {
    return this.#get(`cap:${node}`, async () => {
      const s = NodeStatus.parse(await this.#read(apiPath`/nodes/${node}/status`));
      const m = s.memory;
      return {
        free: m.available ?? m.free ?? m.total - m.used,
        total: m.total,
        cpus: s.cpuinfo.cpus,
      };
    });
  }

  /** Storages available on `node`. */
  storages(node: string): Promise<StorageEntry[]> {
    return this.#get(
      `storages:${node}`,
      async () => z.array(StorageEntry).parse(await this.#read(apiPath`/nodes/${node}/storage`)),
    );
  }

  /** Bridge names on `node`. */
  bridges(node: string): Promise<string[]> {
    return this.#get(`bridges:${node}`, async () => {
      const list = z.array(z.object({ iface: z.string() }).loose()).parse(
        await this.#read(apiPath`/nodes/${node}/network`, { type: "any_bridge" }),
      );
      return list.map((i) => i.iface).sort();
    });
  }

  /** Volumes of `content` on `storage` as seen from `node`. */
  volumes(node: string, storage: string, content: string, vmid?: number): Promise<VolumeEntry[]> {
    return this.#get(
      `vol:${node}:${storage}:${content}:${vmid ?? ""}`,
      async () =>
        z.array(VolumeEntry).parse(
          await this.#read(apiPath`/nodes/${node}/storage/${storage}/content`, { content, vmid }),
        ),
    );
  }

  /** Snapshot names of a guest (without `current`). */
  snapshots(g: GuestFacts): Promise<string[]> {
    return this.#get(`snap:${g.vmid}`, async () => {
      const list = z.array(z.object({ name: z.string() }).loose()).parse(
        await this.#read(`${g.path}/snapshot`),
      );
      return list.map((s) => s.name).filter((n) => n !== "current");
    });
  }
}

/** How many candidates Proxmox may report taken before the picker gives up. */
const VMID_TRIES = 20;

/**
 * Whether Proxmox considers `vmid` free (`GET /cluster/nextid?vmid=`). Taken is exactly its
 * parameter error on `vmid` ("VM 101 already exists"); any other failure is thrown as it is.
 */
export async function vmidFree(ctx: ToolContext, vmid: number): Promise<boolean> {
  try {
    await ctx.api.get("/cluster/nextid", { vmid }, { signal: ctx.signal });
    return true;
  } catch (err) {
    if (
      err instanceof ProxmoxApiError && err.status === 400 &&
      /already exists/i.test(err.errors?.vmid ?? "")
    ) return false;
    throw err;
  }
}

/**
 * The one VMID picker (new guests and `next_vmid`): without VMID ranges in the scope, Proxmox's
 * own `GET /cluster/nextid`; with them, the lowest VMID the ranges allow that the inventory does
 * not show, confirmed free by Proxmox (IDs it reports taken are skipped). Never answers a VMID
 * outside the ranges; throws when none is left.
 */
export async function pickVmid(facts: Facts): Promise<number> {
  const scope = facts.ctx.scope;
  const ctx = facts.ctx;
  if (!scope?.rules.allowedVmids && !scope?.rules.deniedVmids) {
    return num.parse(await ctx.api.get("/cluster/nextid", undefined, { signal: ctx.signal }));
  }
  const used = new Set(await facts.usedVmids());
  for (let tries = 0; tries < VMID_TRIES; tries++) {
    const candidate = scope.firstFreeVmid(used);
    if (candidate === undefined) break;
    if (await vmidFree(ctx, candidate)) return candidate;
    used.add(candidate);
  }
  throw new ToolInputError(
    "No free VMID is left in the VMID ranges this server may use (allowed_vmids, denied_vmids)",
  );
}

/**
 * A VMID for a new guest: `requested` if free, else the one {@link pickVmid} picks. Whether a
 * requested VMID is in scope is the scope stage's decision, not this one's.
 */
export async function chooseVmid(facts: Facts, requested?: number): Promise<number> {
  if (requested === undefined) return await pickVmid(facts);
  const used = await facts.usedVmids();
  if (!used.has(requested)) return requested;
  const g = (await facts.guests()).find((r) =>
    (r.vmid ?? Number(r.id.split("/")[1])) === requested
  );
  const next = await pickVmid(facts).catch((e) => {
    if (e instanceof ToolInputError) return undefined;
    throw e;
  });
  throw new ToolInputError(
    `VMID ${requested} is taken by ${g?.type ?? "a guest"} ${requested}${
      g?.name ? ` (${g.name})` : ""
    }${g?.node ? ` on ${g.node}` : ""}; the next free VMID is ${next ?? "none in scope"}`,
  );
}

/** Checks that `node` is online and has `memoryBytes` free and `cores` CPUs. */
export async function requireCapacity(
  facts: Facts,
  node: string,
  memoryBytes: number,
  cores: number,
): Promise<void> {
  await facts.onlineNode(node);
  const cap = await facts.nodeCapacity(node);
  const memShort = cap.free < memoryBytes;
  const cpuShort = cap.cpus < cores;
  if (!memShort && !cpuShort) return;
  const others = (await facts.nodes()).filter((n) => n.status === "online" && n.node !== node);
  const caps = await Promise.all(
    others.map(async (n) => ({ node: n.node, ...(await facts.nodeCapacity(n.node)) })),
  );
  const fits = caps.filter((c) => c.free >= memoryBytes && c.cpus >= cores)
    .sort((a, b) => b.free - a.free);
  const alt = fits.length
    ? `; ${
      fits.slice(0, 2).map((c) => `${c.node} has ${gib(c.free)} free and ${c.cpus} CPUs`).join(", ")
    }`
    : "; no other online node has enough either";
  if (memShort) {
    throw new ToolInputError(
      `Not enough memory: node ${node} has ${gib(cap.free)} free, asked for ${
        gib(memoryBytes)
      }${alt}`,
    );
  }
  throw new ToolInputError(
    `Not enough CPUs: node ${node} has ${cap.cpus} CPUs, asked for ${cores} cores${alt}`,
  );
}

/**
 * Checks that `storage` exists on `node`, is enabled and active, holds `content` and has
 * `bytes` free. Returns its entry.
 */
export async function requireStorage(
  facts: Facts,
  node: string,
  storage: string,
  content: string,
  bytes = 0,
): Promise<StorageEntry> {
  const all = await facts.storages(node);
  const holds = (s: StorageEntry) => s.content.split(",").map((c) => c.trim()).includes(content);
  const usable = all.filter((s) => holds(s) && s.enabled !== false && s.active !== false);
  const suggest = () => {
    const ok = usable.filter((s) => (s.avail ?? Infinity) >= bytes)
      .sort((a, b) => (b.avail ?? 0) - (a.avail ?? 0));
    return ok.length
      ? `; storages on ${node} for ${content}: ${
        ok.map((s) => (s.avail === undefined ? s.storage : `${s.storage} (${gib(s.avail)} free)`))
          .join(", ")
      }`
      : `; no storage on ${node} holds ${content} with that much space`;
  };
  const s = all.find((x) => x.storage === storage);
  if (!s) {
    throw new ToolInputError(`Storage ${storage} is not available on node ${node}${suggest()}`);
  }
  if (s.enabled === false || s.active === false) {
    throw new ToolInputError(
      `Storage ${storage} is ${
        s.enabled === false ? "disabled" : "not active"
      } on node ${node}${suggest()}`,
    );
  }
  if (!holds(s)) {
    throw new ToolInputError(
      `Storage ${storage} does not hold ${content} (it holds ${
        s.content || "nothing"
      })${suggest()}`,
    );
  }
  if (bytes > 0 && s.avail !== undefined && s.avail < bytes) {
    throw new ToolInputError(
      `Not enough space: storage ${storage} on ${node} has ${gib(s.avail)} free, asked for ${
        gib(bytes)
      }${suggest()}`,
    );
  }
  return s;
}

/** Checks that pool `pool` exists (nothing to check when undefined); the error lists the pools. */
export async function requirePool(facts: Facts, pool: string | undefined): Promise<void> {
  if (pool === undefined) return;
  const pools = z.array(z.object({ poolid: z.string() }).loose()).parse(
    await facts.ctx.api.get("/pools", undefined, { signal: facts.ctx.signal }),
  );
  if (!pools.some((p) => p.poolid === pool)) {
    throw new ToolInputError(
      `Pool ${pool} does not exist: pools are ${pools.map((p) => p.poolid).join(", ") || "none"}`,
    );
  }
}

/** Checks that `bridge` exists on `node`. */
export async function requireBridge(facts: Facts, node: string, bridge: string): Promise<void> {
  const bridges = await facts.bridges(node);
  if (!bridges.includes(bridge)) {
    throw new ToolInputError(
      `Bridge ${bridge} does not exist on node ${node}: bridges there are ${
        bridges.join(", ") || "none"
      }`,
    );
  }
}

/** Splits `local:iso/x.iso` into storage and the rest; throws on other shapes. */
export function splitVolid(volid: string, what: string): { storage: string; name: string } {
  const m = /^([a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]):(.+)$/.exec(volid);
  if (!m) {
    throw new ToolInputError(
      `${what} must be a volume ID like "local:iso/debian-12.iso", got ${JSON.stringify(volid)}`,
    );
  }
  return { storage: m[1], name: m[2] };
}

/** Checks that volume `volid` of `content` exists as seen from `node`; returns its entry. */
export async function requireVolume(
  facts: Facts,
  node: string,
  volid: string,
  content: string,
  what: string,
): Promise<VolumeEntry> {
  const { storage } = splitVolid(volid, what);
  await requireStorage(facts, node, storage, content);
  const vols = await facts.volumes(node, storage, content);
  const found = vols.find((v) => v.volid === volid);
  if (!found) {
    const names = vols.map((v) => v.volid).slice(0, 6);
    throw new ToolInputError(
      `${what} ${volid} does not exist on node ${node}: ${
        names.length
          ? `${content} volumes on ${storage} are ${names.join(", ")}`
          : `${storage} holds no ${content}`
      }`,
    );
  }
  return found;
}

const UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Parses a Proxmox size (`32G`, `512M`, `1.5T`, plain bytes) into bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT])?$/i.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (m[2] ? UNITS[m[2].toUpperCase()] : 1));
}

/** The `size=` of a disk config string, in bytes. */
export function diskSize(config: string): number | undefined {
  const m = /(?:^|,)size=([^,]+)/.exec(config);
  return m ? parseSize(m[1]) : undefined;
}

/** Config keys that are disks of a guest of `type` (not CD-ROMs). */
export function diskKeys(type: GuestKind, config: Record<string, string>): string[] {
  const re = type === "qemu"
    ? /^(scsi|virtio|sata|ide)\d+$|^efidisk0$|^tpmstate0$/
    : /^rootfs$|^mp\d+$/;
  return Object.keys(config).filter((k) => re.test(k) && !/media=cdrom/.test(config[k]));
}
