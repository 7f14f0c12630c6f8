/**
 * Helpers for PVE configuration values: property strings, disk sizes, disk keys, typed rendering
 * of raw config values per the schema, and config digests.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { apiSchema, type ParamSchema } from "../proxmox/api_schema/schema.ts";
import type { Guest, GuestConfig, GuestType } from "./state.ts";

/** Splits a property string (`a,b=c,d=e`) into [key or null, value] pairs, in order. */
export function parsePropString(value: string): [string | null, string][] {
  if (value === "") return [];
  return value.split(",").map((part) => {
    const eq = part.indexOf("=");
    return eq < 0 ? [null, part] : [part.slice(0, eq), part.slice(eq + 1)];
  });
}

/** Joins pairs back into a property string. */
export function formatPropString(pairs: [string | null, string][]): string {
  return pairs.map(([k, v]) => (k === null ? v : `${k}=${v}`)).join(",");
}

/** Value of `key` in a property string; `null` asks for the key-less (default) value. */
export function getProp(value: string, key: string | null): string | undefined {
  return parsePropString(value).find(([k]) => k === key)?.[1];
}

/** Returns the property string with `key` set to `v` (replaced in place or appended). */
export function setProp(value: string, key: string, v: string): string {
  const pairs = parsePropString(value);
  const at = pairs.findIndex(([k]) => k === key);
  if (at >= 0) pairs[at] = [key, v];
  else pairs.push([key, v]);
  return formatPropString(pairs);
}

const UNITS: Record<string, number> = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Parses a PVE disk size (`32G`, `512M`, `1.5T`, plain bytes) into bytes; NaN when invalid. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(text.trim());
  if (!m) return NaN;
  return Math.round(Number(m[1]) * UNITS[m[2]]);
}

/** Formats bytes the way PVE writes `size=`: the largest unit that divides exactly. */
export function formatSize(bytes: number): string {
  for (const unit of ["T", "G", "M", "K"]) {
    if (bytes >= UNITS[unit] && bytes % UNITS[unit] === 0) return `${bytes / UNITS[unit]}${unit}`;
  }
  return String(bytes);
}

const QEMU_DISK = /^(ide|sata|scsi|virtio)\d+$|^efidisk0$|^tpmstate0$|^unused\d+$/;
const LXC_DISK = /^rootfs$|^mp\d+$|^unused\d+$/;

/** True when `key` names a disk slot of the guest type. */
export function isDiskKey(type: GuestType, key: string): boolean {
  return (type === "qemu" ? QEMU_DISK : LXC_DISK).test(key);
}

/** One disk of a guest, resolved from its config. */
export interface GuestDisk {
  key: string;
  storage: string;
  /** Volume name on the storage, e.g. `vm-101-disk-0`. */
  volname: string;
  size: number;
}

/** The storage-backed disks of a config (CD-ROM drives and `none` excluded). */
export function configDisks(type: GuestType, config: GuestConfig): GuestDisk[] {
  const disks: GuestDisk[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (!isDiskKey(type, key)) continue;
    const file = getProp(value, null) ?? getProp(value, "file") ?? getProp(value, "volume") ?? "";
    if (getProp(value, "media") === "cdrom" || !file.includes(":")) continue;
    const colon = file.indexOf(":");
    const size = parseSize(getProp(value, "size") ?? "0");
    disks.push({
      key,
      storage: file.slice(0, colon),
      volname: file.slice(colon + 1),
      size: Number.isNaN(size) ? 0 : size,
    });
  }
  return disks;
}

/** The disks of a guest. */
export function guestDisks(guest: Guest): GuestDisk[] {
  return configDisks(guest.type, guest.config);
}

/** Memory of a guest config in MiB (QEMU `memory` may be `current=N`). */
export function configMemoryMiB(type: GuestType, config: GuestConfig): number {
  const raw = config.memory;
  if (raw === undefined) return 512;
  const value = type === "qemu" ? getProp(raw, "current") ?? getProp(raw, null) : raw;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : 512;
}

/** Number of vCPUs of a config (`sockets * cores`, or `vcpus`; LXC: `cores`). */
export function configCpus(type: GuestType, config: GuestConfig, nodeCpus: number): number {
  if (type === "lxc") return Number(config.cores ?? nodeCpus) || nodeCpus;
  if (config.vcpus) return Number(config.vcpus);
  return (Number(config.sockets ?? 1) || 1) * (Number(config.cores ?? 1) || 1);
}

/** The size of a guest's boot or root disk in bytes (`maxdisk`). */
export function bootDiskSize(guest: Guest): number {
  const disks = guestDisks(guest);
  if (guest.type === "lxc") return disks.find((d) => d.key === "rootfs")?.size ?? 0;
  const order = getProp(guest.config.boot ?? "", "order")?.split(";") ?? [];
  for (const key of order) {
    const disk = disks.find((d) => d.key === key);
    if (disk) return disk.size;
  }
  return disks.find((d) => !d.key.startsWith("unused"))?.size ?? 0;
}

const typeCache = new Map<string, Map<string, ParamSchema>>();

function configSchema(type: GuestType): Map<string, ParamSchema> {
  let map = typeCache.get(type);
  if (!map) {
    const props = apiSchema.paths[`/nodes/{node}/${type}/{vmid}/config`]?.GET?.returns
      ?.properties ?? {};
    map = new Map(Object.entries(props));
    typeCache.set(type, map);
  }
  return map;
}

/** The schema of one config key, resolving numbered keys (`net0` → `net[n]`). */
export function configKeySchema(type: GuestType, key: string): ParamSchema | undefined {
  const map = configSchema(type);
  return map.get(key) ?? map.get(key.replace(/\d+$/, "[n]"));
}

/** Converts a raw config value to the JSON type PVE returns for that key (ints, 0/1). */
export function renderValue(type: GuestType, key: string, value: string): string | number {
  const t = configKeySchema(type, key)?.type;
  if (t === "integer" || t === "number" || t === "boolean") {
    const n = Number(value);
    if (value !== "" && Number.isFinite(n)) return n;
  }
  return value;
}

/**
 * Renders a raw config as PVE's JSON (typed values, plus `digest`, computed over
 * `digestOf`, by default the config itself; PVE digests the stored file).
 */
export function renderConfig(
  type: GuestType,
  config: GuestConfig,
  digestOf: GuestConfig = config,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(config).sort()) out[key] = renderValue(type, key, config[key]);
  out.digest = configDigest(digestOf);
  return out;
}

/** SHA-1 hex digest of a config, like PVE's `digest`. */
export function configDigest(config: GuestConfig): string {
  const text = Object.keys(config).sort().map((k) => `${k}: ${config[k]}\n`).join("");
  return createHash("sha1").update(text).digest("hex");
}
