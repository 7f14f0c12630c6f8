/**
 * Operations data of the default scenario, chosen so every monitoring question has an
 * interesting answer: guest agents (one VM with two interfaces, one configured but silent, one
 * without), Ceph with an OSD down, cluster log and journals, two backup jobs that leave one guest
 * out, a failing replication job, pending updates with a security fix, a failing disk in a
 * degraded ZFS pool, a failed service, a certificate close to expiry, SDN zones and a CPU spike
 * last night.
 *
 * @module
 */
import { hash32 } from "./rng.ts";
import { GiB, lastNight, macFor, TiB } from "./scenario_common.ts";
import type {
  AgentInfo,
  AptRepo,
  AptUpdate,
  CertificateState,
  ClusterLogEntry,
  DiskState,
  JournalLine,
  NodeOps,
  OpsState,
  ServiceState,
} from "./ops_state.ts";
import type { ClusterState } from "./state.ts";

const HOUR = 3_600_000;
const DAY = 86_400_000;
const MiB = 2 ** 20;

function mac(state: ClusterState, vmid: number, index = 0): string {
  return macFor(state.seed, vmid, index);
}

function linkLocal(macAddr: string): string {
  const b = macAddr.toLowerCase().split(":");
  const first = (parseInt(b[0], 16) ^ 2).toString(16).padStart(2, "0");
  return `fe80::${first}${b[1]}:${b[2]}ff:fe${b[3]}:${b[4]}${b[5]}/64`;
}

function debian(hostname: string, fs: AgentInfo["filesystems"]): Omit<AgentInfo, "interfaces"> {
  return {
    hostname,
    os: {
      id: "debian",
      name: "Debian GNU/Linux",
      version: "12 (bookworm)",
      prettyName: "Debian GNU/Linux 12 (bookworm)",
      kernel: "6.1.0-28-amd64",
    },
    filesystems: fs,
  };
}

function rootFs(totalGiB: number, used: number) {
  return {
    mountpoint: "/",
    type: "ext4",
    device: "/dev/sda1",
    totalBytes: totalGiB * GiB * 0.97,
    usedBytes: Math.floor(totalGiB * GiB * used),
  };
}

function agents(state: ClusterState): Map<number, AgentInfo> {
  const lo = { name: "lo", mac: "00:00:00:00:00:00", addresses: ["127.0.0.1/8", "::1/128"] };
  const nic = (vmid: number, index: number, name: string, ip: string) => {
    const m = mac(state, vmid, index);
    return { name, mac: m.toLowerCase(), addresses: [ip, linkLocal(m)] };
  };
  const map = new Map<number, AgentInfo>();
  map.set(100, {
    ...debian("dns-01", [rootFs(16, 0.31)]),
    interfaces: [
      lo,
      nic(100, 0, "ens18", "192.168.10.21/24"),
      nic(100, 1, "ens19", "10.20.0.21/24"),
    ],
  });
  map.set(101, {
    ...debian("web-01", [rootFs(32, 0.44), {
      mountpoint: "/boot/efi",
      type: "vfat",
      device: "/dev/sda15",
      totalBytes: 124 * MiB,
      usedBytes: 12 * MiB,
    }]),
    interfaces: [lo, nic(101, 0, "ens18", "192.168.10.31/24")],
  });
  map.set(103, {
    ...debian("db-01", [rootFs(64, 0.52), {
      mountpoint: "/var/lib/postgresql",
      type: "xfs",
      device: "/dev/sdb1",
      totalBytes: 200 * GiB,
      usedBytes: Math.floor(183 * GiB),
    }]),
    interfaces: [lo, nic(103, 0, "ens18", "192.168.10.41/24")],
  });
  map.set(104, {
    hostname: "monitoring",
    os: {
      id: "ubuntu",
      name: "Ubuntu",
      version: "24.04.1 LTS (Noble Numbat)",
      prettyName: "Ubuntu 24.04.1 LTS",
      kernel: "6.8.0-49-generic",
    },
    filesystems: [rootFs(100, 0.67)],
    interfaces: [lo, nic(104, 0, "ens18", "192.168.10.44/24")],
  });
  return map;
}

function cephState(): OpsState["ceph"] {
  const osd = (id: number, host: string, up = true) => ({
    id,
    host,
    up,
    in: true,
    deviceClass: "ssd" as const,
    size: 1.82 * TiB,
    used: (0.38 + id * 0.01) * TiB,
  });
  return {
    fsid: "5c1e8d2a-7f3b-4e9a-b6c1-2d8e4f0a9b37",
    release: "squid",
    version: "19.2.3",
    monitors: ["pve1", "pve2", "pve3"].map((host, i) => ({
      name: host,
      host,
      addr: `192.168.20.${21 + i}:6789/0`,
      inQuorum: true,
    })),
    managers: [{ name: "pve1", host: "pve1", active: true }, {
      name: "pve2",
      host: "pve2",
      active: false,
    }],
    osds: [
      osd(0, "pve1"),
      osd(1, "pve1"),
      osd(2, "pve2"),
      osd(3, "pve2"),
      osd(4, "pve3", false),
      osd(5, "pve3"),
    ],
    pools: [
      {
        id: 1,
        name: ".mgr",
        size: 3,
        minSize: 2,
        pgNum: 1,
        bytesUsed: 1_351_680,
        percentUsed: 0,
        application: "mgr",
      },
      {
        id: 2,
        name: "vm-pool",
        size: 3,
        minSize: 2,
        pgNum: 128,
        bytesUsed: 2.31 * TiB,
        percentUsed: 0.2114,
        application: "rbd",
      },
    ],
    pgStates: {
      "active+clean": 86,
      "active+undersized+degraded": 41,
      "active+undersized+degraded+remapped+backfill_wait": 2,
    },
    checks: [
      {
        code: "OSD_DOWN",
        severity: "HEALTH_WARN",
        message: "1 osds down",
        count: 1,
        details: ["osd.4 (root=default,host=pve3) is down"],
      },
      {
        code: "PG_DEGRADED",
        severity: "HEALTH_WARN",
        message:
          "Degraded data redundancy: 12840/197352 objects degraded (6.506%), 43 pgs degraded, 43 pgs undersized",
        count: 43,
        details: ["pg 2.1a is active+undersized+degraded, acting [1,3]"],
      },
    ],
  };
}

function clusterLog(now: number, night: number): ClusterLogEntry[] {
  const at = (ms: number) => Math.floor(ms / 1000);
  const entries: ClusterLogEntry[] = [
    {
      time: at(night),
      node: "pve1",
      pri: 6,
      tag: "pvescheduler",
      pid: 1812,
      user: "root@pam",
      msg: "starting task UPID:pve1:00001A2B:0002F1C4:vzdump::root@pam:",
    },
    {
      time: at(night + 31 * 60_000),
      node: "pve2",
      pri: 3,
      tag: "pvescheduler",
      pid: 1733,
      user: "root@pam",
      msg: "end task vzdump 210: job errors",
    },
    {
      time: at(night + 1.5 * HOUR + 2 * 60_000),
      node: "pve3",
      pri: 3,
      tag: "ceph-osd",
      pid: 2381,
      user: "root@pam",
      msg: "osd.4 marked down after no beacon for 900 seconds",
    },
    {
      time: at(now - 3 * HOUR),
      node: "pve3",
      pri: 4,
      tag: "pvestatd",
      pid: 1290,
      user: "root@pam",
      msg: "replication job 102-0 to pve3 failed 4 times in a row",
    },
    {
      time: at(now - 2 * HOUR),
      node: "pve1",
      pri: 6,
      tag: "pvedaemon",
      pid: 2201,
      user: "root@pam",
      msg: "<root@pam> successful auth for user 'admin@pve'",
    },
    {
      time: at(now - 95 * 60_000),
      node: "pve2",
      pri: 5,
      tag: "corosync",
      pid: 1102,
      user: "root@pam",
      msg: "[KNET  ] link: host: 3 link: 0 is down",
    },
    {
      time: at(now - 94 * 60_000),
      node: "pve2",
      pri: 5,
      tag: "corosync",
      pid: 1102,
      user: "root@pam",
      msg: "[KNET  ] rx: host: 3 link: 0 is up",
    },
    {
      time: at(now - 40 * 60_000),
      node: "pve1",
      pri: 4,
      tag: "pvedaemon",
      pid: 2203,
      user: "root@pam",
      msg: "authentication failure; rhost=::ffff:192.168.10.77 user=root@pam msg=no such user",
    },
    {
      time: at(now - 12 * 60_000),
      node: "pve1",
      pri: 6,
      tag: "pvedaemon",
      pid: 2201,
      user: "admin@pve",
      msg: "<admin@pve> starting task UPID:pve1:00003C11:0009A2B4:qmsnapshot:101:admin@pve:",
    },
  ];
  return entries.sort((a, b) => a.time - b.time);
}

interface JournalSpec {
  unit: string;
  ident: string;
  pid: number;
  msg: string;
}

function journal(node: string, now: number, night: number, extra: [number, JournalSpec][]) {
  const routine: JournalSpec[] = [
    { unit: "pveproxy.service", ident: "pveproxy", pid: 2410, msg: "worker 2415 started" },
    {
      unit: "pvedaemon.service",
      ident: "pvedaemon",
      pid: 2201,
      msg: "<root@pam> successful auth for user 'root@pam'",
    },
    { unit: "cron.service", ident: "CRON", pid: 3120, msg: "(root) CMD (command -v debian-sa1)" },
    {
      unit: "pve-cluster.service",
      ident: "pmxcfs",
      pid: 1001,
      msg: "[status] notice: received log",
    },
    {
      unit: "systemd-timesyncd.service",
      ident: "chronyd",
      pid: 880,
      msg: "Selected source 192.168.10.1",
    },
  ];
  const lines: JournalLine[] = [];
  const start = now - DAY;
  for (let i = 0; i < 48; i++) {
    const spec = routine[hash32(node.length, i) % routine.length];
    lines.push({ time: Math.floor((start + i * 30 * 60_000 + 17_000) / 1000), ...spec });
  }
  for (const [ms, spec] of extra) lines.push({ time: Math.floor(ms / 1000), ...spec });
  lines.push({
    time: Math.floor((night + 2_000) / 1000),
    unit: "pvescheduler.service",
    ident: "pvescheduler",
    pid: 1812,
    msg: "INFO: starting new backup job: vzdump --mode snapshot --storage nfs-backup",
  });
  return lines.sort((a, b) => a.time - b.time);
}

function updates(pve: boolean): AptUpdate[] {
  const list: AptUpdate[] = [
    {
      package: "openssl",
      title: "Secure Sockets Layer toolkit - cryptographic utility",
      oldVersion: "3.5.1-1",
      version: "3.5.1-1+deb13u1",
      origin: "Debian",
      section: "utils",
      priority: "optional",
    },
    {
      package: "libssl3t64",
      title: "Secure Sockets Layer toolkit - shared libraries",
      oldVersion: "3.5.1-1",
      version: "3.5.1-1+deb13u1",
      origin: "Debian",
      section: "libs",
      priority: "optional",
    },
  ];
  if (pve) {
    list.push(
      {
        package: "proxmox-backup-client",
        title: "Proxmox Backup Client tools",
        oldVersion: "4.0.14-1",
        version: "4.0.15-1",
        origin: "Proxmox",
        section: "admin",
        priority: "optional",
      },
      {
        package: "pve-manager",
        title: "Proxmox Virtual Environment Management Tools",
        oldVersion: "9.1.2",
        version: "9.1.3",
        origin: "Proxmox",
        section: "admin",
        priority: "optional",
      },
      {
        package: "proxmox-kernel-6.17",
        title: "Latest Proxmox Kernel Image",
        oldVersion: "6.17.2-1",
        version: "6.17.2-2",
        origin: "Proxmox",
        section: "admin",
        priority: "optional",
      },
    );
  }
  return list;
}

function repositories(enterprise: boolean): AptRepo[] {
  return [
    {
      path: "/etc/apt/sources.list.d/debian.sources",
      types: ["deb"],
      uris: ["http://deb.debian.org/debian"],
      suites: ["trixie", "trixie-updates"],
      components: ["main", "contrib", "non-free-firmware"],
      enabled: true,
    },
    {
      path: "/etc/apt/sources.list.d/debian.sources",
      types: ["deb"],
      uris: ["http://security.debian.org/debian-security"],
      suites: ["trixie-security"],
      components: ["main", "contrib", "non-free-firmware"],
      enabled: true,
    },
    {
      path: "/etc/apt/sources.list.d/pve-enterprise.sources",
      types: ["deb"],
      uris: ["https://enterprise.proxmox.com/debian/pve"],
      suites: ["trixie"],
      components: ["pve-enterprise"],
      enabled: enterprise,
    },
    {
      path: "/etc/apt/sources.list.d/proxmox.sources",
      types: ["deb"],
      uris: ["http://download.proxmox.com/debian/pve"],
      suites: ["trixie"],
      components: ["pve-no-subscription"],
      enabled: !enterprise,
    },
  ];
}

function nvme(serial: string, wearout: number, used: string): DiskState {
  return {
    devpath: "/dev/nvme0n1",
    model: "Samsung SSD 980 PRO 1TB",
    serial,
    type: "nvme",
    size: 1_000_204_886_016,
    wearout,
    health: "PASSED",
    used,
    smart: {
      text: [
        "SMART/Health Information (NVMe Log 0x02)",
        "Critical Warning:                   0x00",
        "Temperature:                        41 Celsius",
        `Percentage Used:                    ${100 - wearout}%`,
        "Media and Data Integrity Errors:    0",
      ].join("\n"),
    },
  };
}

function ataSsd(dev: string, serial: string, osd: number): DiskState {
  return {
    devpath: dev,
    model: "SAMSUNG MZ7L31T9HBLT-00A07",
    serial,
    vendor: "ATA",
    type: "ssd",
    size: 1_920_383_410_176,
    wearout: 91 - osd,
    health: "PASSED",
    used: `LVM (ceph osd.${osd})`,
    osdid: osd,
    smart: {
      attributes: [
        attr(5, "Reallocated_Sector_Ct", 100, 100, 10, "0", "-"),
        attr(177, "Wear_Leveling_Count", 91 - osd, 91 - osd, 5, String(120 + osd * 9), "-"),
        attr(194, "Temperature_Celsius", 64, 51, 0, "36", "-"),
      ],
    },
  };
}

function attr(
  id: number,
  name: string,
  value: number,
  worst: number,
  threshold: number,
  raw: string,
  fail: string,
) {
  return { id, name, value, worst, threshold, raw, fail };
}

function hdd(dev: string, serial: string, failing: boolean): DiskState {
  return {
    devpath: dev,
    model: "WDC WD40EFRX-68N32N0",
    serial,
    vendor: "ATA",
    type: "hdd",
    size: 4_000_787_030_016,
    rpm: 5400,
    health: failing ? "FAILED" : "PASSED",
    used: "ZFS",
    smart: {
      attributes: [
        attr(
          5,
          "Reallocated_Sector_Ct",
          failing ? 3 : 200,
          failing ? 3 : 200,
          140,
          failing ? "1912" : "0",
          failing ? "FAILING_NOW" : "-",
        ),
        attr(197, "Current_Pending_Sector", 200, 200, 0, failing ? "8" : "0", "-"),
        attr(194, "Temperature_Celsius", 118, 104, 0, "34", "-"),
      ],
    },
  };
}

function services(failed: string[] = []): ServiceState[] {
  const list: [string, string][] = [
    ["corosync", "Corosync Cluster Engine"],
    ["cron", "Regular background program processing daemon"],
    ["ksmtuned", "Kernel Samepage Merging (KSM) Tuning Daemon"],
    ["postfix", "Postfix Mail Transport Agent"],
    ["pve-cluster", "The Proxmox VE cluster filesystem"],
    ["pve-firewall", "Proxmox VE firewall"],
    ["pve-ha-crm", "PVE Cluster HA Resource Manager Daemon"],
    ["pve-ha-lrm", "PVE Local HA Resource Manager Daemon"],
    ["pvedaemon", "PVE API Daemon"],
    ["pvefw-logger", "Proxmox VE firewall logger"],
    ["pveproxy", "PVE API Proxy Server"],
    ["pvescheduler", "Proxmox VE scheduler"],
    ["pvestatd", "PVE Status Daemon"],
    ["spiceproxy", "PVE SPICE Proxy Server"],
    ["sshd", "OpenBSD Secure Shell server"],
    ["syslog", "System Logging Service"],
    ["systemd-journald", "Journal Service"],
    ["systemd-timesyncd", "Network Time Synchronization"],
  ];
  return list.map(([name, desc]) => {
    if (failed.includes(name)) {
      return { name, desc, state: "failed", activeState: "failed", unitState: "enabled" };
    }
    if (name === "syslog") {
      return { name, desc, state: "dead", activeState: "inactive", unitState: "masked" };
    }
    return { name, desc, state: "running", activeState: "active", unitState: "enabled" };
  });
}

function fingerprint(node: string, salt: number): string {
  const bytes: string[] = [];
  for (let i = 0; i < 32; i++) {
    bytes.push(
      (hash32(node.length, node.charCodeAt(node.length - 1), salt, i) & 0xff)
        .toString(16).toUpperCase().padStart(2, "0"),
    );
  }
  return bytes.join(":");
}

function certificates(node: string, ip: string, now: number, acme: boolean): CertificateState[] {
  const s = (ms: number) => Math.floor(ms / 1000);
  const ca = "/CN=Proxmox Virtual Environment/OU=5c1e8d2a7f3b4e9a/O=PVE Cluster Manager CA";
  const list: CertificateState[] = [
    {
      filename: "pve-root-ca.pem",
      subject: ca,
      issuer: ca,
      san: [],
      notbefore: s(now - 400 * DAY),
      notafter: s(now + 3250 * DAY),
      fingerprint: fingerprint("ca", 1),
      keyType: "rsaEncryption",
      keyBits: 4096,
    },
    {
      filename: "pve-ssl.pem",
      subject: `/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN=${node}.lan`,
      issuer: ca,
      san: [`IP Address:${ip}`, "DNS:localhost", `DNS:${node}`, `DNS:${node}.lan`],
      notbefore: s(now - 400 * DAY),
      notafter: s(now + (node === "pve3" ? 21 : 330) * DAY),
      fingerprint: fingerprint(node, 2),
      keyType: "rsaEncryption",
      keyBits: 2048,
    },
  ];
  if (acme) {
    list.push({
      filename: "pveproxy-ssl.pem",
      subject: `/CN=${node}.example.net`,
      issuer: "/C=US/O=Let's Encrypt/CN=R11",
      san: [`DNS:${node}.example.net`],
      notbefore: s(now - 78 * DAY),
      notafter: s(now + 12 * DAY),
      fingerprint: fingerprint(node, 3),
      keyType: "id-ecPublicKey",
      keyBits: 256,
    });
  }
  return list;
}

function nodeOps(state: ClusterState, now: number, night: number): Map<string, NodeOps> {
  const ops = new Map<string, NodeOps>();
  const lvm = (node: string, sizeGiB: number, used: number) => ({
    vg: "pve",
    lv: "data",
    size: Math.floor(sizeGiB * GiB),
    used: Math.floor(sizeGiB * GiB * used),
    metadataSize: 4 * GiB,
    metadataUsed: Math.floor(4 * GiB * (used / 6 + node.length * 0.001)),
  });
  ops.set("pve1", {
    journal: journal("pve1", now, night, [[now - 40 * 60_000, {
      unit: "pvedaemon.service",
      ident: "pvedaemon",
      pid: 2203,
      msg: "authentication failure; rhost=::ffff:192.168.10.77 user=root@pam msg=no such user",
    }]]),
    updates: updates(true),
    repositories: repositories(false),
    disks: [
      nvme("S5GXNF0R112233A", 96, "LVM"),
      ataSsd("/dev/sda", "S6ESNE0T401120", 0),
      ataSsd("/dev/sdb", "S6ESNE0T401121", 1),
    ],
    zfs: [],
    lvmthin: [lvm("pve1", 800, 0.41)],
    services: services(),
    certificates: certificates("pve1", state.nodes.get("pve1")!.ip, now, true),
  });
  ops.set("pve2", {
    journal: journal("pve2", now, night, [
      [night + 20 * 60_000, {
        unit: "pvescheduler.service",
        ident: "pvescheduler",
        pid: 1733,
        msg: "ERROR: Backup of VM 210 failed - No space left on device",
      }],
      [now - 95 * 60_000, {
        unit: "corosync.service",
        ident: "corosync",
        pid: 1102,
        msg: "[KNET  ] link: host: 3 link: 0 is down",
      }],
    ]),
    updates: updates(true),
    repositories: repositories(false),
    disks: [
      nvme("S5GXNF0R445566B", 88, "LVM"),
      ataSsd("/dev/sda", "S6ESNE0T401122", 2),
      ataSsd("/dev/sdb", "S6ESNE0T401123", 3),
    ],
    zfs: [],
    lvmthin: [lvm("pve2", 450, 0.58)],
    services: services(),
    certificates: certificates("pve2", state.nodes.get("pve2")!.ip, now, false),
  });
  ops.set("pve3", {
    journal: journal("pve3", now, night, [
      [now - 5 * HOUR, {
        unit: "smartd.service",
        ident: "smartd",
        pid: 901,
        msg:
          "Device: /dev/sdb [SAT], FAILED SMART self-check. BACK UP DATA NOW! Reallocated_Sector_Ct 1912",
      }],
      [now - 5 * HOUR + 60_000, {
        unit: "zfs-zed.service",
        ident: "zed",
        pid: 1450,
        msg: "eid=412 class=statechange pool='tank' vdev=sdb1 vdev_state=FAULTED",
      }],
      [now - 3 * HOUR, {
        unit: "postfix@-.service",
        ident: "postfix/master",
        pid: 1801,
        msg: "fatal: bind 0.0.0.0 port 25: Address already in use",
      }],
      [night + 1.5 * HOUR, {
        unit: "ceph-osd@4.service",
        ident: "ceph-osd",
        pid: 2381,
        msg: "osd.4 ... bluestore(/var/lib/ceph/osd/ceph-4) _read_fsid unparsable uuid",
      }],
    ]),
    updates: [],
    repositories: repositories(true),
    disks: [
      {
        ...nvme("S5GXNF0R778899C", 71, "LVM"),
        devpath: "/dev/sda",
        model: "KINGSTON SA400S37480G",
        type: "ssd",
        size: 480_103_981_056,
      },
      hdd("/dev/sdb", "WD-WCC7K4HX1CDE", true),
      hdd("/dev/sdc", "WD-WCC7K4HX2FGH", false),
      ataSsd("/dev/sdd", "S6ESNE0T401124", 4),
      ataSsd("/dev/sde", "S6ESNE0T401125", 5),
    ],
    zfs: [{
      name: "tank",
      size: 3_985_729_650_688,
      alloc: 2_604_246_222_848,
      frag: 23,
      dedup: 1,
      health: "DEGRADED",
      devices: [
        { name: "mirror-0", state: "DEGRADED", read: 0, write: 0, cksum: 0 },
        { name: "sdb", state: "FAULTED", read: 31, write: 2, cksum: 0 },
        { name: "sdc", state: "ONLINE", read: 0, write: 0, cksum: 0 },
      ],
      scan: "scrub repaired 0B in 05:12:47 with 0 errors",
    }],
    lvmthin: [lvm("pve3", 200, 0.33)],
    services: services(["postfix"]),
    certificates: certificates("pve3", state.nodes.get("pve3")!.ip, now, false),
  });
  return ops;
}

/** Builds the default scenario's operations state; adjusts agent settings of some guests. */
export function buildDefaultOps(state: ClusterState, now: number): OpsState {
  const night = lastNight(now);
  // VM 100 has a second NIC on the VLAN trunk; VM 102 has no guest agent configured.
  const dns = state.guests.get(100);
  if (dns) dns.config.net1 = `virtio=${mac(state, 100, 1)},bridge=vmbr1,firewall=1,tag=20`;
  const web2 = state.guests.get(102);
  if (web2) delete web2.config.agent;
  return {
    agents: agents(state),
    ceph: cephState(),
    clusterLog: clusterLog(now, night),
    backupJobs: [
      {
        id: "backup-4c1d2e3f-a5b6",
        schedule: "01:00",
        enabled: true,
        storage: "nfs-backup",
        mode: "snapshot",
        compress: "zstd",
        comment: "Nightly: production and infrastructure",
        vmid: [100, 101, 102, 103, 200, 201, 202, 210],
        notesTemplate: "{{guestname}}",
        prune: "keep-daily=7,keep-weekly=4",
        mailnotification: "failure",
      },
      {
        id: "backup-9e8f7a6b-c1d0",
        schedule: "sat 03:30",
        enabled: true,
        storage: "nfs-backup",
        mode: "stop",
        compress: "zstd",
        comment: "Weekly: everything else",
        all: true,
        exclude: [100, 101, 102, 103, 200, 201, 202, 210, 211],
        prune: "keep-weekly=4",
      },
    ],
    replication: [
      {
        id: "103-0",
        guest: 103,
        source: "pve1",
        target: "pve2",
        schedule: "*/15",
        comment: "db-01 standby copy",
        lastSync: Math.floor((now - 6 * 60_000) / 1000),
        lastTry: Math.floor((now - 6 * 60_000) / 1000),
        duration: 4.21,
        failCount: 0,
        log: [
          "start replication job",
          "guest => VM 103, running => 4112",
          "volumes => local-lvm:vm-103-disk-0,local-lvm:vm-103-disk-1",
          "end replication job",
        ],
      },
      {
        id: "102-0",
        guest: 102,
        source: "pve2",
        target: "pve3",
        schedule: "*/30",
        lastSync: Math.floor((now - 2 * HOUR - 40 * 60_000) / 1000),
        lastTry: Math.floor((now - 10 * 60_000) / 1000),
        duration: 3.07,
        failCount: 4,
        error:
          "command '/usr/bin/ssh -e none -o 'BatchMode=yes' -o 'HostKeyAlias=pve3' root@192.168.10.13 -- pvesr prepare-local-job 102-0 local-lvm:vm-102-disk-0 --last_sync 0' failed: exit code 255",
        log: [
          "start replication job",
          "guest => VM 102, running => 3391",
          "volumes => local-lvm:vm-102-disk-0",
          "ssh: connect to host 192.168.10.13 port 22: No route to host",
          "end replication job with error: command '/usr/bin/ssh -e none -o 'BatchMode=yes' -o 'HostKeyAlias=pve3' root@192.168.10.13 -- pvesr prepare-local-job 102-0 local-lvm:vm-102-disk-0 --last_sync 0' failed: exit code 255",
        ],
      },
    ],
    nodes: nodeOps(state, now, night),
    sdn: {
      zones: [
        { zone: "lab", type: "simple", ipam: "pve", dhcp: "dnsmasq" },
        { zone: "dcvlan", type: "vlan", bridge: "vmbr1", ipam: "pve" },
      ],
      vnets: [
        { vnet: "labnet", zone: "lab", alias: "Isolated lab network" },
        { vnet: "vlan20", zone: "dcvlan", tag: 20, alias: "Kubernetes" },
        { vnet: "vlan30", zone: "dcvlan", tag: 30, alias: "CI runners" },
      ],
      subnets: [
        {
          vnet: "labnet",
          cidr: "10.50.0.0/24",
          gateway: "10.50.0.1",
          snat: true,
          dhcpRange: ["start-address=10.50.0.100,end-address=10.50.0.200"],
        },
        { vnet: "vlan20", cidr: "10.20.0.0/24", gateway: "10.20.0.1" },
      ],
    },
    tfa: new Map([
      ["root@pam", [{
        type: "totp" as const,
        id: "totp-8f2c1a",
        description: "Authenticator app",
        created: Math.floor((now - 200 * DAY) / 1000),
      }, {
        type: "recovery" as const,
        id: "recovery",
        description: "Recovery keys",
        created: Math.floor((now - 200 * DAY) / 1000),
      }]],
      ["ops@pve", [{
        type: "webauthn" as const,
        id: "webauthn-3b9d",
        description: "YubiKey 5",
        created: Math.floor((now - 90 * DAY) / 1000),
      }]],
    ]),
    spikes: [{ id: "qemu/107", at: night + 1.5 * HOUR, lengthMs: 45 * 60_000, cpu: 0.97 }],
  };
}
