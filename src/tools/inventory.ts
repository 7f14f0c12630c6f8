/**
 * A short-lived cache of what the cluster looks like — the node list and an indexed snapshot
 * of `/cluster/resources` — so argument checks, guest lookups (VMID → node and type) and
 * filtered lists cost no extra round trip and no O(guests) work on most calls.
 *
 * Correctness: everything is bounded in age (`ttl`), `invalidate()` (called by every mutating
 * tool) drops it all, a reading that was in flight when `invalidate()` ran is never kept, and a
 * guest that is not where the cached location says is looked up again. Size: one node list and
 * one snapshot (plus a bounded memo of query results on it) per server.
 *
 * @module
 */
import { z } from "zod";
import { GuestNotFoundError, type GuestRef, resolveGuest } from "../proxmox/guests.ts";
import { ProxmoxApiError } from "../proxmox/errors.ts";
import {
  type ClusterResource,
  NodeEntry,
  parseResource,
  ResourceSnapshot,
} from "../proxmox/resources.ts";
import { abortable } from "../util/abort.ts";
import type { Clock } from "../util/clock.ts";
import { type ProxmoxApi, ToolInputError } from "./context.ts";

/** Maximum ages of cached data, in milliseconds. */
export interface InventoryTtl {
  /** The node list (default 30 s). */
  nodes: number;
  /**
   * Resource snapshot served to lists (default 5 s; Proxmox itself refreshes usage figures
   * every 10 s). Past half of it, a call still gets the snapshot and a new one is read in the
   * background, so busy servers rarely make a caller wait.
   */
  resources: number;
  /** Snapshot used to locate guests by VMID (default 60 s; a wrong location self-corrects). */
  locations: number;
  /** Least age of the snapshot before a lookup miss reads the cluster again (default 1 s). */
  missRetry: number;
}

/** Default {@link InventoryTtl}. */
export const DEFAULT_TTL: InventoryTtl = {
  nodes: 30_000,
  resources: 5_000,
  locations: 60_000,
  missRetry: 1_000,
};

const shared = new WeakMap<ProxmoxApi, WeakMap<Clock, Inventory>>();

/** Caches cluster facts; `invalidate()` drops them (after mutations). */
export class Inventory {
  /**
   * The one inventory of `api` (per clock), so every MCP session a server opens on the same
   * backend shares one cache, and a mutation in one session invalidates it for all.
   */
  static shared(api: ProxmoxApi, clock: Clock): Inventory {
    let byClock = shared.get(api);
    if (!byClock) shared.set(api, byClock = new WeakMap());
    let inventory = byClock.get(clock);
    if (!inventory) byClock.set(clock, inventory = new Inventory(api, clock));
    return inventory;
  }

  #api: ProxmoxApi;
  #clock: Clock;
  #ttl: InventoryTtl;
  #nodes?: { at: number; value: Promise<NodeEntry[]> };
  #snapshot?: ResourceSnapshot;
  #reading?: Promise<ResourceSnapshot>;
  #generation = 0;

  /**
   * @param ttl Node-list age in ms (the historical argument), or ages of each kind of data.
   */
  constructor(api: ProxmoxApi, clock: Clock, ttl: number | Partial<InventoryTtl> = {}) {
    this.#api = api;
    this.#clock = clock;
    this.#ttl = typeof ttl === "number"
      ? { ...DEFAULT_TTL, nodes: ttl }
      : { ...DEFAULT_TTL, ...ttl };
  }

  /** The cluster's nodes, from cache when fresh. */
  nodes(signal?: AbortSignal): Promise<NodeEntry[]> {
    const now = this.#clock.now();
    if (!this.#nodes || now - this.#nodes.at > this.#ttl.nodes) {
      // Shared by every caller, so no caller's signal may abort it; each stops waiting alone.
      const value = this.#api.get("/nodes")
        .then((data) => z.array(NodeEntry).parse(data));
      this.#nodes = { at: now, value };
      value.catch(() => {
        if (this.#nodes?.value === value) this.#nodes = undefined;
      });
    }
    return abortable(this.#nodes.value, signal);
  }

  /** Returns the node named `name`, or throws an error listing the known nodes. */
  async requireNode(name: string, signal?: AbortSignal): Promise<NodeEntry> {
    const nodes = await this.nodes(signal);
    const found = nodes.find((n) => n.node === name);
    if (!found) {
      throw new ToolInputError(
        `Unknown node "${name}": known nodes are ${nodes.map((n) => n.node).sort().join(", ")}`,
      );
    }
    return found;
  }

  /**
   * Picks the node for a node-scoped call: the one given, else the configured default,
   * else the only node of a one-node cluster.
   */
  async pickNode(given: string | undefined, fallback: string | undefined, signal?: AbortSignal) {
    const name = given ?? fallback;
    if (name) return (await this.requireNode(name, signal)).node;
    const nodes = await this.nodes(signal);
    if (nodes.length === 1) return nodes[0].node;
    throw new ToolInputError(
      `node is required: this cluster has ${nodes.length} nodes (${
        nodes.map((n) => n.node).sort().join(", ")
      })`,
    );
  }

  /**
   * The indexed `/cluster/resources` snapshot for lists: the cached one while younger than
   * `ttl.resources` (refreshed in the background past half of that), else a new reading.
   */
  resources(signal?: AbortSignal): Promise<ResourceSnapshot> {
    return this.#snapshotWithin(this.#ttl.resources, signal);
  }

  /**
   * Finds the node and type of guest `vmid` from the snapshot (read again once when the VMID is
   * missing or on another node than `node`). A given `node` is checked; a guest the snapshot
   * does not show on it is asked of that node directly.
   */
  async guest(vmid: number, node: string | undefined, signal?: AbortSignal): Promise<GuestRef> {
    if (!Number.isInteger(vmid) || vmid < 1) {
      throw new RangeError(`Cannot resolve guest ${vmid}: a VMID is a positive integer`);
    }
    // Both readings at once: on a cold cache the node check costs no extra round trip.
    const reading = this.#snapshotWithin(this.#ttl.locations, signal);
    if (node) {
      reading.catch(() => {/* the node's error comes first; the reading's is seen below */});
      await this.requireNode(node, signal);
    }
    let snapshot = await reading;
    let found = snapshot.guest(vmid);
    if (
      (!found || (node && found.node !== node)) &&
      this.#clock.now() - snapshot.at >= this.#ttl.missRetry
    ) {
      snapshot = await this.#read(signal);
      found = snapshot.guest(vmid);
    }
    if (found?.node && (!node || found.node === node)) return toRef(vmid, found);
    if (node) return await resolveGuest(this.#api, vmid, { node, signal });
    throw new GuestNotFoundError(vmid, { nearby: snapshot.nearby(vmid, 3) });
  }

  /**
   * Runs `fn` on guest `vmid`. When the API answers that the guest does not exist where the
   * cached location put it (moved or re-created elsewhere since), the location is read again
   * (unless the snapshot is younger than `ttl.missRetry`) and `fn` runs once more if it changed.
   */
  async withGuest<T>(
    vmid: number,
    node: string | undefined,
    signal: AbortSignal | undefined,
    fn: (ref: GuestRef) => Promise<T>,
  ): Promise<T> {
    const ref = await this.guest(vmid, node, signal);
    try {
      return await fn(ref);
    } catch (err) {
      if (node || !isMissingGuest(err)) throw err;
      const current = this.#snapshot;
      if (current && this.#clock.now() - current.at < this.#ttl.missRetry) throw err;
      const fresh = await this.#read(signal);
      const now = fresh.guest(vmid);
      if (!now?.node) throw new GuestNotFoundError(vmid, { nearby: fresh.nearby(vmid, 3) });
      if (now.node === ref.node && now.type === ref.type) throw err;
      return await fn(toRef(vmid, now));
    }
  }

  /** The snapshot held now, whatever its age; undefined before the first reading. Reads nothing. */
  get cached(): ResourceSnapshot | undefined {
    return this.#snapshot;
  }

  /** Drops cached data so the next call reads the cluster again. */
  invalidate(): void {
    this.#nodes = undefined;
    this.#snapshot = undefined;
    this.#reading = undefined;
    this.#generation++;
  }

  /** The snapshot if younger than `maxAge`, else a new reading; refreshes ahead past half. */
  async #snapshotWithin(maxAge: number, signal?: AbortSignal): Promise<ResourceSnapshot> {
    const s = this.#snapshot;
    if (s) {
      const age = this.#clock.now() - s.at;
      if (age <= maxAge) {
        if (age > maxAge / 2 && !this.#reading) {
          this.#read().catch(() => {/* the next caller that must wait sees the error */});
        }
        return s;
      }
    }
    return await this.#read(signal);
  }

  /** Reads `/cluster/resources` (one reading at a time, shared by all who wait for it). */
  #read(signal?: AbortSignal): Promise<ResourceSnapshot> {
    if (!this.#reading) {
      const generation = this.#generation;
      const at = this.#clock.now();
      // Read entry by entry when the client can: the 3 MB answer of a 10,000-guest cluster is
      // then never held whole, and reading it does not stop other calls for long.
      const api = this.#api;
      const reading = (api.getList
        ? api.getList("/cluster/resources", undefined, parseResource)
          .then((entries) => new ResourceSnapshot(entries, at))
        : api.get("/cluster/resources").then((data) => ResourceSnapshot.fromAnswer(data, at)))
        .then((snapshot) => {
          if (this.#generation === generation) this.#snapshot = snapshot;
          return snapshot;
        })
        .finally(() => {
          if (this.#reading === reading) this.#reading = undefined;
        });
      this.#reading = reading;
    }
    return abortable(this.#reading, signal);
  }
}

function toRef(vmid: number, r: ClusterResource): GuestRef {
  const ref: GuestRef = { vmid, node: r.node!, type: r.type === "lxc" ? "lxc" : "qemu" };
  if (r.name) ref.name = r.name;
  if (r.status) ref.status = r.status;
  if (r.template !== undefined) ref.template = r.template;
  return ref;
}

/** True for the answers Proxmox gives when a guest's config does not exist on a node. */
export function isMissingGuest(error: unknown): boolean {
  if (!(error instanceof ProxmoxApiError)) return false;
  if (error.status === 404) return true;
  return (error.status === 500 || error.status === 400) &&
    /does not exist|not found|no such (vm|guest|container)/i.test(error.apiMessage);
}
