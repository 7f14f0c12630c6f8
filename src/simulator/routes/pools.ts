/**
 * Resource pools: `GET /pools` (with members when `poolid` is given) and `GET /pools/{poolid}`.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import type { PoolState } from "../state.ts";
import { storageOnNode } from "../usage.ts";
import { guestResource, storageResource } from "./cluster.ts";
import { optStr, type RouteContext, type RouteHandler, str } from "./context.ts";

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

/** Pool endpoints. */
export const poolRoutes: Record<string, RouteHandler> = {
  "GET /pools": listPools,
  "GET /pools/{poolid}": getPool,
};
