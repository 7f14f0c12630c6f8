/**
 * Cluster-wide tools: status and version, the resource inventory, the next free VMID.
 *
 * @module
 */
import { z } from "zod";
import { flag, num } from "../proxmox/resources.ts";
import { Facts, pickVmid, vmidFree } from "./preflight.ts";
import { args, cursor, fieldList, limit, oneOf, vmid } from "./args.ts";
import { table } from "./format.ts";
import { listAnswer, pageOf, ResourceItem, toResourceItem } from "./listing.ts";
import { paginate, pick, queryKey } from "./paginate.ts";
import { queryResources, SORT_KEYS } from "./resource_query.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";
import { nodeFilter, WORDING } from "./params.ts";

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

const RESOURCE_FIELDS = Object.keys(ResourceItem.shape) as [string, ...string[]];
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

const clusterResources = defineTool({
  name: "cluster_resources",
  title: "Cluster resources",
  description:
    "Inventory of nodes, guests, storages and pools with usage; filtered, sorted, paged.",
  toolset: "cluster",
  readsSnapshot: true,
  privilege: "Audit privileges on each object (objects without them are not listed)",
  annotations: READ_ONLY,
  input: args({
    type: oneOf(["vm", "qemu", "lxc", "node", "storage", "pool", "sdn"], "type").optional()
      .describe("Only this type; vm: qemu and lxc"),
    node: nodeFilter(),
    status: z.string().optional().describe("Only this status, e.g. running, online"),
    tag: z.string().optional().describe("Only with this tag"),
    pool: z.string().optional().describe("Only in this pool"),
    name: z.string().optional().describe("Name or storage ID contains this, any case"),
    sort: oneOf(["id", ...SORT_KEYS], "sort").default("id").describe("Sort key"),
    order: oneOf(["asc", "desc"], "order").default("asc").describe("Sort order"),
    limit: limit(),
    cursor: cursor(),
    fields: fieldList(RESOURCE_FIELDS).describe(WORDING.fields(DEFAULT_RESOURCE_FIELDS)),
  }),
  output: pageOf(ResourceItem),
  async handler(a, ctx) {
    const found = await queryResources(ctx, a, { key: a.sort, order: a.order });
    const page = paginate(found, { limit: a.limit, cursor: a.cursor, query: queryKey(a) });
    const fields = a.fields ?? DEFAULT_RESOURCE_FIELDS;
    return listAnswer(page, pick(page.items.map(toResourceItem), fields, fields), fields);
  },
});

const nextVmid = defineTool({
  name: "next_vmid",
  title: "Next free VMID",
  description: "The next free VMID this server may use, or whether a given VMID is free.",
  toolset: "cluster",
  privilege: "none",
  annotations: READ_ONLY,
  input: args({ vmid: vmid().optional().describe("Check this VMID instead") }),
  output: z.object({
    vmid: z.number(),
    free: z.boolean(),
    in_scope: z.boolean().optional().describe("false: this server may not create it"),
  }),
  async handler(a, ctx) {
    const rules = ctx.scope?.rules;
    const ranged = rules?.allowedVmids !== undefined || rules?.deniedVmids !== undefined;
    const id = a.vmid ?? await pickVmid(new Facts(ctx));
    const free = a.vmid === undefined ? true : await vmidFree(ctx, id);
    const inScope = ranged ? ctx.scope!.vmidAllowed(id) : undefined;
    const note = inScope === false ? " (outside the VMIDs this server may use)" : "";
    return {
      structured: inScope === undefined
        ? { vmid: id, free }
        : { vmid: id, free, in_scope: inScope },
      text: `${id} is ${free ? "free" : "taken"}${note}`,
    };
  },
});

/** The cluster toolset. */
export const clusterTools: Tool[] = [clusterStatus, clusterResources, nextVmid];
