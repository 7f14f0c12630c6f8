/**
 * Firewall endpoints at cluster, node and guest level: options, rules (add, update, move,
 * delete), aliases, IP sets, security groups, references and macros. Writes are checked like
 * pve-firewall does (known macro and group, referenced aliases and IP sets exist, digest).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { FIREWALL_MACROS } from "../../proxmox/firewall_macros.ts";
import { ApiError, paramError } from "../errors.ts";
import { emptyFwLevel } from "../scenario_admin.ts";
import type { FwAlias, FwIpset, FwLevel, FwRule } from "../state_admin.ts";
import {
  guestOf,
  optBool,
  optInt,
  optStr,
  rawValue,
  type RouteContext,
  type RouteHandler,
  str,
} from "./context.ts";

type Scope = "cluster" | "node" | "guest";

function scopeOf(ctx: RouteContext): Scope {
  if (ctx.template.startsWith("/cluster/")) return "cluster";
  return /\{vmid\}/.test(ctx.template) ? "guest" : "node";
}

/** The firewall level addressed by the request; node and guest levels appear on first write. */
function levelOf(ctx: RouteContext, create = ctx.method !== "GET"): FwLevel {
  const fw = ctx.sim.state.firewall;
  const scope = scopeOf(ctx);
  if (scope === "cluster") return fw.cluster;
  if (scope === "node") {
    const name = str(ctx, "node");
    let l = fw.nodes.get(name);
    if (!l) {
      l = emptyFwLevel();
      if (create) fw.nodes.set(name, l);
    }
    return l;
  }
  const vmid = guestOf(ctx).vmid;
  let l = fw.guests.get(vmid);
  if (!l) {
    l = emptyFwLevel();
    if (create) fw.guests.set(vmid, l);
  }
  return l;
}

function digestOf(value: unknown): string {
  const plain = JSON.stringify(value, (_k, v) => (v instanceof Map ? [...v.entries()] : v));
  return createHash("sha1").update(plain).digest("hex");
}

function checkDigest(ctx: RouteContext, current: string): void {
  const digest = optStr(ctx, "digest");
  if (digest !== undefined && digest !== current) {
    throw new ApiError(
      500,
      "detected modified configuration - file changed by other user? Try again.",
    );
  }
}

/** The rule list a request addresses: a level's rules or a security group's. */
function rulesOf(ctx: RouteContext): { rules: FwRule[]; digest: string } {
  if (ctx.template.startsWith("/cluster/firewall/groups/{group}")) {
    const g = groupOf(ctx);
    return { rules: g.rules, digest: digestOf(g) };
  }
  const l = levelOf(ctx);
  return { rules: l.rules, digest: digestOf(l.rules) };
}

function groupOf(ctx: RouteContext) {
  const name = str(ctx, "group");
  const g = ctx.sim.state.firewall.groups.get(name);
  if (!g) throw new ApiError(500, `no such security group '${name}'`);
  return g;
}

const RULE_KEYS = [
  "type",
  "action",
  "enable",
  "macro",
  "source",
  "dest",
  "proto",
  "dport",
  "sport",
  "iface",
  "log",
  "icmp-type",
  "comment",
] as const;

function ruleView(r: FwRule, pos: number, digest: string): Record<string, unknown> {
  const out: Record<string, unknown> = { pos, digest, type: r.type, action: r.action };
  for (const k of RULE_KEYS) if (r[k] !== undefined) out[k] = r[k];
  out.ipversion = addressVersion(r.source) ?? addressVersion(r.dest);
  if (out.ipversion === undefined) delete out.ipversion;
  return out;
}

function addressVersion(spec?: string): number | undefined {
  if (!spec || spec.startsWith("+") || !/^[\d.:/,a-fA-F-]+$/.test(spec)) return undefined;
  return spec.includes(":") ? 6 : 4;
}

/** Checks that an address spec's aliases and IP sets exist (like pve-firewall). */
function checkAddress(ctx: RouteContext, param: string, spec: string | undefined): void {
  if (spec === undefined || spec === "") return;
  const fw = ctx.sim.state.firewall;
  const guest = scopeOf(ctx) === "guest" ? levelOf(ctx, false) : undefined;
  for (const part of spec.split(",")) {
    const ipset = part.startsWith("+");
    const raw = ipset ? part.slice(1) : part;
    if (!ipset && /^[\d.:/a-fA-F-]+$/.test(raw) && /[.:]/.test(raw)) continue;
    const m = /^(?:(dc|guest)\/)?([A-Za-z][A-Za-z0-9_-]+)$/.exec(raw);
    if (!m) throw paramError({ [param]: `invalid address '${part}'` });
    const [, where, name] = m;
    const lookup = (l: FwLevel | undefined) => ipset ? l?.ipsets.has(name) : l?.aliases.has(name);
    const found = where === "dc"
      ? lookup(fw.cluster)
      : where === "guest"
      ? lookup(guest)
      : lookup(guest) || lookup(fw.cluster);
    if (!found) {
      throw paramError({ [param]: `no such ${ipset ? "ipset" : "alias"} '${name}'` });
    }
  }
}

const PORTED = new Set(["tcp", "udp", "udplite", "sctp", "dccp", "6", "17"]);

/** Builds a rule from request values (over `base` for updates) and checks it. */
function ruleFrom(ctx: RouteContext, base?: FwRule): FwRule {
  const rule: FwRule = base ? { ...base } : { type: "in", action: "" };
  for (const k of RULE_KEYS) {
    const v = ctx.values[k];
    if (v === undefined) continue;
    (rule as unknown as Record<string, unknown>)[k] = k === "enable" ? Number(v) : rawValue(v);
  }
  for (const k of (optStr(ctx, "delete") ?? "").split(/[,;\s]+/).filter(Boolean)) {
    if (k === "type" || k === "action") throw paramError({ delete: `unable to delete '${k}'` });
    delete (rule as unknown as Record<string, unknown>)[k];
  }
  if (rule.type === "group") {
    if (!ctx.sim.state.firewall.groups.has(rule.action)) {
      throw paramError({ action: `no such security group '${rule.action}'` });
    }
  } else if (!["ACCEPT", "DROP", "REJECT"].includes(rule.action)) {
    throw paramError({ action: "value does not match the regex pattern" });
  }
  if (rule.macro !== undefined && !FIREWALL_MACROS.has(rule.macro)) {
    throw paramError({ macro: `unknown macro '${rule.macro}'` });
  }
  if ((rule.dport !== undefined || rule.sport !== undefined) && rule.macro === undefined) {
    if (!rule.proto || !PORTED.has(rule.proto)) {
      throw paramError({
        [rule.dport !== undefined ? "dport" : "sport"]:
          "port is only allowed with protocol tcp, udp, udplite, sctp or dccp",
      });
    }
  }
  checkAddress(ctx, "source", rule.source);
  checkAddress(ctx, "dest", rule.dest);
  return rule;
}

function posOf(ctx: RouteContext, rules: FwRule[]): number {
  const pos = optInt(ctx, "pos") ?? 0;
  if (pos < 0 || pos >= rules.length) throw new ApiError(500, `no rule at position ${pos}`);
  return pos;
}

const listRules: RouteHandler = (ctx) => {
  const { rules, digest } = rulesOf(ctx);
  return rules.map((r, i) => ruleView(r, i, digest));
};

const getRule: RouteHandler = (ctx) => {
  const { rules, digest } = rulesOf(ctx);
  const pos = posOf(ctx, rules);
  return ruleView(rules[pos], pos, digest);
};

const addRule: RouteHandler = (ctx) => {
  const { rules, digest } = rulesOf(ctx);
  checkDigest(ctx, digest);
  const rule = ruleFrom(ctx);
  if (ctx.template.startsWith("/cluster/firewall/groups") && rule.type === "group") {
    throw paramError({ type: "security groups cannot contain group rules" });
  }
  const pos = optInt(ctx, "pos");
  rules.splice(pos === undefined ? 0 : Math.min(Math.max(pos, 0), rules.length), 0, rule);
  return null;
};

const updateRule: RouteHandler = (ctx) => {
  const { rules, digest } = rulesOf(ctx);
  checkDigest(ctx, digest);
  const pos = posOf(ctx, rules);
  const moveto = optInt(ctx, "moveto");
  if (moveto !== undefined) {
    // PVE's order: the rule lands before the rule that was at `moveto` (or last).
    const rule = rules[pos];
    const next: FwRule[] = [];
    rules.forEach((r, i) => {
      if (i === pos) return;
      if (i === moveto) next.push(rule);
      next.push(r);
    });
    if (moveto >= rules.length) next.push(rule);
    rules.splice(0, rules.length, ...next);
    return null;
  }
  rules[pos] = ruleFrom(ctx, rules[pos]);
  return null;
};

const deleteRule: RouteHandler = (ctx) => {
  const { rules, digest } = rulesOf(ctx);
  checkDigest(ctx, digest);
  rules.splice(posOf(ctx, rules), 1);
  return null;
};

const OPTION_META = new Set(["node", "vmid", "digest", "delete"]);

const getOptions: RouteHandler = (ctx) => {
  const l = levelOf(ctx);
  return { ...l.options, digest: digestOf(l.options) };
};

const setOptions: RouteHandler = (ctx) => {
  const l = levelOf(ctx);
  checkDigest(ctx, digestOf(l.options));
  for (const k of (optStr(ctx, "delete") ?? "").split(/[,;\s]+/).filter(Boolean)) {
    delete l.options[k];
  }
  for (const [k, v] of Object.entries(ctx.values)) {
    if (OPTION_META.has(k) || v === undefined) continue;
    l.options[k] = typeof v === "boolean" ? (v ? 1 : 0) : typeof v === "number" ? v : String(v);
  }
  return null;
};

// Aliases.

function aliasView(a: FwAlias, digest: string): Record<string, unknown> {
  return a.comment ? { ...a, digest } : { name: a.name, cidr: a.cidr, digest };
}

function checkName(param: string, name: string, max: number): void {
  if (!/^[A-Za-z][A-Za-z0-9_-]+$/.test(name) || name.length > max) {
    throw paramError({ [param]: "value does not match the regex pattern" });
  }
}

function aliasOf(ctx: RouteContext, l: FwLevel): FwAlias {
  const name = str(ctx, "name");
  const a = l.aliases.get(name);
  if (!a) throw new ApiError(500, `no such alias '${name}'`);
  return a;
}

const listAliases: RouteHandler = (ctx) => {
  const l = levelOf(ctx);
  const d = digestOf(l.aliases);
  return [...l.aliases.values()].map((a) => aliasView(a, d));
};

const getAlias: RouteHandler = (ctx) => {
  const l = levelOf(ctx);
  return aliasView(aliasOf(ctx, l), digestOf(l.aliases));
};

const addAlias: RouteHandler = (ctx) => {
  const l = levelOf(ctx);
  const name = str(ctx, "name");
  checkName("name", name, 64);
  if (l.aliases.has(name)) throw new ApiError(500, `alias '${name}' already exists`);
  l.aliases.set(name, { name, cidr: str(ctx, "cidr"), comment: optStr(ctx, "comment") });
  return null;
};

const updateAlias: RouteHandler = (ctx) => {
  const l = levelOf(ctx);
  checkDigest(ctx, digestOf(l.aliases));
  const a = aliasOf(ctx, l);
  const rename = optStr(ctx, "rename");
  const next: FwAlias = { name: rename ?? a.name, cidr: str(ctx, "cidr") };
  const comment = optStr(ctx, "comment") ?? a.comment;
  if (comment) next.comment = comment;
  if (rename !== undefined && rename !== a.name) {
    checkName("rename", rename, 64);
    if (l.aliases.has(rename)) throw new ApiError(500, `alias '${rename}' already exists`);
    l.aliases.delete(a.name);
  }
  l.aliases.set(next.name, next);
  return null;
};

const deleteAlias: RouteHandler = (ctx) => {
  const l = levelOf(ctx);
  checkDigest(ctx, digestOf(l.aliases));
  const a = aliasOf(ctx, l);
  l.aliases.delete(a.name);
  return null;
};

// IP sets.

function ipsetOf(ctx: RouteContext, l: FwLevel): FwIpset {
  const name = str(ctx, "name");
  const s = l.ipsets.get(name);
  if (!s) throw new ApiError(500, `no such IPSet '${name}'`);
  return s;
}

const listIpsets: RouteHandler = (ctx) => {
  const l = levelOf(ctx);
  return [...l.ipsets.values()].map((s) => {
    const e: Record<string, unknown> = { name: s.name, digest: digestOf(s) };
    if (s.comment) e.comment = s.comment;
    return e;
  });
};

const createIpset: RouteHandler = (ctx) => {
  const l = levelOf(ctx);
  const name = str(ctx, "name");
  checkName("name", name, 64);
  const rename = optStr(ctx, "rename");
  if (rename !== undefined) {
    const s = l.ipsets.get(rename);
    if (!s) throw new ApiError(500, `no such IPSet '${rename}'`);
    if (l.ipsets.has(name)) throw new ApiError(500, `IPSet '${name}' already exists`);
    l.ipsets.delete(rename);
    l.ipsets.set(name, { ...s, name, comment: optStr(ctx, "comment") ?? s.comment });
    return null;
  }
  if (l.ipsets.has(name)) throw new ApiError(500, `IPSet '${name}' already exists`);
  l.ipsets.set(name, { name, comment: optStr(ctx, "comment"), entries: [] });
  return null;
};

const deleteIpset: RouteHandler = (ctx) => {
  const l = levelOf(ctx);
  const s = ipsetOf(ctx, l);
  if (s.entries.length && !optBool(ctx, "force")) {
    throw new ApiError(500, `IPSet '${s.name}' is not empty`);
  }
  l.ipsets.delete(s.name);
  return null;
};

function entryView(e: FwIpset["entries"][number], digest: string): Record<string, unknown> {
  const out: Record<string, unknown> = { cidr: e.cidr, digest };
  if (e.comment) out.comment = e.comment;
  if (e.nomatch) out.nomatch = true;
  return out;
}

const listIpsetEntries: RouteHandler = (ctx) => {
  const s = ipsetOf(ctx, levelOf(ctx));
  const d = digestOf(s);
  return s.entries.map((e) => entryView(e, d));
};

function entryOf(ctx: RouteContext, s: FwIpset) {
  const cidr = str(ctx, "cidr");
  const e = s.entries.find((x) => x.cidr === cidr);
  if (!e) throw new ApiError(500, `no such IP/Network '${cidr}'`);
  return e;
}

const addIpsetEntry: RouteHandler = (ctx) => {
  const s = ipsetOf(ctx, levelOf(ctx));
  const cidr = str(ctx, "cidr");
  if (!/[.:]/.test(cidr)) checkAddress(ctx, "cidr", cidr);
  if (s.entries.some((x) => x.cidr === cidr)) {
    throw new ApiError(500, `address '${cidr}' already exists`);
  }
  s.entries.push({ cidr, comment: optStr(ctx, "comment"), nomatch: optBool(ctx, "nomatch") });
  return null;
};

const getIpsetEntry: RouteHandler = (ctx) => {
  const s = ipsetOf(ctx, levelOf(ctx));
  return entryView(entryOf(ctx, s), digestOf(s));
};

const updateIpsetEntry: RouteHandler = (ctx) => {
  const s = ipsetOf(ctx, levelOf(ctx));
  checkDigest(ctx, digestOf(s));
  const e = entryOf(ctx, s);
  const comment = optStr(ctx, "comment");
  if (comment !== undefined) e.comment = comment;
  const nomatch = optBool(ctx, "nomatch");
  if (nomatch !== undefined) e.nomatch = nomatch;
  return null;
};

const deleteIpsetEntry: RouteHandler = (ctx) => {
  const s = ipsetOf(ctx, levelOf(ctx));
  checkDigest(ctx, digestOf(s));
  const e = entryOf(ctx, s);
  s.entries.splice(s.entries.indexOf(e), 1);
  return null;
};

// Security groups.

const listGroups: RouteHandler = (ctx) =>
  [...ctx.sim.state.firewall.groups.values()].map((g) => {
    const e: Record<string, unknown> = { group: g.group, digest: digestOf(g) };
    if (g.comment) e.comment = g.comment;
    return e;
  });

const createGroup: RouteHandler = (ctx) => {
  const groups = ctx.sim.state.firewall.groups;
  const group = str(ctx, "group");
  checkName("group", group, 18);
  const rename = optStr(ctx, "rename");
  if (rename !== undefined) {
    const g = groups.get(rename);
    if (!g) throw new ApiError(500, `no such security group '${rename}'`);
    if (groups.has(group)) throw new ApiError(500, `security group '${group}' already exists`);
    groups.delete(rename);
    groups.set(group, { ...g, group, comment: optStr(ctx, "comment") ?? g.comment });
    return null;
  }
  if (groups.has(group)) throw new ApiError(500, `security group '${group}' already exists`);
  groups.set(group, { group, comment: optStr(ctx, "comment"), rules: [] });
  return null;
};

const deleteGroup: RouteHandler = (ctx) => {
  const g = groupOf(ctx);
  const fw = ctx.sim.state.firewall;
  const levels = [fw.cluster, ...fw.nodes.values(), ...fw.guests.values()];
  if (levels.some((l) => l.rules.some((r) => r.type === "group" && r.action === g.group))) {
    throw new ApiError(500, `security group '${g.group}' is in use`);
  }
  if (g.rules.length) throw new ApiError(500, "security group is not empty");
  fw.groups.delete(g.group);
  return null;
};

// References and macros.

const refs: RouteHandler = (ctx) => {
  const type = optStr(ctx, "type");
  const out: Record<string, unknown>[] = [];
  const add = (l: FwLevel, scope: "dc" | "guest") => {
    if (type !== "ipset") {
      for (const a of l.aliases.values()) {
        out.push({
          type: "alias",
          name: a.name,
          ref: `${scope}/${a.name}`,
          scope,
          comment: a.comment,
        });
      }
    }
    if (type !== "alias") {
      for (const s of l.ipsets.values()) {
        out.push({
          type: "ipset",
          name: s.name,
          ref: `+${scope}/${s.name}`,
          scope,
          comment: s.comment,
        });
      }
    }
  };
  add(ctx.sim.state.firewall.cluster, "dc");
  if (scopeOf(ctx) === "guest") add(levelOf(ctx, false), "guest");
  return out.map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)));
};

const macros: RouteHandler = () =>
  [...FIREWALL_MACROS.values()].map((m) => ({ macro: m.macro, descr: m.descr }));

function levelRoutes(base: string, withSets: boolean): Record<string, RouteHandler> {
  const routes: Record<string, RouteHandler> = {
    [`GET ${base}/rules`]: listRules,
    [`POST ${base}/rules`]: addRule,
    [`GET ${base}/rules/{pos}`]: getRule,
    [`PUT ${base}/rules/{pos}`]: updateRule,
    [`DELETE ${base}/rules/{pos}`]: deleteRule,
    [`GET ${base}/options`]: getOptions,
    [`PUT ${base}/options`]: setOptions,
  };
  if (!withSets) return routes;
  return {
    ...routes,
    [`GET ${base}/aliases`]: listAliases,
    [`POST ${base}/aliases`]: addAlias,
    [`GET ${base}/aliases/{name}`]: getAlias,
    [`PUT ${base}/aliases/{name}`]: updateAlias,
    [`DELETE ${base}/aliases/{name}`]: deleteAlias,
    [`GET ${base}/ipset`]: listIpsets,
    [`POST ${base}/ipset`]: createIpset,
    [`DELETE ${base}/ipset/{name}`]: deleteIpset,
    [`GET ${base}/ipset/{name}`]: listIpsetEntries,
    [`POST ${base}/ipset/{name}`]: addIpsetEntry,
    [`GET ${base}/ipset/{name}/{cidr}`]: getIpsetEntry,
    [`PUT ${base}/ipset/{name}/{cidr}`]: updateIpsetEntry,
    [`DELETE ${base}/ipset/{name}/{cidr}`]: deleteIpsetEntry,
    [`GET ${base}/refs`]: refs,
  };
}

/** Firewall endpoints. */
export const firewallRoutes: Record<string, RouteHandler> = {
  ...levelRoutes("/cluster/firewall", true),
  ...levelRoutes("/nodes/{node}/firewall", false),
  ...levelRoutes("/nodes/{node}/qemu/{vmid}/firewall", true),
  ...levelRoutes("/nodes/{node}/lxc/{vmid}/firewall", true),
  "GET /cluster/firewall/groups": listGroups,
  "POST /cluster/firewall/groups": createGroup,
  "GET /cluster/firewall/groups/{group}": listRules,
  "POST /cluster/firewall/groups/{group}": addRule,
  "DELETE /cluster/firewall/groups/{group}": deleteGroup,
  "GET /cluster/firewall/groups/{group}/{pos}": getRule,
  "PUT /cluster/firewall/groups/{group}/{pos}": updateRule,
  "DELETE /cluster/firewall/groups/{group}/{pos}": deleteRule,
  "GET /cluster/firewall/macros": macros,
};
