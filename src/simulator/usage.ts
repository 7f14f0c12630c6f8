/**
 * Usage figures (CPU, memory, disk, network, uptime) derived deterministically from the seed,
 * the guest and the clock, so they are plausible, stable and drift only slightly over time.
 *
 * @module
 */
import { bootDiskSize, configCpus, configDisks, configMemoryMiB } from "./conf.ts";
import { unit } from "./rng.ts";
import type { ClusterState, Guest, NodeState, StorageState, VolumeState } from "./state.ts";

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** Live figures of one guest. */
export interface GuestUsage {
  cpu: number;
  cpus: number;
  mem: number;
  maxmem: number;
  disk: number;
  maxdisk: number;
  maxswap: number;
  netin: number;
  netout: number;
  diskread: number;
  diskwrite: number;
  uptime: number;
}

function drift(seed: number, vmid: number, now: number): number {
  // Slow wave with a period of about ten minutes, amplitude ±1.
  return Math.sin(now / 95_000 + unit(seed, vmid, 7) * 6.28);
}

/** Usage of a guest at `now` (zeros when stopped). */
export function guestUsage(state: ClusterState, guest: Guest, now: number): GuestUsage {
  const node = state.nodes.get(guest.node);
  const nodeCpus = node?.cpus ?? 4;
  const cfg = guest.config;
  const maxmem = configMemoryMiB(guest.type, cfg) * MiB;
  const cpus = configCpus(guest.type, cfg, nodeCpus);
  const maxdisk = bootDiskSize(guest);
  const seed = state.seed;
  const fill = 0.25 + 0.5 * unit(seed, guest.vmid, 3);
  const base = {
    cpus,
    maxmem,
    maxdisk,
    maxswap: guest.type === "lxc" ? Number(cfg.swap ?? 512) * MiB : 0,
    disk: guest.type === "lxc" ? Math.floor(maxdisk * fill) : 0,
  };
  if (guest.status !== "running" || node?.online === false) {
    return { ...base, cpu: 0, mem: 0, netin: 0, netout: 0, diskread: 0, diskwrite: 0, uptime: 0 };
  }
  const uptime = Math.max(0, Math.floor((now - (guest.startedAt ?? now)) / 1000));
  const busy = unit(seed, guest.vmid, 1);
  const cpu = guest.paused
    ? 0
    : Math.max(0, Math.min(1, 0.01 + busy * busy * 0.45 + drift(seed, guest.vmid, now) * 0.015));
  const memFrac = 0.3 + 0.55 * unit(seed, guest.vmid, 2) + drift(seed, guest.vmid, now) * 0.01;
  const rate = 2_000 + unit(seed, guest.vmid, 4) * 400_000; // bytes per second
  return {
    ...base,
    cpu: Math.round(cpu * 1e6) / 1e6,
    mem: Math.floor(maxmem * Math.min(0.97, memFrac)),
    netin: Math.floor(uptime * rate),
    netout: Math.floor(uptime * rate * (0.2 + unit(seed, guest.vmid, 5))),
    diskread: Math.floor(uptime * rate * 0.7 + 250 * MiB),
    diskwrite: Math.floor(uptime * rate * 0.3 + 80 * MiB),
    uptime,
  };
}

/** Live figures of one node. */
export interface NodeUsage {
  cpu: number;
  mem: number;
  maxmem: number;
  uptime: number;
  rootfsUsed: number;
  swapUsed: number;
  loadavg: [string, string, string];
  /** Running guests on this node. */
  running: number;
}

/** True when the storage is defined for this node (enabled or not). */
export function storageOnNode(storage: StorageState, node: string): boolean {
  return !storage.nodes || storage.nodes.includes(node);
}

/** Capacity of a storage as seen from a node. */
export function storageTotal(storage: StorageState, node: string): number {
  return storage.totalByNode?.[node] ?? storage.total;
}

/** One entry of a storage content listing. */
export interface ContentEntry {
  volid: string;
  content: string;
  format: string;
  size: number;
  used?: number;
  vmid?: number;
  ctime?: number;
  notes?: string;
  protected?: number;
  verification?: { state: string; upid: string };
  subtype?: string;
  parent?: string;
}

/** Explicit volumes visible on a storage from a node. */
export function volumesOn(state: ClusterState, storage: StorageState, node: string): VolumeState[] {
  return state.volumes.filter((v) =>
    v.storage === storage.storage && (storage.shared ? true : v.node === node)
  );
}

function volumeEntry(v: VolumeState): ContentEntry {
  return {
    volid: v.volid,
    content: v.content,
    format: v.format,
    size: v.size,
    ...(v.vmid !== undefined ? { vmid: v.vmid } : {}),
    ctime: v.ctime,
    ...(v.notes !== undefined ? { notes: v.notes } : {}),
    ...(v.protected ? { protected: 1 } : {}),
    ...(v.verification ? { verification: v.verification } : {}),
    ...(v.subtype ? { subtype: v.subtype } : {}),
  };
}

/**
 * A consistent view of derived figures for one request: guest usage, node usage and guest
 * disks per storage are computed once (one pass over the guests) and memoised.
 */
export class UsageView {
  readonly state: ClusterState;
  readonly now: number;
  #guests = new Map<number, GuestUsage>();
  #nodes?: Map<string, NodeUsage>;
  #disks?: Map<string, ContentEntry[]>;

  constructor(state: ClusterState, now: number) {
    this.state = state;
    this.now = now;
  }

  /** Usage of one guest. */
  guest(guest: Guest): GuestUsage {
    let u = this.#guests.get(guest.vmid);
    if (!u) {
      u = guestUsage(this.state, guest, this.now);
      this.#guests.set(guest.vmid, u);
    }
    return u;
  }

  /** Usage of one node, from the guests running on it. */
  node(node: NodeState): NodeUsage {
    if (!this.#nodes) this.#nodes = this.#computeNodes();
    return this.#nodes.get(node.name)!;
  }

  #computeNodes(): Map<string, NodeUsage> {
    const acc = new Map<string, { cores: number; mem: number; running: number }>();
    for (const node of this.state.nodes.values()) {
      acc.set(node.name, { cores: 0, mem: 1.6 * GiB + node.memory * 0.02, running: 0 });
    }
    for (const guest of this.state.guests.values()) {
      const a = acc.get(guest.node);
      if (!a || guest.status !== "running") continue;
      const u = this.guest(guest);
      a.cores += u.cpu * u.cpus;
      a.mem += guest.type === "qemu" ? u.maxmem * 0.9 : u.mem;
      a.running++;
    }
    const out = new Map<string, NodeUsage>();
    for (const node of this.state.nodes.values()) {
      const a = acc.get(node.name)!;
      const cpu = Math.min(1, 0.015 + a.cores / node.cpus);
      const load = cpu * node.cpus;
      const f = (x: number) => x.toFixed(2);
      out.set(node.name, {
        cpu: Math.round(cpu * 1e6) / 1e6,
        mem: Math.floor(Math.min(a.mem, node.memory * 0.97)),
        maxmem: node.memory,
        uptime: Math.max(0, Math.floor((this.now - node.bootedAt) / 1000)),
        rootfsUsed: Math.floor(node.rootfs * (0.08 + 0.1 * unit(this.state.seed, node.nodeid, 11))),
        swapUsed: Math.floor(node.swap * 0.02 * unit(this.state.seed, node.nodeid, 12)),
        loadavg: [f(load), f(load * 0.93), f(load * 0.88)],
        running: a.running,
      });
    }
    return out;
  }

  /** Guest disks on a storage, keyed by storage id and (local storage) node. */
  #diskIndex(): Map<string, ContentEntry[]> {
    if (this.#disks) return this.#disks;
    const index = new Map<string, ContentEntry[]>();
    const created = Math.floor(this.state.startedAt / 1000);
    for (const guest of this.state.guests.values()) {
      for (const disk of configDisks(guest.type, guest.config)) {
        const storage = this.state.storages.get(disk.storage);
        if (!storage) continue;
        const key = storage.shared ? disk.storage : `${disk.storage}@${guest.node}`;
        const isCt = guest.type === "lxc" && !disk.key.startsWith("unused");
        const fill = 0.2 + 0.6 * unit(this.state.seed, guest.vmid, disk.key.length);
        const list = index.get(key) ?? [];
        list.push({
          volid: `${disk.storage}:${disk.volname}`,
          content: isCt ? "rootdir" : "images",
          format: disk.volname.endsWith(".qcow2") ? "qcow2" : "raw",
          size: disk.size,
          used: Math.floor(disk.size * fill),
          vmid: guest.vmid,
          ctime: created - 86400 * (30 + (guest.vmid % 200)),
        });
        index.set(key, list);
      }
    }
    this.#disks = index;
    return index;
  }

  /** Everything on a storage as seen from a node: explicit volumes plus guest disks. */
  content(storage: StorageState, node: string): ContentEntry[] {
    const out = volumesOn(this.state, storage, node).map(volumeEntry);
    const key = storage.shared ? storage.storage : `${storage.storage}@${node}`;
    return out.concat(this.#diskIndex().get(key) ?? []);
  }

  /** Used bytes of a storage as seen from a node. */
  used(storage: StorageState, node: string): number {
    let used = storage.baseUsed;
    for (const entry of this.content(storage, node)) used += entry.used ?? entry.size;
    return Math.min(used, storageTotal(storage, node));
  }
}
