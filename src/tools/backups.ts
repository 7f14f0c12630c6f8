/**
 * Backups: run vzdump for a guest, list a guest's backups, restore one (to a new VMID or over
 * an existing guest), delete a backup volume.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import { GuestNotFoundError } from "../proxmox/guests.ts";
import type { GuestKind, Plan } from "../safety/change.ts";
import { args, oneOf, vmid } from "./args.ts";
import { ToolInputError } from "./context.ts";
import { bytes, table, time } from "./format.ts";
import { defineMutation } from "./mutation.ts";
import {
  chooseVmid,
  diskKeys,
  diskSize,
  Facts,
  gib,
  type GuestFacts,
  requirePool,
  requireStorage,
  requireVolume,
  splitVolid,
  StorageEntry,
  type VolumeEntry,
} from "./preflight.ts";
import { guestId, optNode, poolId, storageRef, volid } from "./mutation_args.ts";
import { pickNode } from "./provision.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";
import { node } from "./params.ts";

/** A backup volume ID. */
const backupVolid = () =>
  volid("archive", '"nfs-backup:backup/vzdump-qemu-101-….vma.zst"')
    .describe("Volume ID from backup_list, e.g. local:backup/vzdump-qemu-101-….vma.zst");

/** The guest type a backup archive holds, from its file name. */
export function archiveType(volid: string): GuestKind | undefined {
  if (/vzdump-qemu-/.test(volid)) return "qemu";
  if (/vzdump-(lxc|openvz)-/.test(volid)) return "lxc";
  return undefined;
}

async function guestOrNone(facts: Facts, id: number): Promise<GuestFacts | undefined> {
  try {
    return await facts.guest(id);
  } catch (e) {
    if (e instanceof GuestNotFoundError) return undefined;
    throw e;
  }
}

/**
 * The node to reach a backup volume through: the online node with the most free memory that
 * sees it (any node for shared storage), preferring nodes the scope allows (the scope stage
 * still checks the node the request goes to). Falls back to the best node, whose preflight then
 * names the backups it does see.
 */
async function nodeSeeing(facts: Facts, archive: string): Promise<string> {
  const { storage } = splitVolid(archive, "archive");
  const inScope = (node: string) => facts.ctx.scope?.nodeAllowed(node) ?? true;
  const online = (await facts.nodes()).filter((n) => n.status === "online");
  const caps = await Promise.all(
    online.map(async (n) => ({ node: n.node, free: (await facts.nodeCapacity(n.node)).free })),
  );
  caps.sort((x, y) => Number(inScope(y.node)) - Number(inScope(x.node)) || y.free - x.free);
  for (const c of caps) {
    const hasStorage = (await facts.storages(c.node)).some((st) => st.storage === storage);
    if (!hasStorage) continue;
    const vols = await facts.volumes(c.node, storage, "backup");
    if (vols.some((v) => v.volid === archive)) return c.node;
  }
  return (await pickNode(facts, undefined, 0, 1)).node;
}

const backupRun = defineMutation({
  name: "backup_run",
  title: "Back up guest",
  description: "Back up a guest now (vzdump) to a backup storage.",
  toolset: "backups",
  privilege: "VM.Backup on /vms/{vmid}, Datastore.AllocateSpace on the storage",
  destructive: false,
  input: {
    vmid: guestId(),
    storage: storageRef().describe("Backup storage, e.g. local"),
    mode: oneOf(["snapshot", "suspend", "stop"], "mode").default("snapshot")
      .describe("snapshot: no downtime; stop: consistent"),
    compress: oneOf(["zstd", "gzip", "lzo", "0"], "compress").default("zstd")
      .describe("0: uncompressed"),
    notes: z.string().max(1024).optional().describe("Notes; {{guestname}} {{vmid}} expand"),
    protected: z.boolean().optional().describe("Protect the backup from deletion and pruning"),
  },
  result: { vmid: z.number(), node: z.string(), storage: z.string() },
  async plan(a, ctx): Promise<Plan> {
    const facts = new Facts(ctx);
    const g = await facts.guest(a.vmid);
    if (g.lock) throw new ToolInputError(`Guest ${g.vmid} is locked (${g.lock})`);
    const s = await requireStorage(facts, g.node, a.storage, "backup");
    const warnings: string[] = [];
    const size = diskKeys(g.type, g.config).reduce((n, k) => n + (diskSize(g.config[k]) ?? 0), 0);
    if (s.avail !== undefined && s.avail < size * 0.2) {
      warnings.push(
        `storage ${a.storage} has ${gib(s.avail)} free for disks totalling ${
          gib(size)
        }; the backup may not fit`,
      );
    }
    if (a.mode === "stop" && g.running) {
      warnings.push(`mode stop shuts ${g.vmid} down for the backup and starts it again afterwards`);
    }
    return {
      summary: `back up ${g.type} ${g.vmid}${
        g.name ? ` (${g.name})` : ""
      } on ${g.node} to ${a.storage} (${a.mode}, ${a.compress})`,
      requests: [{
        method: "POST",
        path: apiPath`/nodes/${g.node}/vzdump`,
        params: {
          vmid: String(g.vmid),
          storage: a.storage,
          mode: a.mode,
          compress: a.compress,
          "notes-template": a.notes,
          protected: a.protected,
        },
      }],
      destructive: false,
      warnings,
      creates: 0,
      stopOnCancel: true,
      result: { vmid: g.vmid, node: g.node, storage: a.storage },
    };
  },
});

const Backup = z.object({
  volid: z.string(),
  storage: z.string(),
  size: z.number().optional(),
  ctime: z.number().optional(),
  notes: z.string().optional(),
  protected: z.boolean().optional(),
  verified: z.string().optional(),
});

const backupList = defineTool({
  name: "backup_list",
  title: "List backups of a guest",
  description:
    "Backups of one guest (also of deleted guests), newest first, on one storage or every backup storage of the node.",
  toolset: "backups",
  privilege: "Datastore.Audit on /storage/{storage}",
  annotations: READ_ONLY,
  input: args({
    vmid: vmid(),
    storage: storageRef().optional().describe("Only this storage; default: all backup storages"),
    node: optNode(),
  }),
  output: z.object({ vmid: z.number(), node: z.string(), backups: z.array(Backup) }),
  async handler(a, ctx) {
    let node = a.node;
    if (!node) {
      try {
        node = (await ctx.inventory.guest(a.vmid, undefined, ctx.signal)).node;
      } catch (e) {
        if (!(e instanceof GuestNotFoundError)) throw e;
        const online = (await ctx.inventory.nodes(ctx.signal)).filter((n) => n.status === "online");
        node = ctx.defaultNode ?? online.map((n) => n.node).sort()[0];
        if (!node) throw new ToolInputError("No node is online to look for backups");
      }
    }
    const storages = a.storage ? [a.storage] : z.array(StorageEntry).parse(
      await ctx.api.get(apiPath`/nodes/${node}/storage`, { content: "backup" }, {
        signal: ctx.signal,
      }),
    ).filter((s) => s.enabled !== false && s.active !== false).map((s) => s.storage);
    const backups: z.infer<typeof Backup>[] = [];
    for (const storage of storages) {
      const list = z.array(
        z.object({
          volid: z.string(),
          size: z.number().optional(),
          ctime: z.number().optional(),
          notes: z.string().optional(),
          protected: z.union([z.boolean(), z.number()]).optional(),
          verification: z.object({ state: z.string() }).loose().optional(),
        }).loose(),
      ).parse(
        await ctx.api.get(
          apiPath`/nodes/${node}/storage/${storage}/content`,
          { content: "backup", vmid: a.vmid },
          { signal: ctx.signal },
        ),
      );
      for (const v of list) {
        backups.push({
          volid: v.volid,
          storage,
          size: v.size,
          ctime: v.ctime,
          notes: v.notes?.trim() || undefined,
          protected: v.protected ? true : undefined,
          verified: v.verification?.state,
        });
      }
    }
    backups.sort((x, y) => (y.ctime ?? 0) - (x.ctime ?? 0));
    const text = backups.length
      ? table(backups, [
        ["time", (b) => time(b.ctime)],
        ["size", (b) => bytes(b.size)],
        ["prot", (b) => (b.protected ? "yes" : "")],
        "notes",
        "volid",
      ])
      : `No backups of ${a.vmid} on ${storages.join(", ") || "any storage"} (node ${node})`;
    return { structured: { vmid: a.vmid, node, backups }, text };
  },
});

const backupRestore = defineMutation({
  name: "backup_restore",
  title: "Restore backup",
  description:
    "Restore a backup to a new VMID (next free if omitted) or, force=true, over an existing stopped guest (confirmation needed).",
  toolset: "backups",
  privilege: "VM.Allocate on /vms/{vmid}, Datastore.AllocateSpace, VM.Backup to overwrite",
  destructive: true,
  input: {
    archive: backupVolid(),
    vmid: vmid("vmid", "Guest ID to restore to; next free if omitted").optional(),
    node: node("Node name; picked if omitted").optional(),
    storage: storageRef().optional().describe("Storage for the restored disks"),
    force: z.boolean().optional().describe("Overwrite the existing guest vmid"),
    unique: z.boolean().optional().describe("New MAC addresses"),
    start: z.boolean().optional().describe("Start after restoring"),
    pool: poolId().optional().describe("Add to this pool"),
  },
  result: { vmid: z.number(), node: z.string(), overwritten: z.boolean() },
  async plan(a, ctx): Promise<Plan> {
    const facts = new Facts(ctx);
    const type = archiveType(a.archive);
    if (!type) {
      throw new ToolInputError(
        `Cannot tell the guest type of ${a.archive}: expected a vzdump-qemu-… or vzdump-lxc-… archive`,
      );
    }
    const existing = await restoreOver(facts, a, type);
    const node = existing
      ? existing.node
      : a.node
      ? (await pickNode(facts, a.node, 0, 1)).node
      : await nodeSeeing(facts, a.archive);
    if (existing) await facts.onlineNode(node);
    const vol: VolumeEntry = await requireVolume(facts, node, a.archive, "backup", "Backup");
    const content = type === "qemu" ? "images" : "rootdir";
    if (a.storage) await requireStorage(facts, node, a.storage, content, vol.size ?? 0);
    const id = existing ? existing.vmid : await chooseVmid(facts, a.vmid);
    if (existing === undefined && a.pool) await requirePool(facts, a.pool);
    const when = time(vol.ctime);
    const over = existing
      ? `${existing.vmid}${existing.name ? ` (${existing.name})` : ""}`
      : undefined;
    return {
      summary: `restore ${type} backup ${a.archive.split("/").pop()} (${when}) ${
        over ? `over existing ${over}` : `as new ${id}`
      } on ${node}${a.storage ? ` to ${a.storage}` : ""}`,
      requests: [{
        method: "POST",
        path: apiPath`/nodes/${node}/${type}`,
        params: restoreParams(type, id, a),
      }],
      destructive: existing !== undefined,
      loses: over
        ? `the current configuration and all disks of ${over} are replaced by the backup from ${when}`
        : undefined,
      removes: existing ? "guest" : undefined,
      warnings: [],
      creates: existing ? 0 : 1,
      result: { vmid: id, node, overwritten: existing !== undefined },
      undoPoint: existing
        ? { vmid: existing.vmid, why: "restore over it", kind: "overwrite" }
        : undefined,
    };
  },
});

type RestoreArgs = {
  archive: string;
  vmid?: number;
  node?: string;
  storage?: string;
  force?: boolean;
  unique?: boolean;
  start?: boolean;
  pool?: string;
};

/**
 * The guest a restore overwrites (`vmid` with `force`), checked: same type, stopped, unlocked,
 * on the given node; undefined for a restore as a new guest.
 */
async function restoreOver(
  facts: Facts,
  a: RestoreArgs,
  type: GuestKind,
): Promise<GuestFacts | undefined> {
  const existing = a.vmid !== undefined ? await guestOrNone(facts, a.vmid) : undefined;
  if (existing && !a.force) {
    throw new ToolInputError(
      `VMID ${existing.vmid} exists (${existing.type} ${
        existing.name ?? ""
      } on ${existing.node}): ` +
        "omit vmid to restore as a new guest, or set force=true to overwrite it",
    );
  }
  if (a.force && !existing) {
    throw new ToolInputError(
      `force=true overwrites an existing guest, but ${a.vmid ?? "no vmid"} does not exist`,
    );
  }
  if (!existing) return undefined;
  if (existing.type !== type) {
    throw new ToolInputError(
      `${a.archive} is a ${type} backup but ${existing.vmid} is a ${existing.type}`,
    );
  }
  if (existing.running || existing.status === "paused") {
    throw new ToolInputError(`Guest ${existing.vmid} is running: stop it before restoring over it`);
  }
  if (existing.lock) {
    throw new ToolInputError(`Guest ${existing.vmid} is locked (${existing.lock})`);
  }
  if (a.node && a.node !== existing.node) {
    throw new ToolInputError(`Guest ${existing.vmid} is on ${existing.node}, not ${a.node}`);
  }
  return existing;
}

/** The create request's parameters: `archive` for VMs, `ostemplate` + `restore` for containers. */
function restoreParams(type: GuestKind, id: number, a: RestoreArgs) {
  const common = {
    vmid: id,
    storage: a.storage,
    force: a.force,
    unique: a.unique,
    start: a.start,
    pool: a.pool,
  };
  return type === "qemu"
    ? { ...common, archive: a.archive }
    : { ...common, ostemplate: a.archive, restore: true };
}

const backupDelete = defineMutation({
  name: "backup_delete",
  title: "Delete backup",
  description: "Permanently delete a backup volume (confirmation needed).",
  toolset: "backups",
  privilege: "Datastore.Allocate on /storage/{storage}",
  destructive: true,
  input: { archive: backupVolid(), node: optNode() },
  result: { volid: z.string(), node: z.string() },
  async plan(a, ctx): Promise<Plan> {
    const facts = new Facts(ctx);
    const node = a.node ?? await nodeSeeing(facts, a.archive);
    const { storage } = splitVolid(a.archive, "archive");
    const vol = await requireVolume(facts, node, a.archive, "backup", "Backup");
    if (vol.protected) {
      throw new ToolInputError(
        `Backup ${a.archive} is protected: it can't be deleted until its protection is removed in Proxmox`,
      );
    }
    return {
      summary: `delete backup ${a.archive} (${time(vol.ctime)}, ${bytes(vol.size)})${
        vol.vmid !== undefined ? ` of guest ${vol.vmid}` : ""
      }`,
      requests: [{
        method: "DELETE",
        path: apiPath`/nodes/${node}/storage/${storage}/content/${a.archive}`,
        params: {},
      }],
      destructive: true,
      loses: `backup ${a.archive} from ${time(vol.ctime)}: it can no longer be restored`,
      warnings: [],
      creates: 0,
      result: { volid: a.archive, node },
    };
  },
});

/** The backup toolset. */
export const backupTools: Tool[] = [backupRun, backupList, backupRestore, backupDelete];
