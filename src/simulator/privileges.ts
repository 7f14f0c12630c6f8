/**
 * Privileges of simulated identities and evaluation of the schema's `permissions.check`.
 *
 * @module
 */
import type { UserState } from "./state.ts";
import type { AccessState } from "./state_admin.ts";

/** Every privilege of PVE 9. */
export const ALL_PRIVILEGES: readonly string[] = [
  "Datastore.Allocate",
  "Datastore.AllocateSpace",
  "Datastore.AllocateTemplate",
  "Datastore.Audit",
  "Group.Allocate",
  "Mapping.Audit",
  "Mapping.Modify",
  "Mapping.Use",
  "Permissions.Modify",
  "Pool.Allocate",
  "Pool.Audit",
  "Realm.Allocate",
  "Realm.AllocateUser",
  "SDN.Allocate",
  "SDN.Audit",
  "SDN.Use",
  "Sys.AccessNetwork",
  "Sys.Audit",
  "Sys.Console",
  "Sys.Incoming",
  "Sys.Modify",
  "Sys.PowerMgmt",
  "Sys.Syslog",
  "User.Modify",
  "VM.Allocate",
  "VM.Audit",
  "VM.Backup",
  "VM.Clone",
  "VM.Config.CDROM",
  "VM.Config.CPU",
  "VM.Config.Cloudinit",
  "VM.Config.Disk",
  "VM.Config.HWType",
  "VM.Config.Memory",
  "VM.Config.Network",
  "VM.Config.Options",
  "VM.Console",
  "VM.GuestAgent.Audit",
  "VM.GuestAgent.FileRead",
  "VM.GuestAgent.FileSystemMgmt",
  "VM.GuestAgent.FileWrite",
  "VM.GuestAgent.Unrestricted",
  "VM.Migrate",
  "VM.PowerMgmt",
  "VM.Replicate",
  "VM.Snapshot",
  "VM.Snapshot.Rollback",
];

/** The privileges of PVE's built-in PVEAuditor role. */
export const AUDITOR_PRIVILEGES: readonly string[] = [
  "Datastore.Audit",
  "Mapping.Audit",
  "Pool.Audit",
  "SDN.Audit",
  "Sys.Audit",
  "VM.Audit",
  "VM.GuestAgent.Audit",
];

/** Who is calling: a user, or one of its API tokens. */
export interface Identity {
  /** `user@realm`. */
  userid: string;
  /** Token name when authenticated by API token. */
  tokenid?: string;
  /** `user@realm` or `user@realm!token`, as PVE writes it into UPIDs. */
  principal: string;
  /** True when authenticated by ticket (CSRF applies to writes). */
  byTicket: boolean;
}

/**
 * The privilege set in effect for an identity, granted on `/`: the user's own set plus the roles
 * ACL entries on `/` give the user or its groups. A token with privilege separation gets only
 * what ACL entries on `/` give the token itself, and never more than its user.
 */
export function privilegesOf(
  user: UserState,
  tokenid?: string,
  access?: AccessState,
): Set<string> {
  const own = user.privileges === "all" ? new Set(ALL_PRIVILEGES) : new Set(user.privileges);
  if (access) {
    for (const g of access.groups.values()) {
      if (g.members.has(user.userid)) addRoles(own, access, "group", g.groupid);
    }
    addRoles(own, access, "user", user.userid);
  }
  if (!tokenid || !user.tokens.get(tokenid)?.privsep) return own;
  const granted = new Set<string>();
  if (access) addRoles(granted, access, "token", `${user.userid}!${tokenid}`);
  return new Set([...granted].filter((p) => own.has(p)));
}

function addRoles(into: Set<string>, access: AccessState, type: string, ugid: string): void {
  for (const e of access.acl) {
    if (e.path !== "/" || e.type !== type || e.ugid !== ugid) continue;
    for (const p of access.roles.get(e.roleid)?.privs ?? []) into.add(p);
  }
}

/** Result of a permission evaluation. */
export type CheckResult = { ok: true } | { ok: false; path: string; privs: string };

const OK: CheckResult = { ok: true };

function substitute(path: string, values: Record<string, unknown>): string | null {
  let missing = false;
  const out = path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined || v === null || v === "") {
      missing = true;
      return "";
    }
    return String(v);
  });
  return missing ? null : out;
}

/**
 * Evaluates a schema check (`["perm", path, [privs], "any", 1]`, `["and", …]`, `["or", …]`,
 * `["perm-modify", path]`) against a privilege set granted on `/`. Other forms are allowed.
 */
export function evaluateCheck(
  check: unknown,
  privs: ReadonlySet<string>,
  values: Record<string, unknown>,
): CheckResult {
  if (!Array.isArray(check) || check.length === 0) return OK;
  const [kind, ...rest] = check;
  if (kind === "and") {
    for (const sub of rest) {
      const r = evaluateCheck(sub, privs, values);
      if (!r.ok) return r;
    }
    return OK;
  }
  if (kind === "or") {
    let first: CheckResult | undefined;
    for (const sub of rest) {
      const r = evaluateCheck(sub, privs, values);
      if (r.ok) return r;
      first ??= r;
    }
    return first ?? OK;
  }
  if (kind === "perm" || kind === "perm-modify") {
    const template = String(rest[0] ?? "/");
    const wanted = kind === "perm" && Array.isArray(rest[1])
      ? rest[1].map(String)
      : ["Permissions.Modify"];
    const opts = kind === "perm" ? rest.slice(2) : [];
    let any = false;
    let requireParam: string | undefined;
    for (let i = 0; i + 1 < opts.length; i += 2) {
      if (opts[i] === "any") any = Boolean(opts[i + 1]);
      if (opts[i] === "require_param") requireParam = String(opts[i + 1]);
    }
    const path = substitute(template, values) ?? template.replace(/\/?\{[^}]+\}/g, "");
    const label = any ? wanted.join("|") : wanted.find((p) => !privs.has(p)) ?? "";
    if (requireParam && (values[requireParam] === undefined || values[requireParam] === "")) {
      return { ok: false, path, privs: wanted.join("|") };
    }
    const ok = any ? wanted.some((p) => privs.has(p)) : wanted.every((p) => privs.has(p));
    return ok ? OK : { ok: false, path: path || "/", privs: label };
  }
  return OK;
}

const CAP_GROUPS: Record<string, (p: string) => boolean> = {
  vms: (p) => p.startsWith("VM.") || p === "Permissions.Modify",
  storage: (p) =>
    p.startsWith("Datastore.") || p === "Permissions.Modify" || p === "Datastore.AllocateSpace",
  access: (p) => ["User.Modify", "Group.Allocate", "Permissions.Modify"].includes(p),
  nodes: (p) => p.startsWith("Sys.") || p === "Permissions.Modify",
  dc: (p) => p.startsWith("SDN.") || ["Sys.Audit", "Sys.Modify"].includes(p),
  sdn: (p) => p.startsWith("SDN.") || p === "Permissions.Modify",
  mapping: (p) => p.startsWith("Mapping.") || p === "Permissions.Modify",
};

/** The `cap` object of a ticket response: privilege groups the caller holds anywhere. */
export function capabilities(privs: ReadonlySet<string>): Record<string, Record<string, 1>> {
  const cap: Record<string, Record<string, 1>> = {};
  for (const [group, test] of Object.entries(CAP_GROUPS)) {
    cap[group] = {};
    for (const p of [...privs].sort()) if (test(p)) cap[group][p] = 1;
  }
  return cap;
}

/** `{priv: 1}` for every privilege of a set. */
export function privMap(privs: ReadonlySet<string>): Record<string, 1> {
  const out: Record<string, 1> = {};
  for (const p of [...privs].sort()) out[p] = 1;
  return out;
}
