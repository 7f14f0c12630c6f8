/**
 * Moving a guest disk to another storage (`move_disk` for VMs, `move_volume` for containers)
 * in a task, keeping the source as an unused disk unless `delete` is set; and the cloud-init
 * drive's pending values and regeneration.
 *
 * @module
 */
import { configDigest, getProp, parseSize } from "../conf.ts";
import { ApiError, paramError } from "../errors.ts";
import type { Guest } from "../state.ts";
import { storageTotal } from "../usage.ts";
import { nextVolname, requireStorage, usedVolnames } from "./disks.ts";
import {
  bool,
  checkLock,
  guestOf,
  lockFor,
  optStr,
  type RouteContext,
  type RouteHandler,
  startTask,
  str,
} from "./context.ts";

function nextUnused(g: Guest): string {
  for (let i = 0;; i++) if (!(`unused${i}` in g.config)) return `unused${i}`;
}

function move(ctx: RouteContext, diskParam: "disk" | "volume"): string {
  const g = guestOf(ctx);
  checkLock(ctx, g);
  const digest = optStr(ctx, "digest");
  if (digest !== undefined && digest !== configDigest(g.config)) {
    throw new ApiError(
      500,
      "detected modified configuration - file changed by other user? Try again.",
    );
  }
  if (optStr(ctx, "target-vmid") !== undefined) {
    throw new ApiError(501, "Moving a disk to another guest is not implemented by the simulator");
  }
  const key = str(ctx, diskParam);
  const value = g.config[key];
  if (value === undefined) throw new ApiError(500, `disk '${key}' does not exist`);
  if (getProp(value, "media") === "cdrom") throw new ApiError(500, "you can't move a cdrom");
  const storage = optStr(ctx, "storage");
  if (storage === undefined) {
    throw paramError({ storage: "property is missing and it is not optional" });
  }
  const file = (getProp(value, null) ?? getProp(value, "file") ?? getProp(value, "volume") ?? "")
    .replace(/^volume=|^file=/, "");
  const [source] = file.split(":");
  if (source === storage) {
    throw new ApiError(500, `unable to move disk '${key}': source and target storage are the same`);
  }
  requireStorage(ctx.sim.state, storage, g.node, g.type === "qemu" ? "images" : "rootdir");
  const size = parseSize(getProp(value, "size") ?? "0");
  const target = ctx.sim.state.storages.get(storage)!;
  const free = storageTotal(target, g.node) - ctx.view.used(target, g.node);
  if (size > free) {
    throw new ApiError(500, `not enough free space on storage '${storage}' for ${key}`);
  }
  const used = usedVolnames(g.config, g.pending, ...g.snapshots.map((s) => s.config));
  const newVolid = `${storage}:${nextVolname(g.vmid, used)}`;
  const remove = bool(ctx, "delete");
  const release = lockFor(g, "disk");
  return startTask(ctx, {
    type: g.type === "qemu" ? "qmmove" : "move_volume",
    id: String(g.vmid),
    lines: [
      `create full clone of drive ${key} (${file})`,
      `transferred ${getProp(value, "size") ?? "0"} of ${getProp(value, "size") ?? "0"} (100.00%)`,
      remove ? `removing source volume ${file}` : `keeping ${file} as unused disk`,
    ],
    onEnd: release,
    onSuccess: () => {
      const current = g.config[key];
      if (current === undefined) return;
      g.config[key] = current.replace(file, newVolid);
      if (!remove) g.config[nextUnused(g)] = file;
    },
  });
}

/** Config keys that end up in the generated cloud-init drive. */
export const CLOUDINIT_KEY =
  /^(ciuser|cipassword|citype|ciupgrade|cicustom|sshkeys|nameserver|searchdomain|ipconfig\d+)$/;

const cloudinitPending: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  const generated = g.cloudinit;
  const keys = new Set([
    ...Object.keys(g.config).filter((k) => CLOUDINIT_KEY.test(k)),
    ...Object.keys(generated ?? {}),
  ]);
  const hide = (k: string, v: string | undefined) => (k === "cipassword" && v ? "**********" : v);
  return [...keys].sort().map((key) => {
    const now = g.config[key];
    const was = generated ? generated[key] : now;
    const e: Record<string, unknown> = { key };
    if (was !== undefined) e.value = hide(key, was);
    if (now !== was) {
      if (now === undefined) e.delete = 1;
      else e.pending = hide(key, now);
    }
    return e;
  });
};

const cloudinitRegenerate: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  checkLock(ctx, g);
  if (!Object.values(g.config).some((v) => /cloudinit/.test(v))) {
    throw new ApiError(500, `VM ${g.vmid} has no cloud-init drive`);
  }
  g.cloudinit = undefined;
  return null;
};

/** Disk move and cloud-init endpoints. */
export const diskMoveRoutes: Record<string, RouteHandler> = {
  "POST /nodes/{node}/qemu/{vmid}/move_disk": (ctx) => move(ctx, "disk"),
  "POST /nodes/{node}/lxc/{vmid}/move_volume": (ctx) => move(ctx, "volume"),
  "GET /nodes/{node}/qemu/{vmid}/cloudinit": cloudinitPending,
  "PUT /nodes/{node}/qemu/{vmid}/cloudinit": cloudinitRegenerate,
};
