/**
 * Guest tools: one set for QEMU VMs and LXC containers, addressed by VMID alone.
 *
 * @module
 */
import { z } from "zod";
import { guestPath } from "../proxmox/guests.ts";
import { flag, num, splitTags } from "../proxmox/resources.ts";
import { args, cursor, fieldList, limit, oneOf, optionalNode, vmid } from "./args.ts";
import { bytes, duration, pairs, percent, roundFraction } from "./format.ts";
import { listAnswer, pageOf, ResourceItem, toResourceItem } from "./listing.ts";
import { paginate, pick, queryKey } from "./paginate.ts";
import { queryResources, SORT_KEYS } from "./resource_query.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";
import { nodeFilter, WORDING } from "./params.ts";

const GuestSummary = ResourceItem.pick({
  vmid: true,
  name: true,
  type: true,
  node: true,
  status: true,
  cpu: true,
  maxcpu: true,
  mem: true,
  maxmem: true,
  disk: true,
  maxdisk: true,
  uptime: true,
  tags: true,
  pool: true,
  template: true,
  lock: true,
  hastate: true,
});
const GUEST_FIELDS = Object.keys(GuestSummary.shape) as [string, ...string[]];
const DEFAULT_GUEST_FIELDS = [
  "vmid",
  "name",
  "type",
  "node",
  "status",
  "cpu",
  "mem",
  "maxmem",
  "tags",
];

const guestList = defineTool({
  name: "guest_list",
  title: "List guests",
  description:
    "VMs and containers cluster-wide; filtered, sorted, paged. E.g. top memory users of a node: node=pve2, sort=mem, order=desc, limit=5.",
  toolset: "guests",
  readsSnapshot: true,
  privilege: "VM.Audit on /vms/{vmid} (guests without it are not listed)",
  annotations: READ_ONLY,
  input: args({
    node: nodeFilter(),
    type: oneOf(["qemu", "lxc"], "type").optional().describe("qemu: VMs; lxc: containers"),
    status: oneOf(["running", "stopped", "paused"], "status").optional().describe(
      "Only this status",
    ),
    tag: z.string().optional().describe("Only with this tag"),
    pool: z.string().optional().describe("Only in this pool"),
    name: z.string().optional().describe("Name contains this, any case"),
    template: z.boolean().optional().describe("true: only templates; false: no templates"),
    sort: oneOf(SORT_KEYS, "sort").default("vmid").describe("Sort key"),
    order: oneOf(["asc", "desc"], "order").default("asc").describe("Sort order"),
    limit: limit(),
    cursor: cursor(),
    fields: fieldList(GUEST_FIELDS).describe(WORDING.fields(DEFAULT_GUEST_FIELDS)),
  }),
  output: pageOf(GuestSummary),
  async handler(a, ctx) {
    const found = await queryResources(ctx, { ...a, type: a.type ?? "vm" }, {
      key: a.sort,
      order: a.order,
    });
    const page = paginate(found, { limit: a.limit, cursor: a.cursor, query: queryKey(a) });
    const fields = a.fields ?? DEFAULT_GUEST_FIELDS;
    return listAnswer(page, pick(page.items.map(toResourceItem), fields, fields), fields);
  },
});

const GuestStatusAnswer = z.object({
  status: z.string(),
  name: z.string().optional(),
  qmpstatus: z.string().optional(),
  uptime: num.optional(),
  cpu: num.optional(),
  cpus: num.optional(),
  mem: num.optional(),
  maxmem: num.optional(),
  disk: num.optional(),
  maxdisk: num.optional(),
  swap: num.optional(),
  maxswap: num.optional(),
  netin: num.optional(),
  netout: num.optional(),
  diskread: num.optional(),
  diskwrite: num.optional(),
  lock: z.string().optional(),
  tags: z.string().optional(),
  template: flag.optional(),
  agent: flag.optional(),
  pid: num.optional(),
  ha: z.object({ managed: num.optional(), state: z.string().optional() }).loose().optional(),
});

const guestStatus = defineTool({
  name: "guest_status",
  title: "Guest status",
  description:
    "Live status of one VM or container: power state, uptime, CPU, memory, disk and network use.",
  toolset: "guests",
  privilege: "VM.Audit on /vms/{vmid}",
  annotations: READ_ONLY,
  input: args({ vmid: vmid(), node: optionalNode() }),
  output: z.object({
    vmid: z.number(),
    type: z.enum(["qemu", "lxc"]),
    node: z.string(),
    name: z.string().optional(),
    status: z.string(),
    qmpstatus: z.string().optional(),
    uptime: z.number().optional(),
    cpu: z.number().optional(),
    cpus: z.number().optional(),
    mem: z.number().optional(),
    maxmem: z.number().optional(),
    disk: z.number().optional(),
    maxdisk: z.number().optional(),
    swap: z.number().optional(),
    maxswap: z.number().optional(),
    netin: z.number().optional(),
    netout: z.number().optional(),
    diskread: z.number().optional(),
    diskwrite: z.number().optional(),
    lock: z.string().optional(),
    tags: z.array(z.string()).optional(),
    template: z.boolean().optional(),
    ha_state: z.string().optional(),
  }),
  async handler(a, ctx) {
    const [g, raw] = await ctx.inventory.withGuest(a.vmid, a.node, ctx.signal, async (g) =>
      [
        g,
        await ctx.api.get(guestPath(g, "/status/current"), undefined, { signal: ctx.signal }),
      ] as const);
    const { ha, tags, template, agent: _agent, pid: _pid, ...s } = GuestStatusAnswer.parse(raw);
    const out = {
      vmid: g.vmid,
      type: g.type,
      node: g.node,
      ...s,
      cpu: s.cpu === undefined ? undefined : roundFraction(s.cpu),
      tags: tags ? splitTags(tags) : undefined,
      template: template || undefined,
      ha_state: ha?.managed ? ha.state : undefined,
    };
    const text = pairs({
      guest: `${g.type} ${g.vmid} ${out.name ?? ""} on ${g.node}`,
      status: out.qmpstatus && out.qmpstatus !== out.status
        ? `${out.status} (${out.qmpstatus})`
        : out.status,
      uptime: out.uptime ? duration(out.uptime) : undefined,
      cpu: out.cpu !== undefined ? `${percent(out.cpu)} of ${out.cpus ?? "?"} cores` : undefined,
      mem: `${bytes(out.mem)} / ${bytes(out.maxmem)}`,
      disk: out.maxdisk ? `${bytes(out.disk)} / ${bytes(out.maxdisk)}` : undefined,
      net: out.netin !== undefined ? `in ${bytes(out.netin)} out ${bytes(out.netout)}` : undefined,
      lock: out.lock,
      tags: out.tags?.join(";"),
      template: out.template,
      ha: out.ha_state,
    });
    return { structured: out, text };
  },
});

/** Config values longer than this are cut short unless asked for by `keys`. */
const CONFIG_VALUE_MAX = 200;

const guestConfig = defineTool({
  name: "guest_config",
  title: "Guest configuration",
  description:
    `Configuration of one VM or container (disks, network, CPU, memory, options). Values over ${CONFIG_VALUE_MAX} chars are cut short unless named in keys.`,
  toolset: "guests",
  privilege: "VM.Audit on /vms/{vmid}",
  annotations: READ_ONLY,
  input: args({
    vmid: vmid(),
    node: optionalNode(),
    keys: z.array(
      z.string().regex(/^[a-z][a-z0-9_-]*$/i, { error: "each key must be a config key like net0" }),
    )
      .optional().describe('Only these keys, in full, e.g. ["net0","description"]'),
    pending: z.boolean().default(false).describe("Include changes pending a restart"),
  }),
  output: z.object({
    vmid: z.number(),
    type: z.enum(["qemu", "lxc"]),
    node: z.string(),
    digest: z.string().optional(),
    config: z.record(z.string(), z.union([z.string(), z.number()])),
    truncated: z.array(z.string()).optional().describe("keys cut short; pass them in keys"),
    pending: z.array(z.object({
      key: z.string(),
      value: z.union([z.string(), z.number()]).optional(),
      pending: z.union([z.string(), z.number()]).optional(),
      delete: z.number().optional(),
    })).optional(),
  }),
  async handler(a, ctx) {
    const [g, answer] = await ctx.inventory.withGuest(a.vmid, a.node, ctx.signal, async (g) =>
      [
        g,
        await ctx.api.get(guestPath(g, "/config"), undefined, { signal: ctx.signal }),
      ] as const);
    const raw = z.record(z.string(), z.unknown()).parse(answer);
    const { digest, ...rest } = raw;
    const config: Record<string, string | number> = {};
    const truncated: string[] = [];
    for (const [k, v] of Object.entries(rest)) {
      if (a.keys && !a.keys.includes(k)) continue;
      if (typeof v === "string") {
        if (!a.keys && v.length > CONFIG_VALUE_MAX) {
          config[k] = `${v.slice(0, CONFIG_VALUE_MAX)}… (${v.length} chars)`;
          truncated.push(k);
        } else {
          config[k] = v;
        }
      } else if (typeof v === "number") config[k] = v;
      else if (typeof v === "boolean") config[k] = v ? 1 : 0;
    }
    let pending: {
      key: string;
      value?: string | number;
      pending?: string | number;
      delete?: number;
    }[] | undefined;
    if (a.pending) {
      const entries = z.array(
        z.object({
          key: z.string(),
          value: z.union([z.string(), z.number()]).optional(),
          pending: z.union([z.string(), z.number()]).optional(),
          delete: num.optional(),
        }).loose(),
      ).parse(await ctx.api.get(guestPath(g, "/pending"), undefined, { signal: ctx.signal }));
      pending = entries
        .filter((e) => e.pending !== undefined || e.delete)
        .map(({ key, value, pending, delete: del }) => ({ key, value, pending, delete: del }));
    }
    const lines = Object.entries(config).map(([k, v]) =>
      `${k}: ${String(v).replace(/\n/g, "\\n")}`
    );
    if (pending?.length) {
      lines.push(
        "pending:",
        ...pending.map((p) => `  ${p.key}: ${p.delete ? "(delete)" : p.pending}`),
      );
    }
    if (truncated.length) {
      lines.push(`cut short: ${truncated.join(", ")}; pass keys=${JSON.stringify(truncated)}`);
    }
    return {
      structured: {
        vmid: g.vmid,
        type: g.type,
        node: g.node,
        digest: typeof digest === "string" ? digest : undefined,
        config,
        truncated: truncated.length ? truncated : undefined,
        pending,
      },
      text: `${g.type} ${g.vmid} on ${g.node}\n${lines.join("\n")}`,
    };
  },
});

/** The guest toolset. */
export const guestTools: Tool[] = [guestList, guestStatus, guestConfig];
