/**
 * Cluster-wide tools: status and version, the resource inventory, the next free VMID.
 *
 * @module
 */
import { z } from "zod";
import { ProxmoxApiError } from "../proxmox/errors.ts";
import { type ClusterResource, flag, num, splitTags } from "../proxmox/resources.ts";
import { args, cursor, fieldList, limit, nodeName, oneOf, vmid } from "./args.ts";
import { bytes, percent, roundFraction, table } from "./format.ts";
import { pageFooter, pageOf } from "./guests.ts";
import { paginate, pick, queryKey } from "./paginate.ts";
import { queryResources, SORT_KEYS } from "./resource_query.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";

const StatusEntry = z.object({
  type: z.enum(["cluster", "node"]),
  name: z.string(),
  id: z.string().optional(),
  ip: z.string().optional(),
  online: flag.optional(),
  local: flag.optional(),
  nodeid: num.optional(),
  quorate: flag.optional(),
  nodes: num.optional(),
  version: num.optional(),
  level: z.string().optional(),
}).loose();

const Version = z.object({ version: z.string(), release: z.string(), repoid: z.string() }).loose();

const clusterStatus = defineTool({
  name: "cluster_status",
  title: "Cluster status",
  description: "Cluster name, quorum, Proxmox VE version and each node's online state and IP.",
  toolset: "cluster",
  privilege: "Sys.Audit on / (nodes list needs no privilege)",
  annotations: READ_ONLY,
  input: args({}),
  output: z.object({
    cluster: z.string().optional().describe("absent on a standalone node"),
    quorate: z.boolean().optional(),
    version: z.string(),
    release: z.string(),
    nodes: z.array(z.object({
      name: z.string(),
      online: z.boolean(),
      ip: z.string().optional(),
      nodeid: z.number().optional(),
      local: z.boolean().optional(),
    })),
  }),
  async handler(_a, ctx) {
    const [status, version] = await Promise.all([
      ctx.api.get("/cluster/status", undefined, { signal: ctx.signal }),
      ctx.api.get("/version", undefined, { signal: ctx.signal }),
    ]);
    const entries = z.array(StatusEntry).parse(status);
    const v = Version.parse(version);
    const cluster = entries.find((e) => e.type === "cluster");
    const nodes = entries.filter((e) => e.type === "node").map((e) => ({
      name: e.name,
      online: Boolean(e.online),
      ip: e.ip,
      nodeid: e.nodeid,
      local: e.local || undefined,
    })).sort((a, b) => a.name.localeCompare(b.name));
    const out = {
      cluster: cluster?.name,
      quorate: cluster ? Boolean(cluster.quorate) : undefined,
      version: v.version,
      release: v.release,
      nodes,
    };
    const head = `cluster ${out.cluster ?? "(standalone)"}${
      cluster ? ` quorate=${out.quorate ? "yes" : "NO"}` : ""
    } pve ${v.version}`;
    return {
      structured: out,
      text: `${head}\n${table(nodes, ["name", ["online", (n) => n.online ? "yes" : "NO"], "ip"])}`,
    };
  },
});

const RESOURCE_FIELDS = [
  "id",
  "type",
  "node",
  "vmid",
  "name",
  "status",
  "cpu",
  "maxcpu",
  "mem",
  "maxmem",
  "disk",
  "maxdisk",
  "uptime",
  "tags",
  "pool",
  "template",
  "storage",
  "content",
  "plugintype",
  "shared",
  "hastate",
  "lock",
] as const;
const DEFAULT_RESOURCE_FIELDS = [
  "id",
  "type",
  "node",
  "name",
  "status",
  "cpu",
  "mem",
  "maxmem",
  "disk",
  "maxdisk",
];

const Resource = z.object({
  id: z.string().optional(),
  type: z.string().optional(),
  node: z.string().optional(),
  vmid: z.number().optional(),
  name: z.string().optional(),
  status: z.string().optional(),
  cpu: z.number().optional(),
  maxcpu: z.number().optional(),
  mem: z.number().optional(),
  maxmem: z.number().optional(),
  disk: z.number().optional(),
  maxdisk: z.number().optional(),
  uptime: z.number().optional(),
  tags: z.array(z.string()).optional(),
  pool: z.string().optional(),
  template: z.boolean().optional(),
  storage: z.string().optional(),
  content: z.string().optional(),
  plugintype: z.string().optional(),
  shared: z.boolean().optional(),
  hastate: z.string().optional(),
  lock: z.string().optional(),
});

const clusterResources = defineTool({
  name: "cluster_resources",
  title: "Cluster resources",
  description:
    "Inventory of nodes, guests, storages and pools with usage. Filter by type/node/status/tag/pool/name; paged.",
  toolset: "cluster",
  privilege: "Audit privileges on each object (objects without them are not listed)",
  annotations: READ_ONLY,
  input: args({
    type: oneOf(["vm", "qemu", "lxc", "node", "storage", "pool", "sdn"], "type").optional(),
    node: nodeName().optional(),
    status: z.string().optional(),
    tag: z.string().optional(),
    pool: z.string().optional(),
    name: z.string().optional().describe("Substring of name or storage ID, case-insensitive"),
    sort: oneOf(["id", ...SORT_KEYS], "sort").default("id"),
    order: oneOf(["asc", "desc"], "order").default("asc"),
    limit: limit(),
    cursor: cursor(),
    fields: fieldList(RESOURCE_FIELDS).describe(
      `Fields to return; default ${DEFAULT_RESOURCE_FIELDS}`,
    ),
  }),
  output: pageOf(Resource),
  async handler(a, ctx) {
    const found = await queryResources(ctx, a, { key: a.sort, order: a.order });
    const page = paginate(found, { limit: a.limit, cursor: a.cursor, query: queryKey(a) });
    const fields = a.fields ?? DEFAULT_RESOURCE_FIELDS;
    const items = pick(page.items.map(toResource), fields, fields);
    const cols = fields.map((f) =>
      [f, (r: Record<string, unknown>) => renderUsage(f, r[f])] as [
        string,
        (r: Record<string, unknown>) => unknown,
      ]
    );
    return {
      structured: { ...page, items },
      text: `${table(items as Record<string, unknown>[], cols)}\n${pageFooter(page)}`,
    };
  },
});

function toResource(r: ClusterResource): z.infer<typeof Resource> {
  const { level: _level, tags, template, cpu, ...rest } = r;
  return {
    ...rest,
    cpu: cpu === undefined ? undefined : roundFraction(cpu),
    tags: tags ? splitTags(tags) : undefined,
    template: template || undefined,
  };
}

/** Renders usage fields in human units, others as they are. */
export function renderUsage(field: string, v: unknown): unknown {
  if (typeof v !== "number") return Array.isArray(v) ? v.join(";") : v;
  if (field === "cpu") return percent(v);
  if (["mem", "maxmem", "disk", "maxdisk"].includes(field)) return bytes(v);
  return v;
}

const nextVmid = defineTool({
  name: "next_vmid",
  title: "Next free VMID",
  description: "The next free VMID in the cluster, or whether a given VMID is free.",
  toolset: "cluster",
  privilege: "none",
  annotations: READ_ONLY,
  input: args({ vmid: vmid().optional().describe("Check this VMID instead") }),
  output: z.object({ vmid: z.number(), free: z.boolean() }),
  async handler(a, ctx) {
    try {
      const id = num.parse(
        await ctx.api.get("/cluster/nextid", a.vmid ? { vmid: a.vmid } : undefined, {
          signal: ctx.signal,
        }),
      );
      return { structured: { vmid: id, free: true }, text: `${id} is free` };
    } catch (err) {
      if (a.vmid && err instanceof ProxmoxApiError && err.status === 400) {
        return { structured: { vmid: a.vmid, free: false }, text: `${a.vmid} is taken` };
      }
      throw err;
    }
  },
});

/** The cluster toolset. */
export const clusterTools: Tool[] = [clusterStatus, clusterResources, nextVmid];
