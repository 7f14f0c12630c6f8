/**
 * Changing a node's network: stage a bridge, bond or VLAN (create, update, delete), then apply
 * the staged configuration as a separate, confirmed step (`PUT /nodes/{node}/network`), or
 * revert it. Preflight keeps the node reachable: the interface carrying the node's cluster
 * address (and the ports under it) is never removed or re-addressed; ports must exist and be
 * free; VLAN IDs 1–4094; addresses, prefixes and gateways must be valid and consistent.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import type { Plan } from "../safety/change.ts";
import { type ToolContext, ToolInputError } from "./context.ts";
import { inCidr, ipv4, networkOf } from "./firewall_reach.ts";
import { defineMutation } from "./mutation.ts";
import { node as nodeParam } from "./params.ts";
import type { Tool } from "./tool.ts";

const Iface = z.object({
  iface: z.string(),
  type: z.string(),
  address: z.string().optional(),
  netmask: z.string().optional(),
  cidr: z.string().optional(),
  gateway: z.string().optional(),
  bridge_ports: z.string().optional(),
  slaves: z.string().optional(),
  "vlan-raw-device": z.string().optional(),
  "vlan-id": z.number().optional(),
  active: z.unknown().optional(),
}).loose();
type Iface = z.infer<typeof Iface>;

const IFNAME = /^[a-zA-Z][a-zA-Z0-9_.-]{0,13}[a-zA-Z0-9]$/;
const ifname = (what: string) =>
  z.string().regex(IFNAME, { error: `${what}: an interface name like vmbr1, bond0, eno1.30` });
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

function ports(i: Iface): string[] {
  return (i.bridge_ports ?? i.slaves ?? "").split(/[\s,;]+/).filter(Boolean);
}

function addressOf(i: Iface): string | undefined {
  return i.cidr?.split("/")[0] ?? i.address;
}

/** Interfaces the management address depends on: its own, the ports under it, their bases. */
function managementChain(list: Iface[], mgmt: Iface): Set<string> {
  const chain = new Set<string>([mgmt.iface]);
  const add = (name: string) => {
    if (chain.has(name)) return;
    chain.add(name);
    const i = list.find((x) => x.iface === name);
    if (i) { for (const p of ports(i)) add(p); }
    const base = /^(.+)\.\d+$/.exec(name)?.[1] ?? i?.["vlan-raw-device"];
    if (base) add(base);
  };
  for (const p of ports(mgmt)) add(p);
  const base = /^(.+)\.\d+$/.exec(mgmt.iface)?.[1] ?? mgmt["vlan-raw-device"];
  if (base) add(base);
  return chain;
}

async function readNetwork(ctx: ToolContext, node: string) {
  const get = (p: string) => ctx.api.get(p, undefined, { signal: ctx.signal });
  const [list, status] = await Promise.all([
    get(apiPath`/nodes/${node}/network`).then((d) => z.array(Iface).parse(d)),
    get("/cluster/status").then((d) =>
      z.array(
        z.object({ type: z.string(), name: z.string().optional(), ip: z.string().optional() })
          .loose(),
      ).parse(d)
    ),
  ]);
  const entry = status.find((s) => s.type === "node" && s.name === node);
  if (!entry) throw new ToolInputError(`Unknown node ${node}`);
  const ip = entry.ip ?? "";
  const mgmt = list.find((i) => addressOf(i) === ip);
  return { list, ip, mgmt };
}

const networkChange = defineMutation({
  name: "network_change",
  title: "Change node network",
  description:
    "Stage a bridge, bond or VLAN on a node (create/update/delete), then apply (separate step, confirmed) or revert. Refuses touching the interface of the cluster address.",
  toolset: "network",
  privilege: "Sys.Modify on /nodes/{node}",
  destructive: true,
  judgedPerCall: true,
  input: {
    node: nodeParam("Node name, e.g. pve1").optional(),
    action: z.enum(["create", "update", "delete", "apply", "revert"]).describe(
      "create/update/delete stage; apply makes staged changes live",
    ),
    iface: ifname("iface").optional().describe("e.g. vmbr1, bond0, vmbr0.30"),
    type: z.enum(["bridge", "bond", "vlan"]).optional().describe("create"),
    cidr: z.string().regex(CIDR, { error: "cidr: an IPv4 CIDR like 10.0.30.2/24" }).optional()
      .describe("IPv4 address/prefix"),
    gateway: z.string().optional().describe("IPv4 gateway in cidr's network"),
    ports: z.array(ifname("ports")).max(16).optional().describe("Bridge ports or bond slaves"),
    vlan_aware: z.boolean().optional().describe("bridge: VLAN aware"),
    vlan_id: z.int().min(1, { error: "vlan_id must be 1-4094" }).max(4094, {
      error: "vlan_id must be 1-4094",
    }).optional().describe("vlan: tag 1-4094"),
    vlan_device: ifname("vlan_device").optional().describe("vlan: parent interface"),
    bond_mode: z.enum([
      "balance-rr",
      "active-backup",
      "balance-xor",
      "broadcast",
      "802.3ad",
      "balance-tlb",
      "balance-alb",
    ]).optional().describe("bond"),
    mtu: z.int().min(1280).max(65520).optional().describe("MTU"),
    comments: z.string().max(256).optional().describe("Free text"),
  },
  result: {},
  async plan(a, ctx): Promise<Plan> {
    const node = a.node ?? ctx.defaultNode;
    if (!node) throw new ToolInputError("Give node, e.g. pve1");
    const { list, ip, mgmt } = await readNetwork(ctx, node);
    const base = apiPath`/nodes/${node}/network`;
    if (a.action === "apply" || a.action === "revert") {
      const extra = [a.iface, a.type, a.cidr, a.gateway, a.ports, a.vlan_id].some((v) =>
        v !== undefined
      );
      if (extra) throw new ToolInputError(`${a.action} takes only node`);
      // PVE lists the staged configuration; interfaces not active yet are new.
      const fresh = list.filter((i) => !i.active).map((i) => `${i.iface} (${i.type})`);
      const diff = fresh.length
        ? `new, not yet active: ${fresh.join(", ")}`
        : "no new interfaces; changed settings of existing ones are not listed by the API";
      if (a.action === "revert") {
        return {
          summary: `revert the staged network changes of ${node} (${diff})`,
          requests: [{ method: "DELETE", path: base, params: {} }],
          destructive: true,
          loses: `every staged (not yet applied) network change of ${node}`,
          warnings: [],
          creates: 0,
          result: { changes: diff },
        };
      }
      if (!mgmt) {
        throw new ToolInputError(
          `Refused: after these changes no interface of ${node} carries its cluster address ${ip}; applying would cut the node off. Revert or fix them first`,
        );
      }
      return {
        summary: `apply the staged network configuration of ${node} (ifreload)`,
        requests: [{ method: "PUT", path: base, params: {} }],
        destructive: false,
        confirm:
          `reloads the live network of node ${node} from its staged configuration (${diff}); a mistake can cut the node off`,
        warnings: [],
        creates: 0,
        result: { changes: diff },
      };
    }
    if (!a.iface) throw new ToolInputError(`${a.action} needs iface`);
    const existing = list.find((i) => i.iface === a.iface);
    const chain = mgmt ? managementChain(list, mgmt) : new Set<string>();
    if (a.action === "delete") {
      if (!existing) throw new ToolInputError(`Node ${node} has no interface ${a.iface}`);
      if (chain.has(a.iface)) {
        throw new ToolInputError(
          `Refused: ${a.iface} carries ${node}'s cluster address ${ip} (${
            mgmt!.iface
          }); removing it would cut the node off`,
        );
      }
      const user = list.find((i) => ports(i).includes(a.iface!));
      if (user) {
        throw new ToolInputError(`${a.iface} is a port of ${user.iface}: remove it there first`);
      }
      return staging(node, `delete ${a.iface}`, {
        method: "DELETE",
        path: `${base}/${encodeURIComponent(a.iface)}`,
        params: {},
      });
    }
    if (a.action === "create" && existing) {
      throw new ToolInputError(`${a.iface} already exists on ${node}`);
    }
    if (a.action === "update" && !existing) {
      throw new ToolInputError(`Node ${node} has no interface ${a.iface}`);
    }
    const type = a.action === "create" ? a.type : existing!.type;
    if (!type) throw new ToolInputError("create needs type: bridge, bond or vlan");
    if (a.action === "update" && a.type && a.type !== type) {
      throw new ToolInputError(`${a.iface} is a ${type}; its type can't change`);
    }
    if (mgmt && a.iface === mgmt.iface && a.action === "update") {
      if (a.cidr !== undefined && a.cidr.split("/")[0] !== ip) {
        throw new ToolInputError(
          `Refused: ${a.iface} carries ${node}'s cluster address ${ip}; re-addressing it would cut the node off from the cluster`,
        );
      }
      if (a.ports !== undefined) {
        const lost = ports(mgmt).filter((p) => !a.ports!.includes(p));
        if (lost.length) {
          throw new ToolInputError(
            `Refused: ${a.iface} carries ${node}'s cluster address ${ip}; removing port ${
              lost.join(", ")
            } would cut the node off`,
          );
        }
      }
    }
    // Ports exist and are free.
    for (const p of a.ports ?? []) {
      const vlanBase = /^(.+)\.\d+$/.exec(p)?.[1];
      if (
        !list.some((i) => i.iface === p) && !(vlanBase && list.some((i) => i.iface === vlanBase))
      ) {
        throw new ToolInputError(
          `Port ${p} does not exist on ${node}: interfaces are ${
            list.map((i) => i.iface).join(", ")
          }`,
        );
      }
      const user = list.find((i) => i.iface !== a.iface && ports(i).includes(p));
      if (user) throw new ToolInputError(`Port ${p} is already used by ${user.iface}`);
    }
    if (type === "bond" && a.action === "create" && !a.ports?.length) {
      throw new ToolInputError("A bond needs ports (its slaves)");
    }
    if (type === "vlan") {
      const dotted = /^(.+)\.(\d+)$/.exec(a.iface);
      if (dotted) {
        const tag = Number(dotted[2]);
        if (tag < 1 || tag > 4094) {
          throw new ToolInputError(`VLAN ${tag} in ${a.iface} is not 1-4094`);
        }
        if (!list.some((i) => i.iface === dotted[1])) {
          throw new ToolInputError(
            `${dotted[1]} (the parent of ${a.iface}) does not exist on ${node}`,
          );
        }
        if (a.vlan_id !== undefined && a.vlan_id !== tag) {
          throw new ToolInputError(
            `${a.iface} already names VLAN ${tag}; vlan_id ${a.vlan_id} contradicts it`,
          );
        }
      } else if (a.action === "create") {
        if (a.vlan_id === undefined || !a.vlan_device) {
          throw new ToolInputError(
            "A VLAN named like vlan30 needs vlan_id and vlan_device (or name it eno1.30)",
          );
        }
        if (!list.some((i) => i.iface === a.vlan_device)) {
          throw new ToolInputError(`vlan_device ${a.vlan_device} does not exist on ${node}`);
        }
      }
    } else if (a.vlan_id !== undefined || a.vlan_device !== undefined) {
      throw new ToolInputError("vlan_id and vlan_device are for type vlan");
    }
    // Addresses.
    const warnings: string[] = [];
    if (a.cidr) {
      const [addr, bits] = a.cidr.split("/");
      if (ipv4(addr) === undefined || Number(bits) > 32 || Number(bits) < 1) {
        throw new ToolInputError(`cidr ${a.cidr} is not a valid IPv4 address/prefix`);
      }
      const net = networkOf(a.cidr)!;
      const clash = list.find((i) => i.iface !== a.iface && i.cidr && networkOf(i.cidr) === net);
      if (clash) warnings.push(`${clash.iface} already has an address in ${net}`);
      if (addr === ip && a.iface !== mgmt?.iface) {
        throw new ToolInputError(`${addr} is ${node}'s cluster address, already on ${mgmt?.iface}`);
      }
    }
    if (a.gateway !== undefined) {
      const cidr = a.cidr ?? existing?.cidr;
      if (ipv4(a.gateway) === undefined) {
        throw new ToolInputError(`gateway ${a.gateway} is not an IPv4 address`);
      }
      if (!cidr) throw new ToolInputError("gateway needs cidr (the interface's address)");
      if (!inCidr(a.gateway, networkOf(cidr)!)) {
        throw new ToolInputError(
          `gateway ${a.gateway} is not in ${networkOf(cidr)} (the network of ${cidr})`,
        );
      }
      if (a.gateway === cidr.split("/")[0]) {
        throw new ToolInputError("gateway can't be the interface's own address");
      }
      const gw = list.find((i) => i.iface !== a.iface && i.gateway);
      if (gw) {
        throw new ToolInputError(
          `${gw.iface} already has the default gateway ${gw.gateway}; a node has one`,
        );
      }
    }
    const params = {
      type,
      cidr: a.cidr,
      gateway: a.gateway,
      bridge_ports: type === "bridge" && a.ports ? a.ports.join(" ") : undefined,
      slaves: type === "bond" && a.ports ? a.ports.join(" ") : undefined,
      bridge_vlan_aware: a.vlan_aware === undefined ? undefined : a.vlan_aware ? 1 : 0,
      "vlan-id": type === "vlan" && !/\.\d+$/.test(a.iface) ? a.vlan_id : undefined,
      "vlan-raw-device": type === "vlan" && !/\.\d+$/.test(a.iface) ? a.vlan_device : undefined,
      bond_mode: type === "bond"
        ? a.bond_mode ?? (a.action === "create" ? "active-backup" : undefined)
        : undefined,
      mtu: a.mtu,
      comments: a.comments,
      autostart: a.action === "create" ? 1 : undefined,
    };
    if (a.action === "create") {
      return staging(node, `create ${type} ${a.iface}`, {
        method: "POST",
        path: base,
        params: { iface: a.iface, ...params },
      }, warnings);
    }
    return staging(node, `update ${a.iface}`, {
      method: "PUT",
      path: `${base}/${encodeURIComponent(a.iface)}`,
      params,
    }, warnings);
  },
});

function staging(
  node: string,
  what: string,
  request: Plan["requests"][number],
  warnings: string[] = [],
): Plan {
  return {
    summary: `stage on ${node}: ${what} (not live until network_change action apply)`,
    requests: [request],
    destructive: false,
    warnings,
    creates: 0,
  };
}

/** The network toolset. */
export const networkTools: Tool[] = [networkChange];
