/**
 * Generated scenarios: any number of nodes and guests derived deterministically from the seed.
 * Guests are stored as compact records; their full configs are built on first access, so a
 * ten-thousand-guest cluster starts quickly and stays small until inspected.
 *
 * @module
 */
import { minimalAdmin } from "./scenario_admin.ts";
import { emptyOps } from "./ops_state.ts";
import { type ClusterState, Guest, type NodeState, type VolumeState } from "./state.ts";
import { hash32, Rng } from "./rng.ts";
import {
  backupStamp,
  lastNight,
  lxcConfig,
  makeCredentials,
  makeNode,
  makeUsers,
  qemuConfig,
  standardStorages,
  TiB,
} from "./scenario_common.ts";
import type { BuiltScenario } from "./scenario_default.ts";

/** Parameters of a generated scenario. */
export interface ScenarioSpec {
  /** Number of nodes (1–100); default 20. */
  nodes?: number;
  /** Number of guests; default 10,000. */
  guests?: number;
  /** Cluster name; default "sim-large". */
  clusterName?: string;
}

const DAY = 86_400_000;
const ROLES = ["web", "app", "db", "cache", "worker", "ci", "mon", "proxy", "dns", "k8s"];
const TAGS: Record<string, string> = {
  web: "prod;web",
  app: "prod",
  db: "db;prod",
  cache: "db",
  worker: "batch",
  ci: "lab",
  mon: "infra",
  proxy: "prod;web",
  dns: "infra",
  k8s: "k8s",
};
const CPU_MODELS = [
  "AMD EPYC 7313P 16-Core Processor",
  "AMD EPYC 9354 32-Core Processor",
  "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
  "Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz",
];

/** Builds a generated scenario (the "large" one is `{ nodes: 20, guests: 10000 }`). */
export function buildGeneratedScenario(
  seed: number,
  now: number,
  spec: ScenarioSpec,
): BuiltScenario {
  const nodeCount = spec.nodes ?? 20;
  const guestCount = spec.guests ?? 10_000;
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > 100) {
    throw new RangeError(`Invalid scenario node count: ${nodeCount} (expected 1-100)`);
  }
  if (!Number.isInteger(guestCount) || guestCount < 0 || guestCount > 200_000) {
    throw new RangeError(`Invalid scenario guest count: ${guestCount} (expected 0-200000)`);
  }
  const rng = new Rng(seed);
  const nodes = new Map<string, NodeState>();
  const lvm: Record<string, number> = {};
  for (let i = 1; i <= nodeCount; i++) {
    const cpus = rng.pick([32, 48, 64, 96, 128]);
    const node = makeNode({
      name: `pve${i}`,
      nodeid: i,
      ip: `10.10.${Math.floor(i / 200)}.${10 + (i % 200)}`,
      cpus,
      sockets: cpus >= 96 ? 2 : 1,
      cpuModel: rng.pick(CPU_MODELS),
      memoryGiB: rng.pick([256, 384, 512, 768, 1024]),
      uptimeDays: 5 + rng.next() * 120,
    }, now);
    nodes.set(node.name, node);
    lvm[node.name] = rng.pick([4, 8, 16]) * TiB;
  }
  const credentials = makeCredentials(seed);
  const state: ClusterState = {
    clusterName: spec.clusterName ?? "sim-large",
    seed,
    startedAt: now,
    nodes,
    guests: new Map(),
    storages: standardStorages(lvm, 400 * TiB, 120 * TiB),
    volumes: [],
    pools: new Map([
      ["prod", { poolid: "prod", comment: "Production services", storages: ["nfs-backup"] }],
      ["lab", { poolid: "lab", comment: "Experiments and test machines", storages: [] }],
      ["batch", { poolid: "batch", comment: "Batch workers", storages: [] }],
    ]),
    users: makeUsers(credentials),
    tasks: new Map(),
    ...minimalAdmin(),
    ops: emptyOps(),
  };
  const nodeNames = [...nodes.keys()];
  const night = lastNight(now);
  for (let i = 0; i < guestCount; i++) {
    const vmid = 100 + i;
    const h = hash32(seed, vmid, 0x9e);
    const type = h % 10 < 7 ? "qemu" : "lxc";
    const node = nodeNames[(h >>> 4) % nodeNames.length];
    const role = ROLES[(h >>> 9) % ROLES.length];
    const template = type === "qemu" && (h >>> 13) % 250 === 0;
    const running = !template && (h >>> 16) % 100 < 62;
    const tags = TAGS[role];
    const pool = tags.includes("prod")
      ? "prod"
      : tags === "lab"
      ? "lab"
      : tags === "batch"
      ? "batch"
      : undefined;
    const name = `${role}-${String(vmid).padStart(5, "0")}`;
    const bootedAt = nodes.get(node)!.bootedAt;
    const guest = new Guest({
      vmid,
      type,
      node,
      status: running ? "running" : "stopped",
      startedAt: running ? bootedAt + 60_000 + ((h >>> 3) % 86_400) * 1000 : undefined,
      pool,
    }, () => {
      const r = new Rng(hash32(seed, vmid, 0x51));
      return type === "qemu"
        ? qemuConfig(seed, {
          vmid,
          name,
          memory: r.pick([1024, 2048, 4096, 8192, 16384]),
          cores: r.pick([1, 2, 4, 8]),
          diskGiB: r.pick([16, 32, 64, 128]),
          tags,
          onboot: running,
          template,
          createdAt: now - r.int(10, 900) * DAY,
        })
        : lxcConfig(seed, {
          vmid,
          hostname: name,
          memory: r.pick([256, 512, 1024, 2048]),
          cores: r.pick([1, 2, 4]),
          diskGiB: r.pick([4, 8, 16, 32]),
          tags,
          onboot: running,
        });
    });
    state.guests.set(vmid, guest);
    if (i % 10 === 0 && !template) {
      const kind = type;
      const ext = kind === "qemu" ? "vma.zst" : "tar.zst";
      const at = night + (i % 240) * 15_000;
      const v: VolumeState = {
        volid: `nfs-backup:backup/vzdump-${kind}-${vmid}-${backupStamp(at)}.${ext}`,
        storage: "nfs-backup",
        node: null,
        content: "backup",
        format: ext,
        size: (1 + (h % 40)) * 256 * 2 ** 20,
        ctime: Math.floor(at / 1000),
        vmid,
        subtype: kind,
        notes: name,
      };
      state.volumes.push(v);
    }
  }
  for (const name of nodeNames) {
    state.volumes.push(
      {
        volid: "local:iso/debian-12.7.0-amd64-netinst.iso",
        storage: "local",
        node: name,
        content: "iso",
        format: "iso",
        size: 631 * 2 ** 20,
        ctime: Math.floor((now - 80 * DAY) / 1000),
      },
      {
        volid: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
        storage: "local",
        node: name,
        content: "vztmpl",
        format: "tzst",
        size: 121 * 2 ** 20,
        ctime: Math.floor((now - 90 * DAY) / 1000),
      },
    );
  }
  const history = nodeNames.map((node, i) => ({
    node,
    type: "vzdump",
    id: "",
    user: "root@pam",
    startAt: night + i * 1000,
    durationMs: 40 * 60_000,
    lines: [
      "INFO: starting new backup job: vzdump --all 1 --mode snapshot --storage nfs-backup",
      "INFO: Backup job finished successfully",
    ],
  }));
  return { state, credentials, history };
}
