/**
 * The targets of a change, derived from the exact requests its plan sends, in one place.
 *
 * {@link targetsOf} reads each planned request through the official API schema: every path or
 * body parameter whose format names a node (`pve-node`), a guest (`pve-vmid`), a pool
 * (`pve-poolid`) or a storage (`pve-storage-id`, volume IDs inside property strings such as
 * `scsi0=local-lvm:vm-105-disk-0`) becomes a {@link TargetRef}, plus the few parameters that
 * name such things without a format (`archive`, `ostemplate`, a storage content `volume`, a
 * task `upid`, vzdump's `all` and `pool`). {@link resolveTargets} then looks every reference up
 * in the cluster (node, tags, pool, protection, existence), and the scope stage checks each.
 * Tools never decide scope: they only list the requests they would send.
 *
 * @module
 */
import { z } from "zod";
import type { ParamSchema } from "../proxmox/api_schema/schema.ts";
import {
  lookupParam,
  matchRoute,
  parsePropertyString,
  type RouteMatch,
} from "../proxmox/api_schema/validate.ts";
import { apiPath } from "../proxmox/encode.ts";
import { ProxmoxError } from "../proxmox/errors.ts";
import { type ClusterResource, parseResources, splitTags } from "../proxmox/resources.ts";
import { parseUpid } from "../proxmox/upid.ts";
import type { ApiParams, ProxmoxApi } from "../tools/context.ts";
import type { GuestKind, PlannedRequest, Target, TargetRole } from "./change.ts";

/** Something one planned request names, before it is looked up in the cluster. */
export type TargetRef =
  | { kind: "node"; node: string; role: TargetRole; via: string }
  | {
    kind: "guest";
    vmid: number;
    role: TargetRole;
    via: string;
    /** The node of the request path; where a new guest is created. */
    node?: string;
    /** A new guest's pool and tags, as the request sets them. */
    pool?: string;
    tags?: string[];
    /** A clone copies the source guest's tags and type. */
    copiesFrom?: number;
    /** The type of a guest the request creates. */
    type?: GuestKind;
  }
  | {
    /** Every guest a selection covers (vzdump `all=1` or `pool=` on a node). */
    kind: "guests";
    node: string;
    pool?: string;
    exclude: number[];
    role: TargetRole;
    via: string;
  }
  | { kind: "pool"; pool: string; role: TargetRole; via: string }
  | {
    kind: "storage";
    storage: string;
    node?: string;
    volid?: string;
    role: TargetRole;
    via: string;
  };

/** The requests of a plan could not be read as targets; the change must not run. */
export class TargetDerivationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TargetDerivationError";
  }
}

/** Volume-ID parameters without a schema format, by name. */
const VOLUME_PARAMS = new Set(["archive", "ostemplate"]);
/** Formats whose values are volume IDs (or paths, which name no storage). */
const VOLUME_FORMATS = new Set([
  "pve-volume-id",
  "pve-volume-id-or-qm-path",
  "pve-volume-id-or-absolute-path",
  "pve-lxc-mp-string",
]);
const GUEST_CREATE = /^\/nodes\/\{node\}\/(qemu|lxc)$/;

/**
 * Everything the requests name: nodes in paths and parameters, guests (path VMIDs, new VMIDs,
 * owners of volumes and backups), pools and storages. Pure: reads nothing. Throws
 * {@link TargetDerivationError} for a request the schema does not know (fail closed).
 */
export function targetsOf(requests: readonly PlannedRequest[]): TargetRef[] {
  const out: TargetRef[] = [];
  for (const r of requests) out.push(...requestTargets(r));
  return dedupeRefs(out);
}

function requestTargets(r: PlannedRequest): TargetRef[] {
  const route = matchRoute(r.method, r.path);
  if ("error" in route) {
    throw new TargetDerivationError(
      `Cannot tell what ${r.method} ${r.path} changes: the API schema has no such request`,
    );
  }
  const out: TargetRef[] = [];
  const pathNode = route.pathParams.node;
  const params: [string, unknown, boolean][] = [
    ...Object.entries(route.pathParams).map(([k, v]) => [k, v, true] as [string, unknown, boolean]),
    ...Object.entries(r.params).filter(([k, v]) => v !== undefined && !(k in route.pathParams))
      .map(([k, v]) => [k, v, false] as [string, unknown, boolean]),
  ];
  const creates = r.method === "POST" && GUEST_CREATE.test(route.template);
  const pool = typeof r.params.pool === "string" ? r.params.pool : undefined;
  const tags = typeof r.params.tags === "string" ? splitTags(r.params.tags) : undefined;
  for (const [name, raw, inPath] of params) {
    const via = inPath ? `path ${name}` : `parameter ${name}`;
    const values = (Array.isArray(raw) ? raw : [raw]).map(String);
    const prop = lookupParam(route.schema, name);
    const format = prop?.format;
    for (const value of values) {
      if (typeof format === "object") {
        out.push(...propertyStringTargets(format, value, pathNode, via));
        continue;
      }
      out.push(
        ...paramTargets({ route, params: r.params, name, value, format, inPath, via, pathNode }),
      );
    }
  }
  if (creates) {
    const type = GUEST_CREATE.exec(route.template)![1] as GuestKind;
    for (const ref of out) {
      if (ref.kind === "guest" && ref.via === "parameter vmid") {
        Object.assign(ref, { role: "new", node: pathNode, pool, tags, type });
      }
    }
  }
  for (const ref of out) {
    if (ref.kind === "guest" && ref.via === "parameter newid") {
      const node = typeof r.params.target === "string" ? r.params.target : pathNode;
      Object.assign(ref, { node, pool, copiesFrom: pathVmid(route) });
    }
  }
  return out;
}

function pathVmid(route: RouteMatch): number | undefined {
  const v = route.pathParams.vmid;
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

interface ParamInfo {
  route: RouteMatch;
  params: ApiParams;
  name: string;
  value: string;
  format: string | undefined;
  inPath: boolean;
  via: string;
  pathNode: string | undefined;
}

function paramTargets(p: ParamInfo): TargetRef[] {
  const { name, value, format, via, pathNode } = p;
  const role: TargetRole = p.inPath ? "subject" : "destination";
  switch (format) {
    case "pve-node":
      return [{ kind: "node", node: value, role, via }];
    case "pve-node-list":
      return listOf(value).map((node) => ({ kind: "node", node, role, via }));
    case "pve-vmid":
      return vmidRef(value, name === "newid" ? "new" : "subject", via, pathNode);
    case "pve-vmid-list":
      if (name === "exclude") return [];
      return listOf(value).flatMap((v) => vmidRef(v, "subject", via, pathNode));
    case "pve-poolid":
      return [{ kind: "pool", pool: value, role: "destination", via }];
    case "pve-storage-id":
      return [{ kind: "storage", storage: value, node: pathNode, role, via }];
    case "pve-storage-id-list":
      return listOf(value).map((storage) => ({
        kind: "storage",
        storage,
        node: pathNode,
        role,
        via,
      }));
    case "storage-pair-list":
      return listOf(value).flatMap((pair) =>
        pair.split(":").filter(Boolean).map((storage) => ({
          kind: "storage" as const,
          storage,
          role: "destination" as const,
          via,
        }))
      );
  }
  if (format && VOLUME_FORMATS.has(format)) return volumeTargets(value, pathNode, via, role);
  if (VOLUME_PARAMS.has(name)) return volumeTargets(value, pathNode, via, "source");
  if (name === "volume" && p.inPath) {
    const storage = p.route.pathParams.storage;
    const volid = value.includes(":") || !storage ? value : `${storage}:${value}`;
    return volumeTargets(volid, pathNode, via, "subject");
  }
  if (name === "upid") return upidTargets(value, via);
  if (p.route.template === "/nodes/{node}/vzdump" && pathNode) {
    const exclude = listOf(String(p.params.exclude ?? "")).map(Number);
    if (name === "all" && (value === "1" || value === "true")) {
      return [{ kind: "guests", node: pathNode, exclude, role: "subject", via }];
    }
    if (name === "pool") {
      return [
        { kind: "guests", node: pathNode, pool: value, exclude, role: "subject", via },
        { kind: "pool", pool: value, role: "subject", via },
      ];
    }
  }
  return [];
}

function listOf(value: string): string[] {
  return value.split(/[\0,;\s]+/).filter(Boolean);
}

function vmidRef(value: string, role: TargetRole, via: string, node?: string): TargetRef[] {
  if (!/^\d+$/.test(value)) {
    throw new TargetDerivationError(`Cannot read ${via} (${JSON.stringify(value)}) as a VMID`);
  }
  return [{ kind: "guest", vmid: Number(value), role, via, node }];
}

/** Disk and mount point property strings: their volume keys name storages and owners. */
function propertyStringTargets(
  format: Record<string, ParamSchema>,
  value: string,
  pathNode: string | undefined,
  via: string,
): TargetRef[] {
  const parsed = parsePropertyString(format, value);
  const out: TargetRef[] = [];
  for (const [key, v] of Object.entries(parsed.values)) {
    const f = format[key]?.format;
    if (typeof f === "string" && VOLUME_FORMATS.has(f)) {
      out.push(...volumeTargets(v, pathNode, `${via} (${key})`, "destination"));
    }
  }
  return out;
}

/**
 * Owner VMIDs a volume name carries: `vm-105-disk-0`, `base-9000-disk-0/vm-120-disk-0`,
 * `subvol-210-disk-0`, `vzdump-qemu-101-…`, PBS `backup/vm/101/…`.
 */
export function volumeOwners(volid: string): number[] {
  const ids = new Set<number>();
  const patterns = [
    /(?:^|[:/])(?:vm|base|subvol|basevol)-(\d+)-/g,
    /(?:^|[:/])vzdump-(?:qemu|lxc|openvz)-(\d+)-/g,
    /(?:^|[:/])backup\/(?:vm|ct)\/(\d+)\//g,
  ];
  for (const re of patterns) for (const m of volid.matchAll(re)) ids.add(Number(m[1]));
  return [...ids];
}

function volumeTargets(
  volid: string,
  node: string | undefined,
  via: string,
  role: TargetRole,
): TargetRef[] {
  const m = /^([a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]):(.*)$/.exec(volid);
  if (!m) return [];
  const out: TargetRef[] = [{ kind: "storage", storage: m[1], node, volid, role, via }];
  for (const vmid of volumeOwners(volid)) {
    out.push({ kind: "guest", vmid, role: "source", via: `${via}: volume ${volid}` });
  }
  return out;
}

function upidTargets(value: string, via: string): TargetRef[] {
  const u = parseUpid(value);
  if (!u) throw new TargetDerivationError(`Cannot read ${via} as a task ID (UPID)`);
  const out: TargetRef[] = [{ kind: "node", node: u.node, role: "subject", via }];
  if (/^\d+$/.test(u.id) && Number(u.id) >= 100) {
    out.push({ kind: "guest", vmid: Number(u.id), role: "subject", via: `${via}: task of guest` });
  }
  return out;
}

function refKey(r: TargetRef): string {
  switch (r.kind) {
    case "node":
      return `node:${r.node}`;
    case "guest":
      return `guest:${r.vmid}`;
    case "guests":
      return `guests:${r.node}:${r.pool ?? ""}`;
    case "pool":
      return `pool:${r.pool}`;
    case "storage":
      return `storage:${r.node ?? ""}:${r.storage}:${r.volid ?? ""}`;
  }
}

const ROLE_RANK: Record<TargetRole, number> = {
  new: 0,
  subject: 1,
  destination: 2,
  source: 3,
};

/** One ref per thing; the guest ref that creates or is acted on wins over mentions. */
function dedupeRefs(refs: TargetRef[]): TargetRef[] {
  const byKey = new Map<string, TargetRef>();
  for (const r of refs) {
    const key = refKey(r);
    const seen = byKey.get(key);
    if (!seen || ROLE_RANK[r.role] < ROLE_RANK[seen.role]) byKey.set(key, { ...seen, ...r });
  }
  return [...byKey.values()];
}

/** What {@link resolveTargets} reads the cluster with. */
export interface ResolveContext {
  api: ProxmoxApi;
  signal?: AbortSignal;
}

const GuestConfig = z.record(z.string(), z.unknown());

/**
 * Looks every reference up in the cluster, fresh (no cache: a tag or protection flag set a
 * moment ago counts): a guest's node, type, name, tags, pool and `protection` flag, whether it
 * exists; a new guest's pool and tags as the request sets them. Node targets that another
 * target already places on the same node are dropped (that target carries the node check).
 */
export async function resolveTargets(
  refs: readonly TargetRef[],
  ctx: ResolveContext,
): Promise<Target[]> {
  const needGuests = refs.some((r) => r.kind === "guest" || r.kind === "guests");
  const guests = needGuests
    ? parseResources(
      await ctx.api.get("/cluster/resources", { type: "vm" }, { signal: ctx.signal }),
    ).filter((g) => g.type === "qemu" || g.type === "lxc")
    : [];
  const byVmid = new Map<number, ClusterResource>();
  for (const g of guests) if (g.vmid !== undefined) byVmid.set(g.vmid, g);
  const out: Target[] = [];
  for (const ref of refs) {
    switch (ref.kind) {
      case "node":
        out.push({ ...blank(ref), node: ref.node });
        break;
      case "pool":
        out.push({ ...blank(ref), pool: ref.pool });
        break;
      case "storage":
        out.push({ ...blank(ref), node: ref.node, storage: ref.storage, volid: ref.volid });
        break;
      case "guest":
        out.push(await guestTarget(ref, byVmid, ctx));
        break;
      case "guests": {
        const picked = guests.filter((g) =>
          g.node === ref.node && g.vmid !== undefined && !ref.exclude.includes(g.vmid) &&
          (ref.pool === undefined || g.pool === ref.pool)
        );
        for (const g of picked) {
          out.push(
            await guestTarget(
              { kind: "guest", vmid: g.vmid!, role: ref.role, via: ref.via },
              byVmid,
              ctx,
            ),
          );
        }
        break;
      }
    }
  }
  const placed = new Set(out.filter((t) => t.kind !== "node" && t.node).map((t) => t.node));
  return out.filter((t) => t.kind !== "node" || !placed.has(t.node));
}

function blank(ref: TargetRef): Target {
  return {
    kind: ref.kind === "guests" ? "guest" : ref.kind,
    role: ref.role,
    via: ref.via,
    tags: [],
    protection: false,
    exists: ref.kind !== "guest",
  };
}

async function guestTarget(
  ref: Extract<TargetRef, { kind: "guest" }>,
  byVmid: Map<number, ClusterResource>,
  ctx: ResolveContext,
): Promise<Target> {
  const r = byVmid.get(ref.vmid);
  if (!r || !r.node) {
    const source = ref.copiesFrom !== undefined ? byVmid.get(ref.copiesFrom) : undefined;
    return {
      ...blank(ref),
      vmid: ref.vmid,
      node: ref.node,
      pool: ref.pool,
      tags: ref.tags ?? splitTags(source?.tags),
      type: ref.type ??
        (source?.type === "lxc" || source?.type === "qemu" ? source.type : undefined),
      exists: false,
    };
  }
  const type: GuestKind = r.type === "lxc" ? "lxc" : "qemu";
  const read = ctx.api.get(apiPath`/nodes/${r.node}/${type}/${ref.vmid}/config`, undefined, {
    signal: ctx.signal,
  });
  // A source's `protection` flag does not matter (it is only read), so when its node can't be
  // reached the inventory's tags decide; a guest the change acts on must be read.
  const config = GuestConfig.parse(
    ref.role === "source"
      ? await read.catch((e) => {
        if (e instanceof ProxmoxError && !ctx.signal?.aborted) return { tags: r.tags };
        throw e;
      })
      : await read,
  );
  const tags = typeof config.tags === "string" ? splitTags(config.tags) : splitTags(r.tags);
  const name = type === "qemu" ? config.name : config.hostname;
  return {
    ...blank(ref),
    vmid: ref.vmid,
    node: r.node,
    type,
    name: typeof name === "string" ? name : r.name,
    tags,
    pool: r.pool,
    protection: config.protection === 1 || config.protection === "1" ||
      config.protection === true,
    exists: true,
    status: r.status,
  };
}

/**
 * Whether the requests alone remove a guest: deleting it, or restoring a backup over it
 * (`force`). Counts for Proxmox's `protection` rule whatever the tool declared.
 */
export function removesGuest(requests: readonly PlannedRequest[]): boolean {
  return requests.some((r) => {
    const route = matchRoute(r.method, r.path);
    if ("error" in route) return false;
    if (r.method === "DELETE" && /^\/nodes\/\{node\}\/(qemu|lxc)\/\{vmid\}$/.test(route.template)) {
      return true;
    }
    return r.method === "POST" && GUEST_CREATE.test(route.template) && truthy(r.params.force);
  });
}

function truthy(v: ApiParams[string]): boolean {
  return v === true || v === 1 || v === "1";
}
