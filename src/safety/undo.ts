/**
 * Undo points: before a risky change to a guest (a config update, a disk resize, a rollback to
 * another snapshot), the change first takes a snapshot `mcp-undo-<time>`, and after it
 * succeeded removes undo points beyond `undo_keep` (oldest first). `guest_undo` rolls back to
 * the latest one. Which changes are risky is said by the tool (`Change.undoPoint`); which guests
 * get undo points is the operator's `undo_snapshots` (default: guests with protected tags).
 *
 * Where a snapshot is impossible or would break the change, the plan says so and goes on without
 * one: templates; disks on storage without snapshots (LVM, raw files on directory storage,
 * iSCSI); a qcow2 disk being resized (qemu-img refuses to resize images with snapshots); a
 * rollback on ZFS (which cannot roll back past a newer snapshot); a restore over the guest
 * (which destroys its snapshots with its disks).
 *
 * @module
 */
import { z } from "zod";
import type { ProxmoxApi } from "../tools/context.ts";
import type { Clock } from "../util/clock.ts";
import type { PlannedRequest, Target } from "./change.ts";
import type { Stage } from "./pipeline.ts";
import { validatePlanned } from "./plan.ts";

/** The prefix of every undo point's name. */
export const UNDO_PREFIX = "mcp-undo-";

/** What a tool says about a risky change (set on its plan). */
export interface UndoIntent {
  /** The guest changed. */
  vmid: number;
  /** The kind of change, in words ("config update"). */
  why: string;
  /** Changes with their own snapshot constraints. */
  kind?: "rollback" | "resize" | "overwrite";
  /** For `resize`: the disk being grown. */
  disk?: string;
}

/** The undo point a change takes, and the old ones it removes afterwards. */
export interface UndoPlan {
  name: string;
  create: PlannedRequest;
  prune: PlannedRequest[];
  pruneNames: string[];
  /** The guest's API path (`/nodes/pve1/qemu/101`). */
  path: string;
}

/** Undo settings. */
export interface UndoSettings {
  /** `true`: every guest; `false`: none; `protected`: guests with protected tags. */
  snapshots: boolean | "protected";
  /** Undo points kept per guest. */
  keep: number;
}

const Snapshot = z.object({ name: z.string(), snaptime: z.number().optional() }).loose();
const StorageDef = z.object({ storage: z.string(), type: z.string() }).loose();

/** Storage types whose volumes take snapshots whatever their format. */
const SNAPSHOT_STORAGE = new Set(["lvmthin", "zfspool", "rbd", "btrfs", "zfs"]);
/** File storages: qcow2 images (VMs) take snapshots, raw files do not. */
const FILE_STORAGE = new Set(["dir", "nfs", "cifs", "glusterfs", "cephfs"]);

/** The name of an undo point taken at `now`: `mcp-undo-20261201-201700`. */
export function undoName(now: number, taken: readonly string[]): string {
  const iso = new Date(now).toISOString();
  const base = `${UNDO_PREFIX}${iso.slice(0, 10).replace(/-/g, "")}-${
    iso.slice(11, 19).replace(/:/g, "")
  }`;
  // Within one second, count on from the highest taken (never reuse a pruned name: names order).
  let highest = 0;
  for (const t of taken) {
    if (t === base) highest = Math.max(highest, 1);
    const m = t.startsWith(`${base}-`) ? /^\d+$/.exec(t.slice(base.length + 1)) : null;
    if (m) highest = Math.max(highest, Number(m[0]));
  }
  return highest === 0 ? base : `${base}-${highest + 1}`;
}

/** The undo points of a guest, oldest first. */
export async function undoPoints(
  api: ProxmoxApi,
  path: string,
  signal?: AbortSignal,
): Promise<{ name: string; snaptime?: number }[]> {
  const list = z.array(Snapshot).parse(await api.get(`${path}/snapshot`, undefined, { signal }));
  // Names carry the time and, within one second, a counter: they order points of equal snaptime.
  const order = (name: string): [string, number] => {
    const m = /^mcp-undo-(\d{8}-\d{6})(?:-(\d+))?$/.exec(name);
    return m ? [m[1], Number(m[2] ?? 1)] : [name, 0];
  };
  const byName = (a: string, b: string) => {
    const [x, y] = [order(a), order(b)];
    return x[0].localeCompare(y[0]) || x[1] - y[1];
  };
  return list.filter((s) => s.name.startsWith(UNDO_PREFIX))
    .sort((a, b) => (a.snaptime ?? 0) - (b.snaptime ?? 0) || byName(a.name, b.name));
}

/** Why no snapshot can (or should) be taken of `t` before this change; undefined if it can. */
async function impossible(
  api: ProxmoxApi,
  path: string,
  t: Target & { node: string },
  intent: UndoIntent,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (intent.kind === "overwrite") {
    return "a restore over the guest destroys its snapshots with its disks; take a backup first " +
      "(backup_run) if you may need the current state";
  }
  const config = z.record(z.string(), z.unknown()).parse(
    await api.get(`${path}/config`, undefined, { signal }),
  );
  if (config.template === 1 || config.template === "1" || config.template === true) {
    return "it is a template, and templates have no snapshots";
  }
  const storages = new Map(
    z.array(StorageDef).parse(
      await api.get(`/nodes/${encodeURIComponent(t.node)}/storage`, undefined, { signal }),
    )
      .map((s) => [s.storage, s.type]),
  );
  const re = t.type === "qemu"
    ? /^(scsi|virtio|sata|ide)\d+$|^efidisk0$|^tpmstate0$/
    : /^rootfs$|^mp\d+$/;
  for (const [key, raw] of Object.entries(config)) {
    if (!re.test(key) || typeof raw !== "string" || /media=cdrom/.test(raw)) continue;
    const volume = raw.split(",")[0].replace(/^(file|volume)=/, "");
    if (volume === "none" || !volume.includes(":")) continue;
    const storage = volume.split(":")[0];
    const type = storages.get(storage) ?? "unknown";
    const qcow2 = volume.endsWith(".qcow2");
    const ok = SNAPSHOT_STORAGE.has(type) || (FILE_STORAGE.has(type) && qcow2 && t.type === "qemu");
    if (!ok) {
      return `disk ${key} is on storage ${storage} (${type}${
        FILE_STORAGE.has(type) ? ", not qcow2" : ""
      }), which cannot take snapshots`;
    }
    if (intent.kind === "resize" && key === intent.disk && qcow2) {
      return `disk ${key} is a qcow2 image, and qcow2 images with snapshots cannot be resized`;
    }
    if (intent.kind === "rollback" && (type === "zfspool" || type === "zfs")) {
      return `disk ${key} is on ZFS storage ${storage}, which cannot roll back past a newer ` +
        "snapshot, so an undo point would block this rollback";
    }
  }
  return undefined;
}

/**
 * The undo stage: for a risky change to a guest that should get undo points, plans the
 * snapshot taken first and the old undo points removed after (or says why there is none).
 * Runs after the plan stage, so a dry run and the confirmation show it.
 */
export function undoStage(opts: {
  settings: UndoSettings;
  protectedTags: readonly string[];
  clock: Clock;
}): Stage {
  const tags = opts.protectedTags.map((t) => t.toLowerCase());
  return async (call, next) => {
    const change = call.change;
    const intent = change?.undoPoint;
    const t = intent &&
      change?.targets.find((x) => x.kind === "guest" && x.vmid === intent.vmid);
    if (!change || !intent || !t || !t.node || !t.type || !t.exists) return next();
    const { snapshots } = opts.settings;
    const wanted = snapshots === true ||
      (snapshots === "protected" && t.tags.some((x) => tags.includes(x.toLowerCase())));
    if (!wanted) return next();
    const path = `/nodes/${encodeURIComponent(t.node)}/${t.type}/${t.vmid}`;
    const { api, signal } = call.ctx;
    const why = await impossible(api, path, { ...t, node: t.node }, intent, signal);
    if (why) {
      change.undoSkipped = `no undo point before this ${intent.why}: ${why}`;
      return next();
    }
    const existing = await undoPoints(api, path, signal);
    const name = undoName(opts.clock.now(), existing.map((s) => s.name));
    const create: PlannedRequest = {
      method: "POST",
      path: `${path}/snapshot`,
      params: {
        snapname: name,
        description: `proxmox-mcp undo point before: ${change.summary}`.slice(0, 200),
      },
    };
    const excess = Math.max(0, existing.length + 1 - opts.settings.keep);
    const pruneNames = existing.slice(0, excess).map((s) => s.name);
    const prune: PlannedRequest[] = pruneNames.map((n) => ({
      method: "DELETE",
      path: `${path}/snapshot/${encodeURIComponent(n)}`,
      params: {},
    }));
    await validatePlanned([create, ...prune]);
    change.undo = { name, create, prune, pruneNames, path };
    return next();
  };
}
