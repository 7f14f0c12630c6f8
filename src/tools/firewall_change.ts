/**
 * Changing the Proxmox firewall: rules (add, update, move, delete) at cluster, node, guest or
 * security-group level; enabling it and setting policies; aliases and IP sets. Host-level
 * changes run the lockout preflight; every plan shows the list before and after.
 *
 * @module
 */
import { z } from "zod";
import type { Plan } from "../safety/change.ts";
import { ToolInputError } from "./context.ts";
import { checkLockout } from "./firewall_lockout.ts";
import type { FwRuleView, HostFirewall } from "./firewall_reach.ts";
import { type FwLevel, readRules, resolveLevel, ruleLine } from "./firewall_state.ts";
import { guestId, optNode } from "./mutation_args.ts";
import { defineMutation } from "./mutation.ts";
import { node as nodeParam } from "./params.ts";
import { fieldsOf } from "./args.ts";
import type { Tool } from "./tool.ts";

const NAME = /^[A-Za-z][A-Za-z0-9_-]+$/;
const name = (what: string) =>
  z.string().max(64).regex(NAME, { error: `${what}: a letter, then letters, digits, '_' or '-'` });

const levelShape = {
  level: z.enum(["cluster", "node", "guest", "group"]).describe("group = security group"),
  node: nodeParam("Node name (node level; guest level: found if omitted)").optional(),
  vmid: guestId().optional().describe("guest level"),
  group: name("group").max(18).optional().describe("group level"),
  accept_lockout_risk: z.boolean().optional().describe(
    "Confirm instead of refusing a change that blocks this server's 8006/22",
  ),
};

const Rule = fieldsOf("rule", {
  type: z.enum(["in", "out", "forward", "group"]).optional().describe("default in"),
  action: z.string().regex(/^(ACCEPT|DROP|REJECT|[A-Za-z][A-Za-z0-9_-]+)$/, {
    error: "rule.action: ACCEPT, DROP, REJECT, or a security group name for type group",
  }).optional(),
  macro: z.string().max(64).optional().describe("e.g. SSH, HTTPS"),
  proto: z.string().max(16).optional().describe("tcp, udp, icmp, ..."),
  dport: z.string().max(64).optional().describe("e.g. 22, 8000:8100"),
  sport: z.string().max(64).optional(),
  source: z.string().max(512).optional().describe("CIDR, alias, +ipset, list"),
  dest: z.string().max(512).optional(),
  iface: z.string().max(20).optional(),
  log: z.enum(["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "nolog"])
    .optional(),
  comment: z.string().max(256).optional(),
  enable: z.boolean().optional().describe("default true"),
});
type Rule = z.infer<typeof Rule>;

function ruleParams(r: Rule, adding: boolean): Record<string, string | number | undefined> {
  return {
    type: r.type ?? (adding ? "in" : undefined),
    action: r.action,
    macro: r.macro,
    proto: r.proto,
    dport: r.dport,
    sport: r.sport,
    source: r.source,
    dest: r.dest,
    iface: r.iface,
    log: r.log,
    comment: r.comment,
    enable: r.enable === undefined ? (adding ? 1 : undefined) : r.enable ? 1 : 0,
  };
}

function asView(p: Record<string, string | number | undefined>, base?: FwRuleView): FwRuleView {
  const out: Record<string, unknown> = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(p)) if (v !== undefined) out[k] = v;
  return out as unknown as FwRuleView;
}

type Op =
  | { kind: "add"; pos: number; rule: FwRuleView }
  | { kind: "update"; pos: number; rule: FwRuleView }
  | { kind: "move"; pos: number; moveto: number }
  | { kind: "delete"; pos: number };

/** Applies an operation to a rule list the way PVE does (a move lands before `moveto`). */
export function applyOp(list: readonly FwRuleView[], op: Op): FwRuleView[] {
  const out = [...list];
  if (op.kind === "add") out.splice(Math.min(op.pos, out.length), 0, op.rule);
  else if (op.kind === "update") out[op.pos] = op.rule;
  else if (op.kind === "delete") out.splice(op.pos, 1);
  else {
    const moved: FwRuleView[] = [];
    list.forEach((r, i) => {
      if (i === op.pos) return;
      if (i === op.moveto) moved.push(list[op.pos]);
      moved.push(r);
    });
    if (op.moveto >= list.length) moved.push(list[op.pos]);
    return moved;
  }
  return out;
}

function hostList(fw: HostFirewall, l: FwLevel): FwRuleView[] | undefined {
  if (l.level === "cluster") return fw.clusterRules;
  if (l.level === "node") return fw.nodes.get(l.node!)?.rules;
  if (l.level === "group") return fw.groups.get(l.base.split("/").pop()!);
  return undefined;
}

function setHostList(fw: HostFirewall, l: FwLevel, rules: FwRuleView[]): void {
  if (l.level === "cluster") fw.clusterRules = rules;
  else if (l.level === "node") {
    const n = fw.nodes.get(l.node!) ?? { options: {}, rules: [] };
    n.rules = rules;
    fw.nodes.set(l.node!, n);
  } else if (l.level === "group") {
    fw.groups.set(decodeURIComponent(l.base.split("/").pop()!), rules);
  }
}

const lines = (rules: readonly FwRuleView[]) =>
  rules.length ? rules.map((r, i) => ruleLine(r, i)) : ["(no rules)"];

const firewallRule = defineMutation({
  name: "firewall_rule",
  title: "Change a firewall rule",
  description:
    "Add, update, move or delete a firewall rule (cluster, node, guest or security group). Refuses rules blocking this server's 8006/22. Confirmation: delete, and cluster/node/group changes.",
  toolset: "firewall",
  privilege: "Sys.Modify on / (node: /nodes/{node}; guest: VM.Config.Network on /vms/{vmid})",
  destructive: true,
  judgedPerCall: true,
  input: {
    ...levelShape,
    action: z.enum(["add", "update", "move", "delete"]).describe("What to do"),
    pos: z.int().min(0).max(9999).optional().describe(
      "add: insert here (default 0, top)",
    ),
    moveto: z.int().min(0).max(9999).optional().describe("move: new position"),
    rule: Rule.optional().describe("add/update: fields to set"),
  },
  result: {},
  async plan(a, ctx): Promise<Plan> {
    const l = await resolveLevel(ctx, a);
    const { rules, digest } = await readRules(ctx, l.rules);
    const needPos = a.action !== "add";
    if (needPos && a.pos === undefined) throw new ToolInputError(`${a.action} needs pos`);
    if (needPos && a.pos! >= rules.length) {
      throw new ToolInputError(
        `No rule at position ${a.pos} in ${l.label}: it has ${rules.length} rule(s) (0-${
          Math.max(rules.length - 1, 0)
        })`,
      );
    }
    if ((a.action === "add" || a.action === "update") && !a.rule) {
      throw new ToolInputError(`${a.action} needs rule`);
    }
    if (a.action === "add" && !a.rule!.action) {
      throw new ToolInputError("add needs rule.action (ACCEPT, DROP, REJECT or a group name)");
    }
    if (a.action === "move" && a.moveto === undefined) {
      throw new ToolInputError("move needs moveto");
    }
    if (a.action !== "move" && a.moveto !== undefined) {
      throw new ToolInputError("moveto is for move");
    }
    if ((a.action === "move" || a.action === "delete") && a.rule) {
      throw new ToolInputError(`rule is not for ${a.action}`);
    }
    const pos = a.pos ?? 0;
    let op: Op;
    let request: Plan["requests"][number];
    if (a.action === "add") {
      const params = ruleParams(a.rule!, true);
      op = { kind: "add", pos, rule: asView(params) };
      request = { method: "POST", path: l.rules, params: { ...params, pos: a.pos, digest } };
    } else if (a.action === "update") {
      const params = ruleParams(a.rule!, false);
      op = { kind: "update", pos, rule: asView(params, rules[pos]) };
      request = { method: "PUT", path: `${l.rules}/${pos}`, params: { ...params, digest } };
    } else if (a.action === "move") {
      op = { kind: "move", pos, moveto: a.moveto! };
      request = { method: "PUT", path: `${l.rules}/${pos}`, params: { moveto: a.moveto, digest } };
    } else {
      op = { kind: "delete", pos };
      request = { method: "DELETE", path: `${l.rules}/${pos}`, params: { digest } };
    }
    const after = applyOp(rules, op);
    const verdict = l.host
      ? await checkLockout(ctx, (fw) => {
        const list = hostList(fw, l) ?? [];
        setHostList(fw, l, applyOp(list, op));
      }, a.accept_lockout_risk)
      : { warnings: [] as string[], confirm: undefined };
    const what = a.action === "move"
      ? `move rule ${pos} to ${a.moveto}`
      : a.action === "add"
      ? `add rule at ${pos}: ${ruleLine(op.kind === "add" ? op.rule : rules[0], pos).slice(3)}`
      : `${a.action} rule ${pos} (${ruleLine(rules[pos], pos).slice(3)})`;
    return {
      summary: `${what} in ${l.label}`,
      requests: [request],
      destructive: a.action === "delete",
      loses: a.action === "delete" ? `firewall rule ${ruleLine(rules[pos], pos)}` : undefined,
      confirm: verdict.confirm ??
        (l.host
          ? `changes host firewall rules (${l.label}) on ${l.nodes.length} node(s)`
          : undefined),
      warnings: verdict.warnings,
      creates: 0,
      result: { rules_before: lines(rules), rules_after: lines(after) },
    };
  },
});

const firewallOptions = defineMutation({
  name: "firewall_options",
  title: "Enable firewall or set policies",
  description:
    "Enable/disable the firewall or set policy_in/out (cluster, node or guest level). Refuses what would block this server's 8006/22. Confirmation: cluster and node level.",
  toolset: "firewall",
  privilege: "Sys.Modify on / (node: /nodes/{node}; guest: VM.Config.Network on /vms/{vmid})",
  destructive: true,
  judgedPerCall: true,
  input: {
    ...levelShape,
    level: z.enum(["cluster", "node", "guest"]).describe("Which firewall"),
    enable: z.boolean().optional().describe("Turn the firewall on or off"),
    policy_in: z.enum(["ACCEPT", "REJECT", "DROP"]).optional().describe("cluster/guest"),
    policy_out: z.enum(["ACCEPT", "REJECT", "DROP"]).optional().describe("cluster/guest"),
    policy_forward: z.enum(["ACCEPT", "DROP"]).optional().describe("cluster"),
  },
  result: {},
  async plan(a, ctx): Promise<Plan> {
    if (a.group !== undefined) throw new ToolInputError("group is for firewall_rule");
    const l = await resolveLevel(ctx, a);
    if (l.level === "node" && (a.policy_in || a.policy_out || a.policy_forward)) {
      throw new ToolInputError(
        "Nodes have no policies of their own: set policy_in/policy_out at cluster level",
      );
    }
    if (l.level === "guest" && a.policy_forward) {
      throw new ToolInputError("policy_forward is a cluster option");
    }
    const params = {
      enable: a.enable === undefined ? undefined : a.enable ? 1 : 0,
      policy_in: a.policy_in,
      policy_out: a.policy_out,
      policy_forward: a.policy_forward,
    };
    const set = Object.entries(params).filter(([, v]) => v !== undefined);
    if (!set.length) {
      throw new ToolInputError(
        "Nothing to change: give enable, policy_in, policy_out or policy_forward",
      );
    }
    const before = z.record(z.string(), z.unknown()).parse(
      await ctx.api.get(`${l.base}/options`, undefined, { signal: ctx.signal }) ?? {},
    );
    delete before.digest;
    const after = { ...before, ...Object.fromEntries(set) };
    const verdict = l.host
      ? await checkLockout(ctx, (fw) => {
        if (l.level === "cluster") Object.assign(fw.clusterOptions, Object.fromEntries(set));
        else {
          const n = fw.nodes.get(l.node!) ?? { options: {}, rules: [] };
          Object.assign(n.options, Object.fromEntries(set));
          fw.nodes.set(l.node!, n);
        }
      }, a.accept_lockout_risk)
      : { warnings: [] as string[], confirm: undefined };
    const warnings = [...verdict.warnings];
    if (a.enable === false) {
      warnings.push(`turning the firewall off removes the protection of ${l.label}`);
    }
    return {
      summary: `set ${set.map(([k, v]) => `${k}=${v}`).join(", ")} on ${l.label}`,
      requests: [{ method: "PUT", path: `${l.base}/options`, params }],
      destructive: false,
      confirm: verdict.confirm ??
        (l.host
          ? `changes the host firewall (${l.label}) on ${l.nodes.length} node(s)`
          : undefined),
      warnings,
      creates: 0,
      result: { options_before: before, options_after: after },
    };
  },
});

const firewallSet = defineMutation({
  name: "firewall_set",
  title: "Change firewall aliases and IP sets",
  description:
    "Aliases (add/update/delete) and IP sets (create/delete, add/remove an entry) at cluster or guest level. Refuses deleting what rules use, and blocking this server's 8006/22. Confirmation: delete/remove.",
  toolset: "firewall",
  privilege: "Sys.Modify on / (guest: VM.Config.Network on /vms/{vmid})",
  destructive: true,
  judgedPerCall: true,
  input: {
    level: z.enum(["cluster", "guest"]).describe("Where the alias or IP set lives"),
    node: optNode(),
    vmid: guestId().optional().describe("guest level"),
    kind: z.enum(["alias", "ipset"]).describe("Alias or IP set"),
    action: z.enum(["add", "update", "delete", "create", "remove"]).describe(
      "alias: add/update/delete; ipset: create/delete, add/remove an entry",
    ),
    name: name("name").describe("Alias or IP set name"),
    cidr: z.string().max(64).optional().describe("alias address; ipset entry"),
    comment: z.string().max(256).optional().describe("Free text"),
    rename: name("rename").optional().describe("alias update"),
    nomatch: z.boolean().optional().describe("ipset entry: exclude it"),
    accept_lockout_risk: levelShape.accept_lockout_risk,
  },
  result: {},
  async plan(a, ctx): Promise<Plan> {
    const allowed = a.kind === "alias"
      ? ["add", "update", "delete"]
      : ["create", "delete", "add", "remove"];
    if (!allowed.includes(a.action)) {
      throw new ToolInputError(`${a.kind} actions are ${allowed.join(", ")}; got ${a.action}`);
    }
    const l = await resolveLevel(ctx, { level: a.level, node: a.node, vmid: a.vmid });
    const get = (p: string) => ctx.api.get(p, undefined, { signal: ctx.signal });
    const rulesUsing = async (ref: RegExp) => {
      let paths = [l.rules];
      if (l.level === "cluster") {
        const groups = z.array(z.object({ group: z.string() }).loose())
          .parse(await get("/cluster/firewall/groups"));
        paths = [
          "/cluster/firewall/rules",
          ...groups.map((g) => `/cluster/firewall/groups/${encodeURIComponent(g.group)}`),
          ...l.nodes.map((n) => `/nodes/${encodeURIComponent(n)}/firewall/rules`),
        ];
      }
      const used: string[] = [];
      for (const p of paths) {
        for (const r of (await readRules(ctx, p)).rules) {
          if ([r.source, r.dest].some((s) => s?.split(",").some((x) => ref.test(x.trim())))) {
            used.push(`${p} ${ruleLine(r, r.pos)}`);
          }
        }
      }
      return used;
    };
    let requests: Plan["requests"];
    let before: string[];
    let after: string[];
    let loses: string | undefined;
    let mutate: ((fw: HostFirewall) => void) | undefined;
    if (a.kind === "alias") {
      const list = z.array(
        z.object({ name: z.string(), cidr: z.string(), comment: z.string().optional() }).loose(),
      )
        .parse(await get(`${l.base}/aliases`));
      const existing = list.find((x) => x.name === a.name);
      before = list.map((x) => `${x.name} = ${x.cidr}`);
      if (a.action === "add") {
        if (existing) {
          throw new ToolInputError(`Alias ${a.name} already exists (${existing.cidr}): use update`);
        }
        if (!a.cidr) throw new ToolInputError("add needs cidr");
        requests = [{
          method: "POST",
          path: `${l.base}/aliases`,
          params: { name: a.name, cidr: a.cidr, comment: a.comment },
        }];
        after = [...before, `${a.name} = ${a.cidr}`];
      } else {
        if (!existing) {
          throw new ToolInputError(
            `No alias ${a.name} in ${l.label}: aliases are ${
              list.map((x) => x.name).join(", ") || "none"
            }`,
          );
        }
        const path = `${l.base}/aliases/${encodeURIComponent(a.name)}`;
        if (a.action === "delete") {
          const used = await rulesUsing(new RegExp(`^(dc/|guest/)?${a.name}$`));
          if (used.length) {
            throw new ToolInputError(
              `Alias ${a.name} is used by rules: ${used.join("; ")}; change them first`,
            );
          }
          requests = [{ method: "DELETE", path, params: {} }];
          after = before.filter((x) => !x.startsWith(`${a.name} =`));
          loses = `alias ${a.name} (${existing.cidr})`;
        } else {
          const cidr = a.cidr ?? existing.cidr;
          requests = [{
            method: "PUT",
            path,
            params: { cidr, comment: a.comment, rename: a.rename },
          }];
          after = before.map((x) =>
            x.startsWith(`${a.name} =`) ? `${a.rename ?? a.name} = ${cidr}` : x
          );
        }
      }
      if (l.level === "cluster") {
        mutate = (fw) => {
          if (a.action === "delete") fw.aliases.delete(a.name);
          else {
            fw.aliases.delete(a.name);
            fw.aliases.set(a.rename ?? a.name, a.cidr ?? existing?.cidr ?? "");
          }
        };
      }
    } else {
      const sets = z.array(z.object({ name: z.string() }).loose()).parse(
        await get(`${l.base}/ipset`),
      );
      const exists = sets.some((s) => s.name === a.name);
      const setPath = `${l.base}/ipset/${encodeURIComponent(a.name)}`;
      const entries = exists
        ? z.array(z.object({ cidr: z.string(), nomatch: z.unknown().optional() }).loose()).parse(
          await get(setPath),
        )
          .map((e) => (e.nomatch ? `!${e.cidr}` : e.cidr))
        : [];
      before = entries;
      if (a.action === "create") {
        if (exists) throw new ToolInputError(`IP set ${a.name} already exists`);
        requests = [{
          method: "POST",
          path: `${l.base}/ipset`,
          params: { name: a.name, comment: a.comment },
        }];
        after = [];
      } else {
        if (!exists) {
          throw new ToolInputError(
            `No IP set ${a.name} in ${l.label}: sets are ${
              sets.map((s) => s.name).join(", ") || "none"
            }`,
          );
        }
        if (a.action === "delete") {
          const used = await rulesUsing(new RegExp(`^\\+(dc/|guest/)?${a.name}$`));
          if (used.length) {
            throw new ToolInputError(
              `IP set ${a.name} is used by rules: ${used.join("; ")}; change them first`,
            );
          }
          requests = [{
            method: "DELETE",
            path: setPath,
            params: { force: entries.length ? 1 : undefined },
          }];
          after = [];
          loses = `IP set ${a.name} with ${entries.length} entr${
            entries.length === 1 ? "y" : "ies"
          }`;
        } else {
          if (!a.cidr) throw new ToolInputError(`${a.action} needs cidr`);
          const has = entries.some((e) => e.replace(/^!/, "") === a.cidr);
          if (a.action === "add") {
            if (has) throw new ToolInputError(`${a.cidr} is already in IP set ${a.name}`);
            requests = [{
              method: "POST",
              path: setPath,
              params: { cidr: a.cidr, comment: a.comment, nomatch: a.nomatch },
            }];
            after = [...entries, a.nomatch ? `!${a.cidr}` : a.cidr];
          } else {
            if (!has) {
              throw new ToolInputError(
                `${a.cidr} is not in IP set ${a.name}: entries are ${entries.join(", ") || "none"}`,
              );
            }
            requests = [{
              method: "DELETE",
              path: `${setPath}/${encodeURIComponent(a.cidr)}`,
              params: {},
            }];
            after = entries.filter((e) => e.replace(/^!/, "") !== a.cidr);
            loses = `entry ${a.cidr} of IP set ${a.name}`;
          }
        }
      }
      if (l.level === "cluster") {
        mutate = (fw) => {
          if (a.action === "delete") fw.ipsets.delete(a.name);
          else fw.ipsets.set(a.name, after);
        };
      }
    }
    const verdict = mutate
      ? await checkLockout(ctx, mutate, a.accept_lockout_risk)
      : { warnings: [] as string[], confirm: undefined };
    return {
      summary: `${a.action} ${a.kind} ${a.name}${a.cidr ? ` ${a.cidr}` : ""} in ${l.label}`,
      requests,
      destructive: loses !== undefined,
      loses,
      confirm: verdict.confirm,
      warnings: verdict.warnings,
      creates: 0,
      result: { entries_before: before, entries_after: after },
    };
  },
});

/** The firewall toolset's changing rows. */
export const firewallChangeTools: Tool[] = [firewallRule, firewallOptions, firewallSet];
