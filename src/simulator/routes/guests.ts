/**
 * Guest read endpoints: per-node QEMU/LXC lists, current status, config (with pending changes
 * applied unless `current`), pending changes.
 *
 * @module
 */
import { renderConfig } from "../conf.ts";
import { ApiError } from "../errors.ts";
import type { Guest, GuestConfig } from "../state.ts";
import {
  bool,
  guestOf,
  node,
  optStr,
  pathType,
  type RouteContext,
  type RouteHandler,
} from "./context.ts";

/** Config with pending changes applied (what `GET config` shows by default). */
export function effectiveConfig(g: Guest): GuestConfig {
  const cfg: GuestConfig = { ...g.config, ...g.pending };
  for (const key of g.pendingDelete) delete cfg[key];
  return cfg;
}

function listEntry(ctx: RouteContext, g: Guest, full: boolean): Record<string, unknown> {
  const u = ctx.view.guest(g);
  const e: Record<string, unknown> = {
    vmid: g.vmid,
    name: g.name,
    status: g.status,
    cpu: u.cpu,
    cpus: u.cpus,
    mem: u.mem,
    maxmem: u.maxmem,
    disk: u.disk,
    maxdisk: u.maxdisk,
    netin: u.netin,
    netout: u.netout,
    diskread: u.diskread,
    diskwrite: u.diskwrite,
    uptime: u.uptime,
  };
  if (g.type === "lxc") {
    e.type = "lxc";
    e.maxswap = u.maxswap;
    e.swap = g.status === "running" ? Math.floor(u.maxswap * 0.05) : 0;
  } else if (g.status === "running") {
    e.pid = 1000 + ((g.vmid * 7919) % 900_000);
  }
  if (g.type === "qemu" && full) {
    e.qmpstatus = g.status === "running" ? (g.paused ? "paused" : "running") : "stopped";
  }
  if (g.config.tags) e.tags = g.config.tags;
  if (g.template) e.template = 1;
  if (g.config.lock) e.lock = g.config.lock;
  return e;
}

function listGuests(ctx: RouteContext): Record<string, unknown>[] {
  const n = node(ctx);
  const type = pathType(ctx);
  const full = bool(ctx, "full");
  const out: Record<string, unknown>[] = [];
  for (const g of ctx.sim.state.guests.values()) {
    if (g.node === n.name && g.type === type) out.push(listEntry(ctx, g, full));
  }
  return out;
}

const statusCurrent: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  const e = listEntry(ctx, g, true);
  e.ha = { managed: 0 };
  if (g.type === "qemu") {
    if (g.config.agent && g.config.agent !== "0" && !g.config.agent.startsWith("enabled=0")) {
      e.agent = 1;
    }
    if (g.status === "running") {
      e["running-machine"] = "pc-i440fx-9.2+pve1";
      e["running-qemu"] = "9.2.0";
    }
  }
  return e;
};

const config: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  const snapname = optStr(ctx, "snapshot");
  if (snapname !== undefined) {
    const snap = g.snapshots.find((s) => s.name === snapname);
    if (!snap) throw new ApiError(500, `snapshot '${snapname}' does not exist`);
    const cfg = renderConfig(g.type, snap.config);
    cfg.snaptime = snap.snaptime;
    if (snap.description) cfg.description = snap.description;
    if (snap.parent) cfg.parent = snap.parent;
    return cfg;
  }
  return renderConfig(g.type, bool(ctx, "current") ? g.config : effectiveConfig(g), g.config);
};

const pending: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  const keys = new Set([...Object.keys(g.config), ...Object.keys(g.pending), ...g.pendingDelete]);
  return [...keys].sort().map((key) => {
    const e: Record<string, unknown> = { key };
    if (key in g.config) e.value = g.config[key];
    if (key in g.pending) e.pending = g.pending[key];
    if (g.pendingDelete.includes(key)) e.delete = 1;
    return e;
  });
};

/** Guest read endpoints for both types. */
export const guestReadRoutes: Record<string, RouteHandler> = {};
for (const t of ["qemu", "lxc"]) {
  const base = `/nodes/{node}/${t}`;
  guestReadRoutes[`GET ${base}`] = listGuests;
  guestReadRoutes[`GET ${base}/{vmid}/status/current`] = statusCurrent;
  guestReadRoutes[`GET ${base}/{vmid}/config`] = config;
  guestReadRoutes[`GET ${base}/{vmid}/pending`] = pending;
}
