/**
 * Node network configuration like PVE's `interfaces` / `interfaces.new`: reads show the staged
 * configuration (with a `changes` diff) when there is one; create, update and delete stage
 * changes; `PUT /nodes/{node}/network` applies them in a task; `DELETE` reverts them.
 *
 * @module
 */
import { ApiError, paramError, Reply } from "../errors.ts";
import type { NetIface, NodeState } from "../state.ts";
import {
  node,
  optStr,
  rawValue,
  type RouteContext,
  type RouteHandler,
  startTask,
  str,
} from "./context.ts";

const BRIDGE_TYPES = new Set(["bridge", "OVSBridge"]);
const META = new Set(["node", "iface", "delete", "digest"]);

function staged(n: NodeState): NetIface[] {
  return n.networkPending ?? n.network;
}

function line(i: NetIface): string {
  return Object.entries(i)
    .filter(([k]) => !["active", "exists", "priority", "families"].includes(k))
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : v}`)
    .join(" ");
}

/** A line diff of the staged configuration against the running one. */
function changes(n: NodeState): string | undefined {
  if (!n.networkPending) return undefined;
  const before = new Map(n.network.map((i) => [i.iface, line(i)]));
  const after = new Map(n.networkPending.map((i) => [i.iface, line(i)]));
  const out: string[] = [];
  for (const [iface, l] of before) {
    const a = after.get(iface);
    if (a === undefined) out.push(`-iface ${l}`);
    else if (a !== l) out.push(`-iface ${l}`, `+iface ${a}`);
  }
  for (const [iface, l] of after) if (!before.has(iface)) out.push(`+iface ${l}`);
  return out.length
    ? `--- /etc/network/interfaces\n+++ /etc/network/interfaces.new\n${out.join("\n")}\n`
    : undefined;
}

const list: RouteHandler = (ctx) => {
  const n = node(ctx);
  const type = optStr(ctx, "type");
  const data = staged(n)
    .filter((i) => {
      if (!type || type === "include_sdn") return true;
      if (type === "any_bridge" || type === "any_local_bridge") return BRIDGE_TYPES.has(i.type);
      return i.type === type;
    })
    .map((i) => ({ ...i }));
  const diff = changes(n);
  return diff ? new Reply(data, { changes: diff }) : data;
};

function find(n: NodeState, iface: string): NetIface {
  const i = staged(n).find((x) => x.iface === iface);
  if (!i) throw new ApiError(500, `interface does not exist`);
  return i;
}

const getOne: RouteHandler = (ctx) => ({ ...find(node(ctx), str(ctx, "iface")) });

function ports(i: NetIface): string[] {
  const list = i.bridge_ports ?? i.slaves ?? i.ovs_ports ?? i.ovs_bonds;
  return typeof list === "string" ? list.split(/[\s,]+/).filter(Boolean) : [];
}

/** Checks an interface against the rest of the staged configuration, like PVE does. */
function check(ifaces: NetIface[], i: NetIface): void {
  const others = ifaces.filter((x) => x.iface !== i.iface);
  for (const p of ports(i)) {
    const vlanBase = p.includes(".") ? p.split(".")[0] : undefined;
    if (
      !others.some((x) => x.iface === p) && !(vlanBase && others.some((x) => x.iface === vlanBase))
    ) {
      throw paramError({
        [i.type === "bond" ? "slaves" : "bridge_ports"]: `interface '${p}' does not exist`,
      });
    }
    const user = others.find((x) => ports(x).includes(p));
    if (user) throw new ApiError(500, `Port '${p}' is already used on interface '${user.iface}'`);
  }
  if (i.gateway !== undefined) {
    const gw = others.find((x) => x.gateway !== undefined);
    if (gw) {
      throw new ApiError(500, `Default ipv4 gateway already exists on interface '${gw.iface}'`);
    }
  }
  if (i.type === "vlan") {
    const dotted = /^(.+)\.(\d+)$/.exec(i.iface);
    const raw = dotted?.[1] ?? i["vlan-raw-device"];
    if (!dotted && (i["vlan-raw-device"] === undefined || i["vlan-id"] === undefined)) {
      throw paramError({ "vlan-raw-device": "vlan-raw-device and vlan-id are required" });
    }
    if (dotted && (Number(dotted[2]) < 1 || Number(dotted[2]) > 4094)) {
      throw paramError({ iface: "vlan id must be between 1 and 4094" });
    }
    if (!others.some((x) => x.iface === raw)) {
      throw paramError({ "vlan-raw-device": `interface '${raw}' does not exist` });
    }
  }
  if (i.cidr !== undefined) {
    const [address, bits] = String(i.cidr).split("/");
    i.address = address;
    i.netmask = bits;
  } else if (i.address !== undefined && i.netmask !== undefined) {
    i.cidr = `${i.address}/${i.netmask}`;
  }
  if (i.address !== undefined) i.method = "static";
  i.method ??= "manual";
  i.method6 ??= "manual";
}

function apply(ctx: RouteContext, i: NetIface): void {
  for (const [k, v] of Object.entries(ctx.values)) {
    if (META.has(k) || v === undefined) continue;
    if (typeof v === "boolean") i[k] = v ? 1 : 0;
    else if (typeof v === "number") i[k] = v;
    else i[k] = rawValue(v);
  }
}

function stage(n: NodeState): NetIface[] {
  n.networkPending ??= n.network.map((i) => ({ ...i }));
  return n.networkPending;
}

const create: RouteHandler = (ctx) => {
  const n = node(ctx);
  const iface = str(ctx, "iface");
  if (staged(n).some((x) => x.iface === iface)) {
    throw new ApiError(500, `interface '${iface}' already exists`);
  }
  const i: NetIface = { iface, type: str(ctx, "type") };
  apply(ctx, i);
  i.families = ["inet"];
  const next = [...staged(n), i];
  check(next, i);
  stage(n).push(i);
  return null;
};

const update: RouteHandler = (ctx) => {
  const n = node(ctx);
  const iface = str(ctx, "iface");
  const current = find(n, iface);
  const type = str(ctx, "type");
  if (type !== current.type) throw new ApiError(500, `interface type mismatch ('${current.type}')`);
  const i: NetIface = { ...current };
  for (const k of (optStr(ctx, "delete") ?? "").split(/[,;\s]+/).filter(Boolean)) {
    delete i[k];
    if (k === "cidr" || k === "address") {
      delete i.address;
      delete i.netmask;
      delete i.cidr;
      i.method = "manual";
    }
  }
  if (ctx.values.address !== undefined || ctx.values.netmask !== undefined) delete i.cidr;
  apply(ctx, i);
  check(staged(n), i);
  const pending = stage(n);
  pending[pending.findIndex((x) => x.iface === iface)] = i;
  return null;
};

const remove: RouteHandler = (ctx) => {
  const n = node(ctx);
  const iface = str(ctx, "iface");
  find(n, iface);
  const user = staged(n).find((x) => ports(x).includes(iface));
  if (user) throw new ApiError(500, `interface '${iface}' is used by '${user.iface}'`);
  const pending = stage(n);
  pending.splice(pending.findIndex((x) => x.iface === iface), 1);
  return null;
};

const reload: RouteHandler = (ctx) => {
  const n = node(ctx);
  const pending = n.networkPending;
  return startTask(ctx, {
    type: "srvreload",
    id: "networking",
    lines: pending ? ["reloading network config"] : ["no changes to apply"],
    onSuccess: () => {
      if (!pending) return;
      n.network = pending.map((i) => ({ ...i, active: 1 }));
      n.networkPending = undefined;
    },
  });
};

const revert: RouteHandler = (ctx) => {
  node(ctx).networkPending = undefined;
  return null;
};

/** Node network endpoints. */
export const networkRoutes: Record<string, RouteHandler> = {
  "GET /nodes/{node}/network": list,
  "POST /nodes/{node}/network": create,
  "PUT /nodes/{node}/network": reload,
  "DELETE /nodes/{node}/network": revert,
  "GET /nodes/{node}/network/{iface}": getOne,
  "PUT /nodes/{node}/network/{iface}": update,
  "DELETE /nodes/{node}/network/{iface}": remove,
};
