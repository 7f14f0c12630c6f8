/**
 * `firewall_rules`: the firewall at cluster, node or guest level (enabled, policies, rules in
 * order, security groups, aliases and IP sets they use) and, for a guest, the effective view:
 * its rules with security groups expanded in place, in the order pve-firewall applies them,
 * then the guest's policy; only when the datacenter firewall, the guest firewall and a NIC's
 * `firewall=1` are all on.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import { guestPath } from "../proxmox/guests.ts";
import { flag, num } from "../proxmox/resources.ts";
import { args, vmid } from "./args.ts";
import type { ToolContext } from "./context.ts";
import { pairs, table } from "./format.ts";
import { rows } from "./listing.ts";
import { node as nodeParam } from "./params.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";

const RawRule = z.object({
  pos: num.optional(),
  type: z.string(),
  action: z.string(),
  enable: num.optional(),
  macro: z.string().optional(),
  source: z.string().optional(),
  dest: z.string().optional(),
  proto: z.string().optional(),
  dport: z.string().optional(),
  sport: z.string().optional(),
  iface: z.string().optional(),
  log: z.string().optional(),
  "icmp-type": z.string().optional(),
  comment: z.string().optional(),
}).loose();
type RawRule = z.infer<typeof RawRule>;

/** Guest firewall options that filter besides the rules, as the guest's options set them. */
const FILTER_OPTIONS: Record<string, string> = {
  ipfilter: "only addresses in the ipfilter-net* IP sets (or the NIC's IPs) may be sent",
  macfilter: "only the NIC's own MAC address may be sent",
  dhcp: "DHCP traffic is allowed",
  ndp: "IPv6 neighbour discovery is allowed",
  radv: "the guest may send router advertisements",
};

const Options = z.object({
  enable: flag.optional(),
  ipfilter: flag.optional(),
  macfilter: flag.optional(),
  dhcp: flag.optional(),
  ndp: flag.optional(),
  radv: flag.optional(),
  policy_in: z.string().optional(),
  policy_out: z.string().optional(),
  policy_forward: z.string().optional(),
}).loose();

const Alias = z.object({ name: z.string(), cidr: z.string(), comment: z.string().optional() })
  .loose();
const IpsetName = z.object({ name: z.string(), comment: z.string().optional() }).loose();
const IpsetEntry = z.object({
  cidr: z.string(),
  comment: z.string().optional(),
  nomatch: flag.optional(),
}).loose();

const RULE_FIELDS =
  "pos, from, direction, action, enabled, macro, proto, source, dest, dport, sport, iface, comment";

const RuleOut = z.object({
  pos: z.number().optional(),
  from: z.string().optional().describe("guest, node, cluster or group NAME"),
  direction: z.string().describe("in, out, forward, or group"),
  action: z.string(),
  enabled: z.boolean(),
  macro: z.string().optional(),
  proto: z.string().optional(),
  source: z.string().optional(),
  dest: z.string().optional(),
  dport: z.string().optional(),
  sport: z.string().optional(),
  iface: z.string().optional(),
  comment: z.string().optional(),
});
type RuleOut = z.infer<typeof RuleOut>;

function ruleOut(r: RawRule, from?: string): RuleOut {
  return {
    pos: r.pos,
    from,
    direction: r.type,
    action: r.action,
    enabled: r.enable === 1,
    macro: r.macro,
    proto: r.proto,
    source: r.source,
    dest: r.dest,
    dport: r.dport,
    sport: r.sport,
    iface: r.iface,
    comment: r.comment?.trim() || undefined,
  };
}

/** Alias and IP set names a rule's source/dest refer to. */
function refsOf(r: { source?: string; dest?: string }) {
  const aliases = new Set<string>();
  const ipsets = new Set<string>();
  for (const spec of [r.source, r.dest]) {
    for (const part of (spec ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
      if (part.startsWith("+")) ipsets.add(part.slice(1));
      else if (/^((dc|guest)\/)?[A-Za-z][\w-]*$/.test(part)) aliases.add(part);
    }
  }
  return { aliases, ipsets };
}

/** Splits `dc/name` / `guest/name` / `name` into scope and name. */
function scoped(ref: string): { scope?: "dc" | "guest"; name: string } {
  const m = /^(dc|guest)\/(.+)$/.exec(ref);
  return m ? { scope: m[1] as "dc" | "guest", name: m[2] } : { name: ref };
}

async function read<T>(ctx: ToolContext, path: string, schema: z.ZodType<T>): Promise<T> {
  return schema.parse(await ctx.api.get(path, undefined, { signal: ctx.signal }));
}

const firewallRules = defineTool({
  name: "firewall_rules",
  title: "Firewall rules",
  description:
    "Firewall of the cluster, a node or a guest: enabled, policies, rules in order, security groups, aliases and IP sets used; for a guest also the effective rules in applied order.",
  toolset: "firewall",
  privilege: "Sys.Audit on / (cluster, node), VM.Audit on /vms/{vmid} (guest)",
  annotations: READ_ONLY,
  input: args({
    vmid: vmid("vmid", "Guest ID, e.g. 105; omit for node or cluster").optional(),
    node: nodeParam("Node name: that node's firewall, or the guest's node").optional(),
  }),
  output: z.object({
    level: z.enum(["cluster", "node", "guest"]),
    target: z.string(),
    enabled: z.boolean(),
    policy_in: z.string().optional(),
    policy_out: z.string().optional(),
    rules: rows(RULE_FIELDS),
    groups: rows("security groups the rules use: group, comment, rules"),
    aliases: rows("aliases the rules use: ref, cidr, comment"),
    ipsets: rows("IP sets the rules use: ref, entries (! = nomatch), comment"),
    effective: z.object({
      active: z.boolean(),
      reasons: z.array(z.string()).describe("why filtering is on or off"),
      in: rows("rules in applied order"),
      in_policy: z.string(),
      out: rows("rules in applied order"),
      out_policy: z.string(),
    }).optional(),
  }),
  async handler(a, ctx) {
    const cluster = await read(ctx, "/cluster/firewall/options", Options);
    let level: "cluster" | "node" | "guest";
    let target: string;
    let base: string;
    let guestCfg: Record<string, unknown> | undefined;
    if (a.vmid !== undefined) {
      const g = await ctx.inventory.guest(a.vmid, a.node, ctx.signal);
      level = "guest";
      target = `${g.type} ${g.vmid}${g.name ? ` ${g.name}` : ""} on ${g.node}`;
      base = guestPath(g, "/firewall");
      guestCfg = await read(ctx, guestPath(g, "/config"), z.record(z.string(), z.unknown()));
    } else if (a.node) {
      const n = (await ctx.inventory.requireNode(a.node, ctx.signal)).node;
      level = "node";
      target = n;
      base = apiPath`/nodes/${n}/firewall`;
    } else {
      level = "cluster";
      target = "datacenter";
      base = "/cluster/firewall";
    }
    const [options, rules, groupList] = await Promise.all([
      level === "cluster" ? cluster : read(ctx, `${base}/options`, Options),
      read(ctx, `${base}/rules`, z.array(RawRule)),
      read(
        ctx,
        "/cluster/firewall/groups",
        z.array(
          z.object({
            group: z.string(),
            comment: z.string().optional(),
          }).loose(),
        ),
      ),
    ]);
    const from = level === "guest" ? "guest" : level;
    const ruleList = rules.map((r) => ruleOut(r, from));
    const groupNames = [...new Set(rules.filter((r) => r.type === "group").map((r) => r.action))];
    const groups = await Promise.all(groupNames.map(async (group) => ({
      group,
      comment: groupList.find((x) => x.group === group)?.comment,
      rules: (await read(ctx, apiPath`/cluster/firewall/groups/${group}`, z.array(RawRule)))
        .map((r) => ruleOut(r, `group ${group}`)),
    })));

    // Aliases and IP sets used by the rules and the groups they reference.
    const used = { aliases: new Set<string>(), ipsets: new Set<string>() };
    for (const r of [...ruleList, ...groups.flatMap((g) => g.rules)]) {
      const refs = refsOf(r);
      refs.aliases.forEach((x) => used.aliases.add(x));
      refs.ipsets.forEach((x) => used.ipsets.add(x));
    }
    const hasSets = level !== "node";
    const [dcAliases, dcSets, gAliases, gSets] = await Promise.all([
      read(ctx, "/cluster/firewall/aliases", z.array(Alias)),
      read(ctx, "/cluster/firewall/ipset", z.array(IpsetName)),
      level === "guest" && hasSets ? read(ctx, `${base}/aliases`, z.array(Alias)) : [],
      level === "guest" && hasSets ? read(ctx, `${base}/ipset`, z.array(IpsetName)) : [],
    ]);
    const findAlias = (ref: string) => {
      const { scope, name } = scoped(ref);
      const lower = name.toLowerCase();
      const inGuest = gAliases.find((x) => x.name.toLowerCase() === lower);
      const inDc = dcAliases.find((x) => x.name.toLowerCase() === lower);
      return scope === "dc" ? inDc : scope === "guest" ? inGuest : inGuest ?? inDc;
    };
    const aliases = [...used.aliases].sort().map((ref) => {
      const found = findAlias(ref);
      return {
        ref,
        cidr: found?.cidr,
        comment: found?.comment ?? (found ? undefined : "not defined"),
      };
    });
    const ipsets = await Promise.all(
      [...used.ipsets].sort().map(async (ref) => {
        const { scope, name } = scoped(ref);
        const inGuest = gSets.some((x) => x.name === name);
        const inDc = dcSets.some((x) => x.name === name);
        const where = scope === "dc"
          ? (inDc ? "dc" : undefined)
          : scope === "guest"
          ? (inGuest ? "guest" : undefined)
          : inGuest
          ? "guest"
          : inDc
          ? "dc"
          : undefined;
        if (!where) return { ref, comment: "not defined" };
        const path = where === "dc"
          ? apiPath`/cluster/firewall/ipset/${name}`
          : `${base}/ipset/${encodeURIComponent(name)}`;
        const entries = await read(ctx, path, z.array(IpsetEntry));
        return {
          ref,
          entries: entries.map((e) => `${e.nomatch ? "!" : ""}${e.cidr}`),
          comment: (where === "dc" ? dcSets : gSets).find((x) => x.name === name)?.comment,
        };
      }),
    );

    const enabled = options.enable === true;
    const policyIn = options.policy_in ?? (level === "node" ? undefined : "DROP");
    const policyOut = options.policy_out ?? (level === "node" ? undefined : "ACCEPT");
    let effective;
    if (level === "guest") {
      const nics = Object.entries(guestCfg ?? {})
        .filter(([k, v]) => /^net\d+$/.test(k) && typeof v === "string")
        .map(([k, v]) => ({ key: k, on: /(^|,)firewall=1(,|$)/.test(String(v)) }));
      const reasons = [
        cluster.enable === true
          ? "datacenter firewall is on"
          : "datacenter firewall is off (cluster options enable=0): nothing is filtered",
        enabled ? "guest firewall is on" : "guest firewall is off (options enable=0)",
        nics.some((n) => n.on)
          ? `firewall=1 on ${nics.filter((n) => n.on).map((n) => n.key).join(", ")}`
          : "no NIC has firewall=1: its traffic bypasses the firewall",
        "datacenter and node rules filter host traffic, not this guest's",
        ...Object.entries(FILTER_OPTIONS).filter(([k]) => options[k] !== undefined)
          .map(([k, what]) => options[k] ? `${k}=1: ${what}` : `${k}=0`),
      ];
      const active = cluster.enable === true && enabled && nics.some((n) => n.on);
      const expanded: RuleOut[] = [];
      for (const r of ruleList) {
        if (!r.enabled) continue;
        if (r.direction === "group") {
          const g = groups.find((x) => x.group === r.action);
          for (const gr of g?.rules ?? []) if (gr.enabled) expanded.push(gr);
        } else expanded.push(r);
      }
      effective = {
        active,
        reasons,
        in: expanded.filter((r) => r.direction === "in"),
        in_policy: policyIn ?? "DROP",
        out: expanded.filter((r) => r.direction === "out"),
        out_policy: policyOut ?? "ACCEPT",
      };
    }
    const out = {
      level,
      target,
      enabled,
      policy_in: policyIn,
      policy_out: policyOut,
      rules: ruleList,
      groups,
      aliases,
      ipsets,
      effective,
    };
    return { structured: out, text: render(out) };
  },
});

function ruleLine(r: RuleOut): string {
  const what = r.macro ?? [r.proto, r.dport && `port ${r.dport}`].filter(Boolean).join(" ");
  return [
    r.direction === "group" ? `group ${r.action}` : `${r.direction} ${r.action}`,
    what,
    r.source && `from ${r.source}`,
    r.dest && `to ${r.dest}`,
    r.iface && `iface ${r.iface}`,
    r.enabled ? "" : "(disabled)",
    r.comment && `# ${r.comment}`,
  ].filter(Boolean).join(" ");
}

function render(o: {
  level: string;
  target: string;
  enabled: boolean;
  policy_in?: string;
  policy_out?: string;
  rules: RuleOut[];
  groups: { group: string; rules: RuleOut[] }[];
  aliases: { ref: string; cidr?: string }[];
  ipsets: { ref: string; entries?: string[] }[];
  effective?: {
    active: boolean;
    reasons: string[];
    in: RuleOut[];
    in_policy: string;
    out: RuleOut[];
    out_policy: string;
  };
}): string {
  const parts = [
    pairs({
      firewall: `${o.level} ${o.target}: ${o.enabled ? "enabled" : "disabled"}`,
      policy: o.policy_in || o.policy_out
        ? `in ${o.policy_in ?? "-"}, out ${o.policy_out ?? "-"}`
        : undefined,
    }),
    o.rules.length ? table(o.rules, ["pos", ["rule", ruleLine]]) : "no rules",
    ...o.groups.map((g) => `group ${g.group}:\n  ${g.rules.map(ruleLine).join("\n  ")}`),
    ...o.aliases.map((x) => `alias ${x.ref} = ${x.cidr ?? "(not defined)"}`),
    ...o.ipsets.map((x) => `ipset +${x.ref} = ${x.entries?.join(", ") ?? "(not defined)"}`),
  ];
  if (o.effective) {
    const e = o.effective;
    parts.push(
      `effective (${e.active ? "filtering" : "NOT filtering"}): ${e.reasons.join("; ")}`,
      `in, first match wins:\n  ${
        [...e.in.map(ruleLine), `otherwise ${e.in_policy}`].join("\n  ")
      }`,
      `out:\n  ${[...e.out.map(ruleLine), `otherwise ${e.out_policy}`].join("\n  ")}`,
    );
  }
  return parts.join("\n");
}

/** The firewall toolset. */
export const firewallTools: Tool[] = [firewallRules];
