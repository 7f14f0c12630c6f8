/**
 * Resource pools: `GET /pools` (with members when `poolid` is given), `GET /pools/{poolid}`,
 * create, change members (`PUT`, also the older `PUT /pools/{poolid}` form) and delete when empty.
 *
 * @module
 */
import { ApiError, paramError } from "../errors.ts";
import type { PoolState } from "../state.ts";
import { storageOnNode } from "../usage.ts";
import { guestResource, storageResource } from "./cluster.ts";

import { bool, optStr, type RouteContext, type RouteHandler, str } from "./context.ts";

function members(ctx: RouteContext, pool: PoolState, type?: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  if (!type || type === "qemu" || type === "lxc") {
    for (const g of ctx.sim.state.guests.values()) {
      if (g.pool === pool.poolid && (!type || g.type === type)) out.push(guestResource(ctx, g));
    }
  }
  if (!type || type === "storage") {
    for (const id of pool.storages) {
      const s = ctx.sim.state.storages.get(id);
      if (!s) continue;
      for (const n of ctx.sim.state.nodes.values()) {
        if (storageOnNode(s, n.name)) out.push(storageResource(ctx, s, n.name));
      }
    }
  }
  return out;
}

function poolOf(ctx: RouteContext, id: string): PoolState {
  const pool = ctx.sim.state.pools.get(id);
  if (!pool) throw new ApiError(500, `pool '${id}' does not exist`);
  return pool;
}

const listPools: RouteHandler = (ctx) => {
  const poolid = optStr(ctx, "poolid");
  const type = optStr(ctx, "type");
  if (poolid !== undefined) {
    const pool = poolOf(ctx, poolid);
    const e: Record<string, unknown> = { poolid, members: members(ctx, pool, type) };
    if (pool.comment) e.comment = pool.comment;
    return [e];
  }
  return [...ctx.sim.state.pools.values()].map((p) =>
    p.comment ? { poolid: p.poolid, comment: p.comment } : { poolid: p.poolid }
  );
};

const getPool: RouteHandler = (ctx) => {
  const pool = poolOf(ctx, str(ctx, "poolid"));
  const e: Record<string, unknown> = { members: members(ctx, pool, optStr(ctx, "type")) };
  if (pool.comment) e.comment = pool.comment;
  return e;
};

function listOf(text: string | undefined): string[] {
  return (text ?? "").split(/[,;\s]+/).filter(Boolean);
}

const createPool: RouteHandler = (ctx) => {
  const poolid = str(ctx, "poolid");
  const { pools } = ctx.sim.state;
  if (pools.has(poolid)) {
    throw new ApiError(500, `create pool failed: pool '${poolid}' already exists`);
  }
  const comment = optStr(ctx, "comment");
  pools.set(poolid, comment ? { poolid, comment, storages: [] } : { poolid, storages: [] });
  return null;
};

const updatePool: RouteHandler = (ctx) => {
  const pool = poolOf(ctx, str(ctx, "poolid"));
  const { guests, storages } = ctx.sim.state;
  const remove = bool(ctx, "delete");
  const allowMove = bool(ctx, "allow-move");
  const vmids = listOf(optStr(ctx, "vms")).map(Number);
  const stores = listOf(optStr(ctx, "storage"));
  if (!vmids.length && !stores.length && optStr(ctx, "comment") === undefined) {
    throw paramError({ vms: "nothing to change: give vms, storage or comment" });
  }
  for (const vmid of vmids) {
    const g = guests.get(vmid);
    if (!g) throw new ApiError(500, `no such VMID '${vmid}'`);
    if (remove) {
      if (g.pool !== pool.poolid) throw new ApiError(500, `VM ${vmid} is not a pool member`);
    } else if (g.pool && g.pool !== pool.poolid && !allowMove) {
      throw new ApiError(
        500,
        `VM ${vmid} belongs already to pool '${g.pool}' and allow-move is not set`,
      );
    }
  }
  for (const id of stores) {
    if (!storages.has(id)) throw new ApiError(500, `storage '${id}' does not exist`);
  }
  const comment = optStr(ctx, "comment");
  if (comment !== undefined) pool.comment = comment || undefined;
  for (const vmid of vmids) guests.get(vmid)!.pool = remove ? undefined : pool.poolid;
  for (const id of stores) {
    pool.storages = pool.storages.filter((s) => s !== id);
    if (!remove) pool.storages.push(id);
  }
  return null;
};

const deletePool: RouteHandler = (ctx) => {
  const pool = poolOf(ctx, str(ctx, "poolid"));
  const used = [...ctx.sim.state.guests.values()].some((g) => g.pool === pool.poolid);
  if (used || pool.storages.length) throw new ApiError(500, "delete pool failed: pool not empty");
  ctx.sim.state.pools.delete(pool.poolid);
  return null;
};

/** Pool endpoints. */
export const poolRoutes: Record<string, RouteHandler> = {
  "GET /pools": listPools,
  "GET /pools/{poolid}": getPool,
  "POST /pools": createPool,
  "PUT /pools": updatePool,
  "PUT /pools/{poolid}": updatePool,
  "DELETE /pools": deletePool,
  "DELETE /pools/{poolid}": deletePool,
};
