/**
 * Finding API methods in the embedded official schema: by words (`firewall rules vm`), by path
 * prefix (`/cluster/ha`), or the closest valid paths to one that does not exist. Also renders a
 * parameter's schema in a few words (type, enum, range, format) for answers and errors.
 *
 * @module
 */
import { apiSchema, type HttpMethod, type MethodSchema, type ParamSchema } from "./schema.ts";
import { matchRoute } from "./validate.ts";

/** One method of one path. */
export interface ApiMethod {
  method: HttpMethod;
  /** Path template, e.g. `/nodes/{node}/qemu/{vmid}/firewall/rules`. */
  path: string;
  schema: MethodSchema;
}

/** Every method of the schema, in path order. */
export function allMethods(): ApiMethod[] {
  methods ??= Object.entries(apiSchema.paths).flatMap(([path, byMethod]) =>
    (Object.keys(byMethod) as HttpMethod[]).sort().map((method) => ({
      method,
      path,
      schema: byMethod[method]!,
    }))
  );
  return methods;
}
let methods: ApiMethod[] | undefined;

/**
 * Short summaries of path families whose names do not explain themselves (our own words),
 * matched by the longest prefix of the template.
 */
const FAMILIES: Record<string, string> = {
  "/access": "users, groups, roles, ACLs, API tokens, realms, two-factor auth, tickets",
  "/access/acl": "access control list: which user, group or token has which role on a path",
  "/access/domains": "authentication realms (pam, pve, LDAP, AD, OpenID) and their sync",
  "/access/tfa": "two-factor authentication entries of users",
  "/access/users/{userid}/token": "API tokens of a user",
  "/cluster/acme": "ACME (Let's Encrypt) accounts and DNS plugins for certificates",
  "/cluster/backup": "scheduled backup jobs (vzdump)",
  "/cluster/backup-info": "guests not covered by any backup job",
  "/cluster/bulk-action": "start, shut down or migrate many guests at once",
  "/cluster/ceph": "Ceph cluster-wide status, flags and metadata",
  "/cluster/config": "corosync cluster membership: join, nodes, quorum device",
  "/cluster/firewall": "datacenter firewall: rules, security groups, IP sets, aliases, options",
  "/cluster/ha": "high availability: managed resources, groups, rules, manager status",
  "/cluster/jobs": "scheduled jobs (realm sync) and schedule simulation",
  "/cluster/log": "cluster log",
  "/cluster/mapping": "hardware mappings (PCI, USB, directories) shared across nodes",
  "/cluster/metrics": "external metric servers (InfluxDB, Graphite) and metrics export",
  "/cluster/notifications": "notification targets (SMTP, Gotify, webhooks), matchers",
  "/cluster/options": "datacenter options (keyboard, migration, console, tags)",
  "/cluster/replication": "storage replication jobs between nodes (ZFS)",
  "/cluster/resources": "every guest, node, storage and pool with usage",
  "/cluster/sdn": "software-defined networking: zones, VNets, subnets, controllers, IPAM",
  "/nodes/{node}/apt": "package updates: available updates, changelogs, repositories",
  "/nodes/{node}/capabilities": "CPU models and machine types a node offers to VMs",
  "/nodes/{node}/ceph": "Ceph on a node: OSDs, monitors, managers, pools, metadata servers",
  "/nodes/{node}/certificates": "node TLS certificates, custom or via ACME",
  "/nodes/{node}/disks": "physical disks, SMART, LVM, LVM-thin, ZFS pools, directories",
  "/nodes/{node}/firewall": "node firewall: rules, options, log",
  "/nodes/{node}/hardware": "PCI and USB devices of a node (for passthrough)",
  "/nodes/{node}/lxc": "containers (LXC) on a node",
  "/nodes/{node}/lxc/{vmid}/firewall": "firewall of a container: rules, IP sets, aliases",
  "/nodes/{node}/network": "network interfaces, bridges, bonds, VLANs; apply or revert",
  "/nodes/{node}/qemu": "virtual machines (QEMU) on a node",
  "/nodes/{node}/qemu/{vmid}/agent": "QEMU guest agent: OS info, file access, exec, fsfreeze",
  "/nodes/{node}/qemu/{vmid}/firewall": "firewall of a VM: rules, IP sets, aliases, options",
  "/nodes/{node}/replication": "replication job status on a node",
  "/nodes/{node}/scan": "discover storage targets (NFS, CIFS, iSCSI, LVM, ZFS, PBS)",
  "/nodes/{node}/sdn": "SDN status on a node",
  "/nodes/{node}/services": "system services of a node: state, start, stop, restart",
  "/nodes/{node}/storage": "storages as seen from a node: status, content, upload, download",
  "/nodes/{node}/tasks": "tasks of a node: list, status, log, stop",
  "/nodes/{node}/vzdump": "backups (vzdump)",
  "/pools": "resource pools grouping guests and storages",
  "/storage": "storage definitions of the datacenter",
};

/** The family summary of a template, if one applies. */
export function familySummary(template: string): string | undefined {
  let best: string | undefined;
  for (const prefix of Object.keys(FAMILIES)) {
    if (template === prefix || template.startsWith(`${prefix}/`)) {
      if (!best || prefix.length > best.length) best = prefix;
    }
  }
  return best ? FAMILIES[best] : undefined;
}

/** Query words mapped to the words the schema uses. */
const SYNONYMS: Record<string, string[]> = {
  vm: ["qemu"],
  vms: ["qemu"],
  virtual: ["qemu"],
  machine: ["qemu"],
  container: ["lxc"],
  containers: ["lxc"],
  ct: ["lxc"],
  guest: ["qemu", "lxc"],
  guests: ["qemu", "lxc"],
  backup: ["vzdump", "backup"],
  backups: ["vzdump", "backup"],
  ha: ["ha"],
  token: ["token"],
  tokens: ["token"],
  permission: ["permissions", "acl"],
  updates: ["apt", "update"],
  update: ["apt", "update"],
  packages: ["apt"],
  package: ["apt"],
  cert: ["certificates"],
  certificate: ["certificates"],
  interface: ["network"],
  interfaces: ["network"],
  bridge: ["network"],
  osd: ["osd"],
  zfs: ["zfs"],
  list: ["get"],
  show: ["get"],
  read: ["get"],
  create: ["post"],
  add: ["post"],
  remove: ["delete"],
  destroy: ["delete"],
  change: ["put"],
  modify: ["put"],
  set: ["put"],
};

const VERB_WORDS: Record<HttpMethod, string> = {
  GET: "get",
  POST: "post",
  PUT: "put",
  DELETE: "delete",
};

function words(text: string): string[] {
  return text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

function stem(word: string): string {
  if (word.length > 4 && word.endsWith("ies")) return word.slice(0, -3) + "y";
  if (word.length > 3 && word.endsWith("s") && !word.endsWith("ss")) return word.slice(0, -1);
  return word;
}

interface Indexed {
  entry: ApiMethod;
  /** Literal path segments (stemmed), weight 3. */
  segments: Set<string>;
  /** Method name parts and path parameter names, weight 2. */
  names: Set<string>;
  /** Family summary words, weight 1. */
  summary: Set<string>;
}

let index: Indexed[] | undefined;

function buildIndex(): Indexed[] {
  return allMethods().map((entry) => {
    const segs = entry.path.split("/").filter(Boolean);
    const segments = new Set<string>();
    const names = new Set<string>([VERB_WORDS[entry.method]]);
    for (const seg of segs) {
      const param = /^\{(.+)\}$/.exec(seg);
      for (const w of words(param ? param[1] : seg)) (param ? names : segments).add(stem(w));
    }
    for (const w of words(entry.schema.name ?? "")) names.add(stem(w));
    const summary = new Set(words(familySummary(entry.path) ?? "").map(stem));
    return { entry, segments, names, summary };
  });
}

/** A search hit with its score. */
export interface SearchHit extends ApiMethod {
  /** Query words it matched. */
  matched: number;
  score: number;
}

/**
 * Methods matching `query`: words (a word or one of its synonyms appears in the path, the
 * method's name or its family summary; only the methods matching the most words, better
 * matches first), or a path prefix when the
 * query starts with `/` (concrete segments such as `pve1` match the schema's `{node}`).
 */
export function searchMethods(query: string, method?: HttpMethod): SearchHit[] {
  const q = query.trim();
  const all = allMethods().filter((m) => !method || m.method === method);
  if (q === "" || q === "/") {
    return all.map((m) => ({ ...m, matched: 0, score: 0 }));
  }
  if (q.startsWith("/")) return prefixHits(q, all);
  index ??= buildIndex();
  const terms = [...new Set(words(q))];
  const hits: SearchHit[] = [];
  for (const item of index) {
    if (method && item.entry.method !== method) continue;
    let matched = 0;
    let score = 0;
    for (const term of terms) {
      const alts = [term, ...(SYNONYMS[term] ?? [])].map(stem);
      let best = 0;
      for (const a of alts) {
        if (item.segments.has(a)) best = Math.max(best, 3);
        else if (item.names.has(a)) best = Math.max(best, 2);
        else if (item.summary.has(a)) best = Math.max(best, 1);
      }
      if (best) {
        matched++;
        score += best;
      }
    }
    if (matched) hits.push({ ...item.entry, matched, score });
  }
  const most = Math.max(0, ...hits.map((h) => h.matched));
  return hits.filter((h) => h.matched === most).sort((a, b) =>
    b.matched - a.matched || b.score - a.score ||
    a.path.split("/").length - b.path.split("/").length || a.path.localeCompare(b.path) ||
    a.method.localeCompare(b.method)
  );
}

function prefixHits(prefix: string, all: ApiMethod[]): SearchHit[] {
  const want = prefix.split("/").filter(Boolean);
  const out: SearchHit[] = [];
  for (const m of all) {
    const segs = m.path.split("/").filter(Boolean);
    if (segs.length < want.length) continue;
    const ok = want.every((w, i) =>
      segs[i] === w || (segs[i].startsWith("{") && !isLiteralChild(segs.slice(0, i), w))
    );
    if (ok) out.push({ ...m, matched: want.length, score: 0 });
  }
  return out;
}

/** Whether `seg` is a literal child of the template prefix `parent` (so no `{param}` matches it). */
function isLiteralChild(parent: string[], seg: string): boolean {
  const path = `/${[...parent, seg].join("/")}`;
  return Object.keys(apiSchema.paths).some((p) => p === path || p.startsWith(`${path}/`));
}

/** One parameter, in a few words: `integer 100-999999999`, `enum qemu|lxc`, `string (pve-node)`. */
export function describeParam(p: ParamSchema): string {
  const parts: string[] = [];
  if (p.enum) parts.push(`one of ${p.enum.join("|")}`);
  else if (p.type === "array" && p.items) parts.push(`list of ${describeParam(p.items)}`);
  else parts.push(p.type ?? "string");
  if (p.minimum !== undefined || p.maximum !== undefined) {
    parts.push(`${p.minimum ?? "…"}-${p.maximum ?? "…"}`);
  }
  if (p.maxLength !== undefined) parts.push(`max ${p.maxLength} chars`);
  if (typeof p.format === "string") parts.push(`format ${p.format}`);
  else if (p.format) {
    const keys = Object.entries(p.format).filter(([, s]) => !s.alias).map(([k, s]) =>
      s.optional ? k : `${k}*`
    );
    parts.push(`property string ${keys.slice(0, 12).join(",")}${keys.length > 12 ? ",…" : ""}`);
  }
  if (p.pattern && !p.enum && typeof p.format !== "string") parts.push("regex-checked");
  if (p.default !== undefined) parts.push(`default ${JSON.stringify(p.default)}`);
  return parts.join(", ");
}

/** Parameters of a method split into required and optional, each `name: description`. */
export function methodParams(
  schema: MethodSchema,
): { required: Record<string, string>; optional: Record<string, string> } {
  const required: Record<string, string> = {};
  const optional: Record<string, string> = {};
  for (const [name, p] of Object.entries(schema.parameters.properties)) {
    (p.optional || name.endsWith("[n]") ? optional : required)[name] = describeParam(p);
  }
  return { required, optional };
}

/** The shape of what a method returns, in a few words (for `fields`). */
export function describeReturns(schema: MethodSchema): string {
  const r = schema.returns;
  if (!r || r.type === "null") return "nothing";
  const keys = (s: ParamSchema | undefined) => Object.keys(s?.properties ?? {});
  if (r.type === "array") {
    const k = keys(r.items);
    return k.length ? `list of objects: ${k.join(", ")}` : `list of ${r.items?.type ?? "items"}`;
  }
  if (r.type === "object") {
    const k = keys(r);
    return k.length ? `object: ${k.join(", ")}` : "object";
  }
  return r.type ?? "any";
}

/** Whether a method changes anything (every method but GET). */
export function changesCluster(method: HttpMethod): boolean {
  return method !== "GET";
}

/** The Levenshtein distance of two short strings. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]++;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/**
 * The valid paths (templates) closest to a concrete `path` that matches none, best first: paths
 * that share the longest prefix with it and whose next segments are spelled most alike.
 */
export function closestPaths(path: string, method?: HttpMethod, max = 5): string[] {
  const segs = path.split("/").filter(Boolean);
  const scored: { template: string; cost: number }[] = [];
  for (const template of Object.keys(apiSchema.paths)) {
    if (method && !apiSchema.paths[template][method]) continue;
    const t = template.split("/").filter(Boolean);
    let cost = Math.abs(t.length - segs.length) * 3;
    const n = Math.min(t.length, segs.length);
    for (let i = 0; i < n; i++) {
      if (t[i].startsWith("{") || t[i] === segs[i]) continue;
      const d = distance(t[i], segs[i]);
      cost += Math.min(4, d) + (i < 2 ? 2 : 0);
    }
    scored.push({ template, cost });
  }
  return scored.sort((a, b) => a.cost - b.cost || a.template.localeCompare(b.template))
    .slice(0, max).map((s) => s.template);
}

/** The methods a concrete path accepts, empty when it matches no template. */
export function methodsOf(path: string): HttpMethod[] {
  const found = (["GET", "POST", "PUT", "DELETE"] as const).filter((m) =>
    !("error" in matchRoute(m, path))
  );
  return found;
}
