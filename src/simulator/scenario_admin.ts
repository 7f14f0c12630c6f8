/**
 * Administrative state of the scenarios: built-in roles, users/groups/ACLs, the firewall at
 * every level, and HA. The default scenario gets a realistic setup; generated ones a minimal one.
 *
 * @module
 */
import { ALL_PRIVILEGES, AUDITOR_PRIVILEGES } from "./privileges.ts";
import type { ClusterState, UserState } from "./state.ts";
import type { AccessState, FirewallState, FwLevel, HaState, RoleState } from "./state_admin.ts";

const VM_USER = [
  "VM.Audit",
  "VM.Console",
  "VM.PowerMgmt",
  "VM.Backup",
  "VM.Config.CDROM",
  "VM.Config.Cloudinit",
  "VM.GuestAgent.Audit",
];
const VM_ADMIN = ALL_PRIVILEGES.filter((p) =>
  p.startsWith("VM.") || p === "Datastore.AllocateSpace"
);
const ADMIN = ALL_PRIVILEGES.filter((p) => p !== "Permissions.Modify" && p !== "Sys.Modify");

/** PVE's built-in roles (privilege lists of PVE 9, abridged where the simulator does not care). */
export function builtinRoles(): Map<string, RoleState> {
  const roles: [string, readonly string[]][] = [
    ["Administrator", ALL_PRIVILEGES],
    ["NoAccess", []],
    ["PVEAdmin", ADMIN],
    ["PVEAuditor", AUDITOR_PRIVILEGES],
    ["PVEVMAdmin", VM_ADMIN],
    ["PVEVMUser", VM_USER],
    ["PVEPoolAdmin", ["Pool.Allocate", "Pool.Audit"]],
    ["PVEPoolUser", ["Pool.Audit"]],
    ["PVEDatastoreAdmin", ALL_PRIVILEGES.filter((p) => p.startsWith("Datastore."))],
    ["PVEDatastoreUser", ["Datastore.AllocateSpace", "Datastore.Audit"]],
    ["PVEUserAdmin", ["User.Modify", "Group.Allocate", "Realm.AllocateUser", "Sys.Audit"]],
    ["PVESysAdmin", ["Sys.Audit", "Sys.Console", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog"]],
    ["PVETemplateUser", ["VM.Audit", "VM.Clone"]],
  ];
  return new Map(
    roles.map(([roleid, privs]) => [roleid, { roleid, privs: new Set(privs), special: true }]),
  );
}

function level(options: Record<string, string | number> = {}): FwLevel {
  return { options, rules: [], aliases: new Map(), ipsets: new Map() };
}

/** An empty firewall level (created on first write to a node or guest). */
export function emptyFwLevel(): FwLevel {
  return level();
}

/** Minimal administrative state: built-in roles, no groups/ACLs, firewall off, no HA. */
export function minimalAdmin(): Pick<ClusterState, "firewall" | "access" | "ha" | "agentExec"> {
  return {
    firewall: { cluster: level(), groups: new Map(), nodes: new Map(), guests: new Map() },
    access: { groups: new Map(), roles: builtinRoles(), acl: [] },
    ha: { resources: new Map(), rules: new Map(), groups: new Map() },
    agentExec: new Map(),
  };
}

/** Extra users of the default scenario (besides root and the auditor). */
export function defaultExtraUsers(): UserState[] {
  return [
    {
      userid: "ops@pve",
      password: "sim-ops-password",
      privileges: new Set(),
      tokens: new Map([["automation", {
        secret: "5b0d6c1e-7d2f-4d9a-9a51-0c3f9e4b2a10",
        privsep: true,
        comment: "Nightly automation",
      }]]),
      comment: "Operations team",
      email: "ops@example.com",
      firstname: "Olga",
      lastname: "Operator",
    },
    {
      userid: "dev@pve",
      password: "sim-dev-password",
      privileges: new Set(),
      tokens: new Map(),
      comment: "Developer with lab access",
    },
    {
      userid: "contractor@pve",
      password: "sim-contractor-password",
      privileges: new Set(),
      tokens: new Map(),
      enable: false,
      comment: "Former contractor, disabled",
    },
  ];
}

function defaultAccess(): AccessState {
  return {
    groups: new Map([
      ["admins", {
        groupid: "admins",
        comment: "Cluster administrators",
        members: new Set(["ops@pve"]),
      }],
      ["auditors", {
        groupid: "auditors",
        comment: "Read-only access",
        members: new Set(["auditor@pve"]),
      }],
      ["developers", {
        groupid: "developers",
        comment: "Lab users",
        members: new Set(["dev@pve"]),
      }],
    ]),
    roles: builtinRoles(),
    acl: [
      { path: "/", type: "group", ugid: "admins", roleid: "PVEAdmin", propagate: true },
      { path: "/", type: "group", ugid: "auditors", roleid: "PVEAuditor", propagate: true },
      {
        path: "/pool/lab",
        type: "group",
        ugid: "developers",
        roleid: "PVEVMAdmin",
        propagate: true,
      },
      {
        path: "/vms",
        type: "token",
        ugid: "ops@pve!automation",
        roleid: "PVEVMUser",
        propagate: true,
      },
    ],
  };
}

function defaultFirewall(): FirewallState {
  const cluster = level({ enable: 1, policy_in: "DROP", policy_out: "ACCEPT" });
  cluster.rules = [
    {
      type: "in",
      action: "ACCEPT",
      macro: "SSH",
      source: "+management",
      enable: 1,
      comment: "SSH from the management network",
    },
    { type: "in", action: "ACCEPT", proto: "icmp", enable: 1, comment: "Ping" },
    { type: "in", action: "DROP", source: "+blocklist", enable: 1, comment: "Known bad hosts" },
  ];
  cluster.aliases = new Map([
    ["gateway", { name: "gateway", cidr: "192.168.10.1", comment: "Default router" }],
    ["backup_server", { name: "backup_server", cidr: "192.168.10.60", comment: "PBS" }],
    ["admin_net", { name: "admin_net", cidr: "192.168.10.0/24" }],
  ]);
  cluster.ipsets = new Map([
    ["management", {
      name: "management",
      comment: "Hosts allowed to reach the web UI and SSH",
      entries: [{ cidr: "192.168.10.0/24", comment: "Admin LAN" }],
    }],
    ["blocklist", {
      name: "blocklist",
      entries: [
        { cidr: "203.0.113.0/24", comment: "Scanner network" },
        { cidr: "198.51.100.7" },
      ],
    }],
  ]);
  const web = {
    group: "webserver",
    comment: "HTTP and HTTPS from anywhere",
    rules: [
      { type: "in" as const, action: "ACCEPT", macro: "HTTPS", enable: 1 },
      { type: "in" as const, action: "ACCEPT", macro: "HTTP", enable: 1 },
    ],
  };
  const pve1 = level({ enable: 1 });
  pve1.rules = [{
    type: "in",
    action: "ACCEPT",
    proto: "tcp",
    dport: "9100",
    source: "dc/admin_net",
    enable: 1,
    comment: "Node exporter",
  }];
  const web01 = level({ enable: 1, policy_in: "DROP", policy_out: "ACCEPT" });
  web01.rules = [
    { type: "group", action: "webserver", enable: 1 },
    { type: "in", action: "ACCEPT", macro: "SSH", source: "+dc/management", enable: 1 },
  ];
  web01.ipsets = new Map([["ipfilter-net0", {
    name: "ipfilter-net0",
    entries: [{ cidr: "192.168.10.101" }],
  }]]);
  return {
    cluster,
    groups: new Map([["webserver", web]]),
    nodes: new Map([["pve1", pve1]]),
    guests: new Map([[101, web01]]),
  };
}

function defaultHa(): HaState {
  return {
    resources: new Map([
      ["vm:103", {
        sid: "vm:103",
        type: "vm",
        state: "started",
        max_restart: 1,
        max_relocate: 1,
        failback: true,
        comment: "Primary database",
        status: "started",
      }],
      ["vm:102", {
        sid: "vm:102",
        type: "vm",
        state: "started",
        max_restart: 1,
        max_relocate: 1,
        status: "error",
        comment: "Failed to start after a relocation; needs attention",
      }],
      ["ct:202", {
        sid: "ct:202",
        type: "ct",
        state: "started",
        group: "prefer-pve2",
        status: "started",
      }],
    ]),
    rules: new Map([
      ["db-on-big-nodes", {
        rule: "db-on-big-nodes",
        type: "node-affinity",
        resources: ["vm:103"],
        nodes: ["pve1:2", "pve2:1"],
        strict: false,
        comment: "Keep the database on the nodes with the most memory",
      }],
      ["web-apart", {
        rule: "web-apart",
        type: "resource-affinity",
        resources: ["vm:101", "vm:102"],
        affinity: "negative",
        comment: "Web servers on different nodes",
      }],
    ]),
    groups: new Map([["prefer-pve2", {
      group: "prefer-pve2",
      nodes: ["pve2:2", "pve1:1"],
      nofailback: false,
      restricted: false,
      comment: "Legacy group kept from PVE 8",
    }]]),
  };
}

/** The default scenario's administrative state; adds its extra users to `users`. */
export function defaultAdmin(
  users: Map<string, UserState>,
): Pick<ClusterState, "firewall" | "access" | "ha" | "agentExec"> {
  for (const u of defaultExtraUsers()) users.set(u.userid, u);
  return {
    firewall: defaultFirewall(),
    access: defaultAccess(),
    ha: defaultHa(),
    agentExec: new Map(),
  };
}
