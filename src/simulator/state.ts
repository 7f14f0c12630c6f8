/**
 * The simulated cluster's state: plain, inspectable and mutable data that tests may read and
 * change directly (`sim.state`). Route handlers read and write only this.
 *
 * Shape overview:
 * - `clusterName`, `seed`, `startedAt` (epoch ms when the scenario was built)
 * - `nodes`: node name → {@link NodeState} (capacity, online flag, network interfaces)
 * - `guests`: VMID → {@link Guest} (type, node, run state, raw PVE config, pending changes,
 *   snapshots, pool). Disk volumes of guests are not stored separately: storage content of
 *   `images`/`rootdir` type is derived from the guests' configs.
 * - `storages`: storage id → {@link StorageState} (storage.cfg entry plus capacity)
 * - `volumes`: every non-disk volume (ISO, container template, backup, import) as
 *   {@link VolumeState}; `node` is `null` on shared storage
 * - `pools`: pool id → {@link PoolState} (guest membership is `Guest.pool`)
 * - `users`: user id → {@link UserState} (password, privileges, API tokens)
 * - `tasks`: UPID → {@link TaskState}, in start order
 * - `firewall`, `access` (groups, roles, ACLs), `ha`, `agentExec`: see `state_admin.ts`
 * - `ops`: monitoring and node-health data (agents, Ceph, logs, backup jobs, replication, apt,
 *   disks, services, certificates, SDN, RRD spikes), see `ops_state.ts`
 *
 * @module
 */
import type { OpsState } from "./ops_state.ts";

import type { AccessState, AgentExec, FirewallState, HaState } from "./state_admin.ts";

/** Guest kinds the simulator knows. */
export type GuestType = "qemu" | "lxc";

/** A guest configuration as PVE stores it: key → raw value string (as in the `.conf` file). */
export type GuestConfig = Record<string, string>;

/** One network interface of a node, as `GET /nodes/{node}/network` returns it. */
export interface NetIface {
  iface: string;
  type: string;
  [key: string]: string | number | string[] | undefined;
}

/** One cluster node. */
export interface NodeState {
  name: string;
  /** Corosync node id. */
  nodeid: number;
  ip: string;
  /** False while `faults.nodeDown(name)` is in effect. */
  online: boolean;
  cpus: number;
  sockets: number;
  cpuModel: string;
  /** Total memory in bytes. */
  memory: number;
  /** Root filesystem size in bytes. */
  rootfs: number;
  swap: number;
  /** Epoch ms the node booted. */
  bootedAt: number;
  kernel: string;
  network: NetIface[];
  /** Staged network configuration (`interfaces.new`), applied by `PUT /nodes/{node}/network`. */
  networkPending?: NetIface[];
}

/** One snapshot of a guest. */
export interface SnapshotState {
  name: string;
  description: string;
  /** Epoch seconds. */
  snaptime: number;
  vmstate: boolean;
  parent?: string;
  /** The guest's configuration at snapshot time. */
  config: GuestConfig;
}

/** The compact facts a guest is built from; the full config may be materialised lazily. */
export interface GuestRecord {
  vmid: number;
  type: GuestType;
  node: string;
  status: "running" | "stopped";
  /** Epoch ms the guest started (running guests). */
  startedAt?: number;
  pool?: string;
}

/** One guest (QEMU VM or LXC container). */
export class Guest implements GuestRecord {
  vmid: number;
  type: GuestType;
  node: string;
  status: "running" | "stopped";
  startedAt?: number;
  pool?: string;
  /** QEMU only: true while suspended (`qmpstatus` "paused"). */
  paused = false;
  /** Config changes waiting for the next restart (running QEMU guests), key → value. */
  pending: GuestConfig = {};
  /** Keys waiting to be deleted at the next restart. */
  pendingDelete: string[] = [];
  snapshots: SnapshotState[] = [];
  /**
   * QEMU with a cloud-init drive: the cloud-init values the generated drive holds, kept once
   * they differ from the config (changed since the last regeneration); undefined when in sync.
   */
  cloudinit?: GuestConfig;
  #config?: GuestConfig;
  #build?: () => GuestConfig;

  /** `config` is either given or built on first access by `build` (large scenarios). */
  constructor(record: GuestRecord, config: GuestConfig | (() => GuestConfig)) {
    this.vmid = record.vmid;
    this.type = record.type;
    this.node = record.node;
    this.status = record.status;
    this.startedAt = record.startedAt;
    this.pool = record.pool;
    if (typeof config === "function") this.#build = config;
    else this.#config = config;
  }

  /** The current configuration (raw PVE values); assign to replace it. */
  get config(): GuestConfig {
    if (!this.#config) {
      this.#config = this.#build ? this.#build() : {};
      this.#build = undefined;
    }
    return this.#config;
  }
  set config(value: GuestConfig) {
    this.#config = value;
    this.#build = undefined;
  }

  /** True for templates. */
  get template(): boolean {
    return this.config.template === "1";
  }
  /** The guest's display name (QEMU `name`, LXC `hostname`). */
  get name(): string {
    return (this.type === "qemu" ? this.config.name : this.config.hostname) ?? "";
  }
}

/** A storage definition (storage.cfg) plus simulated capacity. */
export interface StorageState {
  storage: string;
  type: "dir" | "lvmthin" | "nfs" | "rbd" | "zfspool" | "pbs";
  /** Content types, e.g. ["iso", "vztmpl", "backup"]. */
  content: string[];
  shared: boolean;
  enabled: boolean;
  /** Nodes it is available on; undefined means all. */
  nodes?: string[];
  /** Capacity in bytes (per node for local storage). */
  total: number;
  /** Per-node capacity overriding `total` (local storage of unequal nodes). */
  totalByNode?: Record<string, number>;
  /** Bytes used by things the simulator does not track as volumes. */
  baseUsed: number;
  /** Extra storage.cfg properties (path, server, export, vgname, thinpool, …). */
  options: Record<string, string>;
}

/** Content types stored as explicit volumes (disk images derive from guest configs). */
export type VolumeContent = "iso" | "vztmpl" | "backup" | "import";

/** A volume on a storage that is not a guest disk. */
export interface VolumeState {
  /** `storage:content/name`, e.g. `local:iso/debian-12.7.0-amd64-netinst.iso`. */
  volid: string;
  storage: string;
  /** Node holding it, or null on shared storage. */
  node: string | null;
  content: VolumeContent;
  format: string;
  size: number;
  /** Epoch seconds. */
  ctime: number;
  vmid?: number;
  /** Backup kind, for `backup` content. */
  subtype?: "qemu" | "lxc";
  notes?: string;
  protected?: boolean;
  verification?: { state: string; upid: string };
  /** For backups: the guest config stored in the archive (used by restores). */
  config?: GuestConfig;
}

/** A resource pool. */
export interface PoolState {
  poolid: string;
  comment?: string;
  /** Storage members; guest members are the guests whose `pool` is this id. */
  storages: string[];
}

/** An API token of a user. */
export interface TokenState {
  secret: string;
  /** Privilege separation: when true the token holds only what ACLs grant the token itself. */
  privsep: boolean;
  comment?: string;
  /** Epoch seconds; 0 or undefined: never. */
  expire?: number;
}

/** A user who can log in. */
export interface UserState {
  userid: string;
  password: string;
  /** "all" (root) or the set of privileges granted on `/` (propagating). */
  privileges: "all" | Set<string>;
  tokens: Map<string, TokenState>;
  /** False for a disabled account (default true). */
  enable?: boolean;
  /** Epoch seconds the account expires; 0 or undefined: never. */
  expire?: number;
  comment?: string;
  email?: string;
  firstname?: string;
  lastname?: string;
}

/** Lifecycle state of a simulated task. */
export interface TaskState {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  /** Epoch seconds. */
  starttime: number;
  type: string;
  id: string;
  user: string;
  status: "running" | "stopped";
  /** Set once stopped: "OK", "WARNINGS: N" or the error text. */
  exitstatus?: string;
  /** Epoch seconds, once stopped. */
  endtime?: number;
  /** Planned end, epoch ms. */
  endsAt: number;
  /** Every log line with the epoch ms it appears at; the final TASK line is added on stop. */
  lines: { at: number; text: string }[];
  /** The planned outcome: "OK", "WARNINGS: N" or an error message. */
  outcome: string;
  /** Applied when the task stops with OK or warnings. */
  onSuccess?: () => void;
  /** Applied whenever the task stops (success, failure or abort) with its exit status. */
  onEnd?: (exitstatus: string) => void;
}

/** The whole simulated cluster. */
export interface ClusterState {
  clusterName: string;
  seed: number;
  /** Epoch ms the scenario was built at. */
  startedAt: number;
  nodes: Map<string, NodeState>;
  guests: Map<number, Guest>;
  storages: Map<string, StorageState>;
  volumes: VolumeState[];
  pools: Map<string, PoolState>;
  users: Map<string, UserState>;
  tasks: Map<string, TaskState>;
  firewall: FirewallState;
  access: AccessState;
  ha: HaState;
  /** Guest-agent commands by `vmid:pid`. */
  agentExec: Map<string, AgentExec>;
  ops: OpsState;
}
