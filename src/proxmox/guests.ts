/**
 * Resolving a VMID to its node and type (qemu or lxc), so callers need not know them.
 *
 * @module
 */
import { apiPath, type Params } from "./encode.ts";
import { ProxmoxApiError, ProxmoxError } from "./errors.ts";

/** Guest kinds: QEMU virtual machines and LXC containers. */
export type GuestType = "qemu" | "lxc";

/** Where a guest lives, plus what the lookup learnt about it on the way. */
export interface GuestRef {
  vmid: number;
  node: string;
  type: GuestType;
  name?: string;
  status?: string;
  template?: boolean;
}

/** The part of the API client guest resolution needs. */
export interface GuestLookupApi {
  get<T = unknown>(path: string, params?: Params, opts?: { signal?: AbortSignal }): Promise<T>;
}

/** No guest has the VMID (in the cluster, or on the given node). */
export class GuestNotFoundError extends ProxmoxError {
  /** The VMID looked for. */
  readonly vmid: number;
  /** The node searched, when the lookup was limited to one. */
  readonly node?: string;
  /** Existing VMIDs closest to the one asked for (cluster-wide lookups only). */
  readonly nearby: number[];

  constructor(vmid: number, opts: { node?: string; nearby?: number[] } = {}) {
    const where = opts.node ? `on node ${opts.node}` : "in cluster";
    const nearby = opts.nearby ?? [];
    const hint = nearby.length ? ` (nearby VMIDs: ${nearby.join(", ")})` : "";
    super(`Cannot resolve guest ${vmid}: no such VMID ${where}${hint}`);
    this.name = "GuestNotFoundError";
    this.vmid = vmid;
    if (opts.node) this.node = opts.node;
    this.nearby = nearby;
  }
}

/**
 * Finds the node and type of guest `vmid` from `GET /cluster/resources?type=vm`. With `node`,
 * asks that node directly (qemu first, then lxc) instead of the whole cluster.
 */
export async function resolveGuest(
  api: GuestLookupApi,
  vmid: number,
  opts: { node?: string; signal?: AbortSignal } = {},
): Promise<GuestRef> {
  if (!Number.isInteger(vmid) || vmid < 1) {
    throw new RangeError(`Cannot resolve guest ${vmid}: a VMID is a positive integer`);
  }
  if (opts.node) return await resolveOnNode(api, vmid, opts.node, opts.signal);
  const list = await api.get<unknown>("/cluster/resources", { type: "vm" }, {
    signal: opts.signal,
  });
  const seen: number[] = [];
  for (const entry of Array.isArray(list) ? list : []) {
    if (!isRecord(entry)) continue;
    const [idType, idVmid] = typeof entry.id === "string" ? entry.id.split("/") : [];
    const type = typeof entry.type === "string" ? entry.type : idType;
    if (type !== "qemu" && type !== "lxc") continue;
    const id = toInt(entry.vmid) ?? toInt(idVmid);
    if (id === undefined) continue;
    seen.push(id);
    if (id === vmid && typeof entry.node === "string" && entry.node) {
      return describe(vmid, entry.node, type, entry);
    }
  }
  throw new GuestNotFoundError(vmid, { nearby: closest(seen, vmid, 3) });
}

/** The API path of a guest, plus `suffix`: `/nodes/pve1/qemu/100/status/current`. */
export function guestPath(ref: Pick<GuestRef, "node" | "type" | "vmid">, suffix = ""): string {
  const base = apiPath`/nodes/${ref.node}/${ref.type}/${ref.vmid}`;
  if (!suffix) return base;
  return suffix.startsWith("/") ? base + suffix : `${base}/${suffix}`;
}

async function resolveOnNode(
  api: GuestLookupApi,
  vmid: number,
  node: string,
  signal: AbortSignal | undefined,
): Promise<GuestRef> {
  for (const type of ["qemu", "lxc"] as const) {
    try {
      const status = await api.get<unknown>(
        guestPath({ node, type, vmid }, "/status/current"),
        undefined,
        { signal },
      );
      return describe(vmid, node, type, isRecord(status) ? status : {});
    } catch (e) {
      if (!isMissingGuest(e)) throw e;
    }
  }
  throw new GuestNotFoundError(vmid, { node });
}

/** True for the answers Proxmox gives when a guest's config does not exist on a node. */
function isMissingGuest(error: unknown): boolean {
  if (!(error instanceof ProxmoxApiError)) return false;
  if (error.status === 404) return true;
  return (error.status === 500 || error.status === 400) &&
    /does not exist|not found|no such (vm|guest|container)/i.test(error.apiMessage);
}

function describe(
  vmid: number,
  node: string,
  type: GuestType,
  entry: Record<string, unknown>,
): GuestRef {
  const ref: GuestRef = { vmid, node, type };
  if (typeof entry.name === "string" && entry.name) ref.name = entry.name;
  if (typeof entry.status === "string" && entry.status) ref.status = entry.status;
  const template = toFlag(entry.template);
  if (template !== undefined) ref.template = template;
  return ref;
}

function toInt(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^\s*\d+\s*$/.test(value)) return Number(value);
  return undefined;
}

function toFlag(value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  return value === true || value === 1 || value === "1" || value === "true";
}

function closest(values: number[], target: number, count: number): number[] {
  return [...new Set(values)]
    .sort((a, b) => Math.abs(a - target) - Math.abs(b - target) || a - b)
    .slice(0, count)
    .sort((a, b) => a - b);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
