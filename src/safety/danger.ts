/**
 * The danger table: for any write request to the Proxmox API, keyed by method and path
 * pattern (and, for some rows, a parameter), what needs a confirmation, what is destructive
 * (data or service can be lost: also refused with `disable_destructive`) and what is
 * cluster-wide (the scope cannot bound its target: refused unless `allow_cluster_changes`).
 * One table, applied by {@link dangerStage} to every call of a tool that declares
 * `dangerTable` (`api_change`); curated tools may use {@link classifyRequest} too.
 *
 * Patterns match schema templates segment by segment: `*` is one segment, `**` any number
 * (also none), `{a,b}` one of the names, `!{a,b}` one segment that is none of them.
 *
 * @module
 */
import type { HttpMethod } from "../proxmox/api_schema/schema.ts";
import type { ApiParams } from "../tools/context.ts";
import { PolicyRefusal, type Stage } from "./pipeline.ts";

/** What a row says about the requests it matches. */
export type DangerEffect = "confirm" | "destructive" | "cluster";

/** One row of the table. */
export interface DangerRule {
  /** Methods the row applies to (writes only: GET is never judged). */
  methods: readonly Exclude<HttpMethod, "GET">[];
  /** Template pattern, e.g. `/nodes/{node}/qemu/{vmid}/status/{stop,reset}` written with `*`. */
  path: string;
  /** Only when this parameter is set to something other than 0/false/"" . */
  param?: string;
  effect: DangerEffect;
  /** Why, in a few words (shown in plans and refusals). */
  why: string;
}

const W = ["POST", "PUT", "DELETE"] as const;
const GUEST = "/nodes/*/{qemu,lxc}/*";

/** The table. Every matching row applies; order only decides the order of the reasons. */
export const DANGER_TABLE: readonly DangerRule[] = [
  // Anything removed by DELETE is gone.
  { methods: ["DELETE"], path: "/**", effect: "destructive", why: "DELETE removes it for good" },
  {
    methods: W,
    path: "/**",
    param: "purge",
    effect: "destructive",
    why: "purge removes it from jobs, replication and HA too",
  },
  {
    methods: ["POST", "PUT"],
    path: "/**",
    param: "delete",
    effect: "destructive",
    why: "delete removes options, disks or entries",
  },
  {
    methods: ["POST", "PUT"],
    path: "/**",
    param: "force",
    effect: "destructive",
    why: "force overwrites or skips safety checks",
  },
  // Guests.
  {
    methods: ["POST"],
    path: `${GUEST}/status/{stop,reset}`,
    effect: "destructive",
    why: "the guest loses power at once; unsaved data is lost",
  },
  {
    methods: ["POST"],
    path: `${GUEST}/status/{shutdown,reboot,suspend}`,
    effect: "confirm",
    why: "the guest's service is interrupted",
  },
  {
    methods: ["POST"],
    path: `${GUEST}/snapshot/*/rollback`,
    effect: "destructive",
    why: "the guest's current state since the snapshot is lost",
  },
  {
    methods: ["POST"],
    path: `${GUEST}/{migrate,remote_migrate}`,
    effect: "confirm",
    why: "migration moves the guest and may interrupt it",
  },
  {
    methods: ["POST"],
    path: `${GUEST}/template`,
    effect: "destructive",
    why: "turning a guest into a template cannot be undone",
  },
  {
    methods: ["POST"],
    path: "/nodes/*/qemu/*/{monitor,sendkey}",
    effect: "destructive",
    why: "raw monitor commands and keys bypass every check",
  },
  {
    methods: ["POST", "PUT"],
    path: "/nodes/*/qemu/*/agent/{exec,file-write,set-user-password}",
    effect: "confirm",
    why: "runs a command or writes inside the guest",
  },
  {
    methods: ["POST"],
    path: "/nodes/*/{qemu,lxc}",
    param: "archive",
    effect: "confirm",
    why: "restoring a backup writes the guest's disks",
  },
  // Firewall: rules, options (enable, policy), groups, IP sets.
  {
    methods: W,
    path: "/**/firewall/**",
    effect: "confirm",
    why: "firewall changes can cut off access",
  },
  {
    methods: ["PUT"],
    path: "/**/firewall/options",
    effect: "destructive",
    why: "enabling the firewall or changing its policy can lock everyone out",
  },
  // Nodes.
  {
    methods: ["POST"],
    path: "/nodes/*/status",
    effect: "destructive",
    why: "shuts down or reboots the node and every guest on it",
  },
  {
    methods: W,
    path: "/nodes/*/services/**",
    effect: "destructive",
    why: "stopping or restarting node services interrupts the node",
  },
  {
    methods: W,
    path: "/nodes/*/network/**",
    effect: "confirm",
    why: "network changes can cut the node off",
  },
  {
    methods: ["PUT"],
    path: "/nodes/*/network",
    effect: "destructive",
    why: "applying network changes can cut the node off",
  },
  {
    methods: W,
    path: "/nodes/*/disks/**",
    effect: "destructive",
    why: "disk operations can wipe data",
  },
  {
    methods: ["POST"],
    path: "/nodes/*/{stopall,suspendall,migrateall}",
    effect: "destructive",
    why: "acts on every guest of the node",
  },
  {
    methods: W,
    path: "/nodes/*/{execute,termproxy,vncshell,spiceshell}",
    effect: "confirm",
    why: "runs commands on the node",
  },
  // Access: users, tokens, groups, roles, ACLs, realms, two-factor.
  { methods: W, path: "/access/**", effect: "confirm", why: "changes who may do what" },
  // Storage, HA, Ceph, cluster membership.
  {
    methods: W,
    path: "/storage/**",
    effect: "confirm",
    why: "changes a storage definition every node uses",
  },
  {
    methods: W,
    path: "/cluster/ha/**",
    effect: "confirm",
    why: "HA changes start, stop or move guests automatically",
  },
  {
    methods: W,
    path: "/cluster/ceph/**",
    effect: "confirm",
    why: "Ceph changes affect every guest on Ceph storage",
  },
  {
    methods: W,
    path: "/nodes/*/ceph/**",
    effect: "confirm",
    why: "Ceph changes affect every guest on Ceph storage",
  },
  {
    methods: W,
    path: "/cluster/config/**",
    effect: "destructive",
    why: "changes cluster membership or quorum",
  },
  {
    methods: W,
    path: "/cluster/sdn/**",
    effect: "confirm",
    why: "SDN changes can cut guests off the network",
  },
  {
    methods: W,
    path: "/cluster/bulk-action/**",
    effect: "destructive",
    why: "acts on many guests at once",
  },
  // What the scope cannot bound: cluster-wide configuration, and node-level paths outside
  // guests, node storage, tasks, backups and replication.
  { methods: W, path: "/cluster/**", effect: "cluster", why: "changes cluster-wide configuration" },
  {
    methods: W,
    path: "/access/**",
    effect: "cluster",
    why: "changes users and permissions cluster-wide",
  },
  {
    methods: W,
    path: "/storage/**",
    effect: "cluster",
    why: "changes storage definitions for every node",
  },
  { methods: W, path: "/nodes/*", effect: "cluster", why: "acts on the node itself" },
  {
    methods: W,
    path: "/nodes/*/!{qemu,lxc,storage,tasks,vzdump,replication}/**",
    effect: "cluster",
    why: "acts on the node itself, not on a guest or storage",
  },
  {
    methods: ["POST"],
    path: "/nodes/*/vzdump",
    param: "all",
    effect: "cluster",
    why: "backs up every guest of the node",
  },
];

/** What the table says about one request. */
export interface Classification {
  confirm: string[];
  destructive: string[];
  cluster: string[];
}

const compiled = new Map<string, RegExp>();

/** Compiles a table pattern to a regular expression over templates. */
export function patternRegex(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (re) return re;
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const alts = (list: string) => list.split(",").map(esc);
  let source = "^";
  const segs = pattern.split("/").filter(Boolean);
  if (!segs.length) source += "/";
  for (const seg of segs) {
    if (seg === "**") source += "(?:/[^/]+)*";
    else if (seg === "*") source += "/[^/]+";
    else if (/^!\{.+\}$/.test(seg)) {
      source += `/(?!(?:${alts(seg.slice(2, -1)).join("|")})(?:/|$))[^/]+`;
    } else if (/^\{.+\}$/.test(seg)) source += `/(?:${alts(seg.slice(1, -1)).join("|")})`;
    else source += `/${esc(seg)}`;
  }
  re = new RegExp(`${source}$`);
  compiled.set(pattern, re);
  return re;
}

function isSet(v: ApiParams[string]): boolean {
  if (v === undefined || v === false || v === 0 || v === "" || v === "0") return false;
  return !(Array.isArray(v) && v.length === 0);
}

/** Applies the table to one request (`template` is its schema path template). */
export function classifyRequest(
  method: HttpMethod,
  template: string,
  params: ApiParams,
  table: readonly DangerRule[] = DANGER_TABLE,
): Classification {
  const out: Classification = { confirm: [], destructive: [], cluster: [] };
  if (method === "GET") return out;
  for (const rule of table) {
    if (!(rule.methods as readonly string[]).includes(method)) continue;
    if (rule.param !== undefined && !isSet(params[rule.param])) continue;
    if (!patternRegex(rule.path).test(template)) continue;
    const list = out[rule.effect];
    if (!list.includes(rule.why)) list.push(rule.why);
  }
  return out;
}

/**
 * The stage applying the table to every call of a tool with `dangerTable` (`api_change`), after
 * the plan stage: a cluster-wide request is refused unless `allowClusterChanges`; a
 * destructive one marks the plan destructive (so it needs a confirmation, and
 * `disable_destructive` refuses it); the rest of what the table lists needs a confirmation.
 */
export function dangerStage(opts: { allowClusterChanges: boolean }): Stage {
  return async (call, next) => {
    const change = call.change;
    if (!change || !call.tool.dangerTable) return next();
    const { matchRoute } = await import("../proxmox/api_schema/validate.ts");
    for (const r of change.requests) {
      const route = matchRoute(r.method, r.path);
      if ("error" in route) {
        throw new PolicyRefusal(
          `Refused ${call.tool.name}: ${r.method} ${r.path} is not in the API schema`,
          "plan",
        );
      }
      const c = classifyRequest(r.method, route.template, r.params);
      if (c.cluster.length && !opts.allowClusterChanges) {
        throw new PolicyRefusal(
          `Refused ${call.tool.name}: ${r.method} ${r.path} is cluster-wide (${
            c.cluster.join("; ")
          }), so this server's scope cannot bound it. Nothing was sent. The operator can allow ` +
            'such changes with "allow_cluster_changes": true in the config ' +
            "(PROXMOX_ALLOW_CLUSTER_CHANGES=true)",
          "scope",
        );
      }
      if (c.cluster.length) call.confirmReasons.push(`cluster-wide: ${c.cluster.join("; ")}`);
      if (c.destructive.length) {
        change.destructive = true;
        change.loses = [change.loses, ...c.destructive].filter(Boolean).join("; ");
      }
      for (const why of c.confirm) call.confirmReasons.push(why);
    }
    return next();
  };
}
