/**
 * Access management endpoints: users (with groups and API tokens), groups, roles and ACLs,
 * with PVE's existence checks and messages. A new token's secret is returned only once.
 *
 * @module
 */
import { ApiError, paramError } from "../errors.ts";
import { ALL_PRIVILEGES } from "../privileges.ts";
import type { TokenState, UserState } from "../state.ts";
import type { AclEntry } from "../state_admin.ts";
import {
  bool,
  optBool,
  optInt,
  optStr,
  type RouteContext,
  type RouteHandler,
  str,
} from "./context.ts";

const REALMS = new Set(["pam", "pve"]);

function listOf(text: string | undefined): string[] {
  return (text ?? "").split(/[,;\s]+/).filter(Boolean);
}

function userOf(ctx: RouteContext, id = str(ctx, "userid")): UserState {
  const u = ctx.sim.state.users.get(id);
  if (!u) throw new ApiError(500, `no such user ('${id}')`);
  return u;
}

function groupsOfUser(ctx: RouteContext, userid: string): string[] {
  return [...ctx.sim.state.access.groups.values()]
    .filter((g) => g.members.has(userid))
    .map((g) => g.groupid)
    .sort();
}

function tokenInfo(t: TokenState): Record<string, unknown> {
  const out: Record<string, unknown> = { privsep: t.privsep ? 1 : 0 };
  if (t.comment) out.comment = t.comment;
  if (t.expire) out.expire = t.expire;
  return out;
}

function userFields(u: UserState): Record<string, unknown> {
  const out: Record<string, unknown> = {
    enable: u.enable === false ? 0 : 1,
    expire: u.expire ?? 0,
  };
  for (const k of ["comment", "email", "firstname", "lastname"] as const) {
    if (u[k]) out[k] = u[k];
  }
  return out;
}

const listUsers: RouteHandler = (ctx) => {
  const enabled = optBool(ctx, "enabled");
  const full = bool(ctx, "full");
  return [...ctx.sim.state.users.values()]
    .filter((u) => enabled === undefined || (u.enable !== false) === enabled)
    .map((u) => {
      const e: Record<string, unknown> = {
        userid: u.userid,
        ...userFields(u),
        "realm-type": u.userid.split("@")[1],
      };
      const groups = groupsOfUser(ctx, u.userid);
      if (groups.length) e.groups = groups.join(",");
      if (full && u.tokens.size) {
        e.tokens = [...u.tokens.entries()].map(([tokenid, t]) => ({ tokenid, ...tokenInfo(t) }));
      }
      return e;
    });
};

const getUser: RouteHandler = (ctx) => {
  const u = userOf(ctx);
  return {
    ...userFields(u),
    groups: groupsOfUser(ctx, u.userid),
    tokens: Object.fromEntries([...u.tokens.entries()].map(([id, t]) => [id, tokenInfo(t)])),
  };
};

function checkGroups(ctx: RouteContext, groups: string[]): void {
  for (const g of groups) {
    if (!ctx.sim.state.access.groups.has(g)) throw new ApiError(500, `no such group '${g}'`);
  }
}

function setGroups(ctx: RouteContext, userid: string, groups: string[], append: boolean): void {
  for (const g of ctx.sim.state.access.groups.values()) {
    if (groups.includes(g.groupid)) g.members.add(userid);
    else if (!append) g.members.delete(userid);
  }
}

function applyUserFields(ctx: RouteContext, u: UserState): void {
  const enable = optBool(ctx, "enable");
  if (enable !== undefined) u.enable = enable;
  const expire = optInt(ctx, "expire");
  if (expire !== undefined) u.expire = expire;
  for (const k of ["comment", "email", "firstname", "lastname"] as const) {
    const v = optStr(ctx, k);
    if (v !== undefined) u[k] = v;
  }
}

const createUser: RouteHandler = (ctx) => {
  const userid = str(ctx, "userid");
  const realm = userid.split("@")[1];
  if (!REALMS.has(realm)) throw new ApiError(500, `create user failed: unknown realm '${realm}'`);
  if (ctx.sim.state.users.has(userid)) {
    throw new ApiError(500, `create user failed: user '${userid}' already exists`);
  }
  const groups = listOf(optStr(ctx, "groups"));
  checkGroups(ctx, groups);
  const u: UserState = {
    userid,
    password: optStr(ctx, "password") ?? "",
    privileges: new Set(),
    tokens: new Map(),
  };
  applyUserFields(ctx, u);
  ctx.sim.state.users.set(userid, u);
  setGroups(ctx, userid, groups, true);
  return null;
};

const updateUser: RouteHandler = (ctx) => {
  const u = userOf(ctx);
  const groupsText = optStr(ctx, "groups");
  const groups = listOf(groupsText);
  checkGroups(ctx, groups);
  applyUserFields(ctx, u);
  if (groupsText !== undefined) setGroups(ctx, u.userid, groups, bool(ctx, "append"));
  return null;
};

const deleteUser: RouteHandler = (ctx) => {
  const u = userOf(ctx);
  if (u.userid === "root@pam") throw new ApiError(500, "deleting root@pam is not allowed");
  const { access } = ctx.sim.state;
  for (const g of access.groups.values()) g.members.delete(u.userid);
  access.acl = access.acl.filter((e) =>
    !(e.type === "user" && e.ugid === u.userid) &&
    !(e.type === "token" && e.ugid.startsWith(`${u.userid}!`))
  );
  ctx.sim.state.users.delete(u.userid);
  return null;
};

// Tokens.

function tokenOf(ctx: RouteContext, u: UserState): [string, TokenState] {
  const id = str(ctx, "tokenid");
  const t = u.tokens.get(id);
  if (!t) throw new ApiError(500, `no such token '${id}' for user '${u.userid}'`);
  return [id, t];
}

const listTokens: RouteHandler = (ctx) =>
  [...userOf(ctx).tokens.entries()].map(([tokenid, t]) => ({ tokenid, ...tokenInfo(t) }));

const getToken: RouteHandler = (ctx) => tokenInfo(tokenOf(ctx, userOf(ctx))[1]);

const createToken: RouteHandler = (ctx) => {
  const u = userOf(ctx);
  const id = str(ctx, "tokenid");
  if (!/^[A-Za-z][A-Za-z0-9.\-_]+$/.test(id)) {
    throw paramError({ tokenid: "value does not match the regex pattern" });
  }
  if (u.tokens.has(id)) throw new ApiError(500, "Token already exists.");
  const t: TokenState = {
    secret: crypto.randomUUID(),
    privsep: optBool(ctx, "privsep") ?? true,
    comment: optStr(ctx, "comment"),
    expire: optInt(ctx, "expire"),
  };
  u.tokens.set(id, t);
  return { "full-tokenid": `${u.userid}!${id}`, info: tokenInfo(t), value: t.secret };
};

const updateToken: RouteHandler = (ctx) => {
  const [, t] = tokenOf(ctx, userOf(ctx));
  for (const k of listOf(optStr(ctx, "delete"))) {
    if (k === "comment") delete t.comment;
    if (k === "expire") delete t.expire;
  }
  const privsep = optBool(ctx, "privsep");
  if (privsep !== undefined) t.privsep = privsep;
  const comment = optStr(ctx, "comment");
  if (comment !== undefined) t.comment = comment;
  const expire = optInt(ctx, "expire");
  if (expire !== undefined) t.expire = expire;
  return tokenInfo(t);
};

const deleteToken: RouteHandler = (ctx) => {
  const u = userOf(ctx);
  const [id] = tokenOf(ctx, u);
  u.tokens.delete(id);
  const full = `${u.userid}!${id}`;
  const { access } = ctx.sim.state;
  access.acl = access.acl.filter((e) => !(e.type === "token" && e.ugid === full));
  return null;
};

// Groups.

function groupOf(ctx: RouteContext) {
  const id = str(ctx, "groupid");
  const g = ctx.sim.state.access.groups.get(id);
  if (!g) throw new ApiError(500, `group '${id}' does not exist`);
  return g;
}

const listGroups: RouteHandler = (ctx) =>
  [...ctx.sim.state.access.groups.values()].map((g) => {
    const e: Record<string, unknown> = { groupid: g.groupid };
    if (g.comment) e.comment = g.comment;
    if (g.members.size) e.users = [...g.members].sort().join(",");
    return e;
  });

const getGroup: RouteHandler = (ctx) => {
  const g = groupOf(ctx);
  const e: Record<string, unknown> = { members: [...g.members].sort() };
  if (g.comment) e.comment = g.comment;
  return e;
};

const createGroup: RouteHandler = (ctx) => {
  const id = str(ctx, "groupid");
  const { groups } = ctx.sim.state.access;
  if (groups.has(id)) throw new ApiError(500, `create group failed: group '${id}' already exists`);
  groups.set(id, { groupid: id, comment: optStr(ctx, "comment"), members: new Set() });
  return null;
};

const updateGroup: RouteHandler = (ctx) => {
  const g = groupOf(ctx);
  const comment = optStr(ctx, "comment");
  if (comment !== undefined) g.comment = comment;
  return null;
};

const deleteGroup: RouteHandler = (ctx) => {
  const g = groupOf(ctx);
  const { access } = ctx.sim.state;
  access.groups.delete(g.groupid);
  access.acl = access.acl.filter((e) => !(e.type === "group" && e.ugid === g.groupid));
  return null;
};

// Roles.

function roleOf(ctx: RouteContext) {
  const id = str(ctx, "roleid");
  const r = ctx.sim.state.access.roles.get(id);
  if (!r) throw new ApiError(500, `role '${id}' does not exist`);
  return r;
}

function privsParam(ctx: RouteContext): string[] {
  const privs = listOf(optStr(ctx, "privs"));
  const unknown = privs.find((p) => !ALL_PRIVILEGES.includes(p));
  if (unknown) throw paramError({ privs: `invalid privilege '${unknown}'` });
  return privs;
}

const listRoles: RouteHandler = (ctx) =>
  [...ctx.sim.state.access.roles.values()].map((r) => ({
    roleid: r.roleid,
    privs: [...r.privs].sort().join(","),
    special: r.special ? 1 : 0,
  }));

const getRole: RouteHandler = (ctx) =>
  Object.fromEntries([...roleOf(ctx).privs].sort().map((p) => [p, 1]));

const createRole: RouteHandler = (ctx) => {
  const id = str(ctx, "roleid");
  const { roles } = ctx.sim.state.access;
  if (roles.has(id)) throw new ApiError(500, `role '${id}' already exists`);
  roles.set(id, { roleid: id, privs: new Set(privsParam(ctx)), special: false });
  return null;
};

const updateRole: RouteHandler = (ctx) => {
  const r = roleOf(ctx);
  if (r.special) throw new ApiError(500, `cannot modify built-in role '${r.roleid}'`);
  const privs = privsParam(ctx);
  if (!bool(ctx, "append")) r.privs.clear();
  for (const p of privs) r.privs.add(p);
  return null;
};

const deleteRole: RouteHandler = (ctx) => {
  const r = roleOf(ctx);
  if (r.special) throw new ApiError(500, `cannot delete built-in role '${r.roleid}'`);
  const { access } = ctx.sim.state;
  access.roles.delete(r.roleid);
  access.acl = access.acl.filter((e) => e.roleid !== r.roleid);
  return null;
};

// ACLs.

const listAcl: RouteHandler = (ctx) =>
  ctx.sim.state.access.acl.map((e) => ({ ...e, propagate: e.propagate ? 1 : 0 }));

const updateAcl: RouteHandler = (ctx) => {
  const path = str(ctx, "path");
  if (!/^\/[\w/.\-{}]*$/.test(path)) throw paramError({ path: `invalid ACL path '${path}'` });
  const { access, users } = ctx.sim.state;
  const roles = listOf(str(ctx, "roles"));
  for (const r of roles) {
    if (!access.roles.has(r)) throw new ApiError(500, `role '${r}' does not exist`);
  }
  const subjects: [AclEntry["type"], string][] = [];
  for (const u of listOf(optStr(ctx, "users"))) {
    if (!users.has(u)) throw new ApiError(500, `user '${u}' does not exist`);
    subjects.push(["user", u]);
  }
  for (const g of listOf(optStr(ctx, "groups"))) {
    if (!access.groups.has(g)) throw new ApiError(500, `group '${g}' does not exist`);
    subjects.push(["group", g]);
  }
  for (const t of listOf(optStr(ctx, "tokens"))) {
    const [uid, name] = t.split("!");
    if (!users.get(uid)?.tokens.has(name)) throw new ApiError(500, `no such token '${t}'`);
    subjects.push(["token", t]);
  }
  if (!subjects.length) throw paramError({ users: "no users, groups or tokens specified" });
  const propagate = optBool(ctx, "propagate") ?? true;
  const remove = bool(ctx, "delete");
  for (const [type, ugid] of subjects) {
    for (const roleid of roles) {
      const i = access.acl.findIndex((e) =>
        e.path === path && e.type === type && e.ugid === ugid && e.roleid === roleid
      );
      if (remove) {
        if (i >= 0) access.acl.splice(i, 1);
      } else if (i >= 0) access.acl[i].propagate = propagate;
      else access.acl.push({ path, type, ugid, roleid, propagate });
    }
  }
  return null;
};

/** Access management endpoints. */
export const accessAdminRoutes: Record<string, RouteHandler> = {
  "GET /access/users": listUsers,
  "POST /access/users": createUser,
  "GET /access/users/{userid}": getUser,
  "PUT /access/users/{userid}": updateUser,
  "DELETE /access/users/{userid}": deleteUser,
  "GET /access/users/{userid}/token": listTokens,
  "GET /access/users/{userid}/token/{tokenid}": getToken,
  "POST /access/users/{userid}/token/{tokenid}": createToken,
  "PUT /access/users/{userid}/token/{tokenid}": updateToken,
  "DELETE /access/users/{userid}/token/{tokenid}": deleteToken,
  "GET /access/groups": listGroups,
  "POST /access/groups": createGroup,
  "GET /access/groups/{groupid}": getGroup,
  "PUT /access/groups/{groupid}": updateGroup,
  "DELETE /access/groups/{groupid}": deleteGroup,
  "GET /access/roles": listRoles,
  "POST /access/roles": createRole,
  "GET /access/roles/{roleid}": getRole,
  "PUT /access/roles/{roleid}": updateRole,
  "DELETE /access/roles/{roleid}": deleteRole,
  "GET /access/acl": listAcl,
  "PUT /access/acl": updateAcl,
};
