/**
 * Can an address still reach a node's web UI (TCP 8006) and SSH (TCP 22)? An evaluation of the
 * host firewall the way pve-firewall builds it: nothing is filtered while the cluster firewall
 * (or the node's) is off; loopback is always accepted; then the node's and the cluster's `in`
 * rules in order (security groups expanded); then the built-in management rules (the
 * `management` IP set, or the node's local network); then the cluster's `policy_in`.
 *
 * Unknown references count against the change: a DROP that might match, matches; an ACCEPT
 * that might not, does not.
 *
 * @module
 */
import { FIREWALL_MACROS } from "../proxmox/firewall_macros.ts";

/** One rule as the API lists it. */
export interface FwRuleView {
  type: string;
  action: string;
  enable?: number;
  macro?: string;
  proto?: string;
  dport?: string;
  source?: string;
  dest?: string;
  iface?: string;
  comment?: string;
}

/** The host-relevant firewall configuration of a cluster. */
export interface HostFirewall {
  clusterOptions: Record<string, unknown>;
  clusterRules: FwRuleView[];
  groups: Map<string, FwRuleView[]>;
  /** Cluster aliases: name → CIDR. */
  aliases: Map<string, string>;
  /** Cluster IP sets: name → entries (`nomatch` entries start with `!`). */
  ipsets: Map<string, string[]>;
  nodes: Map<string, { options: Record<string, unknown>; rules: FwRuleView[] }>;
}

/** A node as the check sees it: its address and local network. */
export interface NodeAddress {
  node: string;
  ip: string;
  /** The node's local network (CIDR), from its management interface. */
  localNet?: string;
}

/** Ports of the management path. */
export const MANAGEMENT_PORTS = [8006, 22] as const;

/** Parses a dotted IPv4 address to a number, or undefined. */
export function ipv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

/** Whether `ip` lies in `cidr` (an address, `a.b.c.d/n` or a range `a-b`); undefined if unparsable. */
export function inCidr(ip: string, cidr: string): boolean | undefined {
  const addr = ipv4(ip);
  if (addr === undefined) return undefined;
  const range = /^([\d.]+)-([\d.]+)$/.exec(cidr);
  if (range) {
    const lo = ipv4(range[1]);
    const hi = ipv4(range[2]);
    return lo === undefined || hi === undefined ? undefined : addr >= lo && addr <= hi;
  }
  const [base, bitsText] = cidr.split("/");
  const net = ipv4(base);
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (net === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((addr & mask) >>> 0) === ((net & mask) >>> 0);
}

/** A network's CIDR from an interface address and prefix: `192.168.10.11/24` → `192.168.10.0/24`. */
export function networkOf(cidr: string): string | undefined {
  const [addr, bitsText] = cidr.split("/");
  const a = ipv4(addr);
  const bits = Number(bitsText ?? 32);
  if (a === undefined || !Number.isInteger(bits)) return undefined;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const n = (a & mask) >>> 0;
  return `${[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".")}/${bits}`;
}

type Match = boolean | "unknown";

/** Does an address spec (`10.0.0.0/8,+set,dc/alias`) contain `ip`? */
function addressMatches(fw: HostFirewall, spec: string | undefined, ip: string): Match {
  if (spec === undefined || spec === "") return true;
  let unknown = false;
  for (const raw of spec.split(",")) {
    const part = raw.trim();
    if (part.startsWith("+")) {
      const name = part.slice(1).replace(/^(dc|guest)\//, "");
      const entries = fw.ipsets.get(name);
      if (!entries) {
        unknown = true;
        continue;
      }
      const hit = ipsetMatches(fw, entries, ip);
      if (hit === true) return true;
      if (hit === "unknown") unknown = true;
      continue;
    }
    const name = part.replace(/^(dc|guest)\//, "");
    const cidr = fw.aliases.get(name) ?? part;
    const hit = inCidr(ip, cidr);
    if (hit === true) return true;
    if (hit === undefined) unknown = true;
  }
  return unknown ? "unknown" : false;
}

function ipsetMatches(fw: HostFirewall, entries: string[], ip: string): Match {
  let hit: Match = false;
  for (const e of entries) {
    const nomatch = e.startsWith("!");
    const cidr = fw.aliases.get(e.replace(/^!/, "").replace(/^(dc|guest)\//, "")) ??
      e.replace(/^!/, "");
    const m = inCidr(ip, cidr);
    if (m === undefined) {
      if (!nomatch) hit = hit === true ? true : "unknown";
      continue;
    }
    if (m && nomatch) return false;
    if (m) hit = true;
  }
  return hit;
}

function portMatches(spec: string | undefined, port: number): boolean {
  if (spec === undefined || spec === "") return true;
  return spec.split(",").some((p) => {
    const [lo, hi] = p.split(":").map((x) => Number(x.trim()));
    return hi === undefined || Number.isNaN(hi) ? lo === port : port >= lo && port <= hi;
  });
}

function serviceMatches(rule: FwRuleView, port: number): Match {
  if (rule.macro) {
    const macro = FIREWALL_MACROS.get(rule.macro);
    if (!macro) return "unknown";
    return macro.ports.some((m) => m.proto === "tcp" && portMatches(m.dport, port));
  }
  if (rule.proto === undefined || rule.proto === "") return rule.dport === undefined;
  if (rule.proto !== "tcp" && rule.proto !== "6") return false;
  return portMatches(rule.dport, port);
}

function ruleMatches(
  fw: HostFirewall,
  rule: FwRuleView,
  n: NodeAddress,
  src: string,
  port: number,
): Match {
  const parts = [
    serviceMatches(rule, port),
    addressMatches(fw, rule.source, src),
    addressMatches(fw, rule.dest, n.ip),
  ];
  if (parts.includes(false)) return false;
  return parts.includes("unknown") ? "unknown" : true;
}

function label(rule: FwRuleView, where: string, pos: number): string {
  const what = [
    rule.macro,
    rule.proto,
    rule.dport && `dport ${rule.dport}`,
    rule.source &&
    `from ${rule.source}`,
  ].filter(Boolean).join(" ");
  return `${where} rule ${pos} (${rule.action}${what ? ` ${what}` : ""}${
    rule.comment ? `, "${rule.comment}"` : ""
  })`;
}

/** The verdict for one source, node and port, and what decided it. */
export interface Reach {
  allowed: boolean;
  by: string;
}

/** Whether `src` reaches `port` on node `n` under `fw`. */
export function reach(fw: HostFirewall, n: NodeAddress, src: string, port: number): Reach {
  if (Number(fw.clusterOptions.enable ?? 0) !== 1) {
    return { allowed: true, by: "the cluster firewall is off" };
  }
  const nodeFw = fw.nodes.get(n.node);
  if (nodeFw && Number(nodeFw.options.enable ?? 1) === 0) {
    return { allowed: true, by: `the firewall of node ${n.node} is off` };
  }
  if (src.startsWith("127.") || src === "::1") return { allowed: true, by: "loopback" };
  const lists: [string, FwRuleView[]][] = [
    [`node ${n.node}`, nodeFw?.rules ?? []],
    ["cluster", fw.clusterRules],
  ];
  for (const [where, rules] of lists) {
    for (const [pos, rule] of rules.entries()) {
      if (Number(rule.enable ?? 0) !== 1) continue;
      if (rule.type === "group") {
        for (const [gpos, g] of (fw.groups.get(rule.action) ?? []).entries()) {
          if (Number(g.enable ?? 0) !== 1 || g.type !== "in") continue;
          const verdict = decide(
            fw,
            g,
            n,
            src,
            port,
            `group ${rule.action} (${where} rule ${pos})`,
            gpos,
          );
          if (verdict) return verdict;
        }
        continue;
      }
      if (rule.type !== "in") continue;
      const verdict = decide(fw, rule, n, src, port, where, pos);
      if (verdict) return verdict;
    }
  }
  const mgmt = fw.ipsets.get("management");
  const inMgmt = mgmt
    ? ipsetMatches(fw, mgmt, src) === true
    : n.localNet !== undefined && inCidr(src, n.localNet) === true;
  if (inMgmt) {
    return {
      allowed: true,
      by: mgmt ? "the management IP set" : `the local network ${n.localNet}`,
    };
  }
  const policy = String(fw.clusterOptions.policy_in ?? "DROP");
  return { allowed: policy === "ACCEPT", by: `the cluster policy_in ${policy}` };
}

function decide(
  fw: HostFirewall,
  rule: FwRuleView,
  n: NodeAddress,
  src: string,
  port: number,
  where: string,
  pos: number,
): Reach | undefined {
  const m = ruleMatches(fw, rule, n, src, port);
  const accept = rule.action === "ACCEPT";
  // Conservative: an uncertain ACCEPT is not relied upon, an uncertain DROP is assumed.
  if (m === true || (m === "unknown" && !accept)) {
    return { allowed: accept, by: label(rule, where, pos) };
  }
  return undefined;
}

/** A management path a change would cut. */
export interface Cut {
  node: string;
  ip: string;
  source: string;
  port: number;
  by: string;
}

/** Paths open under `before` and closed under `after`, for every node, source and port. */
export function cutPaths(
  before: HostFirewall,
  after: HostFirewall,
  nodes: readonly NodeAddress[],
  sources: readonly string[],
): Cut[] {
  const out: Cut[] = [];
  for (const n of nodes) {
    for (const source of sources) {
      for (const port of MANAGEMENT_PORTS) {
        if (!reach(before, n, source, port).allowed) continue;
        const r = reach(after, n, source, port);
        if (!r.allowed) out.push({ node: n.node, ip: n.ip, source, port, by: r.by });
      }
    }
  }
  return out;
}
