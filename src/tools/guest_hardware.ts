/**
 * Guest hardware changes beyond `guest_update`: add, detach or move a disk (the source is
 * deleted only on request), insert or eject a CD-ROM image (which must exist), boot order,
 * start at boot, CPU type, and cloud-init settings with regeneration of the drive.
 * NICs are added and removed with `guest_update` (`net`, `delete`).
 *
 * @module
 */
import { z } from "zod";
import type { Plan } from "../safety/change.ts";
import { ToolInputError } from "./context.ts";
import { guestId, optNode, storageRef } from "./mutation_args.ts";
import { defineMutation } from "./mutation.ts";
import {
  diskKeys,
  diskSize,
  Facts,
  gib,
  type GuestFacts,
  requireStorage,
  requireVolume,
} from "./preflight.ts";
import type { Tool } from "./tool.ts";

const GiB = 1024 ** 3;

function label(g: GuestFacts): string {
  return `${g.type} ${g.vmid}${g.name ? ` (${g.name})` : ""}`;
}

function freeKey(config: Record<string, string>, bus: string, max: number): string {
  for (let i = 0; i <= max; i++) if (!(`${bus}${i}` in config)) return `${bus}${i}`;
  throw new ToolInputError(`No free ${bus} slot (0-${max} are all used)`);
}

const guestHardware = defineMutation({
  name: "guest_hardware",
  title: "Change guest hardware",
  description:
    "Disks (add, detach, move to another storage), CD-ROM (ISO must exist; none ejects), boot order, onboot, CPU type, cloud-init settings. Confirmation: detach, move with delete_source.",
  toolset: "hardware",
  privilege: "VM.Config.Disk/CDROM/Options/CPU/Cloudinit on /vms/{vmid}",
  destructive: true,
  judgedPerCall: true,
  input: {
    vmid: guestId(),
    node: optNode(),
    action: z.enum([
      "disk_add",
      "disk_detach",
      "disk_move",
      "cdrom",
      "boot_order",
      "onboot",
      "cpu_type",
      "cloudinit",
    ]).describe("What to change"),
    disk: z.string().regex(/^(scsi|virtio|sata|ide|mp|unused)\d+$|^(rootfs|efidisk0|tpmstate0)$/, {
      error: "disk: a disk key like scsi1, mp0 or rootfs",
    }).optional().describe("detach/move: disk key, e.g. scsi1"),
    storage: storageRef().optional().describe("disk_add/disk_move: storage"),
    size_gib: z.int().min(1).max(65536).optional().describe("disk_add: size in GiB"),
    bus: z.enum(["scsi", "virtio", "sata"]).optional().describe("disk_add, VMs (default scsi)"),
    delete_source: z.boolean().optional().describe("disk_move: delete the old copy (default keep)"),
    iso: z.string().max(255).optional().describe(
      'cdrom: volume ID like local:iso/x.iso, or "none"',
    ),
    order: z.array(z.string().regex(/^[a-z]+\d+$/)).min(1).max(10).optional().describe(
      'boot_order: devices, e.g. ["scsi0","ide2","net0"]',
    ),
    enabled: z.boolean().optional().describe("onboot: start at boot"),
    cpu: z.string().regex(/^[A-Za-z0-9_.+-]+$/).max(64).optional().describe(
      "cpu_type: e.g. host, x86-64-v2-AES",
    ),
    ciuser: z.string().max(64).optional().describe("cloudinit: default user"),
    ssh_public_keys: z.string().max(8192).optional().describe("cloudinit: authorized keys"),
    ipconfig0: z.string().max(256).optional().describe("cloudinit: e.g. ip=dhcp"),
    nameserver: z.string().max(256).optional().describe("cloudinit: DNS servers"),
    regenerate: z.boolean().optional().describe("cloudinit: rebuild the drive (default true)"),
  },
  result: {},
  async plan(a, ctx): Promise<Plan> {
    const facts = new Facts(ctx);
    const g = await facts.guest(a.vmid, a.node);
    if (g.lock) throw new ToolInputError(`Guest ${g.vmid} is locked (${g.lock}); see guest_unlock`);
    const vmOnly = ["cdrom", "boot_order", "cpu_type", "cloudinit"];
    if (g.type === "lxc" && vmOnly.includes(a.action)) {
      throw new ToolInputError(`${a.action} applies to VMs; ${g.vmid} is a container`);
    }
    const cfg = g.config;
    const config = `${g.path}/config`;
    const base = { warnings: [] as string[], creates: 0, destructive: false };
    const pendingNote = g.running && g.type === "qemu"
      ? ["the VM is running: this may apply at the next restart (pending)"]
      : [];
    switch (a.action) {
      case "disk_add": {
        if (!a.storage || !a.size_gib) {
          throw new ToolInputError("disk_add needs storage and size_gib");
        }
        const content = g.type === "qemu" ? "images" : "rootdir";
        await requireStorage(facts, g.node, a.storage, content, a.size_gib * GiB);
        const key = g.type === "qemu"
          ? freeKey(cfg, a.bus ?? "scsi", a.bus === "sata" ? 5 : a.bus === "virtio" ? 15 : 30)
          : freeKey(cfg, "mp", 255);
        if (g.type === "lxc") {
          throw new ToolInputError(
            "Container mount points need a path: use guest_update or api_change",
          );
        }
        return {
          ...base,
          summary: `add a ${a.size_gib} GiB disk ${key} on ${a.storage} to ${label(g)}`,
          requests: [{
            method: "PUT",
            path: config,
            params: { [key]: `${a.storage}:${a.size_gib}`, digest: cfg.digest },
          }],
          result: { disk: key },
        };
      }
      case "disk_detach": {
        const key = a.disk;
        if (!key) throw new ToolInputError("disk_detach needs disk");
        if (!diskKeys(g.type, cfg).includes(key)) {
          throw new ToolInputError(
            `${key} is not a disk of ${g.vmid}: disks are ${diskKeys(g.type, cfg).join(", ")}`,
          );
        }
        if (key === "rootfs") throw new ToolInputError("rootfs can't be detached");
        const vol = cfg[key].split(",")[0];
        return {
          ...base,
          summary: `detach ${key} (${vol}) from ${label(g)}; it stays as an unused disk`,
          requests: [{ method: "PUT", path: config, params: { delete: key, digest: cfg.digest } }],
          destructive: true,
          loses: `${
            label(g)
          } loses access to ${key} (${vol}); the data stays on the storage as unusedN`,
          removes: "disks",
          warnings: g.running ? ["the running guest sees the disk disappear (hot-unplug)"] : [],
        };
      }
      case "disk_move": {
        if (!a.disk || !a.storage) throw new ToolInputError("disk_move needs disk and storage");
        const value = cfg[a.disk];
        if (
          !value ||
          !diskKeys(g.type, cfg).concat(Object.keys(cfg).filter((k) => k.startsWith("unused")))
            .includes(a.disk)
        ) {
          throw new ToolInputError(
            `${a.disk} is not a disk of ${g.vmid}: disks are ${diskKeys(g.type, cfg).join(", ")}`,
          );
        }
        const vol = value.split(",")[0].replace(/^(volume|file)=/, "");
        if (vol.split(":")[0] === a.storage) {
          throw new ToolInputError(`${a.disk} is already on ${a.storage}`);
        }
        const size = diskSize(value) ?? 0;
        await requireStorage(
          facts,
          g.node,
          a.storage,
          g.type === "qemu" ? "images" : "rootdir",
          size,
        );
        const del = a.delete_source === true;
        const request = g.type === "qemu"
          ? {
            method: "POST" as const,
            path: `${g.path}/move_disk`,
            params: {
              disk: a.disk,
              storage: a.storage,
              delete: del ? 1 : undefined,
              digest: cfg.digest,
            },
          }
          : {
            method: "POST" as const,
            path: `${g.path}/move_volume`,
            params: {
              volume: a.disk,
              storage: a.storage,
              delete: del ? 1 : undefined,
              digest: cfg.digest,
            },
          };
        return {
          ...base,
          summary: `move ${a.disk} (${vol}${size ? `, ${gib(size)}` : ""}) of ${
            label(g)
          } to ${a.storage}${del ? ", deleting the source" : ", keeping the source as unused"}`,
          requests: [request],
          destructive: del,
          loses: del
            ? `the source volume ${vol} (the copy on ${a.storage} replaces it)`
            : undefined,
          warnings: g.running && g.type === "lxc"
            ? ["containers must be stopped to move a volume"]
            : [],
        };
      }
      case "cdrom": {
        if (!a.iso) throw new ToolInputError('cdrom needs iso (a volume ID, or "none" to eject)');
        const key = a.disk ?? Object.keys(cfg).find((k) => /media=cdrom/.test(cfg[k])) ?? "ide2";
        if (a.iso !== "none") await requireVolume(facts, g.node, a.iso, "iso", "ISO image");
        return {
          ...base,
          summary: a.iso === "none"
            ? `eject the CD-ROM ${key} of ${label(g)}`
            : `insert ${a.iso} into CD-ROM ${key} of ${label(g)}`,
          requests: [{
            method: "PUT",
            path: config,
            params: { [key]: `${a.iso},media=cdrom`, digest: cfg.digest },
          }],
        };
      }
      case "boot_order": {
        const order = a.order;
        if (!order) throw new ToolInputError("boot_order needs order");
        const missing = order.filter((d) => !(d in cfg));
        if (missing.length) {
          throw new ToolInputError(`Not devices of ${g.vmid}: ${missing.join(", ")}`);
        }
        return {
          ...base,
          summary: `boot ${label(g)} from ${order.join(", ")} (was ${cfg.boot ?? "default"})`,
          requests: [{
            method: "PUT",
            path: config,
            params: { boot: `order=${order.join(";")}`, digest: cfg.digest },
          }],
          warnings: pendingNote,
        };
      }
      case "onboot": {
        if (a.enabled === undefined) throw new ToolInputError("onboot needs enabled");
        return {
          ...base,
          summary: `${a.enabled ? "start" : "do not start"} ${label(g)} when ${g.node} boots`,
          requests: [{
            method: "PUT",
            path: config,
            params: { onboot: a.enabled ? 1 : 0, digest: cfg.digest },
          }],
        };
      }
      case "cpu_type": {
        if (!a.cpu) throw new ToolInputError("cpu_type needs cpu");
        return {
          ...base,
          summary: `set the CPU type of ${label(g)} to ${a.cpu} (was ${cfg.cpu ?? "default"})`,
          requests: [{ method: "PUT", path: config, params: { cpu: a.cpu, digest: cfg.digest } }],
          warnings: [
            ...pendingNote,
            ...(a.cpu === "host"
              ? ["cpu host can block live migration between different CPUs"]
              : []),
          ],
        };
      }
      case "cloudinit": {
        if (!Object.values(cfg).some((v) => /cloudinit/.test(v))) {
          throw new ToolInputError(
            `VM ${g.vmid} has no cloud-init drive: add one (e.g. ide2: local-lvm:cloudinit) first`,
          );
        }
        const params = {
          ciuser: a.ciuser,
          sshkeys: a.ssh_public_keys === undefined
            ? undefined
            : encodeURIComponent(a.ssh_public_keys),
          ipconfig0: a.ipconfig0,
          nameserver: a.nameserver,
        };
        const set = Object.entries(params).filter(([, v]) => v !== undefined).map(([k]) => k);
        const regenerate = a.regenerate !== false;
        if (!set.length && !regenerate) throw new ToolInputError("Nothing to change");
        const requests: Plan["requests"] = [];
        if (set.length) {
          requests.push({ method: "PUT", path: config, params: { ...params, digest: cfg.digest } });
        }
        if (regenerate) requests.push({ method: "PUT", path: `${g.path}/cloudinit`, params: {} });
        return {
          ...base,
          summary: `cloud-init of ${label(g)}: ${
            set.length ? `set ${set.join(", ")}` : "no settings"
          }${regenerate ? "; regenerate the drive" : ""}`,
          requests,
          warnings: g.running
            ? ["the guest reads cloud-init at boot: changes apply after a reboot"]
            : [],
        };
      }
    }
  },
});

/** The hardware toolset's changing rows. */
export const hardwareTools: Tool[] = [guestHardware];
