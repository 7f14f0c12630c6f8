/**
 * The default scenario: cluster "sim-cluster" with three unequal nodes, fifteen guests (QEMU and
 * LXC, running and stopped, one template), the usual storages with ISOs, container templates and
 * backups, two pools, snapshots and a task history that includes last night's failed backup of
 * container 210.
 *
 * @module
 */
import { defaultAdmin } from "./scenario_admin.ts";
import { formatUpid } from "../proxmox/upid.ts";
import { type ClusterState, Guest, type GuestConfig, type VolumeState } from "./state.ts";
import type { TaskSpec } from "./tasks.ts";
import { emptyOps } from "./ops_state.ts";
import { buildDefaultOps } from "./scenario_ops.ts";
import {
  backupStamp,
  GiB,
  lastNight,
  logStamp,
  lxcConfig,
  type LxcSpec,
  makeCredentials,
  makeNode,
  makeUsers,
  qemuConfig,
  type QemuSpec,
  seededUuid,
  standardStorages,
  TiB,
} from "./scenario_common.ts";
import type { Credentials } from "./scenario_common.ts";

/** A built scenario: state, credentials and finished tasks to replay into the history. */
export interface BuiltScenario {
  state: ClusterState;
  credentials: Credentials;
  history: TaskSpec[];
}

const DAY = 86_400_000;
const MiB = 2 ** 20;

type QemuRow = Omit<QemuSpec, "createdAt"> & { node: string; running: boolean; pool?: string };
type LxcRow = LxcSpec & { node: string; running: boolean; pool?: string };

const QEMU: QemuRow[] = [
  {
    vmid: 100,
    name: "dns-01",
    node: "pve1",
    running: true,
    memory: 2048,
    cores: 2,
    diskGiB: 16,
    tags: "infra",
    onboot: true,
    description: "Primary DNS resolver (unbound)",
  },
  {
    vmid: 101,
    name: "web-01",
    node: "pve1",
    running: true,
    memory: 4096,
    cores: 2,
    diskGiB: 32,
    tags: "prod;web",
    pool: "prod",
    protection: true,
    onboot: true,
    description: "Public web frontend (nginx)",
  },
  {
    vmid: 102,
    name: "web-02",
    node: "pve2",
    running: true,
    memory: 4096,
    cores: 2,
    diskGiB: 32,
    tags: "prod;web",
    pool: "prod",
    onboot: true,
    description: "Public web frontend (nginx)",
  },
  {
    vmid: 103,
    name: "db-01",
    node: "pve1",
    running: true,
    memory: 16384,
    cores: 4,
    sockets: 1,
    diskGiB: 64,
    extraDisksGiB: [200],
    tags: "db;prod",
    pool: "prod",
    protection: true,
    onboot: true,
    description: "PostgreSQL 16 primary",
  },
  {
    vmid: 104,
    name: "monitoring",
    node: "pve2",
    running: true,
    memory: 8192,
    cores: 4,
    diskGiB: 100,
    tags: "infra",
    onboot: true,
    description: "Prometheus and Grafana",
  },
  {
    vmid: 105,
    name: "win-test",
    node: "pve2",
    running: false,
    memory: 8192,
    cores: 4,
    diskGiB: 80,
    ostype: "win11",
    tags: "lab",
    pool: "lab",
    cpu: "host",
    cdrom: "local:iso/ubuntu-24.04.1-live-server-amd64.iso",
    description: "Windows 11 test machine",
  },
  {
    vmid: 106,
    name: "build-runner",
    node: "pve3",
    running: false,
    memory: 4096,
    cores: 2,
    diskGiB: 40,
    tags: "lab",
    pool: "lab",
    bridge: "vmbr1",
    vlan: 30,
    description: "CI runner, started on demand",
  },
  {
    vmid: 107,
    name: "k8s-node-1",
    node: "pve2",
    running: true,
    memory: 6144,
    cores: 3,
    diskGiB: 50,
    tags: "k8s;lab",
    pool: "lab",
    bridge: "vmbr1",
    vlan: 20,
  },
  {
    vmid: 9000,
    name: "debian-12-template",
    node: "pve1",
    running: false,
    memory: 2048,
    cores: 2,
    diskGiB: 8,
    template: true,
    description: "Debian 12 cloud image template",
  },
];

const LXC: LxcRow[] = [
  {
    vmid: 200,
    hostname: "proxy-01",
    node: "pve1",
    running: true,
    memory: 512,
    cores: 1,
    diskGiB: 8,
    tags: "prod;web",
    pool: "prod",
    onboot: true,
    description: "Reverse proxy (HAProxy)",
  },
  {
    vmid: 201,
    hostname: "pihole",
    node: "pve3",
    running: true,
    memory: 256,
    swap: 256,
    cores: 1,
    diskGiB: 4,
    tags: "infra",
    onboot: true,
    ip: "192.168.10.53/24,gw=192.168.10.1",
  },
  {
    vmid: 202,
    hostname: "redis-01",
    node: "pve2",
    running: true,
    memory: 1024,
    cores: 2,
    diskGiB: 8,
    tags: "db;prod",
    pool: "prod",
    onboot: true,
  },
  {
    vmid: 203,
    hostname: "dev-sandbox",
    node: "pve3",
    running: false,
    memory: 1024,
    cores: 2,
    diskGiB: 16,
    tags: "lab",
    pool: "lab",
    ostype: "ubuntu",
  },
  {
    vmid: 210,
    hostname: "nextcloud",
    node: "pve2",
    running: true,
    memory: 4096,
    cores: 2,
    diskGiB: 32,
    mounts: [{ path: "/mnt/data", sizeGiB: 200 }],
    tags: "prod",
    pool: "prod",
    onboot: true,
    description: "Nextcloud for the team",
  },
  {
    vmid: 211,
    hostname: "mail-relay",
    node: "pve1",
    running: false,
    memory: 512,
    cores: 1,
    diskGiB: 8,
    tags: "infra",
    ostype: "alpine",
    nesting: false,
  },
];

function vol(
  storage: string,
  node: string | null,
  content: VolumeState["content"],
  name: string,
  format: string,
  size: number,
  ctime: number,
  extra: Partial<VolumeState> = {},
): VolumeState {
  return {
    volid: `${storage}:${content}/${name}`,
    storage,
    node,
    content,
    format,
    size,
    ctime,
    ...extra,
  };
}

function backupVol(
  storage: string,
  node: string | null,
  vmid: number,
  kind: "qemu" | "lxc",
  atMs: number,
  size: number,
  notes: string,
  extra: Partial<VolumeState> = {},
): VolumeState {
  const ext = kind === "qemu" ? "vma.zst" : "tar.zst";
  return vol(
    storage,
    node,
    "backup",
    `vzdump-${kind}-${vmid}-${backupStamp(atMs)}.${ext}`,
    ext,
    size,
    Math.floor(atMs / 1000),
    {
      vmid,
      subtype: kind,
      notes,
      ...extra,
    },
  );
}

/** Builds the default scenario at `now` with `seed`. */
export function buildDefaultScenario(seed: number, now: number): BuiltScenario {
  const nodes = new Map([
    makeNode({
      name: "pve1",
      nodeid: 1,
      ip: "192.168.10.11",
      cpus: 32,
      sockets: 1,
      cpuModel: "AMD EPYC 7313P 16-Core Processor",
      memoryGiB: 128,
      uptimeDays: 41.3,
    }, now),
    makeNode({
      name: "pve2",
      nodeid: 2,
      ip: "192.168.10.12",
      cpus: 16,
      sockets: 1,
      cpuModel: "Intel(R) Xeon(R) E-2288G CPU @ 3.70GHz",
      memoryGiB: 64,
      uptimeDays: 41.2,
    }, now),
    makeNode({
      name: "pve3",
      nodeid: 3,
      ip: "192.168.10.13",
      cpus: 4,
      sockets: 1,
      cpuModel: "Intel(R) N100",
      memoryGiB: 16,
      uptimeDays: 12.7,
    }, now),
  ].map((n) => [n.name, n]));

  const credentials = makeCredentials(seed);
  const users = makeUsers(credentials);
  const state: ClusterState = {
    clusterName: "sim-cluster",
    seed,
    startedAt: now,
    nodes,
    guests: new Map(),
    storages: standardStorages(
      { pve1: 800 * GiB, pve2: 450 * GiB, pve3: 200 * GiB },
      4 * TiB,
      3.55 * TiB,
    ),
    volumes: [],
    pools: new Map([
      ["prod", { poolid: "prod", comment: "Production services", storages: ["nfs-backup"] }],
      ["lab", { poolid: "lab", comment: "Experiments and test machines", storages: [] }],
    ]),
    users,
    tasks: new Map(),
    ...defaultAdmin(users),
    ops: emptyOps(),
  };

  for (const row of QEMU) {
    const { node, running, pool, ...spec } = row;
    const createdAt = now - (120 + (row.vmid % 97)) * DAY;
    const config = qemuConfig(seed, { ...spec, createdAt });
    const g = new Guest({
      vmid: row.vmid,
      type: "qemu",
      node,
      status: running ? "running" : "stopped",
      startedAt: running ? nodes.get(node)!.bootedAt + 90_000 + row.vmid * 1000 : undefined,
      pool,
    }, config);
    state.guests.set(row.vmid, g);
  }
  for (const row of LXC) {
    const { node, running, pool, ...spec } = row;
    const g = new Guest({
      vmid: row.vmid,
      type: "lxc",
      node,
      status: running ? "running" : "stopped",
      startedAt: running ? nodes.get(node)!.bootedAt + 60_000 + row.vmid * 1000 : undefined,
      pool,
    }, lxcConfig(seed, spec));
    state.guests.set(row.vmid, g);
  }

  state.ops = buildDefaultOps(state, now);
  addSnapshots(state, now);
  const night = lastNight(now);
  addVolumes(state, now, night);
  return { state, credentials, history: history(now, night) };
}

function snapshotOf(config: GuestConfig, extra: GuestConfig = {}): GuestConfig {
  const copy: GuestConfig = { ...config, ...extra };
  delete copy.parent;
  return copy;
}

function addSnapshots(state: ClusterState, now: number): void {
  const web = state.guests.get(101)!;
  web.snapshots.push({
    name: "pre-upgrade",
    description: "Before the Debian 12.8 point release upgrade",
    snaptime: Math.floor((now - 9 * DAY) / 1000),
    vmstate: false,
    config: snapshotOf(web.config, { memory: "2048" }),
  });
  web.config.parent = "pre-upgrade";

  const db = state.guests.get(103)!;
  db.snapshots.push(
    {
      name: "before-pg16",
      description: "PostgreSQL 15, before the major upgrade",
      snaptime: Math.floor((now - 40 * DAY) / 1000),
      vmstate: false,
      config: snapshotOf(db.config, { memory: "12288" }),
    },
    {
      name: "after-pg16",
      description: "PostgreSQL 16 migrated and verified",
      snaptime: Math.floor((now - 39 * DAY) / 1000),
      vmstate: true,
      parent: "before-pg16",
      config: snapshotOf(db.config, {
        vmstate: "local-lvm:vm-103-state-after-pg16",
        runningmachine: "pc-i440fx-9.2+pve1",
      }),
    },
  );
  db.config.parent = "after-pg16";

  const proxy = state.guests.get(200)!;
  proxy.snapshots.push({
    name: "clean-install",
    description: "Fresh HAProxy install",
    snaptime: Math.floor((now - 60 * DAY) / 1000),
    vmstate: false,
    config: snapshotOf(proxy.config),
  });
  proxy.config.parent = "clean-install";
}

function addVolumes(state: ClusterState, now: number, night: number): void {
  const t = (daysAgo: number) => Math.floor((now - daysAgo * DAY) / 1000);
  const debIso = ["debian-12.7.0-amd64-netinst.iso", "iso", 631 * MiB] as const;
  const ubuIso = ["ubuntu-24.04.1-live-server-amd64.iso", "iso", 2645 * MiB] as const;
  const debTpl = ["debian-12-standard_12.7-1_amd64.tar.zst", "tzst", 121 * MiB] as const;
  const alpTpl = ["alpine-3.20-default_20240908_amd64.tar.xz", "txz", 3 * MiB] as const;
  state.volumes.push(
    vol("local", "pve1", "iso", debIso[0], debIso[1], debIso[2], t(80)),
    vol("local", "pve1", "iso", ubuIso[0], ubuIso[1], ubuIso[2], t(75)),
    vol("local", "pve1", "vztmpl", debTpl[0], debTpl[1], debTpl[2], t(90)),
    vol("local", "pve1", "vztmpl", alpTpl[0], alpTpl[1], alpTpl[2], t(70)),
    vol("local", "pve2", "iso", debIso[0], debIso[1], debIso[2], t(80)),
    vol("local", "pve2", "iso", ubuIso[0], ubuIso[1], ubuIso[2], t(60)),
    vol("local", "pve2", "vztmpl", debTpl[0], debTpl[1], debTpl[2], t(90)),
    vol("local", "pve3", "vztmpl", alpTpl[0], alpTpl[1], alpTpl[2], t(50)),
    vol("local", "pve3", "vztmpl", debTpl[0], debTpl[1], debTpl[2], t(45)),
  );
  const verified = (upid: string) => ({ verification: { state: "ok", upid } });
  const m = 60_000;
  state.volumes.push(
    backupVol("nfs-backup", null, 101, "qemu", night - DAY, 2.3 * GiB, "web-01"),
    backupVol(
      "nfs-backup",
      null,
      101,
      "qemu",
      night,
      2.4 * GiB,
      "web-01",
      verified(verifyUpid("pve1", night + 3 * 3600_000)),
    ),
    backupVol("nfs-backup", null, 103, "qemu", night - DAY, 41 * GiB, "db-01", { protected: true }),
    backupVol(
      "nfs-backup",
      null,
      103,
      "qemu",
      night + 2 * m,
      42 * GiB,
      "db-01",
      verified(verifyUpid("pve1", night + 3 * 3600_000 + 5 * m)),
    ),
    backupVol("nfs-backup", null, 200, "lxc", night + 9 * m, 310 * MiB, "proxy-01"),
    backupVol("nfs-backup", null, 102, "qemu", night, 2.2 * GiB, "web-02"),
    backupVol("nfs-backup", null, 202, "lxc", night + 4 * m, 540 * MiB, "redis-01"),
    backupVol("nfs-backup", null, 210, "lxc", night - 2 * DAY + 20 * m, 61 * GiB, "nextcloud"),
    backupVol("nfs-backup", null, 201, "lxc", night + 15 * m, 180 * MiB, "pihole"),
    backupVol(
      "local",
      "pve1",
      100,
      "qemu",
      night - 3 * DAY + 30 * m,
      1.1 * GiB,
      "dns-01 before unbound upgrade",
    ),
  );
  for (const v of state.volumes) v.size = Math.floor(v.size);
}

function verifyUpid(node: string, at: number): string {
  return formatUpid({
    node: "pbs-sim",
    pid: 0x1f00 + (at % 97),
    pstart: 0x4000,
    starttime: Math.floor(at / 1000),
    type: "verificationjob",
    id: `${node}-daily`,
    user: "root@pam",
  });
}

function backupLines(
  at: number,
  vmid: number,
  kind: "qemu" | "lxc",
  name: string,
  storage: string,
  minutes: number,
  size: string,
): string[] {
  const file = `/mnt/pve/${storage}/dump/vzdump-${kind}-${vmid}-${backupStamp(at)}.${
    kind === "qemu" ? "vma.zst" : "tar.zst"
  }`;
  return [
    `INFO: Starting Backup of VM ${vmid} (${kind})`,
    `INFO: Backup started at ${logStamp(at)}`,
    "INFO: status = running",
    kind === "qemu" ? `INFO: VM Name: ${name}` : `INFO: CT Name: ${name}`,
    kind === "qemu"
      ? "INFO: include disk 'scsi0' 'local-lvm:vm-" + vmid + "-disk-0'"
      : "INFO: including mount point rootfs ('/') in backup",
    "INFO: backup mode: snapshot",
    "INFO: ionice priority: 7",
    `INFO: creating vzdump archive '${file}'`,
    kind === "qemu"
      ? `INFO: started backup task '${seededUuid(at, vmid)}'`
      : "INFO: create storage snapshot 'vzdump'",
    `INFO: archive file size: ${size}`,
    `INFO: Finished Backup of VM ${vmid} (00:${String(minutes).padStart(2, "0")}:12)`,
    `INFO: Backup finished at ${logStamp(at + minutes * 60_000 + 12_000)}`,
  ];
}

function history(now: number, night: number): TaskSpec[] {
  const m = 60_000;
  const user = "root@pam";
  const out: TaskSpec[] = [];
  const job =
    "--mode snapshot --storage nfs-backup --compress zstd --notes-template '{{guestname}}' --quiet 1";
  out.push({
    node: "pve1",
    type: "vzdump",
    id: "",
    user,
    startAt: night,
    durationMs: 14 * m,
    lines: [
      `INFO: starting new backup job: vzdump 101 103 200 ${job}`,
      ...backupLines(night, 101, "qemu", "web-01", "nfs-backup", 1, "2.40GB"),
      ...backupLines(night + 2 * m, 103, "qemu", "db-01", "nfs-backup", 6, "42.0GB"),
      ...backupLines(night + 9 * m, 200, "lxc", "proxy-01", "nfs-backup", 1, "310MB"),
      "INFO: Backup job finished successfully",
      "INFO: notified via target `mail-to-root`",
    ],
  });
  out.push({
    node: "pve2",
    type: "vzdump",
    id: "",
    user,
    startAt: night,
    durationMs: 6 * m,
    lines: [
      `INFO: starting new backup job: vzdump 102 202 ${job}`,
      ...backupLines(night, 102, "qemu", "web-02", "nfs-backup", 2, "2.20GB"),
      ...backupLines(night + 4 * m, 202, "lxc", "redis-01", "nfs-backup", 1, "540MB"),
      "INFO: Backup job finished successfully",
    ],
  });
  const failAt = night + 20 * m;
  const tmp = `/mnt/pve/nfs-backup/dump/vzdump-lxc-210-${backupStamp(failAt)}`;
  out.push({
    node: "pve2",
    type: "vzdump",
    id: "210",
    user,
    startAt: failAt,
    durationMs: 11 * m + 42_000,
    outcome: "job errors",
    lines: [
      `INFO: starting new backup job: vzdump 210 ${job}`,
      "INFO: Starting Backup of VM 210 (lxc)",
      `INFO: Backup started at ${logStamp(failAt)}`,
      "INFO: status = running",
      "INFO: CT Name: nextcloud",
      "INFO: including mount point rootfs ('/') in backup",
      "INFO: including mount point mp0 ('/mnt/data') in backup",
      "INFO: backup mode: snapshot",
      "INFO: ionice priority: 7",
      "INFO: create storage snapshot 'vzdump'",
      `INFO: creating vzdump archive '${tmp}.tar.zst'`,
      "INFO: zstd: error 70 : Write error : cannot write block : No space left on device",
      "INFO: cleanup temporary 'vzdump' snapshot",
      `ERROR: Backup of VM 210 failed - command 'set -o pipefail && lxc-usernsexec -m u:0:100000:65536 -m g:0:100000:65536 -- tar cpf - --totals --one-file-system -p --sparse --numeric-owner --acls --xattrs '--directory=${tmp}.tmp' ./etc/vzdump/pct.conf '--directory=/mnt/vzsnap0' ./ ./mnt/data | zstd '--threads=1' >${tmp}.tar.dat' failed: exit code 70`,
      `INFO: Failed at ${logStamp(failAt + 11 * m + 40_000)}`,
      "INFO: Backup job finished with errors",
      "INFO: notified via target `mail-to-root`",
    ],
  });
  out.push({
    node: "pve3",
    type: "vzdump",
    id: "201",
    user,
    startAt: night + 15 * m,
    durationMs: 2 * m,
    outcome: "WARNINGS: 1",
    lines: [
      `INFO: starting new backup job: vzdump 201 ${job}`,
      ...backupLines(night + 15 * m, 201, "lxc", "pihole", "nfs-backup", 1, "180MB").slice(0, 8),
      "WARN: tar: ./var/log/pihole/FTL.log: file changed as we read it",
      ...backupLines(night + 15 * m, 201, "lxc", "pihole", "nfs-backup", 1, "180MB").slice(8),
      "INFO: Backup job finished successfully",
    ],
  });
  const d = (days: number, at = 0) => now - days * DAY + at;
  out.push(
    {
      node: "pve1",
      type: "qmsnapshot",
      id: "101",
      user,
      startAt: d(9),
      durationMs: 2_400,
      lines: [
        "snapshotting 'drive-scsi0' (local-lvm:vm-101-disk-0)",
        '  Logical volume "snap_vm-101-disk-0_pre-upgrade" created.',
      ],
    },
    {
      node: "pve2",
      type: "qmstop",
      id: "105",
      user,
      startAt: d(3),
      durationMs: 1_800,
      lines: ["requesting stop of VM 105"],
    },
    {
      node: "pve3",
      type: "vzstop",
      id: "203",
      user: "root@pam!mcp",
      startAt: d(2),
      durationMs: 1_200,
    },
    {
      node: "pve1",
      type: "aptupdate",
      id: "",
      user,
      startAt: d(1, 5 * 3600_000),
      durationMs: 21_000,
      lines: [
        "starting apt-get update",
        "Hit:1 http://deb.debian.org/debian trixie InRelease",
        "Get:2 http://download.proxmox.com/debian/pve trixie InRelease [2771 B]",
        "Reading package lists...",
        "update successful",
      ],
    },
    {
      node: "pve2",
      type: "qmigrate",
      id: "102",
      user,
      startAt: d(5),
      durationMs: 47_000,
      lines: [
        "starting migration of VM 102 to node 'pve2' (192.168.10.12)",
        "migration active, transferred 1.1 GiB of 4.0 GiB VM-state, 402.3 MiB/s",
        "migration completed, transferred 3.9 GiB VM-state",
        "migration finished successfully (duration 00:00:47)",
      ],
    },
    {
      node: "pve3",
      type: "qmstart",
      id: "106",
      user,
      startAt: d(4),
      durationMs: 3_000,
      outcome: "timeout waiting on systemd",
    },
  );
  return out;
}
