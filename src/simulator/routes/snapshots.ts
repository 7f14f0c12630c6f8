/**
 * Snapshots of QEMU VMs and LXC containers: list (with the "current" entry), create, rollback,
 * delete, and the snapshot config.
 *
 * @module
 */
import { configDigest, configDisks, renderConfig } from "../conf.ts";
import { ApiError } from "../errors.ts";
import type { Guest, GuestConfig, SnapshotState } from "../state.ts";
import {
  bool,
  checkLock,
  guestOf,
  optStr,
  type RouteContext,
  type RouteHandler,
  startTask,
  str,
} from "./context.ts";
import { markStarted, markStopped } from "./guest_power.ts";

function snapshotOf(ctx: RouteContext, g: Guest): SnapshotState {
  const name = str(ctx, "snapname");
  const snap = g.snapshots.find((s) => s.name === name);
  if (!snap) throw new ApiError(500, `snapshot '${name}' does not exist`);
  return snap;
}

const list: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  const out: Record<string, unknown>[] = [...g.snapshots]
    .sort((a, b) => a.snaptime - b.snaptime)
    .map((s) => {
      const e: Record<string, unknown> = {
        name: s.name,
        description: s.description,
        snaptime: s.snaptime,
      };
      if (g.type === "qemu") e.vmstate = s.vmstate ? 1 : 0;
      if (s.parent) e.parent = s.parent;
      return e;
    });
  const current: Record<string, unknown> = {
    name: "current",
    description: "You are here!",
    digest: configDigest(g.config),
    running: g.status === "running" ? 1 : 0,
  };
  if (g.config.parent) current.parent = g.config.parent;
  out.push(current);
  return out;
};

const create: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  const name = str(ctx, "snapname");
  if (name === "current") throw new ApiError(500, "invalid snapshot name 'current'");
  if (g.snapshots.some((s) => s.name === name)) {
    throw new ApiError(500, `snapshot name '${name}' already used`);
  }
  checkLock(ctx, g);
  if (g.template) throw new ApiError(500, "you can't take a snapshot of a template");
  const vmstate = g.type === "qemu" && bool(ctx, "vmstate") && g.status === "running";
  const description = optStr(ctx, "description") ?? "";
  g.config.lock = "snapshot";
  const startedAt = ctx.sim.clock.now();
  const disks = configDisks(g.type, g.config).filter((d) => !d.key.startsWith("unused"));
  return startTask(ctx, {
    type: g.type === "qemu" ? "qmsnapshot" : "vzsnapshot",
    id: String(g.vmid),
    lines: [
      ...(vmstate
        ? ["saving VM state and RAM using storage 'local-lvm'", "completed saving the VM state"]
        : []),
      ...disks.map((d) => `snapshotting '${d.key}' (${d.storage}:${d.volname})`),
      ...disks.map((d) => `  Logical volume "snap_${d.volname}_${name}" created.`),
    ],
    onSuccess: () => {
      const config: GuestConfig = { ...g.config };
      delete config.lock;
      delete config.parent;
      if (vmstate) config.vmstate = `local-lvm:vm-${g.vmid}-state-${name}`;
      g.snapshots.push({
        name,
        description,
        snaptime: Math.floor(startedAt / 1000),
        vmstate,
        parent: g.config.parent,
        config,
      });
      g.config.parent = name;
    },
    onEnd: () => {
      if (g.config.lock === "snapshot") delete g.config.lock;
    },
  });
};

const index: RouteHandler = (ctx) => {
  snapshotOf(ctx, guestOf(ctx));
  return [{ subdir: "config" }, { subdir: "rollback" }];
};

const getConfig: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  const snap = snapshotOf(ctx, g);
  const cfg = renderConfig(g.type, snap.config);
  cfg.snaptime = snap.snaptime;
  cfg.description = snap.description;
  if (snap.parent) cfg.parent = snap.parent;
  return cfg;
};

const putConfig: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  const snap = snapshotOf(ctx, g);
  checkLock(ctx, g);
  const description = optStr(ctx, "description");
  if (description !== undefined) snap.description = description;
  return null;
};

const rollback: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  const snap = snapshotOf(ctx, g);
  checkLock(ctx, g);
  const start = bool(ctx, "start");
  const wasRunning = g.status === "running";
  g.config.lock = "rollback";
  const disks = configDisks(g.type, snap.config).filter((d) => !d.key.startsWith("unused"));
  return startTask(ctx, {
    type: g.type === "qemu" ? "qmrollback" : "vzrollback",
    id: String(g.vmid),
    lines: [
      ...(wasRunning ? [`stopping ${g.type === "qemu" ? "VM" : "CT"} ${g.vmid} for rollback`] : []),
      ...disks.map((d) => `  Logical volume "${d.volname}" successfully removed.`),
      ...disks.map((d) => `  Logical volume "${d.volname}" created.`),
    ],
    onSuccess: () => {
      const config: GuestConfig = { ...snap.config, parent: snap.name };
      delete config.vmstate;
      delete config.runningmachine;
      g.config = config;
      g.pending = {};
      g.pendingDelete = [];
      markStopped(g);
      if (snap.vmstate || start) markStarted(g, ctx.sim.clock.now());
    },
    onEnd: () => {
      if (g.config.lock === "rollback") delete g.config.lock;
    },
  });
};

const remove: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  const snap = snapshotOf(ctx, g);
  if (!bool(ctx, "force")) checkLock(ctx, g);
  g.config.lock = "snapshot-delete";
  const disks = configDisks(g.type, snap.config).filter((d) => !d.key.startsWith("unused"));
  return startTask(ctx, {
    type: g.type === "qemu" ? "qmdelsnapshot" : "vzdelsnapshot",
    id: String(g.vmid),
    lines: disks.map((d) =>
      `  Logical volume "snap_${d.volname}_${snap.name}" successfully removed.`
    ),
    onSuccess: () => {
      g.snapshots = g.snapshots.filter((s) => s !== snap);
      for (const s of g.snapshots) if (s.parent === snap.name) s.parent = snap.parent;
      if (g.config.parent === snap.name) {
        if (snap.parent) g.config.parent = snap.parent;
        else delete g.config.parent;
      }
    },
    onEnd: () => {
      if (g.config.lock === "snapshot-delete") delete g.config.lock;
    },
  });
};

/** Snapshot endpoints for both guest types. */
export const snapshotRoutes: Record<string, RouteHandler> = {};
for (const t of ["qemu", "lxc"]) {
  const base = `/nodes/{node}/${t}/{vmid}/snapshot`;
  snapshotRoutes[`GET ${base}`] = list;
  snapshotRoutes[`POST ${base}`] = create;
  snapshotRoutes[`GET ${base}/{snapname}`] = index;
  snapshotRoutes[`DELETE ${base}/{snapname}`] = remove;
  snapshotRoutes[`GET ${base}/{snapname}/config`] = getConfig;
  snapshotRoutes[`PUT ${base}/{snapname}/config`] = putConfig;
  snapshotRoutes[`POST ${base}/{snapname}/rollback`] = rollback;
}
