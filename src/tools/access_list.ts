/**
 * `access_list`: users (enabled, expiry, realm, TFA), groups, roles, ACL entries and API tokens
 * of the cluster, and "who can do PRIVILEGE on PATH" answered from the ACL tree the way PVE
 * evaluates it: the deepest path with an entry for a subject decides (ancestors only through
 * propagating entries), user entries beat group entries on the same path, NoAccess grants
 * nothing, and a privilege-separated token gets its own ACLs limited to its user's privileges.
 *
 * @module
 */
import { z } from "zod";
import { ProxmoxApiError } from "../proxmox/errors.ts";
import { flag, num } from "../proxmox/resources.ts";
import { args, oneOf } from "./args.ts";
import type { ToolContext } from "./context.ts";
import { ToolInputError } from "./context.ts";
import { table, time } from "./format.ts";
import { rows } from "./listing.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";
import { nowMs } from "./timespec.ts";

const User = z.object({
  userid: z.string(),
  enable: flag.optional(),
  expire: num.optional(),
  groups: z.union([z.string(), z.array(z.string())]).optional(),
  comment: z.string().optional(),
  email: z.string().optional(),
  "realm-type": z.string().optional(),
  keys: z.string().optional(),
  tokens: z.array(
    z.object({
      tokenid: z.string(),
      privsep: flag.optional(),
      expire: num.optional(),
      comment: z.string().optional(),
    }).loose(),
  ).optional(),
}).loose();
type User = z.infer<typeof User>;

const Group = z.object({
  groupid: z.string(),
  users: z.string().optional(),
  comment: z.string().optional(),
}).loose();
const Role = z.object({
  roleid: z.string(),
  privs: z.string().optional(),
  special: flag.optional(),
}).loose();
const Acl = z.object({
  path: z.string(),
  type: z.string(),
  ugid: z.string(),
  roleid: z.string(),
  propagate: flag.optional(),
}).loose();
type Acl = z.infer<typeof Acl>;
const Tfa = z.array(
  z.object({
    userid: z.string(),
    entries: z.array(z.object({ type: z.string() }).loose()).default([]),
  }).loose(),
);

const KINDS = ["users", "groups", "roles", "acl", "tokens", "who_can"] as const;

const list = (v?: string | string[]) =>
  Array.isArray(v) ? v : (v ?? "").split(/[,;\s]+/).filter(Boolean);

/** Path prefixes from `/` down to `path`: `/vms/105` → `/`, `/vms`, `/vms/105`. */
export function pathChain(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return ["/", ...parts.map((_, i) => "/" + parts.slice(0, i + 1).join("/"))];
}

/** Roles a subject holds on `path` from the ACL entries that name it (`user` beats `group`). */
export function rolesOn(
  acl: readonly Acl[],
  path: string,
  matches: { users: string[]; groups: string[] },
): { roles: string[]; via?: Acl[] } {
  let roles: string[] = [];
  let via: Acl[] | undefined;
  const chain = pathChain(path);
  chain.forEach((p, i) => {
    const here = acl.filter((e) =>
      e.path === p && (i === chain.length - 1 || e.propagate !== false)
    );
    const own = here.filter((e) =>
      (e.type === "user" || e.type === "token") && matches.users.includes(e.ugid)
    );
    const fromGroups = here.filter((e) => e.type === "group" && matches.groups.includes(e.ugid));
    const deciding = own.length ? own : fromGroups;
    if (deciding.length) {
      roles = deciding.map((e) => e.roleid);
      via = deciding;
    }
  });
  return { roles, via };
}

async function get<T>(
  ctx: ToolContext,
  path: string,
  schema: z.ZodType<T>,
  params?: Record<string, number>,
) {
  return schema.parse(await ctx.api.get(path, params, { signal: ctx.signal }));
}

type Subject = {
  subject: string;
  kind: "user" | "token";
  roles: string[];
  via: string;
};

const accessList = defineTool({
  name: "access_list",
  title: "Users, roles and ACLs",
  description:
    "Access control: users (enabled, expiry, realm, TFA), groups, roles with privileges, ACL entries, API tokens; kind=who_can answers who has a privilege on a path.",
  toolset: "access",
  privilege: "User.Modify or Sys.Audit on /access (entries are filtered by the caller's rights)",
  annotations: READ_ONLY,
  input: args({
    kind: oneOf(KINDS, "kind").default("users").describe("What to list (default users)"),
    privilege: z.string().regex(/^[A-Z][A-Za-z]+(\.[A-Za-z]+)+$/, {
      error: "privilege must be a PVE privilege such as VM.PowerMgmt or Datastore.Allocate",
    }).optional().describe("who_can: privilege, e.g. VM.PowerMgmt"),
    path: z.string().regex(/^\/[\w\-./{}@]*$/, {
      error: "path must be an ACL path such as /vms/105, /pool/lab or /storage/local",
    }).optional().describe("who_can: ACL path, e.g. /vms/105"),
    role: z.string().max(64).optional().describe("roles: only this role, with its privileges"),
  }),
  output: z.object({
    kind: z.string(),
    users: rows(
      "userid, realm, enabled, expires, expired, tfa, groups, tokens, comment",
    ).optional(),
    groups: rows("groupid, members, comment").optional(),
    roles: rows("roleid, builtin, privilege_count, privileges")
      .optional(),
    acl: rows("path, type, who, role, propagate").optional(),
    tokens: rows("tokenid, user, privsep, expires, comment").optional(),
    who_can: z.object({
      privilege: z.string(),
      path: z.string(),
      pool: z.string().optional().describe("the guest's pool, whose ACLs count too"),
      roles_granting: z.array(z.string()),
      subjects: rows("subject, kind, roles, via"),
    }).optional(),
  }),
  async handler(a, ctx) {
    const nowSec = nowMs(ctx) / 1000;
    if (a.kind === "who_can" && (!a.privilege || !a.path)) {
      throw new ToolInputError(
        "kind who_can needs privilege and path, e.g. privilege=VM.PowerMgmt, path=/vms/105",
      );
    }
    if (a.kind === "groups") {
      const groups = (await get(ctx, "/access/groups", z.array(Group))).map((g) => ({
        groupid: g.groupid,
        members: list(g.users).sort(),
        comment: g.comment,
      }));
      const text = table(groups, ["groupid", ["members", (g) => g.members.join(",")], "comment"]);
      return { structured: { kind: a.kind, groups }, text };
    }
    if (a.kind === "acl") {
      const acl = (await get(ctx, "/access/acl", z.array(Acl))).map((e) => ({
        path: e.path,
        type: e.type,
        who: e.ugid,
        role: e.roleid,
        propagate: e.propagate !== false,
      })).sort((x, y) => x.path.localeCompare(y.path));
      const text = table(acl, ["path", "type", "who", "role", [
        "propagate",
        (e) => e.propagate ? "yes" : "no",
      ]]);
      return { structured: { kind: a.kind, acl }, text };
    }
    const roleList = await get(ctx, "/access/roles", z.array(Role));
    if (a.kind === "roles") {
      if (a.role && !roleList.some((r) => r.roleid === a.role)) {
        throw new ToolInputError(
          `Unknown role "${a.role}": roles are ${roleList.map((r) => r.roleid).sort().join(", ")}`,
        );
      }
      const roles = roleList.filter((r) => !a.role || r.roleid === a.role).map((r) => {
        const privs = list(r.privs).sort();
        return {
          roleid: r.roleid,
          builtin: Boolean(r.special),
          privilege_count: privs.length,
          privileges: a.role || !r.special ? privs : undefined,
        };
      }).sort((x, y) => Number(x.builtin) - Number(y.builtin) || x.roleid.localeCompare(y.roleid));
      const text = table(roles, [
        "roleid",
        ["builtin", (r) => r.builtin ? "yes" : "no"],
        ["privileges", (r) => r.privileges?.join(",") ?? `${r.privilege_count} privileges`],
      ]);
      return { structured: { kind: a.kind, roles }, text };
    }
    const users = await get(ctx, "/access/users", z.array(User), { full: 1 });
    if (a.kind === "tokens") {
      const tokens = users.flatMap((u) =>
        (u.tokens ?? []).map((t) => ({
          tokenid: `${u.userid}!${t.tokenid}`,
          user: u.userid,
          privsep: t.privsep !== false,
          expires: t.expire ? time(t.expire) : undefined,
          comment: t.comment,
        }))
      );
      const text = tokens.length
        ? table(tokens, [
          "tokenid",
          ["privsep", (t) => t.privsep ? "yes" : "no"],
          "expires",
          "comment",
        ])
        : "no API tokens";
      return { structured: { kind: a.kind, tokens }, text };
    }
    if (a.kind === "users") {
      let tfa: Map<string, string[]> | undefined;
      try {
        tfa = new Map(
          (await get(ctx, "/access/tfa", Tfa)).map((t) => [t.userid, t.entries.map((e) => e.type)]),
        );
      } catch (err) {
        if (!(err instanceof ProxmoxApiError)) throw err;
      }
      const out = users.map((u) => ({
        userid: u.userid,
        realm: u.userid.split("@")[1] ?? "",
        enabled: u.enable !== false,
        expires: u.expire ? time(u.expire) : undefined,
        expired: Boolean(u.expire && u.expire < nowSec),
        tfa: tfa ? [...new Set(tfa.get(u.userid) ?? (u.keys ? ["legacy"] : []))] : undefined,
        groups: list(u.groups).sort(),
        tokens: u.tokens?.length ?? 0,
        comment: u.comment,
      })).sort((x, y) => x.userid.localeCompare(y.userid));
      const text = table(out, [
        "userid",
        ["enabled", (u) => u.enabled ? (u.expired ? "expired" : "yes") : "no"],
        ["expires", (u) => u.expires ?? "never"],
        ["tfa", (u) => u.tfa === undefined ? "?" : u.tfa.join(",") || "none"],
        ["groups", (u) => u.groups.join(",")],
        "tokens",
      ]);
      return { structured: { kind: a.kind, users: out }, text };
    }

    // who_can
    const [acl, groups] = await Promise.all([
      get(ctx, "/access/acl", z.array(Acl)),
      get(ctx, "/access/groups", z.array(Group)),
    ]);
    const privilege = a.privilege!;
    const path = a.path!;
    const privsOf = new Map(roleList.map((r) => [r.roleid, new Set(list(r.privs))]));
    const known = new Set([...privsOf.values()].flatMap((s) => [...s]));
    if (!known.has(privilege)) {
      throw new ToolInputError(
        `Unknown privilege "${privilege}": no role grants it; privileges look like ${
          [...known].sort().slice(0, 6).join(", ")
        }, ...`,
      );
    }
    const granting = roleList.filter((r) => privsOf.get(r.roleid)!.has(privilege))
      .map((r) => r.roleid).sort();
    const memberOf = (userid: string) =>
      groups.filter((g) => list(g.users).includes(userid)).map((g) => g.groupid);
    const grants = (roles: string[]) => roles.some((r) => privsOf.get(r)?.has(privilege));
    const describe = (via?: Acl[]) =>
      [...new Set((via ?? []).map((e) => `${e.type} ${e.ugid} on ${e.path} (${e.roleid})`))]
        .join("; ");
    // A guest in a pool also gets what the pool's ACLs grant (PVE merges /pool/{pool}).
    const vmMatch = /^\/vms\/(\d+)$/.exec(path);
    const pool = vmMatch
      ? (await ctx.inventory.resources(ctx.signal)).guest(Number(vmMatch[1]))?.pool
      : undefined;
    const effective = (m: { users: string[]; groups: string[] }) => {
      const direct = rolesOn(acl, path, m);
      if (!pool) return direct;
      const viaPool = rolesOn(acl, `/pool/${pool}`, m);
      return {
        roles: [...new Set([...direct.roles, ...viaPool.roles])],
        via: [...(direct.via ?? []), ...(viaPool.via ?? [])],
      };
    };
    const subjects: Subject[] = [];
    for (const u of users) {
      if (u.enable === false || (u.expire && u.expire < nowSec)) continue;
      const isRoot = u.userid === "root@pam";
      const userRoles = isRoot
        ? { roles: ["Administrator"], via: undefined }
        : effective({ users: [u.userid], groups: memberOf(u.userid) });
      const userCan = isRoot || grants(userRoles.roles);
      if (userCan) {
        subjects.push({
          subject: u.userid,
          kind: "user",
          roles: userRoles.roles,
          via: isRoot ? "root@pam holds every privilege" : describe(userRoles.via),
        });
      }
      for (const t of u.tokens ?? []) {
        const id = `${u.userid}!${t.tokenid}`;
        if (t.expire && t.expire < nowSec) continue;
        if (t.privsep === false) {
          if (userCan) {
            subjects.push({
              subject: id,
              kind: "token",
              roles: userRoles.roles,
              via: "no privilege separation: same as its user",
            });
          }
          continue;
        }
        const own = effective({ users: [id], groups: [] });
        if (grants(own.roles) && userCan) {
          subjects.push({ subject: id, kind: "token", roles: own.roles, via: describe(own.via) });
        }
      }
    }
    const out = { privilege, path, pool, roles_granting: granting, subjects };
    const text = subjects.length
      ? `${privilege} on ${path} (roles with it: ${granting.join(", ")}):\n` +
        table(subjects, ["subject", "kind", ["roles", (s) => s.roles.join(",")], "via"])
      : `nobody but root@pam has ${privilege} on ${path}`;
    return { structured: { kind: a.kind, who_can: out }, text };
  },
});

/** The access listing tool. */
export const accessListTools: Tool[] = [accessList];
