/**
 * High availability: resources (add, update, remove, migrate, relocate), PVE 9 rules, legacy
 * groups and the manager's status. The simulated CRM acts at once: a requested state starts or
 * stops the guest, a migration moves it; a resource in error state stays there until disabled.
 *
 * @module
 */
import { ApiError, paramError } from "../errors.ts";
import type { Guest } from "../state.ts";
import type { HaGroup, HaResource, HaRule } from "../state_admin.ts";
import { optBool, optInt, optStr, type RouteContext, type RouteHandler, str } from "./context.ts";

function listOf(text: string | undefined): string[] {
  return (text ?? "").split(/[,;\s]+/).filter(Boolean);
}

/** Normalises `101` / `vm:101` / `ct:201` to a sid and finds the guest. */
function resolveSid(ctx: RouteContext, raw: string): { sid: string; guest?: Guest } {
  const m = /^(?:(vm|ct):)?(\d+)$/.exec(raw);
  if (!m) throw paramError({ sid: `invalid HA resource id '${raw}'` });
  const vmid = Number(m[2]);
  const guest = ctx.sim.state.guests.get(vmid);
  const type = m[1] ?? (guest?.type === "lxc" ? "ct" : "vm");
  return { sid: `${type}:${vmid}`, guest };
}

function resourceOf(ctx: RouteContext): { r: HaResource; guest?: Guest } {
  const { sid, guest } = resolveSid(ctx, str(ctx, "sid"));
  const r = ctx.sim.state.ha.resources.get(sid);
  if (!r) throw new ApiError(500, `service '${sid}' not defined`);
  return { r, guest };
}

/** What the simulated CRM does after a resource's requested state changed. */
function settle(r: HaResource, guest: Guest | undefined, now: number): void {
  if (r.status === "error" && r.state !== "disabled") return;
  if (!guest) {
    r.status = "error";
    return;
  }
  if (r.state === "started") {
    if (guest.status !== "running") {
      guest.status = "running";
      guest.startedAt = now;
    }
    r.status = "started";
  } else if (r.state === "stopped" || r.state === "disabled") {
    guest.status = "stopped";
    guest.startedAt = undefined;
    r.status = r.state;
  } else r.status = "ignored";
}

function resourceView(r: HaResource, guest?: Guest): Record<string, unknown> {
  const out: Record<string, unknown> = {
    sid: r.sid,
    type: r.type,
    state: r.state,
    digest: "0",
  };
  for (const k of ["group", "comment", "max_restart", "max_relocate", "failback"] as const) {
    if (r[k] !== undefined) out[k] = typeof r[k] === "boolean" ? (r[k] ? 1 : 0) : r[k];
  }
  if (guest) out.node = guest.node;
  return out;
}

const listResources: RouteHandler = (ctx) => {
  const type = optStr(ctx, "type");
  return [...ctx.sim.state.ha.resources.values()]
    .filter((r) => !type || r.type === type)
    .map((r) => resourceView(r, ctx.sim.state.guests.get(Number(r.sid.split(":")[1]))));
};

const getResource: RouteHandler = (ctx) => {
  const { r, guest } = resourceOf(ctx);
  return resourceView(r, guest);
};

function checkGroup(ctx: RouteContext): string | undefined {
  const group = optStr(ctx, "group");
  if (group !== undefined && !ctx.sim.state.ha.groups.has(group)) {
    throw new ApiError(500, `group '${group}' does not exist`);
  }
  return group;
}

const addResource: RouteHandler = (ctx) => {
  const { sid, guest } = resolveSid(ctx, str(ctx, "sid"));
  const { ha } = ctx.sim.state;
  if (!guest) throw new ApiError(500, `no such VM or CT '${sid.split(":")[1]}'`);
  const type = optStr(ctx, "type") ?? sid.split(":")[0];
  if (type !== (guest.type === "lxc" ? "ct" : "vm")) {
    throw new ApiError(500, `resource type '${type}' does not match guest ${guest.vmid}`);
  }
  if (ha.resources.has(sid)) throw new ApiError(500, `resource ID '${sid}' already defined`);
  const r: HaResource = {
    sid,
    type: type as "vm" | "ct",
    state: (optStr(ctx, "state") ?? "started").replace("enabled", "started") as HaResource["state"],
    group: checkGroup(ctx),
    comment: optStr(ctx, "comment"),
    max_restart: optInt(ctx, "max_restart"),
    max_relocate: optInt(ctx, "max_relocate"),
    failback: optBool(ctx, "failback"),
    status: "queued",
  };
  ha.resources.set(sid, r);
  settle(r, guest, ctx.now);
  return null;
};

const updateResource: RouteHandler = (ctx) => {
  const { r, guest } = resourceOf(ctx);
  const group = checkGroup(ctx);
  for (const k of listOf(optStr(ctx, "delete"))) {
    if (k === "group" || k === "comment" || k === "max_restart" || k === "max_relocate") {
      delete r[k];
    }
  }
  const state = optStr(ctx, "state");
  if (state !== undefined) r.state = state.replace("enabled", "started") as HaResource["state"];
  if (group !== undefined) r.group = group;
  const comment = optStr(ctx, "comment");
  if (comment !== undefined) r.comment = comment;
  for (const k of ["max_restart", "max_relocate"] as const) {
    const v = optInt(ctx, k);
    if (v !== undefined) r[k] = v;
  }
  const failback = optBool(ctx, "failback");
  if (failback !== undefined) r.failback = failback;
  if (r.state === "disabled" && r.status === "error") r.status = "disabled";
  settle(r, guest, ctx.now);
  return null;
};

const removeResource: RouteHandler = (ctx) => {
  const { r } = resourceOf(ctx);
  const { ha } = ctx.sim.state;
  ha.resources.delete(r.sid);
  if (optBool(ctx, "purge") ?? true) {
    for (const rule of ha.rules.values()) {
      rule.resources = rule.resources.filter((x) => x !== r.sid);
      if (!rule.resources.length) ha.rules.delete(rule.rule);
    }
  }
  return null;
};

function move(ctx: RouteContext): unknown {
  const { r, guest } = resourceOf(ctx);
  const target = str(ctx, "node");
  const n = ctx.sim.state.nodes.get(target);
  if (!n) throw new ApiError(500, `no such cluster node '${target}'`);
  if (!n.online) throw new ApiError(500, `node '${target}' is not online`);
  if (r.status === "error") {
    throw new ApiError(500, `service '${r.sid}' in error state, must be disabled and fixed first`);
  }
  if (guest) {
    guest.node = target;
    if (ctx.template.endsWith("/relocate") && guest.status === "running") guest.startedAt = ctx.now;
  }
  return { sid: r.sid, "requested-node": target };
}

// Rules (PVE 9).

function ruleView(r: HaRule): Record<string, unknown> {
  const out: Record<string, unknown> = {
    rule: r.rule,
    type: r.type,
    resources: r.resources.join(","),
    digest: "0",
  };
  if (r.nodes) out.nodes = r.nodes.join(",");
  if (r.strict !== undefined) out.strict = r.strict ? 1 : 0;
  if (r.affinity) out.affinity = r.affinity;
  if (r.disable) out.disable = 1;
  if (r.comment) out.comment = r.comment;
  return out;
}

function ruleOf(ctx: RouteContext): HaRule {
  const id = str(ctx, "rule");
  const r = ctx.sim.state.ha.rules.get(id);
  if (!r) throw new ApiError(500, `HA rule '${id}' does not exist`);
  return r;
}

function checkRule(ctx: RouteContext, r: HaRule): void {
  for (const sid of r.resources) {
    if (!ctx.sim.state.ha.resources.has(sid)) {
      throw new ApiError(500, `resource '${sid}' is not HA managed`);
    }
  }
  if (r.type === "node-affinity") {
    if (!r.nodes?.length) throw paramError({ nodes: "node-affinity rules need nodes" });
    for (const entry of r.nodes) {
      const name = entry.split(":")[0];
      if (!ctx.sim.state.nodes.has(name)) throw new ApiError(500, `no such node '${name}'`);
    }
  } else {
    if (!r.affinity) throw paramError({ affinity: "resource-affinity rules need affinity" });
    if (r.resources.length < 2) {
      throw paramError({ resources: "resource-affinity rules need at least two resources" });
    }
  }
}

function ruleFields(ctx: RouteContext, r: HaRule): void {
  const resources = optStr(ctx, "resources");
  if (resources !== undefined) {
    r.resources = listOf(resources).map((x) => resolveSid(ctx, x).sid);
  }
  const nodes = optStr(ctx, "nodes");
  if (nodes !== undefined) r.nodes = listOf(nodes);
  const strict = optBool(ctx, "strict");
  if (strict !== undefined) r.strict = strict;
  const affinity = optStr(ctx, "affinity");
  if (affinity !== undefined) r.affinity = affinity as HaRule["affinity"];
  const disable = optBool(ctx, "disable");
  if (disable !== undefined) r.disable = disable;
  const comment = optStr(ctx, "comment");
  if (comment !== undefined) r.comment = comment;
}

const listRules: RouteHandler = (ctx) => {
  const type = optStr(ctx, "type");
  const resource = optStr(ctx, "resource");
  return [...ctx.sim.state.ha.rules.values()]
    .filter((r) => (!type || r.type === type) && (!resource || r.resources.includes(resource)))
    .map(ruleView);
};

const getRule: RouteHandler = (ctx) => ruleView(ruleOf(ctx));

const addRule: RouteHandler = (ctx) => {
  const id = str(ctx, "rule");
  const { rules } = ctx.sim.state.ha;
  if (rules.has(id)) throw new ApiError(500, `HA rule '${id}' already defined`);
  const r: HaRule = { rule: id, type: str(ctx, "type") as HaRule["type"], resources: [] };
  ruleFields(ctx, r);
  checkRule(ctx, r);
  rules.set(id, r);
  return null;
};

const updateRule: RouteHandler = (ctx) => {
  const current = ruleOf(ctx);
  if (str(ctx, "type") !== current.type) throw new ApiError(500, "rule type cannot be changed");
  const r: HaRule = { ...current };
  for (const k of listOf(optStr(ctx, "delete"))) {
    if (k === "comment" || k === "strict" || k === "disable") delete r[k];
  }
  ruleFields(ctx, r);
  checkRule(ctx, r);
  ctx.sim.state.ha.rules.set(r.rule, r);
  return null;
};

const deleteRule: RouteHandler = (ctx) => {
  ctx.sim.state.ha.rules.delete(ruleOf(ctx).rule);
  return null;
};

// Legacy groups.

function groupView(g: HaGroup): Record<string, unknown> {
  const out: Record<string, unknown> = {
    group: g.group,
    type: "group",
    nodes: g.nodes.join(","),
    digest: "0",
  };
  if (g.restricted !== undefined) out.restricted = g.restricted ? 1 : 0;
  if (g.nofailback !== undefined) out.nofailback = g.nofailback ? 1 : 0;
  if (g.comment) out.comment = g.comment;
  return out;
}

function haGroupOf(ctx: RouteContext): HaGroup {
  const id = str(ctx, "group");
  const g = ctx.sim.state.ha.groups.get(id);
  if (!g) throw new ApiError(500, `no such ha group '${id}'`);
  return g;
}

function groupFields(ctx: RouteContext, g: HaGroup): void {
  const nodes = optStr(ctx, "nodes");
  if (nodes !== undefined) {
    g.nodes = listOf(nodes);
    for (const e of g.nodes) {
      if (!ctx.sim.state.nodes.has(e.split(":")[0])) {
        throw new ApiError(500, `no such node '${e.split(":")[0]}'`);
      }
    }
  }
  const restricted = optBool(ctx, "restricted");
  if (restricted !== undefined) g.restricted = restricted;
  const nofailback = optBool(ctx, "nofailback");
  if (nofailback !== undefined) g.nofailback = nofailback;
  const comment = optStr(ctx, "comment");
  if (comment !== undefined) g.comment = comment;
}

const addGroup: RouteHandler = (ctx) => {
  const id = str(ctx, "group");
  const { groups } = ctx.sim.state.ha;
  if (groups.has(id)) throw new ApiError(500, `ha group '${id}' already defined`);
  const g: HaGroup = { group: id, nodes: [] };
  groupFields(ctx, g);
  groups.set(id, g);
  return null;
};

const updateGroup: RouteHandler = (ctx) => {
  groupFields(ctx, haGroupOf(ctx));
  return null;
};

const deleteGroup: RouteHandler = (ctx) => {
  const g = haGroupOf(ctx);
  const user = [...ctx.sim.state.ha.resources.values()].find((r) => r.group === g.group);
  if (user) throw new ApiError(500, `ha group '${g.group}' is used by resource '${user.sid}'`);
  ctx.sim.state.ha.groups.delete(g.group);
  return null;
};

// Status.

const statusCurrent: RouteHandler = (ctx) => {
  const { state } = ctx.sim;
  const ts = Math.floor(ctx.now / 1000);
  const master = ctx.sim.localNode;
  const out: Record<string, unknown>[] = [
    { id: "quorum", type: "quorum", node: master, status: "OK", quorate: 1 },
    {
      id: "master",
      type: "master",
      node: master,
      status: `${master} (active, ${new Date(ctx.now).toUTCString()})`,
      timestamp: ts,
    },
  ];
  for (const n of state.nodes.values()) {
    const active = [...state.ha.resources.values()].some((r) =>
      state.guests.get(Number(r.sid.split(":")[1]))?.node === n.name
    );
    const mode = !n.online ? "old timestamp - dead?" : active ? "active" : "idle";
    out.push({
      id: `lrm:${n.name}`,
      type: "lrm",
      node: n.name,
      status: `${n.name} (${mode}, ${new Date(ctx.now).toUTCString()})`,
      timestamp: ts,
    });
  }
  for (const r of state.ha.resources.values()) {
    const g = state.guests.get(Number(r.sid.split(":")[1]));
    const e: Record<string, unknown> = {
      id: `service:${r.sid}`,
      type: "service",
      sid: r.sid,
      node: g?.node ?? master,
      state: r.status,
      request_state: r.state,
      crm_state: r.status,
      status: `${r.sid} (${g?.node ?? "?"}, ${r.status})`,
    };
    if (r.max_restart !== undefined) e.max_restart = r.max_restart;
    if (r.max_relocate !== undefined) e.max_relocate = r.max_relocate;
    if (r.failback !== undefined) e.failback = r.failback ? 1 : 0;
    out.push(e);
  }
  return out;
};

const statusIndex: RouteHandler = () => [{ name: "current" }, { name: "manager_status" }];

const managerStatus: RouteHandler = (ctx) => {
  const { state } = ctx.sim;
  const services: Record<string, unknown> = {};
  for (const r of state.ha.resources.values()) {
    const g = state.guests.get(Number(r.sid.split(":")[1]));
    services[r.sid] = { node: g?.node, state: r.status, uid: r.sid };
  }
  return {
    manager_status: {
      master_node: ctx.sim.localNode,
      node_status: Object.fromEntries(
        [...state.nodes.values()].map((n) => [n.name, n.online ? "online" : "unknown"]),
      ),
      service_status: services,
      timestamp: Math.floor(ctx.now / 1000),
    },
    quorum: { node: ctx.sim.localNode, quorate: "1" },
  };
};

/** HA endpoints. */
export const haRoutes: Record<string, RouteHandler> = {
  "GET /cluster/ha/resources": listResources,
  "POST /cluster/ha/resources": addResource,
  "GET /cluster/ha/resources/{sid}": getResource,
  "PUT /cluster/ha/resources/{sid}": updateResource,
  "DELETE /cluster/ha/resources/{sid}": removeResource,
  "POST /cluster/ha/resources/{sid}/migrate": move,
  "POST /cluster/ha/resources/{sid}/relocate": move,
  "GET /cluster/ha/rules": listRules,
  "POST /cluster/ha/rules": addRule,
  "GET /cluster/ha/rules/{rule}": getRule,
  "PUT /cluster/ha/rules/{rule}": updateRule,
  "DELETE /cluster/ha/rules/{rule}": deleteRule,
  "GET /cluster/ha/groups": listGroups,
  "POST /cluster/ha/groups": addGroup,
  "GET /cluster/ha/groups/{group}": (ctx) => groupView(haGroupOf(ctx)),
  "PUT /cluster/ha/groups/{group}": updateGroup,
  "DELETE /cluster/ha/groups/{group}": deleteGroup,
  "GET /cluster/ha/status": statusIndex,
  "GET /cluster/ha/status/current": statusCurrent,
  "GET /cluster/ha/status/manager_status": managerStatus,
};

function listGroups(ctx: RouteContext): unknown {
  return [...ctx.sim.state.ha.groups.values()].map(groupView);
}
