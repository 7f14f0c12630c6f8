/**
 * State of the cluster's administrative areas: firewall (cluster, node and guest levels,
 * security groups, aliases, IP sets), access control (groups, roles, ACLs), HA (resources,
 * PVE 9 rules, legacy groups) and guest-agent commands. Part of {@link ClusterState}.
 *
 * @module
 */

/** One firewall rule as `cluster.fw` / `host.fw` / `<vmid>.fw` store it. */
export interface FwRule {
  type: "in" | "out" | "forward" | "group";
  /** ACCEPT, DROP, REJECT, or a security group's name for `type: group`. */
  action: string;
  enable?: number;
  macro?: string;
  source?: string;
  dest?: string;
  proto?: string;
  dport?: string;
  sport?: string;
  iface?: string;
  log?: string;
  "icmp-type"?: string;
  comment?: string;
}

/** A firewall alias: a name for an address or network. */
export interface FwAlias {
  name: string;
  cidr: string;
  comment?: string;
}

/** One entry of an IP set. */
export interface FwIpsetEntry {
  cidr: string;
  comment?: string;
  nomatch?: boolean;
}

/** A named IP set. */
export interface FwIpset {
  name: string;
  comment?: string;
  entries: FwIpsetEntry[];
}

/** The firewall of one level: options and rules, plus aliases and IP sets (cluster, guests). */
export interface FwLevel {
  /** Options as stored (`enable`, `policy_in`, ...), raw values. */
  options: Record<string, string | number>;
  rules: FwRule[];
  aliases: Map<string, FwAlias>;
  ipsets: Map<string, FwIpset>;
}

/** A security group: a named list of rules referenced by `type: group` rules. */
export interface FwGroup {
  group: string;
  comment?: string;
  rules: FwRule[];
}

/** Every firewall level of the cluster; node and guest levels are created on first write. */
export interface FirewallState {
  cluster: FwLevel;
  groups: Map<string, FwGroup>;
  nodes: Map<string, FwLevel>;
  guests: Map<number, FwLevel>;
}

/** A role: a named set of privileges. */
export interface RoleState {
  roleid: string;
  privs: Set<string>;
  /** Built-in roles cannot be changed. */
  special: boolean;
}

/** A user group. */
export interface GroupState {
  groupid: string;
  comment?: string;
  members: Set<string>;
}

/** One ACL entry: a role granted on a path to a user, group or API token. */
export interface AclEntry {
  path: string;
  type: "user" | "group" | "token";
  /** User id, group id or full token id (`user@realm!name`). */
  ugid: string;
  roleid: string;
  propagate: boolean;
}

/** Groups, roles and ACLs (users are `ClusterState.users`). */
export interface AccessState {
  groups: Map<string, GroupState>;
  roles: Map<string, RoleState>;
  acl: AclEntry[];
}

/** An HA-managed guest as `resources.cfg` stores it, plus what the CRM reports. */
export interface HaResource {
  /** `vm:101` or `ct:201`. */
  sid: string;
  type: "vm" | "ct";
  /** Requested state. */
  state: "started" | "stopped" | "disabled" | "ignored";
  group?: string;
  comment?: string;
  max_restart?: number;
  max_relocate?: number;
  failback?: boolean;
  /** What the cluster resource manager reports (`started`, `stopped`, `error`, ...). */
  status: string;
}

/** A PVE 9 HA rule (node or resource affinity). */
export interface HaRule {
  rule: string;
  type: "node-affinity" | "resource-affinity";
  resources: string[];
  /** node-affinity: `node[:priority]` entries. */
  nodes?: string[];
  strict?: boolean;
  /** resource-affinity: keep together (positive) or apart (negative). */
  affinity?: "positive" | "negative";
  disable?: boolean;
  comment?: string;
}

/** A legacy HA group (PVE 8 and older; migrated to rules by PVE 9). */
export interface HaGroup {
  group: string;
  nodes: string[];
  restricted?: boolean;
  nofailback?: boolean;
  comment?: string;
}

/** HA configuration and manager state. */
export interface HaState {
  resources: Map<string, HaResource>;
  rules: Map<string, HaRule>;
  groups: Map<string, HaGroup>;
}

/** A command started through the guest agent (`agent/exec`), polled with `exec-status`. */
export interface AgentExec {
  vmid: number;
  pid: number;
  /** Epoch ms the command ends. */
  endsAt: number;
  exitcode: number;
  out: string;
  err: string;
  outTruncated?: boolean;
}
