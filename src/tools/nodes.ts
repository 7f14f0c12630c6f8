/**
 * Node tools: list, status, network interfaces, storages.
 *
 * @module
 */
import { z } from "zod";
import { flag, num } from "../proxmox/resources.ts";
import { args, oneOf, storageId } from "./args.ts";
import { bytes, duration, pairs, percent, table } from "./format.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";
import { nodeOrDefault } from "./params.ts";

const nodeList = defineTool({
  name: "node_list",
  title: "List nodes",
  description: "All cluster nodes with online state, CPU, memory, disk and uptime.",
  toolset: "nodes",
  privilege: "none (usage figures need Sys.Audit on /nodes/{node})",
  annotations: READ_ONLY,
  input: args({}),
  output: z.object({
    nodes: z.array(z.object({
      node: z.string(),
      status: z.string(),
      cpu: z.number().optional(),
      maxcpu: z.number().optional(),
      mem: z.number().optional(),
      maxmem: z.number().optional(),
      disk: z.number().optional(),
      maxdisk: z.number().optional(),
      uptime: z.number().optional(),
    })),
  }),
  async handler(_a, ctx) {
    ctx.inventory.invalidate();
    const nodes = (await ctx.inventory.nodes(ctx.signal))
      .map(({ node, status, cpu, maxcpu, mem, maxmem, disk, maxdisk, uptime }) => ({
        node,
        status,
        cpu,
        maxcpu,
        mem,
        maxmem,
        disk,
        maxdisk,
        uptime,
      }))
      .sort((a, b) => a.node.localeCompare(b.node));
    const text = table(nodes, [
      "node",
      "status",
      ["cpu", (n) => `${percent(n.cpu)}/${n.maxcpu ?? "?"}`],
      ["mem", (n) => `${bytes(n.mem)}/${bytes(n.maxmem)}`],
      ["disk", (n) => `${bytes(n.disk)}/${bytes(n.maxdisk)}`],
      ["uptime", (n) => duration(n.uptime)],
    ]);
    return { structured: { nodes }, text };
  },
});

const NodeStatusAnswer = z.object({
  cpu: num,
  cpuinfo: z.object({ model: z.string(), cpus: num, cores: num, sockets: num }).loose(),
  memory: z.object({ total: num, used: num, free: num, available: num.optional() }).loose(),
  swap: z.object({ total: num, used: num, free: num }).loose().optional(),
  rootfs: z.object({ total: num, used: num, avail: num }).loose(),
  uptime: num.optional(),
  loadavg: z.array(z.union([z.string(), z.number()])).optional(),
  pveversion: z.string(),
  kversion: z.string().optional(),
  "current-kernel": z.object({ release: z.string() }).loose().optional(),
  wait: num.optional(),
}).loose();

const nodeStatus = defineTool({
  name: "node_status",
  title: "Node status",
  description: "One node's CPU model and load, memory, swap, root disk, uptime and versions.",
  toolset: "nodes",
  privilege: "Sys.Audit on /nodes/{node}",
  annotations: READ_ONLY,
  input: args({ node: nodeOrDefault() }),
  output: z.object({
    node: z.string(),
    cpu: z.number().describe("fraction"),
    cpu_model: z.string(),
    cpus: z.number(),
    sockets: z.number(),
    loadavg: z.array(z.number()).optional(),
    iowait: z.number().optional(),
    memory: z.object({
      total: z.number(),
      used: z.number(),
      free: z.number(),
      available: z.number().optional(),
    }),
    swap: z.object({ total: z.number(), used: z.number(), free: z.number() }).optional(),
    rootfs: z.object({ total: z.number(), used: z.number(), avail: z.number() }),
    uptime: z.number().optional(),
    pveversion: z.string(),
    kernel: z.string().optional(),
  }),
  async handler(a, ctx) {
    const node = await ctx.inventory.pickNode(a.node, ctx.defaultNode, ctx.signal);
    const s = NodeStatusAnswer.parse(
      await ctx.api.get(`/nodes/${node}/status`, undefined, { signal: ctx.signal }),
    );
    const out = {
      node,
      cpu: s.cpu,
      cpu_model: s.cpuinfo.model,
      cpus: s.cpuinfo.cpus,
      sockets: s.cpuinfo.sockets,
      loadavg: s.loadavg?.map(Number),
      iowait: s.wait,
      memory: {
        total: s.memory.total,
        used: s.memory.used,
        free: s.memory.free,
        available: s.memory.available,
      },
      swap: s.swap && { total: s.swap.total, used: s.swap.used, free: s.swap.free },
      rootfs: { total: s.rootfs.total, used: s.rootfs.used, avail: s.rootfs.avail },
      uptime: s.uptime,
      pveversion: s.pveversion,
      kernel: s["current-kernel"]?.release ?? s.kversion,
    };
    const text = pairs({
      node,
      cpu: `${percent(out.cpu)} of ${out.cpus} (${out.cpu_model})`,
      load: out.loadavg?.join(" "),
      memory: `${bytes(out.memory.used)} used / ${bytes(out.memory.total)} (${
        bytes(out.memory.available ?? out.memory.free)
      } available)`,
      swap: out.swap && `${bytes(out.swap.used)} / ${bytes(out.swap.total)}`,
      rootfs: `${bytes(out.rootfs.used)} / ${bytes(out.rootfs.total)}`,
      uptime: duration(out.uptime),
      version: out.pveversion,
      kernel: out.kernel,
    });
    return { structured: out, text };
  },
});

const Iface = z.object({
  iface: z.string(),
  type: z.string(),
  active: flag.optional(),
  autostart: flag.optional(),
  method: z.string().optional(),
  cidr: z.string().optional(),
  address: z.string().optional(),
  gateway: z.string().optional(),
  bridge_ports: z.string().optional(),
  bridge_vlan_aware: flag.optional(),
  "vlan-id": num.optional(),
  "vlan-raw-device": z.string().optional(),
  slaves: z.string().optional(),
  bond_mode: z.string().optional(),
  mtu: num.optional(),
  comments: z.string().optional(),
}).loose();

const nodeNetwork = defineTool({
  name: "node_network",
  title: "Node network",
  description:
    "A node's network interfaces with addresses: bridges (vmbrN, VLAN-aware or not), bonds, VLANs, NICs.",
  toolset: "nodes",
  privilege: "Sys.Audit on /nodes/{node}",
  annotations: READ_ONLY,
  input: args({
    node: nodeOrDefault(),
    type: oneOf(["bridge", "bond", "eth", "vlan", "any_bridge"], "type").optional()
      .describe("Only this interface type"),
  }),
  output: z.object({
    node: z.string(),
    interfaces: z.array(z.object({
      iface: z.string(),
      type: z.string(),
      active: z.boolean(),
      cidr: z.string().optional(),
      gateway: z.string().optional(),
      ports: z.string().optional(),
      vlan_aware: z.boolean().optional(),
      vlan_id: z.number().optional(),
      mtu: z.number().optional(),
      comments: z.string().optional(),
    })),
  }),
  async handler(a, ctx) {
    const node = await ctx.inventory.pickNode(a.node, ctx.defaultNode, ctx.signal);
    const list = z.array(Iface).parse(
      await ctx.api.get(`/nodes/${node}/network`, a.type ? { type: a.type } : undefined, {
        signal: ctx.signal,
      }),
    );
    const interfaces = list.map((i) => ({
      iface: i.iface,
      type: i.type,
      active: Boolean(i.active),
      cidr: i.cidr ?? i.address,
      gateway: i.gateway,
      ports: i.bridge_ports ?? i.slaves ?? i["vlan-raw-device"],
      vlan_aware: i.bridge_vlan_aware || undefined,
      vlan_id: i["vlan-id"],
      mtu: i.mtu,
      comments: i.comments?.trim() || undefined,
    })).sort((x, y) => x.iface.localeCompare(y.iface));
    const text = table(interfaces, [
      "iface",
      "type",
      ["active", (i) => i.active ? "yes" : "no"],
      "cidr",
      "gateway",
      "ports",
      ["vlan", (i) => i.vlan_aware ? "aware" : i.vlan_id],
    ]);
    return { structured: { node, interfaces }, text: `node ${node}\n${text}` };
  },
});

const StorageEntry = z.object({
  storage: z.string(),
  type: z.string(),
  content: z.string().default(""),
  active: flag.optional(),
  enabled: flag.optional(),
  shared: flag.optional(),
  total: num.optional(),
  used: num.optional(),
  avail: num.optional(),
}).loose();

const nodeStorage = defineTool({
  name: "node_storage",
  title: "Node storages",
  description:
    "A node's storages: type, content types (images, rootdir, iso, vztmpl, backup, ...), state, free space.",
  toolset: "nodes",
  privilege: "Datastore.Audit or Datastore.AllocateSpace on /storage/{storage}",
  annotations: READ_ONLY,
  input: args({
    node: nodeOrDefault(),
    content: oneOf(
      ["images", "rootdir", "iso", "vztmpl", "backup", "snippets", "import"],
      "content",
    )
      .optional().describe("Only storages holding this content"),
    storage: storageId().optional().describe("Only this storage, e.g. local-lvm"),
  }),
  output: z.object({
    node: z.string(),
    storages: z.array(z.object({
      storage: z.string(),
      type: z.string(),
      content: z.array(z.string()),
      active: z.boolean(),
      enabled: z.boolean(),
      shared: z.boolean(),
      total: z.number().optional(),
      used: z.number().optional(),
      avail: z.number().optional(),
    })),
  }),
  async handler(a, ctx) {
    const node = await ctx.inventory.pickNode(a.node, ctx.defaultNode, ctx.signal);
    const list = z.array(StorageEntry).parse(
      await ctx.api.get(
        `/nodes/${node}/storage`,
        { content: a.content, storage: a.storage },
        { signal: ctx.signal },
      ),
    );
    const storages = list.map((s) => ({
      storage: s.storage,
      type: s.type,
      content: s.content.split(",").filter(Boolean).sort(),
      active: Boolean(s.active),
      enabled: s.enabled === undefined ? true : s.enabled,
      shared: Boolean(s.shared),
      total: s.total,
      used: s.used,
      avail: s.avail,
    })).sort((x, y) => x.storage.localeCompare(y.storage));
    const text = table(storages, [
      "storage",
      "type",
      ["content", (s) => s.content.join(",")],
      ["state", (s) => !s.enabled ? "disabled" : s.active ? "active" : "inactive"],
      ["shared", (s) => s.shared ? "yes" : "no"],
      ["avail", (s) => bytes(s.avail)],
      ["total", (s) => bytes(s.total)],
    ]);
    return { structured: { node, storages }, text: `node ${node}\n${text}` };
  },
});

/** The node toolset. */
export const nodeTools: Tool[] = [nodeList, nodeStatus, nodeNetwork, nodeStorage];
