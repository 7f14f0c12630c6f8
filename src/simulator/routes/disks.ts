/**
 * Preparing config values the way PVE does on write: allocating new disks from the
 * `STORAGE:SIZE_GiB` shorthand, generating MAC addresses, and refusing unknown storages,
 * bridges and ISO images.
 *
 * @module
 */
import { formatPropString, getProp, isDiskKey, parsePropString } from "../conf.ts";
import { ApiError } from "../errors.ts";
import { macFor } from "../scenario_common.ts";
import type { ClusterState, GuestConfig, GuestType } from "../state.ts";
import { storageOnNode } from "../usage.ts";

/** Where a value is being written. */
export interface WriteTarget {
  vmid: number;
  type: GuestType;
  node: string;
}

const NEW_DISK = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(\d+(?:\.\d+)?)$/i;
const QEMU_NIC_MODELS = new Set([
  "virtio",
  "e1000",
  "e1000e",
  "rtl8139",
  "vmxnet3",
  "i82551",
  "i82557b",
  "i82559er",
  "ne2k_isa",
  "ne2k_pci",
  "pcnet",
  "e1000-82540em",
  "e1000-82544gc",
  "e1000-82545em",
]);

/** Volume names already used by a set of configs (to pick the next free disk index). */
export function usedVolnames(...configs: GuestConfig[]): Set<string> {
  const used = new Set<string>();
  for (const cfg of configs) {
    for (const value of Object.values(cfg)) {
      for (const m of value.matchAll(/(?:vm|base)-\d+-disk-\d+/g)) used.add(m[0]);
    }
  }
  return used;
}

/** The next free `vm-<vmid>-disk-<n>` name. */
export function nextVolname(vmid: number, used: Set<string>, prefix = "vm"): string {
  for (let i = 0;; i++) {
    const name = `${prefix}-${vmid}-disk-${i}`;
    if (!used.has(name) && !used.has(name.replace(/^vm-/, "base-"))) {
      used.add(name);
      return name;
    }
  }
}

/** Checks that a storage exists, is enabled on the node and holds `content`. */
export function requireStorage(
  state: ClusterState,
  id: string,
  node: string,
  content: string,
): void {
  const s = state.storages.get(id);
  if (!s) throw new ApiError(500, `storage '${id}' does not exist`);
  if (!storageOnNode(s, node)) {
    throw new ApiError(500, `storage '${id}' is not available on node '${node}'`);
  }
  if (!s.enabled) throw new ApiError(500, `storage '${id}' is disabled`);
  if (!s.content.includes(content)) {
    const what: Record<string, string> = {
      images: "VM images",
      rootdir: "container directories",
      backup: "backups",
      iso: "ISO images",
      vztmpl: "container templates",
    };
    throw new ApiError(500, `storage '${id}' does not support ${what[content] ?? content}`);
  }
}

/** True when the volume exists on storage visible from `node`. */
export function volumeExists(state: ClusterState, volid: string, node: string): boolean {
  const storageId = volid.slice(0, volid.indexOf(":"));
  const s = state.storages.get(storageId);
  return state.volumes.some((v) => v.volid === volid && (s?.shared || v.node === node));
}

function checkBridge(state: ClusterState, node: string, bridge: string | undefined): void {
  if (!bridge) return;
  const n = state.nodes.get(node);
  if (
    !n?.network.some((i) => i.iface === bridge && (i.type === "bridge" || i.type === "OVSBridge"))
  ) {
    throw new ApiError(500, `bridge '${bridge}' does not exist`);
  }
}

/**
 * Turns a requested value into what PVE stores: allocates new disks, fills in MACs, checks
 * bridges and ISO volumes. `used` tracks volume names taken so far.
 */
export function prepareValue(
  state: ClusterState,
  target: WriteTarget,
  key: string,
  value: string,
  used: Set<string>,
): string {
  if (/^net\d+$/.test(key)) return prepareNet(state, target, key, value);
  if (!isDiskKey(target.type, key) || key.startsWith("unused")) return value;
  const pairs = parsePropString(value);
  if (pairs.length === 0) return value;
  const fileAt = pairs.findIndex(([k]) => k === null || k === "file" || k === "volume");
  if (fileAt < 0) return value;
  const file = pairs[fileAt][1];
  if (getProp(value, "media") === "cdrom") {
    if (file !== "none" && file !== "cdrom" && !volumeExists(state, file, target.node)) {
      throw new ApiError(500, `volume '${file}' does not exist`);
    }
    return value;
  }
  const m = NEW_DISK.exec(file);
  if (!m) return value;
  const content = target.type === "lxc" ? "rootdir" : "images";
  requireStorage(state, m[1], target.node, content);
  const s = state.storages.get(m[1])!;
  const sizeGiB = Number(m[2]);
  const name = nextVolname(target.vmid, used);
  const volname = s.type === "dir" || s.type === "nfs" ? `${target.vmid}/${name}.qcow2` : name;
  pairs[fileAt] = [pairs[fileAt][0], `${m[1]}:${volname}`];
  const rest = pairs.filter(([k], i) => i !== fileAt && k !== "size");
  const size = sizeGiB === 0
    ? "4M"
    : Number.isInteger(sizeGiB)
    ? `${sizeGiB}G`
    : `${Math.round(sizeGiB * 1024)}M`;
  return formatPropString([pairs[fileAt], ...rest, ["size", size]]);
}

function prepareNet(state: ClusterState, target: WriteTarget, key: string, value: string): string {
  const pairs = parsePropString(value);
  const index = Number(key.slice(3));
  if (target.type === "qemu") {
    const modelAt = pairs.findIndex(([k, v]) =>
      (k === null && QEMU_NIC_MODELS.has(v)) || (k !== null && QEMU_NIC_MODELS.has(k))
    );
    if (modelAt >= 0 && pairs[modelAt][0] === null) {
      pairs[modelAt] = [pairs[modelAt][1], macFor(state.seed, target.vmid, index + 17)];
    }
    const model = pairs.find(([k]) => k === "model");
    if (model) {
      const at = pairs.indexOf(model);
      const mac = pairs.find(([k]) => k === "macaddr")?.[1] ??
        macFor(state.seed, target.vmid, index + 17);
      pairs.splice(at, 1, [model[1], mac]);
      const macAt = pairs.findIndex(([k]) => k === "macaddr");
      if (macAt >= 0) pairs.splice(macAt, 1);
    }
  } else if (!pairs.some(([k]) => k === "hwaddr")) {
    pairs.push(["hwaddr", macFor(state.seed, target.vmid, index + 17)]);
  }
  checkBridge(state, target.node, pairs.find(([k]) => k === "bridge")?.[1]);
  return formatPropString(pairs);
}
