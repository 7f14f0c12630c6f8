/**
 * Guest config writes (`PUT`/`POST .../config`, with `delete`, `revert` and `digest`) and disk
 * resize. A running QEMU VM keeps changes that need a restart as pending, like PVE.
 *
 * @module
 */
import { configDigest, formatSize, getProp, isDiskKey, parseSize, setProp } from "../conf.ts";
import { ApiError, paramError } from "../errors.ts";
import type { Guest, GuestConfig } from "../state.ts";
import {
  checkLock,
  guestOf,
  optStr,
  rawValue,
  type RouteContext,
  type RouteHandler,
  startTask,
  str,
} from "./context.ts";
import { CLOUDINIT_KEY } from "./disk_move.ts";
import { prepareValue, usedVolnames } from "./disks.ts";

const META = new Set([
  "node",
  "vmid",
  "digest",
  "delete",
  "revert",
  "skiplock",
  "force",
  "background_delay",
]);
const ALWAYS_LIVE = new Set([
  "name",
  "description",
  "tags",
  "onboot",
  "protection",
  "startup",
  "hookscript",
  "lock",
]);

function splitList(text: string | undefined): string[] {
  return (text ?? "").split(/[,;\s]+/).filter(Boolean);
}

function hotpluggable(g: Guest, key: string): boolean {
  if (g.type === "lxc" || g.status !== "running") return true;
  if (ALWAYS_LIVE.has(key) || key.startsWith("unused")) return true;
  const hotplug = splitList(g.config.hotplug ?? "network,disk,usb");
  if (/^net\d+$/.test(key)) return hotplug.includes("network");
  if (/^(scsi|virtio|sata)\d+$/.test(key)) return hotplug.includes("disk");
  if (/^usb\d+$/.test(key)) return hotplug.includes("usb");
  if (key === "memory" || key === "balloon") return hotplug.includes("memory");
  if (key === "cores" || key === "vcpus" || key === "sockets") return hotplug.includes("cpu");
  return false;
}

function nextUnused(cfg: GuestConfig): string {
  for (let i = 0;; i++) if (!(`unused${i}` in cfg)) return `unused${i}`;
}

/** Validates a config update and returns a function that applies it. */
export function planConfigUpdate(ctx: RouteContext, g: Guest): () => void {
  checkLock(ctx, g);
  const digest = optStr(ctx, "digest");
  if (digest !== undefined && digest !== configDigest(g.config)) {
    throw new ApiError(
      500,
      "detected modified configuration - file changed by other user? Try again.",
    );
  }
  const deletes = splitList(optStr(ctx, "delete"));
  const reverts = splitList(optStr(ctx, "revert"));
  const sets: [string, string][] = [];
  const used = usedVolnames(g.config, g.pending, ...g.snapshots.map((s) => s.config));
  for (const [key, v] of Object.entries(ctx.values)) {
    if (META.has(key) || v === undefined) continue;
    if (deletes.includes(key)) {
      throw paramError({ [key]: "can't set option and delete it at the same time" });
    }
    sets.push([key, prepareValue(ctx.sim.state, g, key, rawValue(v), used)]);
  }
  return () => {
    if (
      g.type === "qemu" && !g.cloudinit &&
      [...deletes, ...sets.map(([k]) => k)].some((k) => CLOUDINIT_KEY.test(k))
    ) {
      g.cloudinit = Object.fromEntries(
        Object.entries(g.config).filter(([k]) => CLOUDINIT_KEY.test(k)),
      );
    }
    for (const key of reverts) {
      delete g.pending[key];
      g.pendingDelete = g.pendingDelete.filter((k) => k !== key);
    }
    for (const key of deletes) {
      if (!(key in g.config) && !(key in g.pending)) continue;
      const value = g.config[key];
      const isDisk = value !== undefined && isDiskKey(g.type, key) && !key.startsWith("unused") &&
        key !== "rootfs" && getProp(value, "media") !== "cdrom";
      if (isDisk) {
        const file = value.split(",")[0].replace(/^volume=|^file=/, "");
        delete g.config[key];
        g.config[nextUnused(g.config)] = file;
      } else if (hotpluggable(g, key)) {
        delete g.config[key];
        delete g.pending[key];
      } else if (!g.pendingDelete.includes(key)) {
        g.pendingDelete.push(key);
      }
    }
    for (const [key, value] of sets) {
      // Changing the medium of a CD-ROM drive applies at once, as PVE does it live.
      const cdrom = /(^|,)media=cdrom(,|$)/.test(value) &&
        /(^|,)media=cdrom(,|$)/.test(g.config[key] ?? "");
      if (hotpluggable(g, key) || cdrom) {
        g.config[key] = value;
        delete g.pending[key];
      } else {
        g.pending[key] = value;
      }
    }
  };
}

const putConfig: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  planConfigUpdate(ctx, g)();
  return null;
};

const postConfig: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  const apply = planConfigUpdate(ctx, g);
  return startTask(ctx, { type: "qmconfig", id: String(g.vmid), onSuccess: apply });
};

const resize: RouteHandler = (ctx) => {
  const g = guestOf(ctx);
  checkLock(ctx, g);
  const disk = str(ctx, "disk");
  const sizeText = str(ctx, "size");
  const digest = optStr(ctx, "digest");
  if (digest !== undefined && digest !== configDigest(g.config)) {
    throw new ApiError(
      500,
      "detected modified configuration - file changed by other user? Try again.",
    );
  }
  const value = g.config[disk];
  if (value === undefined) throw new ApiError(500, `disk '${disk}' does not exist`);
  if (getProp(value, "media") === "cdrom") throw new ApiError(500, "you can't resize a cdrom");
  const current = parseSize(getProp(value, "size") ?? "0");
  const relative = sizeText.startsWith("+");
  const amount = parseSize(relative ? sizeText.slice(1) : sizeText);
  if (Number.isNaN(amount)) throw paramError({ size: "value does not match the regex pattern" });
  const wanted = relative ? current + amount : amount;
  if (wanted < current) throw new ApiError(500, "shrinking disks is not supported");
  const volid = getProp(value, null) ?? getProp(value, "file") ?? getProp(value, "volume") ?? "";
  return startTask(ctx, {
    type: "resize",
    id: String(g.vmid),
    lines: [
      `  Size of logical volume pve/${volid.split(":")[1] ?? disk} changed to ${
        formatSize(wanted)
      }.`,
    ],
    onSuccess: () => {
      const now = g.config[disk];
      if (now !== undefined) g.config[disk] = setProp(now, "size", formatSize(wanted));
    },
  });
};

/** Config write and resize endpoints. */
export const guestConfigRoutes: Record<string, RouteHandler> = {
  "PUT /nodes/{node}/qemu/{vmid}/config": putConfig,
  "POST /nodes/{node}/qemu/{vmid}/config": postConfig,
  "PUT /nodes/{node}/lxc/{vmid}/config": putConfig,
  "PUT /nodes/{node}/qemu/{vmid}/resize": resize,
  "PUT /nodes/{node}/lxc/{vmid}/resize": resize,
};
