/**
 * Operations state of the simulated cluster: what monitoring and node-health endpoints read
 * (guest agents, Ceph, cluster log, node journals, backup jobs, replication, apt, disks,
 * services, certificates, SDN). RRD series are derived from the clock (`rrd.ts`); only their
 * spike is stored here. Tests may change any of it through `sim.state.ops`.
 *
 * @module
 */

/** One network interface as the QEMU guest agent reports it. */
export interface AgentInterface {
  name: string;
  mac: string;
  /** `address/prefix`, IPv4 or IPv6. */
  addresses: string[];
}

/** One mounted filesystem as the guest agent reports it. */
export interface AgentFilesystem {
  mountpoint: string;
  type: string;
  device: string;
  totalBytes: number;
  usedBytes: number;
}

/** What a running QEMU guest agent answers. */
export interface AgentInfo {
  hostname: string;
  os: { id: string; name: string; version: string; prettyName: string; kernel: string };
  interfaces: AgentInterface[];
  filesystems: AgentFilesystem[];
}

/** One Ceph OSD. */
export interface CephOsd {
  id: number;
  host: string;
  up: boolean;
  in: boolean;
  deviceClass: "hdd" | "ssd" | "nvme";
  /** Bytes. */
  size: number;
  used: number;
}

/** One Ceph pool. */
export interface CephPool {
  id: number;
  name: string;
  size: number;
  minSize: number;
  pgNum: number;
  bytesUsed: number;
  percentUsed: number;
  application: string;
}

/** One health check of `ceph status`. */
export interface CephCheck {
  code: string;
  severity: "HEALTH_WARN" | "HEALTH_ERR";
  message: string;
  count: number;
  details: string[];
}

/** A Ceph cluster. */
export interface CephState {
  fsid: string;
  /** Release name; "nautilus" renders the nested pre-Octopus `osdmap.osdmap` layout. */
  release: "nautilus" | "octopus" | "pacific" | "quincy" | "reef" | "squid";
  version: string;
  monitors: { name: string; host: string; addr: string; inQuorum: boolean }[];
  managers: { name: string; host: string; active: boolean }[];
  osds: CephOsd[];
  pools: CephPool[];
  /** PG state name (e.g. `active+clean`) → count. */
  pgStates: Record<string, number>;
  checks: CephCheck[];
}

/** One cluster log entry. */
export interface ClusterLogEntry {
  /** Epoch seconds. */
  time: number;
  node: string;
  /** Syslog priority 0 (emerg) to 7 (debug). */
  pri: number;
  tag: string;
  pid: number;
  user: string;
  msg: string;
}

/** One node journal line. */
export interface JournalLine {
  /** Epoch seconds. */
  time: number;
  /** systemd unit, e.g. `pveproxy.service`. */
  unit: string;
  /** Syslog identifier, e.g. `pveproxy`. */
  ident: string;
  pid: number;
  msg: string;
}

/** A scheduled backup job (`jobs.cfg` vzdump section). */
export interface BackupJobState {
  id: string;
  schedule: string;
  enabled: boolean;
  storage: string;
  mode: "snapshot" | "suspend" | "stop";
  compress?: string;
  comment?: string;
  /** One of `vmid`, `pool`, `all` selects the guests. */
  vmid?: number[];
  pool?: string;
  all?: boolean;
  exclude?: number[];
  node?: string;
  notesTemplate?: string;
  prune?: string;
  mailnotification?: "always" | "failure";
}

/** A storage replication job with its state on the source node. */
export interface ReplicationJobState {
  id: string;
  guest: number;
  source: string;
  target: string;
  schedule: string;
  comment?: string;
  disable?: boolean;
  rate?: number;
  /** Epoch seconds; 0 when never synced. */
  lastSync: number;
  lastTry: number;
  /** Seconds the last run took. */
  duration: number;
  failCount: number;
  error?: string;
  /** Log of the last run. */
  log: string[];
}

/** One pending package update. */
export interface AptUpdate {
  package: string;
  title: string;
  oldVersion: string;
  version: string;
  origin: string;
  section: string;
  priority: string;
}

/** One APT repository entry. */
export interface AptRepo {
  path: string;
  types: ("deb" | "deb-src")[];
  uris: string[];
  suites: string[];
  components: string[];
  enabled: boolean;
}

/** One physical disk of a node. */
export interface DiskState {
  devpath: string;
  model: string;
  serial: string;
  vendor?: string;
  type: "hdd" | "ssd" | "nvme";
  size: number;
  rpm?: number;
  /** Remaining life in percent (SSDs), or undefined. */
  wearout?: number;
  health: "PASSED" | "FAILED" | "UNKNOWN";
  /** What uses it: `LVM`, `ZFS`, `BIOS boot`, `ceph osd.N`, … */
  used?: string;
  osdid?: number;
  /** SMART attributes: name → raw value (ATA) or `text` lines (NVMe). */
  smart: {
    attributes?: {
      id: number;
      name: string;
      value: number;
      worst: number;
      threshold: number;
      raw: string;
      fail: string;
    }[];
    text?: string;
  };
}

/** One ZFS pool. */
export interface ZfsPool {
  name: string;
  size: number;
  alloc: number;
  frag: number;
  dedup: number;
  health: "ONLINE" | "DEGRADED" | "FAULTED";
  devices: { name: string; state: string; read: number; write: number; cksum: number }[];
  scan: string;
}

/** One LVM thin pool. */
export interface LvmThin {
  vg: string;
  lv: string;
  size: number;
  used: number;
  metadataSize: number;
  metadataUsed: number;
}

/** One systemd service of a node. */
export interface ServiceState {
  name: string;
  desc: string;
  state: "running" | "dead" | "failed" | "exited";
  activeState: "active" | "inactive" | "failed";
  unitState: "enabled" | "disabled" | "static" | "masked";
}

/** One certificate of a node. */
export interface CertificateState {
  filename: string;
  subject: string;
  issuer: string;
  san: string[];
  /** Epoch seconds. */
  notbefore: number;
  notafter: number;
  fingerprint: string;
  keyType: string;
  keyBits: number;
}

/** The health and maintenance facts of one node. */
export interface NodeOps {
  journal: JournalLine[];
  updates: AptUpdate[];
  repositories: AptRepo[];
  disks: DiskState[];
  zfs: ZfsPool[];
  lvmthin: LvmThin[];
  services: ServiceState[];
  certificates: CertificateState[];
}

/** An SDN zone, vnet or subnet, as the SDN config stores it. */
export interface SdnState {
  zones: {
    zone: string;
    type: "simple" | "vlan" | "vxlan" | "evpn" | "qinq";
    bridge?: string;
    ipam?: string;
    dhcp?: "dnsmasq";
    peers?: string;
    mtu?: number;
    nodes?: string;
  }[];
  vnets: { vnet: string; zone: string; tag?: number; alias?: string; vlanaware?: boolean }[];
  subnets: { vnet: string; cidr: string; gateway?: string; snat?: boolean; dhcpRange?: string[] }[];
}

/** The operations state of the cluster. */
export interface OpsState {
  /** Running guest agents by VMID; a guest with `agent: 1` but no entry does not answer. */
  agents: Map<number, AgentInfo>;
  /** Undefined when Ceph is not configured. */
  ceph?: CephState;
  clusterLog: ClusterLogEntry[];
  backupJobs: BackupJobState[];
  replication: ReplicationJobState[];
  /** Per node; nodes without an entry have empty journals, no updates and no disks. */
  nodes: Map<string, NodeOps>;
  sdn: SdnState;
  /** Second factors by user id (`/access/tfa`). */
  tfa: Map<
    string,
    {
      type: "totp" | "webauthn" | "recovery" | "yubico";
      id: string;
      description: string;
      created: number;
    }[]
  >;
  /** A CPU spike in the RRD series: guest (or node) → start epoch ms, length ms and CPU fraction. */
  spikes: { id: string; at: number; lengthMs: number; cpu: number }[];
}

/** Operations state with nothing configured (generated scenarios). */
export function emptyOps(): OpsState {
  return {
    agents: new Map(),
    clusterLog: [],
    backupJobs: [],
    replication: [],
    nodes: new Map(),
    sdn: { zones: [], vnets: [], subnets: [] },
    tfa: new Map(),
    spikes: [],
  };
}
