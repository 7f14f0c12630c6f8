/**
 * High availability and pools. `ha_change` puts a guest under HA or takes it out, sets its
 * requested state, asks for a migration or relocation, and manages PVE 9 HA rules (a legacy HA
 * group can be named when adding). `pool_change` creates pools, adds or removes members and
 * deletes a pool only when it is empty.
 *
 * @module
 */
import { z } from "zod";
import type { Plan } from "../safety/change.ts";
import { type ToolContext, ToolInputError } from "./context.ts";
import { guestId, poolId } from "./mutation_args.ts";
import { defineMutation } from "./mutation.ts";
import { node as nodeParam } from "./params.ts";
import { Facts } from "./preflight.ts";
import type { Tool } from "./tool.ts";

const Resource = z.object({
  sid: z.string(),
  state: z.string().optional(),
  group: z.string().optional(),
}).loose();
const Status = z.object({
  type: z.string(),
  sid: z.string().optional(),
  state: z.string().optional(),
  node: z.string().optional(),
}).loose();
const Rule = z.object({ rule: z.string(), resources: z.string().optional() }).loose();

async function haView(ctx: ToolContext) {
  const get = (p: string) => ctx.api.get(p, undefined, { signal: ctx.signal });
  const [resources, status] = await Promise.all([
    get("/cluster/ha/resources").then((d) => z.array(Resource).parse(d)),
    get("/cluster/ha/status/current").then((d) => z.array(Status).parse(d)),
  ]);
  return { resources, status };
}

const haChange = defineMutation({
  name: "ha_change",
  title: "Change HA",
  description:
    "Add/remove a guest to HA, set its state, migrate/relocate it, or add/remove a PVE 9 HA rule. Confirmation: remove, relocate, stop/disable, rules.",
  toolset: "ha",
  privilege: "Sys.Console on /",
  destructive: true,
  judgedPerCall: true,
  input: {
    action: z.enum(["add", "remove", "set_state", "migrate", "relocate", "rule_add", "rule_remove"])
      .describe("What to change"),
    vmid: guestId().optional().describe("The guest (resource actions)"),
    state: z.enum(["started", "stopped", "disabled", "ignored"]).optional().describe(
      "add/set_state: requested state",
    ),
    target_node: nodeParam("Node name: migrate/relocate target").optional(),
    group: z.string().max(64).optional().describe("add: legacy HA group (PVE 8)"),
    rule: z.string().regex(/^[a-z][a-z0-9_-]*$/i, { error: "rule: a name like db-apart" }).max(64)
      .optional().describe("rule_add/rule_remove: rule name"),
    rule_type: z.enum(["node-affinity", "resource-affinity"]).optional().describe("rule_add"),
    members: z.array(guestId()).max(50).optional().describe("rule_add: guests of the rule"),
    nodes: z.array(z.string().max(80)).max(32).optional().describe(
      'node-affinity: nodes, optionally "pve1:2" with priority',
    ),
    affinity: z.enum(["positive", "negative"]).optional().describe(
      "resource-affinity: together or apart",
    ),
    strict: z.boolean().optional().describe("node-affinity: only these nodes"),
    comment: z.string().max(256).optional().describe("Free text"),
  },
  result: {},
  async plan(a, ctx): Promise<Plan> {
    const facts = new Facts(ctx);
    const { resources, status } = await haView(ctx);
    if (a.action === "rule_add" || a.action === "rule_remove") {
      if (!a.rule) throw new ToolInputError(`${a.action} needs rule`);
      const rules = await ctx.api.get("/cluster/ha/rules", undefined, { signal: ctx.signal })
        .then((d) => z.array(Rule).parse(d))
        .catch(() => {
          throw new ToolInputError(
            "This cluster has no HA rules (PVE 8 or older): use HA groups (add with group) instead",
          );
        });
      const existing = rules.find((r) => r.rule === a.rule);
      if (a.action === "rule_remove") {
        if (!existing) {
          throw new ToolInputError(
            `No HA rule ${a.rule}: rules are ${rules.map((r) => r.rule).join(", ") || "none"}`,
          );
        }
        return {
          summary: `remove HA rule ${a.rule} (${existing.resources ?? ""})`,
          requests: [{
            method: "DELETE",
            path: `/cluster/ha/rules/${encodeURIComponent(a.rule)}`,
            params: {},
          }],
          destructive: false,
          confirm: "changes where HA places guests",
          warnings: [],
          creates: 0,
        };
      }
      if (existing) throw new ToolInputError(`HA rule ${a.rule} already exists`);
      if (!a.rule_type || !a.members?.length) {
        throw new ToolInputError("rule_add needs rule_type and members");
      }
      const sids: string[] = [];
      for (const vmid of a.members) {
        const g = await facts.guest(vmid);
        const sid = `${g.type === "lxc" ? "ct" : "vm"}:${vmid}`;
        if (!resources.some((r) => r.sid === sid)) {
          throw new ToolInputError(`${sid} is not HA-managed: add it with action add first`);
        }
        sids.push(sid);
      }
      if (a.rule_type === "node-affinity") {
        if (!a.nodes?.length) throw new ToolInputError("node-affinity needs nodes");
        const known = new Set((await facts.nodes()).map((n) => n.node));
        const bad = a.nodes.map((n) => n.split(":")[0]).filter((n) => !known.has(n));
        if (bad.length) {
          throw new ToolInputError(
            `Unknown nodes: ${bad.join(", ")}; nodes are ${[...known].join(", ")}`,
          );
        }
      } else {
        if (!a.affinity) {
          throw new ToolInputError("resource-affinity needs affinity (positive or negative)");
        }
        if (sids.length < 2) {
          throw new ToolInputError("resource-affinity needs at least two members");
        }
      }
      return {
        summary: `add HA ${a.rule_type} rule ${a.rule} for ${sids.join(", ")}`,
        requests: [{
          method: "POST",
          path: "/cluster/ha/rules",
          params: {
            rule: a.rule,
            type: a.rule_type,
            resources: sids.join(","),
            nodes: a.nodes?.join(","),
            affinity: a.affinity,
            strict: a.strict === undefined ? undefined : a.strict ? 1 : 0,
            comment: a.comment,
          },
        }],
        destructive: false,
        confirm: "changes where HA places guests",
        warnings: [],
        creates: 0,
      };
    }
    if (a.vmid === undefined) throw new ToolInputError(`${a.action} needs vmid`);
    const g = await facts.guest(a.vmid);
    const sid = `${g.type === "lxc" ? "ct" : "vm"}:${g.vmid}`;
    const res = resources.find((r) => r.sid === sid);
    const st = status.find((s) => s.type === "service" && s.sid === sid);
    const label = `${sid}${g.name ? ` (${g.name})` : ""}`;
    const path = `/cluster/ha/resources/${encodeURIComponent(sid)}`;
    const base = { warnings: [] as string[], creates: 0 };
    if (a.action === "add") {
      if (res) {
        throw new ToolInputError(
          `${label} is already HA-managed (state ${res.state ?? "started"})`,
        );
      }
      if (g.template) throw new ToolInputError(`${g.vmid} is a template`);
      const state = a.state ?? "started";
      return {
        ...base,
        summary: `add ${label} to HA with state ${state}${a.group ? ` in group ${a.group}` : ""}`,
        requests: [{
          method: "POST",
          path: "/cluster/ha/resources",
          params: { sid, state, group: a.group, comment: a.comment },
        }],
        destructive: state === "stopped" && g.running,
        loses: state === "stopped" && g.running ? `HA stops ${label}` : undefined,
      };
    }
    if (!res) throw new ToolInputError(`${label} is not HA-managed`);
    const inError = st?.state === "error";
    if (a.action === "remove") {
      return {
        ...base,
        summary: `remove ${label} from HA (the guest keeps running as it is)`,
        requests: [{ method: "DELETE", path, params: {} }],
        destructive: false,
        confirm: `${label} is no longer restarted or moved when its node fails`,
      };
    }
    if (a.action === "set_state") {
      if (!a.state) throw new ToolInputError("set_state needs state");
      if (inError && a.state !== "disabled") {
        throw new ToolInputError(
          `${label} is in HA error state: set state disabled first, fix the cause, then start it again`,
        );
      }
      if (res.state === a.state && !inError) {
        throw new ToolInputError(`${label} is already ${a.state}`);
      }
      const stops = (a.state === "stopped" || a.state === "disabled") && g.running;
      return {
        ...base,
        summary: `set HA state of ${label} to ${a.state}`,
        requests: [{ method: "PUT", path, params: { state: a.state } }],
        destructive: stops,
        loses: stops ? `HA stops ${label}` : undefined,
      };
    }
    if (!a.target_node) throw new ToolInputError(`${a.action} needs target_node`);
    if (inError) {
      throw new ToolInputError(`${label} is in HA error state: disable it and fix it first`);
    }
    if (a.target_node === g.node) {
      throw new ToolInputError(`${label} is already on ${a.target_node}`);
    }
    await facts.onlineNode(a.target_node);
    const restart = a.action === "relocate" || g.type === "lxc";
    return {
      ...base,
      summary: `${a.action} ${label} from ${g.node} to ${a.target_node} through HA`,
      requests: [{ method: "POST", path: `${path}/${a.action}`, params: { node: a.target_node } }],
      destructive: restart && g.running,
      loses: restart && g.running
        ? `${label} is stopped and started again on ${a.target_node}`
        : undefined,
    };
  },
});

const Member = z.object({
  type: z.string(),
  vmid: z.number().optional(),
  storage: z.string().optional(),
})
  .loose();

const poolChange = defineMutation({
  name: "pool_change",
  title: "Change a pool",
  description:
    "Create a pool, add or remove guests/storages, or delete an empty pool. Confirmation: remove, delete, moves from another pool.",
  toolset: "pools",
  privilege: "Pool.Allocate on /pool/{pool}",
  destructive: true,
  judgedPerCall: true,
  input: {
    action: z.enum(["create", "add", "remove", "delete"]).describe("What to change"),
    pool: poolId().describe("Pool ID"),
    vmids: z.array(guestId()).max(200).optional().describe("Guests to add/remove"),
    storages: z.array(z.string().max(64)).max(50).optional().describe("Storages to add/remove"),
    allow_move: z.boolean().optional().describe("add: take guests from their current pool"),
    comment: z.string().max(256).optional().describe("Free text"),
  },
  result: {},
  async plan(a, ctx): Promise<Plan> {
    const pools = z.array(z.object({ poolid: z.string() }).loose())
      .parse(await ctx.api.get("/pools", undefined, { signal: ctx.signal }));
    const exists = pools.some((p) => p.poolid === a.pool);
    const base = { warnings: [] as string[], creates: 0, destructive: false };
    if (a.action === "create") {
      if (exists) throw new ToolInputError(`Pool ${a.pool} already exists`);
      if (a.vmids || a.storages) {
        throw new ToolInputError("create takes no members: add them after");
      }
      return {
        ...base,
        summary: `create pool ${a.pool}`,
        requests: [{
          method: "POST",
          path: "/pools",
          params: { poolid: a.pool, comment: a.comment },
        }],
      };
    }
    if (!exists) {
      throw new ToolInputError(
        `No pool ${a.pool}: pools are ${pools.map((p) => p.poolid).join(", ") || "none"}`,
      );
    }
    const members = z.array(Member).parse(
      (z.object({ members: z.array(z.unknown()) }).loose().parse(
        await ctx.api.get(`/pools/${encodeURIComponent(a.pool)}`, undefined, {
          signal: ctx.signal,
        }),
      )).members,
    );
    const guestIds = members.filter((m) => m.vmid !== undefined).map((m) => m.vmid!);
    const storageIds = [
      ...new Set(members.filter((m) => m.type === "storage").map((m) => m.storage!)),
    ];
    if (a.action === "delete") {
      if (members.length) {
        throw new ToolInputError(
          `Pool ${a.pool} is not empty: guests ${guestIds.join(", ") || "none"}, storages ${
            storageIds.join(", ") || "none"
          }; remove them first`,
        );
      }
      return {
        ...base,
        summary: `delete empty pool ${a.pool}`,
        requests: [{ method: "DELETE", path: "/pools", params: { poolid: a.pool } }],
        confirm: `ACL entries on /pool/${a.pool} stop applying to anything`,
      };
    }
    if (!a.vmids?.length && !a.storages?.length) {
      throw new ToolInputError(`${a.action} needs vmids or storages`);
    }
    const facts = new Facts(ctx);
    const warnings: string[] = [];
    let moves = false;
    for (const vmid of a.vmids ?? []) {
      const g = await facts.guest(vmid);
      if (a.action === "add") {
        if (guestIds.includes(vmid)) {
          throw new ToolInputError(`Guest ${vmid} is already in ${a.pool}`);
        }
        if (g.pool) {
          if (!a.allow_move) {
            throw new ToolInputError(
              `Guest ${vmid} is in pool ${g.pool}: pass allow_move to move it to ${a.pool}`,
            );
          }
          moves = true;
          warnings.push(`${vmid} leaves pool ${g.pool} (and the permissions granted there)`);
        }
      } else if (!guestIds.includes(vmid)) {
        throw new ToolInputError(
          `Guest ${vmid} is not in ${a.pool}: members are ${guestIds.join(", ") || "none"}`,
        );
      }
    }
    for (const s of a.storages ?? []) {
      if (a.action === "remove" && !storageIds.includes(s)) {
        throw new ToolInputError(`Storage ${s} is not in ${a.pool}`);
      }
      if (a.action === "add" && storageIds.includes(s)) {
        throw new ToolInputError(`Storage ${s} is already in ${a.pool}`);
      }
    }
    const what = [
      a.vmids?.length ? `guests ${a.vmids.join(", ")}` : "",
      a.storages?.length ? `storages ${a.storages.join(", ")}` : "",
    ].filter(Boolean).join(" and ");
    return {
      ...base,
      warnings,
      summary: `${a.action} ${what} ${a.action === "add" ? "to" : "from"} pool ${a.pool}`,
      requests: [{
        method: "PUT",
        path: "/pools",
        params: {
          poolid: a.pool,
          vms: a.vmids?.join(","),
          storage: a.storages?.join(","),
          delete: a.action === "remove" ? 1 : undefined,
          "allow-move": moves ? 1 : undefined,
        },
      }],
      confirm: a.action === "remove"
        ? `permissions granted on /pool/${a.pool} no longer cover ${what}`
        : moves
        ? "guests move between pools (and their permissions)"
        : undefined,
    };
  },
});

/** HA and pool changing rows. */
export const haPoolTools: Tool[] = [haChange, poolChange];
