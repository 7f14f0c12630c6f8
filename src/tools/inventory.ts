/**
 * A short-lived cache of what the cluster looks like (nodes), so argument checks such as
 * "is pve9 a node?" cost no extra round trip on every call.
 *
 * @module
 */
import { z } from "zod";
import { type GuestRef, resolveGuest } from "../proxmox/guests.ts";
import { NodeEntry } from "../proxmox/resources.ts";
import type { Clock } from "../util/clock.ts";
import { type ProxmoxApi, ToolInputError } from "./context.ts";

/** Caches the node list for `ttlMs`; `invalidate()` drops it (after mutations). */
export class Inventory {
  #api: ProxmoxApi;
  #clock: Clock;
  #ttlMs: number;
  #nodes?: { at: number; value: Promise<NodeEntry[]> };

  constructor(api: ProxmoxApi, clock: Clock, ttlMs = 30_000) {
    this.#api = api;
    this.#clock = clock;
    this.#ttlMs = ttlMs;
  }

  /** The cluster's nodes, from cache when fresh. */
  nodes(signal?: AbortSignal): Promise<NodeEntry[]> {
    const now = this.#clock.now();
    if (!this.#nodes || now - this.#nodes.at > this.#ttlMs) {
      const value = this.#api.get("/nodes", undefined, { signal })
        .then((data) => z.array(NodeEntry).parse(data));
      this.#nodes = { at: now, value };
      value.catch(() => {
        if (this.#nodes?.value === value) this.#nodes = undefined;
      });
    }
    return this.#nodes.value;
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

  /** Finds the node and type of guest `vmid`; a given `node` is checked and skips the search. */
  async guest(vmid: number, node: string | undefined, signal?: AbortSignal): Promise<GuestRef> {
    if (node) await this.requireNode(node, signal);
    return await resolveGuest(this.#api, vmid, { node, signal });
  }

  /** Drops cached data so the next call reads the cluster again. */
  invalidate(): void {
    this.#nodes = undefined;
  }
}
