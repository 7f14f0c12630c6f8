/**
 * Reading the firewall for a plan: the rule list of one level (with its digest), the host
 * firewall of the whole cluster for the lockout check, the nodes' addresses, and the addresses
 * the check treats as this server's.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import { num } from "../proxmox/resources.ts";
import { type ToolContext, ToolInputError } from "./context.ts";
import {
  type FwRuleView,
  type HostFirewall,
  ipv4,
  networkOf,
  type NodeAddress,
} from "./firewall_reach.ts";
import { Facts } from "./preflight.ts";

/** Where a rule list lives. */
export type FwLevelName = "cluster" | "node" | "guest" | "group";

/** A resolved firewall level: its API base path, label and scope targets. */
export interface FwLevel {
  level: FwLevelName;
  base: string;
  /** Rules path (`…/rules`, or the group path). */
  rules: string;
  label: string;
  /** The nodes whose host firewall the level is part of. */
  nodes: string[];
  /** Host firewall levels can cut the management path. */
  host: boolean;
  node?: string;
}

const RuleEntry = z.object({
  pos: num,
  type: z.string(),
  action: z.string(),
  enable: num.optional(),
  macro: z.string().optional(),
  proto: z.string().optional(),
  dport: z.string().optional(),
  sport: z.string().optional(),
  source: z.string().optional(),
  dest: z.string().optional(),
  iface: z.string().optional(),
  log: z.string().optional(),
  "icmp-type": z.string().optional(),
  comment: z.string().optional(),
  digest: z.string().optional(),
}).loose();
/** A rule as listed. */
export type RuleEntry = z.infer<typeof RuleEntry>;

/** Every node of the cluster (a cluster-level firewall change applies to all of them). */
export async function allNodes(ctx: ToolContext): Promise<string[]> {
  const nodes = z.array(z.object({ node: z.string() }).loose())
    .parse(await ctx.api.get("/nodes", undefined, { signal: ctx.signal }));
  return nodes.map((n) => n.node);
}

/** Resolves where a firewall change goes. */
export async function resolveLevel(
  ctx: ToolContext,
  a: { level: FwLevelName; node?: string; vmid?: number; group?: string },
): Promise<FwLevel> {
  const misplaced = [
    a.level !== "node" && a.level !== "guest" && a.node !== undefined ? "node" : "",
    a.level !== "guest" && a.vmid !== undefined ? "vmid" : "",
    a.level !== "group" && a.group !== undefined ? "group" : "",
  ].filter(Boolean);
  if (misplaced.length) {
    throw new ToolInputError(`Not for level ${a.level}: ${misplaced.join(", ")}`);
  }
  if (a.level === "cluster" || a.level === "group") {
    const nodes = await allNodes(ctx);
    if (a.level === "group") {
      if (!a.group) throw new ToolInputError("level group needs group (a security group name)");
      const base = apiPath`/cluster/firewall/groups/${a.group}`;
      return {
        level: "group",
        base,
        rules: base,
        label: `security group ${a.group}`,
        nodes,
        host: true,
      };
    }
    return {
      level: "cluster",
      base: "/cluster/firewall",
      rules: "/cluster/firewall/rules",
      label: "the cluster firewall",
      nodes,
      host: true,
    };
  }
  if (a.level === "node") {
    const node = a.node ?? ctx.defaultNode;
    if (!node) throw new ToolInputError("level node needs node, e.g. pve1");
    const base = apiPath`/nodes/${node}/firewall`;
    return {
      level: "node",
      base,
      rules: `${base}/rules`,
      label: `the firewall of node ${node}`,
      nodes: [node],
      host: true,
      node,
    };
  }
  if (a.vmid === undefined) throw new ToolInputError("level guest needs vmid");
  const g = await new Facts(ctx).guest(a.vmid, a.node);
  return {
    level: "guest",
    base: `${g.path}/firewall`,
    rules: `${g.path}/firewall/rules`,
    label: `the firewall of ${g.type} ${g.vmid}${g.name ? ` (${g.name})` : ""}`,
    nodes: [g.node],
    host: false,
    node: g.node,
  };
}

/** The rules of a level, in order, and the digest to send with a change. */
export async function readRules(
  ctx: ToolContext,
  rulesPath: string,
): Promise<{ rules: RuleEntry[]; digest?: string }> {
  const rules = z.array(RuleEntry).parse(
    await ctx.api.get(rulesPath, undefined, { signal: ctx.signal }),
  ).sort((x, y) => x.pos - y.pos);
  return { rules, digest: rules[0]?.digest };
}

/** One line per rule: `0: in ACCEPT SSH from +management (comment)`. */
export function ruleLine(r: FwRuleView, pos: number): string {
  const parts = [
    `${pos}:`,
    r.type,
    r.action,
    r.macro,
    r.proto,
    r.dport && `dport ${r.dport}`,
    r.source && `from ${r.source}`,
    r.dest && `to ${r.dest}`,
    r.iface && `on ${r.iface}`,
    Number(r.enable ?? 0) === 1 ? "" : "(disabled)",
    r.comment && `# ${r.comment}`,
  ];
  return parts.filter(Boolean).join(" ");
}

const Options = z.record(z.string(), z.unknown());
const Named = z.array(z.object({ name: z.string() }).loose());
const Alias = z.array(z.object({ name: z.string(), cidr: z.string() }).loose());
const Entries = z.array(z.object({ cidr: z.string(), nomatch: z.unknown().optional() }).loose());
const Groups = z.array(z.object({ group: z.string() }).loose());
const Status = z.array(
  z.object({
    type: z.string(),
    name: z.string().optional(),
    ip: z.string().optional(),
  }).loose(),
);
const Ifaces = z.array(
  z.object({
    iface: z.string(),
    address: z.string().optional(),
    cidr: z.string().optional(),
    netmask: z.string().optional(),
  }).loose(),
);

/** The host firewall of the whole cluster and every node's address. */
export async function readHostFirewall(
  ctx: ToolContext,
): Promise<{ fw: HostFirewall; nodes: NodeAddress[] }> {
  const get = (path: string) => ctx.api.get(path, undefined, { signal: ctx.signal });
  const [options, rules, groups, aliases, ipsets, status] = await Promise.all([
    get("/cluster/firewall/options").then((d) => Options.parse(d ?? {})),
    get("/cluster/firewall/rules").then((d) => z.array(RuleEntry).parse(d)),
    get("/cluster/firewall/groups").then((d) => Groups.parse(d)),
    get("/cluster/firewall/aliases").then((d) => Alias.parse(d)),
    get("/cluster/firewall/ipset").then((d) => Named.parse(d)),
    get("/cluster/status").then((d) => Status.parse(d)),
  ]);
  const fw: HostFirewall = {
    clusterOptions: options,
    clusterRules: rules.sort((x, y) => x.pos - y.pos),
    groups: new Map(),
    aliases: new Map(aliases.map((a) => [a.name, a.cidr])),
    ipsets: new Map(),
    nodes: new Map(),
  };
  await Promise.all([
    ...groups.map(async (g) => {
      const list = z.array(RuleEntry).parse(
        await get(apiPath`/cluster/firewall/groups/${g.group}`),
      );
      fw.groups.set(g.group, list.sort((x, y) => x.pos - y.pos));
    }),
    ...ipsets.map(async (s) => {
      const list = Entries.parse(await get(apiPath`/cluster/firewall/ipset/${s.name}`));
      fw.ipsets.set(s.name, list.map((e) => (e.nomatch ? `!${e.cidr}` : e.cidr)));
    }),
  ]);
  const nodes: NodeAddress[] = [];
  await Promise.all(
    status.filter((s) => s.type === "node" && s.name).map(async (s) => {
      const name = s.name!;
      const [opts, nrules, ifaces] = await Promise.all([
        get(apiPath`/nodes/${name}/firewall/options`).then((d) => Options.parse(d ?? {})),
        get(apiPath`/nodes/${name}/firewall/rules`).then((d) => z.array(RuleEntry).parse(d)),
        get(apiPath`/nodes/${name}/network`).then((d) => Ifaces.parse(d)).catch(() => []),
      ]);
      fw.nodes.set(name, { options: opts, rules: nrules.sort((x, y) => x.pos - y.pos) });
      const ip = s.ip ?? "";
      const mgmt = ifaces.find((i) => i.address === ip || i.cidr?.split("/")[0] === ip);
      const cidr = mgmt?.cidr ?? (mgmt?.netmask ? `${ip}/${mgmt.netmask}` : undefined);
      nodes.push({ node: name, ip, localNet: cidr ? networkOf(cidr) : undefined });
    }),
  );
  return { fw, nodes: nodes.sort((a, b) => a.node.localeCompare(b.node)) };
}

/**
 * The addresses the lockout check treats as this server's: `admin_sources` when configured,
 * else one host of each node's local network (the usual place an admin connects from).
 */
export function adminSources(
  ctx: ToolContext,
  nodes: readonly NodeAddress[],
): { sources: string[]; guessed: boolean } {
  const configured = ctx.policy?.adminSources ?? [];
  if (configured.length) {
    return { sources: configured.map((s) => s.split("/")[0]), guessed: false };
  }
  const guessed = new Set<string>();
  for (const n of nodes) {
    if (!n.localNet) continue;
    const base = ipv4(n.localNet.split("/")[0]);
    if (base === undefined) continue;
    const h = base + 1;
    guessed.add([h >>> 24, (h >>> 16) & 255, (h >>> 8) & 255, h & 255].join("."));
  }
  return { sources: [...guessed], guessed: true };
}
