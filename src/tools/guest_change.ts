/**
 * Changing existing guests: config update, disk resize (grow only), migration, deletion.
 *
 * @module
 */
import { z } from "zod";
import type { Plan } from "../safety/change.ts";
import { ToolInputError } from "./context.ts";
import { defineMutation } from "./mutation.ts";
import {
  diskKeys,
  diskSize,
  Facts,
  gib,
  type GuestFacts,
  requireBridge,
  requireCapacity,
  requireStorage,
} from "./preflight.ts";
import {
  bridgeName,
  dnsName,
  guestId,
  ipv4,
  ipv4Config,
  optNode,
  tagList,
  vlanTag,
} from "./mutation_args.ts";
import type { Tool } from "./tool.ts";
import { node } from "./params.ts";
import { fieldsOf } from "./args.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Config keys `guest_update` may delete. */
const DELETABLE =
  /^(net|scsi|virtio|sata|ide|mp|unused|ipconfig|usb|serial)\d+$|^(efidisk0|tpmstate0|description|tags|onboot|startup)$/;

function label(g: GuestFacts): string {
  return `${g.type} ${g.vmid}${g.name ? ` (${g.name})` : ""}`;
}

/** Sets `key=value` in a property string, keeping every other part (e.g. the MAC address). */
function setProp(value: string, key: string, v: string | undefined): string {
  const parts = value.split(",").filter((p) => p !== "" && !p.startsWith(`${key}=`));
  if (v !== undefined) parts.push(`${key}=${v}`);
  return parts.join(",");
}

const NetChange = fieldsOf("net", {
  index: z.int().min(0).max(31).default(0).describe("0 = net0"),
  bridge: bridgeName().optional().describe("Bridge, e.g. vmbr0"),
  vlan: vlanTag().optional().describe("VLAN tag"),
  firewall: z.boolean().optional().describe("Firewall on this NIC"),
  model: z.enum(["virtio", "e1000", "vmxnet3"]).optional().describe("VMs only"),
  ip: ipv4Config().optional().describe("containers only"),
  gw: ipv4().optional().describe("containers only"),
});

/** What the steps of `guest_update`'s plan build up: parameters, words, losses. */
interface ConfigEdit {
  params: Record<string, string | number | undefined>;
  changes: string[];
  warnings: string[];
  lost: string[];
  removes?: Plan["removes"];
}

type Sizing = { memory_mib?: number; cores?: number; sockets?: number };
type Identity = { name?: string; tags?: string[]; description?: string };

/** Memory, cores and sockets, checked against the node's capacity. */
async function planSizing(facts: Facts, g: GuestFacts, a: Sizing, edit: ConfigEdit) {
  if (a.memory_mib !== undefined) {
    edit.params.memory = a.memory_mib;
    edit.changes.push(`memory ${g.config.memory ?? "?"} → ${a.memory_mib} MiB`);
    const grow = (a.memory_mib - Number(g.config.memory ?? 0)) * MiB;
    if (g.running && grow > 0) {
      const cap = await facts.nodeCapacity(g.node);
      if (cap.free < grow) {
        throw new ToolInputError(
          `Not enough memory: node ${g.node} has ${gib(cap.free)} free, the change adds ${
            gib(grow)
          }`,
        );
      }
    }
  }
  if (a.cores !== undefined) {
    const cap = await facts.nodeCapacity(g.node);
    const total = a.cores * Number(a.sockets ?? g.config.sockets ?? 1);
    if (total > cap.cpus) {
      throw new ToolInputError(
        `Not enough CPUs: node ${g.node} has ${cap.cpus} CPUs, asked for ${total} cores`,
      );
    }
    edit.params.cores = a.cores;
    edit.changes.push(`cores → ${a.cores}`);
  }
  if (a.sockets !== undefined) {
    if (g.type === "lxc") throw new ToolInputError("sockets applies only to VMs");
    edit.params.sockets = a.sockets;
    edit.changes.push(`sockets → ${a.sockets}`);
  }
}

/** Name (hostname for containers), tags and description. */
function planIdentity(g: GuestFacts, a: Identity, edit: ConfigEdit) {
  if (a.name !== undefined) {
    edit.params[g.type === "qemu" ? "name" : "hostname"] = a.name;
    edit.changes.push(`name → ${a.name}`);
  }
  if (a.tags !== undefined) {
    edit.params.tags = a.tags.join(";");
    edit.changes.push(`tags → ${a.tags.join(";") || "(none)"}`);
  }
  if (a.description !== undefined) {
    edit.params.description = a.description;
    edit.changes.push("description");
  }
}

/** One NIC: added (needs a bridge) or changed, keeping its other settings (e.g. the MAC). */
async function planNic(
  facts: Facts,
  g: GuestFacts,
  n: z.infer<typeof NetChange>,
  edit: ConfigEdit,
) {
  const key = `net${n.index}`;
  if (g.type === "qemu" && (n.ip || n.gw)) {
    throw new ToolInputError("net.ip and net.gw apply to containers; VMs use cloud-init");
  }
  if (g.type === "lxc" && n.model) throw new ToolInputError("net.model applies only to VMs");
  if (n.bridge) await requireBridge(facts, g.node, n.bridge);
  const existing = g.config[key];
  if (!existing && !n.bridge) {
    throw new ToolInputError(`${key} does not exist yet: give net.bridge to add it`);
  }
  let value = existing ??
    (g.type === "qemu"
      ? `${n.model ?? "virtio"},bridge=${n.bridge}`
      : `name=eth${n.index},bridge=${n.bridge},ip=${n.ip ?? "dhcp"}`);
  if (n.bridge) value = setProp(value, "bridge", n.bridge);
  if (n.vlan !== undefined) value = setProp(value, "tag", String(n.vlan));
  if (n.firewall !== undefined) value = setProp(value, "firewall", n.firewall ? "1" : "0");
  if (n.ip) value = setProp(value, "ip", n.ip);
  if (n.gw) value = setProp(value, "gw", n.gw);
  if (n.model && existing) {
    const mac = /(?:^|,)[a-z0-9-]+=([0-9A-F]{2}(?::[0-9A-F]{2}){5})/i.exec(existing)?.[1];
    const rest = value.split(",").filter((p) =>
      !/^[a-z0-9-]+=[0-9A-F]{2}(:[0-9A-F]{2}){5}$/i.test(p)
    );
    value = [`${n.model}${mac ? `=${mac}` : ""}`, ...rest].join(",");
  }
  edit.params[key] = value;
  edit.changes.push(`${key} → ${value}`);
}

/** Config keys to delete; detaching or destroying disks makes the change destructive. */
function planDeletes(g: GuestFacts, keys: string[], edit: ConfigEdit) {
  const disks = new Set(diskKeys(g.type, g.config));
  for (const key of keys) {
    if (key === "rootfs") {
      throw new ToolInputError("rootfs can't be deleted: it is the container's root disk");
    }
    if (!DELETABLE.test(key)) {
      throw new ToolInputError(
        `Config key ${key} can't be deleted with this tool: allowed are netN, disks, unusedN, ipconfigN, usbN, serialN, description, tags, onboot, startup`,
      );
    }
    if (!(key in g.config)) {
      throw new ToolInputError(
        `Config key ${key} is not set on ${g.vmid}: keys are ${
          Object.keys(g.config).sort().join(", ")
        }`,
      );
    }
    if (key in edit.params) throw new ToolInputError(`Can't change and delete ${key} at once`);
    const size = diskSize(g.config[key]);
    const vol = g.config[key].split(",")[0];
    if (key.startsWith("unused")) {
      edit.removes = "disks";
      edit.lost.push(`${key} (${vol}) is destroyed with its data`);
    } else if (disks.has(key)) {
      edit.removes = "disks";
      edit.lost.push(`${key} (${vol}${size ? `, ${gib(size)}` : ""}) is detached (kept as unused)`);
    }
  }
  edit.params.delete = keys.join(",");
  edit.changes.push(`delete ${keys.join(", ")}`);
}

const guestUpdate = defineMutation({
  name: "guest_update",
  title: "Update guest config",
  description:
    "Change memory, cores, sockets, name, tags, description or one NIC; delete config keys (removing a disk needs confirmation; unusedN disks are destroyed).",
  toolset: "guests",
  privilege: "VM.Config.* on /vms/{vmid} for the changed options",
  destructive: true,
  input: {
    vmid: guestId(),
    node: optNode(),
    memory_mib: z.int().min(16).max(4_194_304).optional().describe("Memory, MiB"),
    cores: z.int().min(1).max(512).optional().describe("CPU cores"),
    sockets: z.int().min(1).max(8).optional().describe("VMs only"),
    name: dnsName("name").optional().describe("New name (DNS label)"),
    tags: tagList().optional().describe("Replaces all tags"),
    description: z.string().max(8192).optional().describe("Notes shown in the web UI"),
    net: NetChange.optional().describe("Change one NIC; other settings kept"),
    delete: z.array(
      z.string().regex(/^[a-z][a-z0-9_-]*$/, { error: "delete: config keys like net1" }),
    )
      .max(20).optional().describe('Config keys to remove, e.g. ["net1"]'),
  },
  result: { vmid: z.number(), node: z.string(), pending: z.boolean() },
  async plan(a, ctx): Promise<Plan> {
    const facts = new Facts(ctx);
    const g = await facts.guest(a.vmid, a.node);
    if (g.template && (a.memory_mib || a.cores || a.sockets || a.net)) {
      throw new ToolInputError(`Guest ${g.vmid} is a template: change its clones instead`);
    }
    if (g.lock) throw new ToolInputError(`Guest ${g.vmid} is locked (${g.lock})`);
    const edit: ConfigEdit = { params: {}, changes: [], warnings: [], lost: [] };
    await planSizing(facts, g, a, edit);
    planIdentity(g, a, edit);
    if (a.net) await planNic(facts, g, a.net, edit);
    if (a.delete?.length) planDeletes(g, a.delete, edit);
    if (!edit.changes.length) {
      throw new ToolInputError(
        "Nothing to change: give memory_mib, cores, sockets, name, tags, description, net or delete",
      );
    }
    const restartKeys = ["memory", "cores", "sockets"].filter((k) => k in edit.params);
    if (g.running && g.type === "qemu" && restartKeys.length) {
      edit.warnings.push(
        `${
          restartKeys.join(", ")
        } may apply only after a restart (pending) unless hotplug allows it`,
      );
    }
    edit.params.digest = g.config.digest;
    return {
      summary: `update ${label(g)} on ${g.node}: ${edit.changes.join("; ")}`,
      requests: [{ method: "PUT", path: `${g.path}/config`, params: edit.params }],
      destructive: edit.removes !== undefined,
      loses: edit.lost.length ? edit.lost.join("; ") : undefined,
      removes: edit.removes,
      warnings: edit.warnings,
      creates: 0,
      result: { vmid: g.vmid, node: g.node },
      undoPoint: { vmid: g.vmid, why: "config update" },
    };
  },
  async after(a, ctx) {
    const g = await new Facts(ctx).guest(a.vmid);
    const pending = z.array(
      z.object({ pending: z.unknown().optional(), delete: z.unknown().optional() }).loose(),
    )
      .parse(await ctx.api.get(`${g.path}/pending`, undefined, { signal: ctx.signal }))
      .some((p) => p.pending !== undefined || p.delete !== undefined);
    return { pending };
  },
});

const diskResize = defineMutation({
  name: "disk_resize",
  title: "Grow disk",
  description:
    "Grow a disk (scsi0, virtio0, rootfs, mp0, …) to size_gib; never shrinks. Grow its filesystem afterwards.",
  toolset: "guests",
  privilege: "VM.Config.Disk on /vms/{vmid}, Datastore.AllocateSpace",
  destructive: false,
  input: {
    vmid: guestId(),
    node: optNode(),
    disk: z.string().regex(/^(scsi|virtio|sata|ide|mp)\d+$|^(rootfs|efidisk0)$/, {
      error: "disk must be a disk key like scsi0, virtio0, rootfs or mp0",
    }).describe("Disk key, e.g. scsi0, rootfs"),
    size_gib: z.number().positive().max(131_072).describe("New total size in GiB"),
  },
  result: { vmid: z.number(), disk: z.string(), size_gib: z.number() },
  async plan(a, ctx): Promise<Plan> {
    const facts = new Facts(ctx);
    const g = await facts.guest(a.vmid, a.node);
    const disks = diskKeys(g.type, g.config);
    if (!disks.includes(a.disk)) {
      throw new ToolInputError(
        `${g.vmid} has no disk ${a.disk}: disks are ${disks.join(", ") || "none"}`,
      );
    }
    if (g.lock) throw new ToolInputError(`Guest ${g.vmid} is locked (${g.lock})`);
    const current = diskSize(g.config[a.disk]) ?? 0;
    const wanted = Math.round(a.size_gib * GiB);
    if (wanted <= current) {
      throw new ToolInputError(
        `Grow only: ${a.disk} is ${gib(current)} now, asked for ${
          gib(wanted)
        }; shrinking is not supported`,
      );
    }
    const storage = g.config[a.disk].split(",")[0].replace(/^(file|volume)=/, "").split(":")[0];
    await requireStorage(
      facts,
      g.node,
      storage,
      g.type === "qemu" ? "images" : "rootdir",
      wanted - current,
    );
    const size = Number.isInteger(a.size_gib)
      ? `${a.size_gib}G`
      : `${Math.round(a.size_gib * 1024)}M`;
    return {
      summary: `grow ${a.disk} of ${label(g)} from ${gib(current)} to ${gib(wanted)} on ${storage}`,
      requests: [{
        method: "PUT",
        path: `${g.path}/resize`,
        params: { disk: a.disk, size, digest: g.config.digest },
      }],
      destructive: false,
      warnings: ["grow the partition and filesystem inside the guest afterwards"],
      creates: 0,
      result: { vmid: g.vmid, disk: a.disk, size_gib: wanted / GiB },
      undoPoint: { vmid: g.vmid, why: "disk resize", kind: "resize", disk: a.disk },
    };
  },
});

const guestMigrate = defineMutation({
  name: "guest_migrate",
  title: "Migrate guest",
  description:
    "Move a guest to another node. Running VMs migrate online; running containers restart (downtime).",
  toolset: "guests",
  privilege: "VM.Migrate on /vms/{vmid}",
  destructive: true,
  input: {
    vmid: guestId(),
    target_node: node("Node to move to"),
    target_storage: z.string().max(100).optional().describe(
      "Storage on the target for local disks",
    ),
  },
  result: { vmid: z.number(), node: z.string(), from: z.string() },
  async plan(a, ctx): Promise<Plan> {
    const facts = new Facts(ctx);
    const g = await facts.guest(a.vmid);
    if (a.target_node === g.node) {
      throw new ToolInputError(`Guest ${g.vmid} is already on ${a.target_node}`);
    }
    if (g.lock) throw new ToolInputError(`Guest ${g.vmid} is locked (${g.lock})`);
    const memory = g.running ? Number(g.config.memory ?? 512) * MiB : 0;
    const cores = Number(g.config.cores ?? 1) * Number(g.config.sockets ?? 1);
    await requireCapacity(facts, a.target_node, memory, cores);
    const sourceStorages = await facts.storages(g.node);
    const shared = new Set(sourceStorages.filter((s) => s.shared).map((s) => s.storage));
    const targetStorages = new Set((await facts.storages(a.target_node)).map((s) => s.storage));
    const local = diskKeys(g.type, g.config).filter((k) =>
      !shared.has(g.config[k].split(",")[0].replace(/^(file|volume)=/, "").split(":")[0])
    );
    for (const [k, v] of Object.entries(g.config)) {
      if (!/media=cdrom/.test(v)) continue;
      const st = v.split(",")[0].split(":")[0];
      if (v.includes(":") && !shared.has(st) && st !== "none") {
        throw new ToolInputError(
          `${k} has a local ISO (${v.split(",")[0]}): remove it first (guest_update delete ${k})`,
        );
      }
    }
    if (a.target_storage) {
      await requireStorage(
        facts,
        a.target_node,
        a.target_storage,
        g.type === "qemu" ? "images" : "rootdir",
      );
    } else {
      for (const k of local) {
        const st = g.config[k].split(",")[0].replace(/^(file|volume)=/, "").split(":")[0];
        if (!targetStorages.has(st)) {
          throw new ToolInputError(
            `Storage ${st} (disk ${k}) is not available on ${a.target_node}: give target_storage`,
          );
        }
      }
    }
    const warnings: string[] = [];
    let params: Record<string, string | boolean | undefined>;
    let loses: string;
    if (g.type === "qemu") {
      params = {
        target: a.target_node,
        online: g.running || undefined,
        "with-local-disks": g.running && local.length ? true : undefined,
        targetstorage: a.target_storage,
      };
      loses = g.running
        ? `VM ${g.vmid} keeps running; a short pause at the switch-over`
        : `VM ${g.vmid} moves while stopped`;
    } else {
      params = {
        target: a.target_node,
        restart: g.running || undefined,
        "target-storage": a.target_storage,
      };
      loses = g.running
        ? `container ${g.vmid} is shut down, moved and started again: its services are down meanwhile`
        : `container ${g.vmid} moves while stopped`;
    }
    if (local.length) {
      warnings.push(
        `local disks ${local.join(", ")} are copied to ${a.target_node}; this takes time`,
      );
    }
    return {
      summary: `migrate ${label(g)} from ${g.node} to ${a.target_node}${
        g.running ? (g.type === "qemu" ? " (online)" : " (restart mode)") : ""
      }`,
      requests: [{ method: "POST", path: `${g.path}/migrate`, params }],
      destructive: true,
      loses,
      warnings,
      creates: 0,
      stopOnCancel: true,
      result: { vmid: g.vmid, node: a.target_node, from: g.node },
    };
  },
});

const guestDelete = defineMutation({
  name: "guest_delete",
  title: "Delete guest",
  description: "Permanently delete a stopped guest with its disks and snapshots.",
  toolset: "guests",
  privilege: "VM.Allocate on /vms/{vmid}",
  destructive: true,
  input: {
    vmid: guestId(),
    purge: z.boolean().optional().describe("Also remove from backup jobs, replication, HA"),
    destroy_unreferenced_disks: z.boolean().optional()
      .describe("Also destroy disks with this VMID not in the config"),
  },
  result: { vmid: z.number(), node: z.string() },
  async plan(a, ctx): Promise<Plan> {
    const facts = new Facts(ctx);
    const g = await facts.guest(a.vmid);
    if (g.running || g.status === "paused") {
      throw new ToolInputError(
        `Guest ${g.vmid} is ${g.status}: stop it first (guest_power action=shutdown or stop)`,
      );
    }
    if (g.lock) throw new ToolInputError(`Guest ${g.vmid} is locked (${g.lock})`);
    const warnings: string[] = [];
    if (g.template) {
      const base = new RegExp(`base-${g.vmid}-disk-\\d+/`);
      const clones: number[] = [];
      const others = await facts.guests();
      if (others.length > 500) {
        warnings.push(`template ${g.vmid}: linked clones were not checked (large cluster)`);
      }
      for (const other of others.length > 500 ? [] : others) {
        if (other.vmid === g.vmid || other.vmid === undefined || !other.node) continue;
        const cfg = await facts.ctx.api.get<Record<string, unknown>>(
          `/nodes/${other.node}/${other.type}/${other.vmid}/config`,
          undefined,
          { signal: ctx.signal },
        ).catch(() => ({}));
        if (Object.values(cfg ?? {}).some((v) => typeof v === "string" && base.test(v))) {
          clones.push(other.vmid);
        }
      }
      if (clones.length) {
        throw new ToolInputError(
          `Template ${g.vmid} has linked clones (${
            clones.join(", ")
          }) that use its disks: delete them first`,
        );
      }
    }
    const disks = diskKeys(g.type, g.config).map((k) => {
      const size = diskSize(g.config[k]);
      return `${k} ${g.config[k].split(",")[0]}${size ? ` (${gib(size)})` : ""}`;
    });
    const unused = Object.keys(g.config).filter((k) => /^unused\d+$/.test(k));
    const snaps = await facts.snapshots(g);
    const lost = [
      `${label(g)} and its configuration`,
      disks.length ? `disks: ${disks.join(", ")}` : "",
      unused.length ? `unused disks: ${unused.map((k) => g.config[k]).join(", ")}` : "",
      snaps.length ? `snapshots: ${snaps.join(", ")}` : "",
      a.purge ? "its entries in backup jobs, replication and HA" : "",
      a.destroy_unreferenced_disks
        ? `any other disk named for VMID ${g.vmid} on enabled storages`
        : "",
    ].filter(Boolean);
    return {
      summary: `delete ${label(g)} on ${g.node}${a.purge ? " (purge)" : ""}`,
      requests: [{
        method: "DELETE",
        path: g.path,
        params: { purge: a.purge, "destroy-unreferenced-disks": a.destroy_unreferenced_disks },
      }],
      destructive: true,
      loses: `permanently: ${lost.join("; ")}. Backups are kept`,
      removes: "guest",
      warnings,
      creates: 0,
      result: { vmid: g.vmid, node: g.node },
    };
  },
});

/** The rows that change existing guests. */
export const guestChangeTools: Tool[] = [guestUpdate, diskResize, guestMigrate, guestDelete];
