/**
 * Building blocks shared by the scenarios: nodes, networks, storages, users and realistic guest
 * configurations.
 *
 * @module
 */
import { hash32, Rng } from "./rng.ts";
import type { GuestConfig, NetIface, NodeState, StorageState, UserState } from "./state.ts";
import { AUDITOR_PRIVILEGES } from "./privileges.ts";

/** Bytes in one GiB. */
export const GiB = 2 ** 30;
/** Bytes in one TiB. */
export const TiB = 2 ** 40;

/** The simulated PVE release. */
export const PVE_VERSION = { version: "9.1.1", release: "9.1", repoid: "42db4a6cf33dac83" };

/** Ready-made identities of a simulator. */
export interface Credentials {
  admin: {
    username: "root";
    realm: "pam";
    password: string;
    tokenId: "root@pam!mcp";
    tokenSecret: string;
  };
  auditor: {
    username: "auditor";
    realm: "pve";
    password: string;
    tokenId: "auditor@pve!ro";
    tokenSecret: string;
  };
}

function uuidFrom(rng: Rng): string {
  const h = rng.hex(32).split("");
  h[12] = "4";
  h[16] = "89ab"[parseInt(h[16], 16) & 3];
  const s = h.join("");
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** A UUID (v4 layout) derived from the seed and a salt. */
export function seededUuid(seed: number, salt: number): string {
  return uuidFrom(new Rng(hash32(seed, salt)));
}

/** Credentials derived from the seed (same seed, same secrets). */
export function makeCredentials(seed: number): Credentials {
  return {
    admin: {
      username: "root",
      realm: "pam",
      password: "sim-root-password",
      tokenId: "root@pam!mcp",
      tokenSecret: seededUuid(seed, 0xad),
    },
    auditor: {
      username: "auditor",
      realm: "pve",
      password: "sim-auditor-password",
      tokenId: "auditor@pve!ro",
      tokenSecret: seededUuid(seed, 0xa0),
    },
  };
}

/** The users behind the credentials: root (all privileges) and a PVEAuditor. */
export function makeUsers(creds: Credentials): Map<string, UserState> {
  return new Map([
    ["root@pam", {
      userid: "root@pam",
      password: creds.admin.password,
      privileges: "all",
      tokens: new Map([["mcp", { secret: creds.admin.tokenSecret, privsep: false }]]),
    }],
    ["auditor@pve", {
      userid: "auditor@pve",
      password: creds.auditor.password,
      privileges: new Set(AUDITOR_PRIVILEGES),
      tokens: new Map([["ro", { secret: creds.auditor.tokenSecret, privsep: false }]]),
    }],
  ]);
}

/** Physical NICs plus vmbr0 (management, static) and vmbr1 (VLAN-aware trunk). */
export function nodeNetwork(ip: string): NetIface[] {
  const [a, b, c] = ip.split(".");
  return [
    {
      iface: "eno1",
      type: "eth",
      method: "manual",
      method6: "manual",
      active: 1,
      exists: 1,
      families: ["inet"],
      priority: 3,
    },
    {
      iface: "eno2",
      type: "eth",
      method: "manual",
      method6: "manual",
      active: 1,
      exists: 1,
      families: ["inet"],
      priority: 4,
    },
    {
      iface: "vmbr0",
      type: "bridge",
      method: "static",
      method6: "manual",
      address: ip,
      netmask: "24",
      cidr: `${ip}/24`,
      gateway: `${a}.${b}.${c}.1`,
      bridge_ports: "eno1",
      bridge_stp: "off",
      bridge_fd: "0",
      autostart: 1,
      active: 1,
      families: ["inet"],
      priority: 5,
      comments: "Management and default VM network\n",
    },
    {
      iface: "vmbr1",
      type: "bridge",
      method: "manual",
      method6: "manual",
      bridge_ports: "eno2",
      bridge_stp: "off",
      bridge_fd: "0",
      bridge_vlan_aware: 1,
      bridge_vids: "2-4094",
      autostart: 1,
      active: 1,
      families: ["inet"],
      priority: 6,
      comments: "VLAN trunk for guests\n",
    },
  ];
}

/** A node description for the builders. */
export interface NodeSpec {
  name: string;
  nodeid: number;
  ip: string;
  cpus: number;
  sockets: number;
  cpuModel: string;
  memoryGiB: number;
  uptimeDays: number;
}

/** Builds a node booted `uptimeDays` before `now`. */
export function makeNode(spec: NodeSpec, now: number): NodeState {
  return {
    name: spec.name,
    nodeid: spec.nodeid,
    ip: spec.ip,
    online: true,
    cpus: spec.cpus,
    sockets: spec.sockets,
    cpuModel: spec.cpuModel,
    memory: spec.memoryGiB * GiB,
    rootfs: 94 * GiB + spec.nodeid * GiB,
    swap: 8 * GiB,
    bootedAt: now - Math.round(spec.uptimeDays * 86_400_000),
    kernel: "6.17.2-1-pve",
    network: nodeNetwork(spec.ip),
  };
}

/** The usual storages: `local` (dir), `local-lvm` (lvmthin), shared `nfs-backup`, one disabled. */
export function standardStorages(
  lvmByNode: Record<string, number>,
  backupTotal: number,
  backupUsed: number,
): Map<string, StorageState> {
  const list: StorageState[] = [
    {
      storage: "local",
      type: "dir",
      content: ["iso", "vztmpl", "backup"],
      shared: false,
      enabled: true,
      total: 100 * GiB,
      baseUsed: 9 * GiB,
      options: { path: "/var/lib/vz" },
    },
    {
      storage: "local-lvm",
      type: "lvmthin",
      content: ["images", "rootdir"],
      shared: false,
      enabled: true,
      total: 400 * GiB,
      totalByNode: lvmByNode,
      baseUsed: 0,
      options: { vgname: "pve", thinpool: "data" },
    },
    {
      storage: "nfs-backup",
      type: "nfs",
      content: ["backup"],
      shared: true,
      enabled: true,
      total: backupTotal,
      baseUsed: Math.floor(backupUsed),
      options: {
        server: "192.168.10.50",
        export: "/srv/pve-backup",
        path: "/mnt/pve/nfs-backup",
        "prune-backups": "keep-daily=7,keep-weekly=4",
      },
    },
    {
      storage: "ceph-old",
      type: "rbd",
      content: ["images", "rootdir"],
      shared: true,
      enabled: false,
      total: 0,
      baseUsed: 0,
      options: { pool: "vm-pool", monhost: "192.168.20.21 192.168.20.22 192.168.20.23" },
    },
  ];
  return new Map(list.map((s) => [s.storage, s]));
}

/** A MAC address in Proxmox's BC:24:11 range, derived from the seed, VMID and NIC index. */
export function macFor(seed: number, vmid: number, index = 0): string {
  const h = hash32(seed, vmid, index, 0x3ac);
  const b = [h >>> 16, h >>> 8, h].map((x) =>
    (x & 0xff).toString(16).toUpperCase().padStart(2, "0")
  );
  return `BC:24:11:${b.join(":")}`;
}

/** What a QEMU guest looks like. */
export interface QemuSpec {
  vmid: number;
  name: string;
  memory: number;
  cores: number;
  sockets?: number;
  ostype?: string;
  diskGiB: number;
  extraDisksGiB?: number[];
  storage?: string;
  bridge?: string;
  vlan?: number;
  tags?: string;
  description?: string;
  protection?: boolean;
  onboot?: boolean;
  template?: boolean;
  agent?: boolean;
  bios?: "seabios" | "ovmf";
  cdrom?: string;
  cpu?: string;
  createdAt: number;
}

/** A realistic QEMU config. */
export function qemuConfig(seed: number, spec: QemuSpec): GuestConfig {
  const storage = spec.storage ?? "local-lvm";
  const prefix = spec.template ? "base" : "vm";
  const isWin = spec.ostype?.startsWith("win") ?? false;
  const cfg: GuestConfig = {
    boot: "order=scsi0;ide2;net0",
    cores: String(spec.cores),
    cpu: spec.cpu ?? "x86-64-v2-AES",
    ide2: spec.cdrom ? `${spec.cdrom},media=cdrom,size=${isoSize(spec.cdrom)}` : "none,media=cdrom",
    memory: String(spec.memory),
    meta: `creation-qemu=9.2.0,ctime=${Math.floor(spec.createdAt / 1000)}`,
    name: spec.name,
    net0: `virtio=${macFor(seed, spec.vmid)},bridge=${spec.bridge ?? "vmbr0"},firewall=1${
      spec.vlan ? `,tag=${spec.vlan}` : ""
    }`,
    numa: "0",
    ostype: spec.ostype ?? "l26",
    scsi0: `${storage}:${prefix}-${spec.vmid}-disk-0,iothread=1,size=${spec.diskGiB}G`,
    scsihw: "virtio-scsi-single",
    smbios1: `uuid=${seededUuid(seed, spec.vmid * 7 + 1)}`,
    sockets: String(spec.sockets ?? 1),
    vmgenid: seededUuid(seed, spec.vmid * 7 + 2),
  };
  (spec.extraDisksGiB ?? []).forEach((size, i) => {
    cfg[`scsi${i + 1}`] = `${storage}:${prefix}-${spec.vmid}-disk-${
      i + 1
    },iothread=1,size=${size}G`;
  });
  if (spec.agent ?? true) cfg.agent = "1";
  if (spec.bios === "ovmf" || isWin) {
    cfg.bios = "ovmf";
    cfg.efidisk0 = `${storage}:${prefix}-${spec.vmid}-disk-${
      (spec.extraDisksGiB?.length ?? 0) + 1
    },efitype=4m,pre-enrolled-keys=1,size=4M`;
    cfg.machine = "pc-q35-9.2+pve1";
  }
  if (isWin) cfg.tpmstate0 = `${storage}:${prefix}-${spec.vmid}-disk-9,size=4M,version=v2.0`;
  if (spec.tags) cfg.tags = spec.tags;
  if (spec.description) cfg.description = spec.description;
  if (spec.protection) cfg.protection = "1";
  if (spec.onboot) cfg.onboot = "1";
  if (spec.template) cfg.template = "1";
  return cfg;
}

function isoSize(volid: string): string {
  return volid.includes("ubuntu") ? "2645M" : "631M";
}

/** What an LXC guest looks like. */
export interface LxcSpec {
  vmid: number;
  hostname: string;
  memory: number;
  swap?: number;
  cores: number;
  ostype?: string;
  diskGiB: number;
  mounts?: { path: string; sizeGiB: number }[];
  storage?: string;
  tags?: string;
  description?: string;
  protection?: boolean;
  onboot?: boolean;
  ip?: string;
  nesting?: boolean;
  unprivileged?: boolean;
  template?: boolean;
}

/** A realistic LXC config. */
export function lxcConfig(seed: number, spec: LxcSpec): GuestConfig {
  const storage = spec.storage ?? "local-lvm";
  const prefix = spec.template ? "base" : "vm";
  const cfg: GuestConfig = {
    arch: "amd64",
    cores: String(spec.cores),
    hostname: spec.hostname,
    memory: String(spec.memory),
    net0: `name=eth0,bridge=vmbr0,firewall=1,hwaddr=${macFor(seed, spec.vmid)},ip=${
      spec.ip ?? "dhcp"
    },type=veth`,
    ostype: spec.ostype ?? "debian",
    rootfs: `${storage}:${prefix}-${spec.vmid}-disk-0,size=${spec.diskGiB}G`,
    swap: String(spec.swap ?? 512),
  };
  (spec.mounts ?? []).forEach((m, i) => {
    cfg[`mp${i}`] = `${storage}:${prefix}-${spec.vmid}-disk-${
      i + 1
    },mp=${m.path},backup=1,size=${m.sizeGiB}G`;
  });
  if (spec.unprivileged ?? true) cfg.unprivileged = "1";
  if (spec.nesting ?? true) cfg.features = "nesting=1";
  if (spec.tags) cfg.tags = spec.tags;
  if (spec.description) cfg.description = spec.description;
  if (spec.protection) cfg.protection = "1";
  if (spec.onboot) cfg.onboot = "1";
  if (spec.template) cfg.template = "1";
  return cfg;
}

/** Formats epoch ms as PVE's backup file timestamp `YYYY_MM_DD-HH_MM_SS` (UTC). */
export function backupStamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}-${
    p(d.getUTCHours())
  }_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
}

/** Formats epoch ms as `YYYY-MM-DD HH:MM:SS` (UTC), as task logs print times. */
export function logStamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/**
 * How long after 01:00 the scenarios' night lasts: backups, verifies, the CPU spike and the
 * cluster log of that night all end within about 4 hours.
 */
export const NIGHT_LENGTH_MS = 5 * 3600_000;

/**
 * "Last night's" backup window: the most recent 01:00 UTC whose night (see
 * {@link NIGHT_LENGTH_MS}) is over by `now`. At 02:10 that is yesterday's, not one still going on.
 */
export function lastNight(now: number): number {
  const d = new Date(now);
  const at = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 1, 0, 0);
  return at + NIGHT_LENGTH_MS <= now ? at : at - 86_400_000;
}
