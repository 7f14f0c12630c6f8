/**
 * Changing access: users (create, update, enable/disable, group membership), API tokens
 * (create — the secret is returned once, never logged or audited — and revoke) and ACL entries
 * (grant, revoke). Every access change needs a confirmation; the server refuses to remove its
 * own privileges or to hand out more than it has.
 *
 * @module
 */
import { z } from "zod";
import type { Plan } from "../safety/change.ts";
import { missingOn, privilegesOf, refuseMoreThanSelf, self } from "./access_guard.ts";
import { type ToolContext, ToolInputError } from "./context.ts";
import { defineMutation } from "./mutation.ts";
import type { Tool } from "./tool.ts";

const USERID = /^[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]+$/;
const userid = () =>
  z.string().max(64).regex(USERID, { error: "userid must look like name@realm, e.g. alice@pve" });
const groupid = () =>
  z.string().max(64).regex(/^[A-Za-z0-9.\-_]+$/, {
    error: "group: letters, digits, '.', '-', '_'",
  });
const tokenName = () =>
  z.string().max(64).regex(/^[A-Za-z][A-Za-z0-9.\-_]+$/, {
    error: "tokenid: a letter, then letters, digits, '.', '-', '_'",
  });

const CONFIRM = "every access change needs a confirmation";

const User = z.object({
  userid: z.string(),
  enable: z.unknown().optional(),
  groups: z.string().optional(),
}).loose();
const Acl = z.array(
  z.object({
    path: z.string(),
    type: z.string(),
    ugid: z.string(),
    roleid: z.string(),
    propagate: z.unknown().optional(),
  }).loose(),
);

async function users(ctx: ToolContext) {
  return z.array(User).parse(await ctx.api.get("/access/users", undefined, { signal: ctx.signal }));
}

async function acl(ctx: ToolContext) {
  return Acl.parse(await ctx.api.get("/access/acl", undefined, { signal: ctx.signal }));
}

function groupsOf(u: z.infer<typeof User>): string[] {
  return (u.groups ?? "").split(",").filter(Boolean);
}

function change(
  summary: string,
  requests: Plan["requests"],
  extra: Partial<Plan> = {},
): Plan {
  return {
    summary,
    requests,
    destructive: false,
    confirm: CONFIRM,
    warnings: [],
    creates: 0,
    ...extra,
  };
}

const userChange = defineMutation({
  name: "user_change",
  title: "Create, update or disable a user",
  description:
    "Create a user, update its details, enable/disable it, or add/remove it from a group. Confirmation: always. Refuses disabling this server's own user or removing it from a group granting it privileges.",
  toolset: "access",
  privilege: "Realm.AllocateUser and User.Modify (groups: on /access/groups/{group})",
  destructive: false,
  input: {
    action: z.enum(["create", "update", "disable", "enable", "add_group", "remove_group"])
      .describe("What to change"),
    userid: userid().describe("User, e.g. alice@pve"),
    group: groupid().optional().describe("add_group/remove_group; create: first group"),
    comment: z.string().max(2048).optional().describe("Free text"),
    email: z.email().optional().describe("E-mail address"),
    firstname: z.string().max(1024).optional().describe("First name"),
    lastname: z.string().max(1024).optional().describe("Last name"),
    expire: z.int().min(0).optional().describe("Epoch seconds; 0 = never"),
    password: z.string().min(8).max(64).optional().describe("create, pve realm"),
  },
  result: {},
  async plan(a, ctx): Promise<Plan> {
    const me = self(ctx);
    const all = await users(ctx);
    const existing = all.find((u) => u.userid === a.userid);
    const details = {
      comment: a.comment,
      email: a.email,
      firstname: a.firstname,
      lastname: a.lastname,
      expire: a.expire,
    };
    const result = { userid: a.userid };
    if (a.action === "create") {
      if (existing) throw new ToolInputError(`User ${a.userid} already exists`);
      if (a.password && !a.userid.endsWith("@pve")) {
        throw new ToolInputError(
          "password applies to the pve realm; other realms authenticate elsewhere",
        );
      }
      return change(`create user ${a.userid}${a.group ? ` in group ${a.group}` : ""}`, [{
        method: "POST",
        path: "/access/users",
        params: { userid: a.userid, groups: a.group, password: a.password, ...details },
      }], { result });
    }
    if (!existing) {
      throw new ToolInputError(
        `No user ${a.userid}: users are ${all.map((u) => u.userid).join(", ")}`,
      );
    }
    if (a.password !== undefined) throw new ToolInputError("password is for create");
    const path = `/access/users/${encodeURIComponent(a.userid)}`;
    const groups = groupsOf(existing);
    if (a.action === "update") {
      if (Object.values(details).every((v) => v === undefined)) {
        throw new ToolInputError(
          "Nothing to update: give comment, email, firstname, lastname or expire",
        );
      }
      return change(`update user ${a.userid}`, [{ method: "PUT", path, params: details }], {
        result,
      });
    }
    if (a.action === "disable" || a.action === "enable") {
      if (a.action === "disable" && a.userid === me.user) {
        throw new ToolInputError(
          `Refused: ${a.userid} is the user this server logs in as (${me.principal}); disabling it would cut the server off`,
        );
      }
      return change(`${a.action} user ${a.userid}`, [{
        method: "PUT",
        path,
        params: { enable: a.action === "enable" ? 1 : 0 },
      }], {
        result,
        warnings: a.action === "disable"
          ? [`${a.userid} and its API tokens can no longer log in`]
          : [],
      });
    }
    if (!a.group) throw new ToolInputError(`${a.action} needs group`);
    if (a.action === "add_group") {
      if (groups.includes(a.group)) {
        throw new ToolInputError(`${a.userid} is already in ${a.group}`);
      }
      return change(`add ${a.userid} to group ${a.group}`, [{
        method: "PUT",
        path,
        params: { groups: a.group, append: 1 },
      }], { result });
    }
    if (!groups.includes(a.group)) {
      throw new ToolInputError(
        `${a.userid} is not in ${a.group}: groups are ${groups.join(", ") || "none"}`,
      );
    }
    if (a.userid === me.user) {
      const grants = (await acl(ctx)).filter((e) => e.type === "group" && e.ugid === a.group);
      if (grants.length) {
        throw new ToolInputError(
          `Refused: group ${a.group} grants this server's user (${me.principal}) ${
            grants.map((g) => `${g.roleid} on ${g.path}`).join(", ")
          }; removing it would remove the server's own privileges`,
        );
      }
    }
    const rest = groups.filter((g) => g !== a.group);
    return change(`remove ${a.userid} from group ${a.group}`, [{
      method: "PUT",
      path,
      params: { groups: rest.join(","), append: undefined },
    }], { result, destructive: false });
  },
});

const tokenChange = defineMutation({
  name: "token_change",
  title: "Create or revoke an API token",
  description:
    "Create an API token (secret returned once, never logged) or revoke one. Confirmation: always. Refuses tokens with more privileges than this server's, and revoking the server's own token.",
  toolset: "access",
  privilege: "User.Modify on /access/groups (or the token's own user)",
  destructive: true,
  judgedPerCall: true,
  input: {
    action: z.enum(["create", "revoke"]).describe("Create or revoke"),
    userid: userid().describe("Token owner, e.g. alice@pve"),
    tokenid: tokenName().describe("Token name, e.g. ci"),
    privsep: z.boolean().default(true).describe(
      "Own ACLs only; false: all of the user's",
    ),
    comment: z.string().max(2048).optional().describe("Free text"),
    expire: z.int().min(0).optional().describe("Epoch seconds; 0 = the user's"),
  },
  result: {},
  async plan(a, ctx): Promise<Plan> {
    const me = self(ctx);
    const full = `${a.userid}!${a.tokenid}`;
    const list = z.array(z.object({ tokenid: z.string() }).loose()).parse(
      await ctx.api.get(`/access/users/${encodeURIComponent(a.userid)}/token`, undefined, {
        signal: ctx.signal,
      }),
    );
    const exists = list.some((t) => t.tokenid === a.tokenid);
    const path = `/access/users/${encodeURIComponent(a.userid)}/token/${
      encodeURIComponent(a.tokenid)
    }`;
    if (a.action === "revoke") {
      if (!exists) {
        throw new ToolInputError(
          `No token ${full}: tokens of ${a.userid} are ${
            list.map((t) => t.tokenid).join(", ") || "none"
          }`,
        );
      }
      if (full === me.principal) {
        throw new ToolInputError(
          `Refused: ${full} is the token this server uses; revoking it would cut the server off`,
        );
      }
      return change(`revoke API token ${full}`, [{ method: "DELETE", path, params: {} }], {
        destructive: true,
        loses: `API token ${full}: every client using it is locked out`,
        result: { full_tokenid: full },
      });
    }
    if (exists) {
      throw new ToolInputError(
        `Token ${full} already exists: revoke it first or pick another name`,
      );
    }
    if (!a.privsep) {
      const [server, user] = await Promise.all([privilegesOf(ctx), privilegesOf(ctx, a.userid)]);
      refuseMoreThanSelf(
        server,
        user,
        `token ${full} (privsep false: all of ${a.userid}'s privileges)`,
      );
    }
    return change(`create API token ${full}${a.privsep ? " (privilege separated)" : ""}`, [{
      method: "POST",
      path,
      params: { privsep: a.privsep ? 1 : 0, comment: a.comment, expire: a.expire },
    }], {
      result: { full_tokenid: full },
      warnings: [
        "the token secret is returned once in token_secret; store it now, it can't be shown again",
      ],
    });
  },
  after(_a, _ctx, _change, responses) {
    const data = z.object({ "full-tokenid": z.string(), value: z.string() }).loose()
      .safeParse(responses[0]);
    return Promise.resolve(
      data.success
        ? { full_tokenid: data.data["full-tokenid"], token_secret: data.data.value }
        : {},
    );
  },
});

const aclChange = defineMutation({
  name: "acl_change",
  title: "Grant or revoke an ACL entry",
  description:
    "Grant or revoke a role on an ACL path (/, /vms/105, /pool/lab, /storage/x) for a user, group or token. Confirmation: always. Refuses granting privileges this server lacks and revoking its own.",
  toolset: "access",
  privilege: "Permissions.Modify on the path",
  destructive: true,
  judgedPerCall: true,
  input: {
    action: z.enum(["grant", "revoke"]).describe("Grant or revoke"),
    path: z.string().max(256).regex(/^\/[\w\-./{}]*$/, {
      error: "path must be an ACL path such as /vms/105",
    }).describe("ACL path, e.g. /vms/105"),
    role: z.string().max(64).regex(/^[A-Za-z0-9.\-_]+$/, {
      error: "role: a role ID such as PVEVMUser",
    }).describe("Role, e.g. PVEVMUser"),
    user: userid().optional().describe("One of user, group, token"),
    group: groupid().optional().describe("One of user, group, token"),
    token: z.string().max(128).regex(/^[^\s!]+@[^\s!]+![A-Za-z][A-Za-z0-9.\-_]+$/, {
      error: "token: user@realm!name",
    }).optional().describe("user@realm!name"),
    propagate: z.boolean().default(true).describe("Also below the path"),
  },
  result: {},
  async plan(a, ctx): Promise<Plan> {
    const me = self(ctx);
    const subjects = [
      a.user && { type: "user", id: a.user, param: "users" },
      a.group && { type: "group", id: a.group, param: "groups" },
      a.token && { type: "token", id: a.token, param: "tokens" },
    ].filter(Boolean) as { type: string; id: string; param: string }[];
    if (subjects.length !== 1) throw new ToolInputError("Give exactly one of user, group or token");
    const s = subjects[0];
    const roles = z.array(z.object({ roleid: z.string(), privs: z.string().optional() }).loose())
      .parse(await ctx.api.get("/access/roles", undefined, { signal: ctx.signal }));
    const role = roles.find((r) => r.roleid === a.role);
    if (!role) {
      throw new ToolInputError(
        `No role ${a.role}: roles are ${roles.map((r) => r.roleid).join(", ")}`,
      );
    }
    const entries = await acl(ctx);
    const existing = entries.find((e) =>
      e.path === a.path && e.type === s.type && e.ugid === s.id && e.roleid === a.role
    );
    const params = {
      path: a.path,
      roles: a.role,
      [s.param]: s.id,
      propagate: a.propagate ? 1 : 0,
      delete: a.action === "revoke" ? 1 : undefined,
    };
    const result = { path: a.path, role: a.role };
    if (a.action === "grant") {
      if (existing && Boolean(Number(existing.propagate ?? 1)) === a.propagate) {
        throw new ToolInputError(`${s.type} ${s.id} already has ${a.role} on ${a.path}`);
      }
      const privs = (role.privs ?? "").split(",").filter(Boolean);
      const missing = missingOn(await privilegesOf(ctx), a.path, privs);
      if (missing.length) {
        throw new ToolInputError(
          `Refused: role ${a.role} on ${a.path} includes privileges this server does not have there (${
            missing.join(", ")
          }); grant a smaller role`,
        );
      }
      return change(`grant ${a.role} on ${a.path} to ${s.type} ${s.id}`, [{
        method: "PUT",
        path: "/access/acl",
        params,
      }], { result });
    }
    if (!existing) {
      const theirs = entries.filter((e) => e.ugid === s.id).map((e) => `${e.roleid} on ${e.path}`);
      throw new ToolInputError(
        `No ACL entry ${a.role} on ${a.path} for ${s.type} ${s.id}: it has ${
          theirs.join(", ") || "none"
        }`,
      );
    }
    const mine = (s.type === "user" && s.id === me.user) ||
      (s.type === "token" && s.id === me.principal) ||
      (s.type === "group" &&
        groupsOf((await users(ctx)).find((u) => u.userid === me.user) ?? { userid: "" })
          .includes(s.id));
    if (mine) {
      throw new ToolInputError(
        `Refused: this entry gives this server (${me.principal}) ${a.role} on ${a.path}; revoking it would remove the server's own privileges`,
      );
    }
    return change(`revoke ${a.role} on ${a.path} from ${s.type} ${s.id}`, [{
      method: "PUT",
      path: "/access/acl",
      params,
    }], {
      result,
      destructive: true,
      loses: `${s.type} ${s.id} loses ${a.role} on ${a.path}`,
    });
  },
});

/** The access toolset's changing rows. */
export const accessChangeTools: Tool[] = [userChange, tokenChange, aclChange];
