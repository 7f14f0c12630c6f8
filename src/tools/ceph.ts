/**
 * `ceph_status`: Ceph health with each check explained in a line, OSDs up/in (naming the down
 * ones), PG states, pools with usage and monitors. Reads both `ceph status` layouts: Nautilus
 * (PVE 6) nests `osdmap.osdmap`, Octopus and later (PVE 7, 8, 9) are flat; PVE 7 lists pools at
 * `ceph/pools`, PVE 8 and 9 at `ceph/pool`.
 *
 * @module
 */
import { z } from "zod";
import { ProxmoxApiError } from "../proxmox/errors.ts";
import { num } from "../proxmox/resources.ts";
import { args } from "./args.ts";
import { node as nodeParam } from "./params.ts";
import { type ToolContext, ToolInputError } from "./context.ts";
import { bytes, pairs, table } from "./format.ts";
import { rows } from "./listing.ts";
import { nodesFor } from "./node_health.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";

/** One line per well-known health check code: what it means and what to look at. */
const EXPLAIN: Record<string, string> = {
  OSD_DOWN: "OSDs are down: data on them is served from replicas; check the OSD service and disk",
  OSD_HOST_DOWN: "a whole host's OSDs are down: check that node and its network",
  OSD_NEARFULL: "OSDs are over the nearfull ratio: add capacity or rebalance soon",
  OSD_FULL: "OSDs are full: writes are blocked until space is freed or added",
  OSD_BACKFILLFULL: "OSDs are too full to take backfill: recovery is stalled",
  OSD_SCRUB_ERRORS: "scrubbing found inconsistencies: see PG_DAMAGED and repair the PGs",
  OSDMAP_FLAGS: "cluster flags (noout, norebalance, ...) are set: unset them after maintenance",
  PG_DEGRADED: "some objects have fewer copies than the pool size: recovery runs when OSDs return",
  PG_AVAILABILITY: "some PGs are inactive: I/O to them blocks; usually too many OSDs down",
  PG_DAMAGED: "PGs are inconsistent or damaged: run a repair of the named PGs",
  PG_NOT_SCRUBBED: "PGs were not scrubbed in time: the cluster is busy or scrubbing is limited",
  PG_NOT_DEEP_SCRUBBED: "PGs were not deep-scrubbed in time: usually harmless, check scrub load",
  POOL_NEARFULL: "a pool is close to its quota or the cluster's capacity",
  POOL_FULL: "a pool is full: writes to it are blocked",
  POOL_NO_REDUNDANCY: "a pool keeps a single copy: one failed OSD loses data",
  TOO_FEW_PGS: "too few PGs for the data: enable the PG autoscaler or raise pg_num",
  MON_DOWN: "a monitor is down: quorum holds while a majority runs",
  MON_CLOCK_SKEW: "monitor clocks differ: fix time sync (chrony) on the nodes",
  MON_DISK_LOW: "a monitor's disk is low on space: free space on that node's root disk",
  MGR_DOWN: "no manager is active: dashboards and metrics are missing",
  RECENT_CRASH: "a daemon crashed recently: inspect with 'ceph crash ls', archive when handled",
  SLOW_OPS: "requests are slow: a disk, network or overloaded OSD is lagging",
  BLUESTORE_SLOW_OP_ALERT: "an OSD's disk answers slowly: check its SMART health",
  AUTH_INSECURE_GLOBAL_ID_RECLAIM_ALLOWED:
    "insecure global_id reclaim is allowed: disable it once all clients are updated",
};

const Check = z.object({
  severity: z.string(),
  summary: z.object({ message: z.string(), count: num.optional() }).loose(),
  detail: z.array(z.object({ message: z.string() }).loose()).optional(),
  muted: z.unknown().optional(),
}).loose();

const OsdMapFlat = z.object({
  num_osds: num,
  num_up_osds: num,
  num_in_osds: num,
}).loose();

const CephStatus = z.object({
  health: z.object({
    status: z.string(),
    checks: z.record(z.string(), Check).default({}),
  }).loose(),
  quorum_names: z.array(z.string()).optional(),
  osdmap: z.union([z.object({ osdmap: OsdMapFlat }).loose(), OsdMapFlat]).optional(),
  pgmap: z.object({
    pgs_by_state: z.array(z.object({ state_name: z.string(), count: num }).loose()).default([]),
    num_pgs: num.optional(),
    bytes_used: num.optional(),
    bytes_avail: num.optional(),
    bytes_total: num.optional(),
  }).loose().optional(),
}).loose();

interface OsdNode {
  id?: number;
  name?: string;
  type?: string;
  host?: string;
  status?: string;
  in?: number;
  device_class?: string;
  percent_used?: number;
  children?: OsdNode[];
}

const OsdTree: z.ZodType<OsdNode> = z.lazy(() =>
  z.object({
    id: num.optional(),
    name: z.string().optional(),
    type: z.string().optional(),
    host: z.string().optional(),
    status: z.string().optional(),
    in: num.optional(),
    device_class: z.string().optional(),
    percent_used: num.optional(),
    children: z.array(OsdTree).optional(),
  }).loose()
);

const Pool = z.object({
  pool_name: z.string(),
  size: num.optional(),
  min_size: num.optional(),
  pg_num: num.optional(),
  bytes_used: num.optional(),
  percent_used: num.optional(),
}).loose();

const Mon = z.object({
  name: z.string(),
  addr: z.string().optional(),
  quorum: z.unknown().optional(),
  state: z.string().optional(),
}).loose();

/** True when an error says Ceph was never set up on this cluster. */
function notConfigured(err: unknown): boolean {
  return err instanceof ProxmoxApiError &&
    /not initialized|not installed|binary not installed|rados_connect|No such file|ENOENT|ceph\.conf/i
      .test(err.apiMessage);
}

function collectOsds(node: OsdNode, host?: string, out: OsdNode[] = []): OsdNode[] {
  if (node.type === "osd") out.push({ ...node, host: node.host ?? host });
  for (const c of node.children ?? []) {
    collectOsds(c, node.type === "host" ? node.name : host, out);
  }
  return out;
}

async function poolsOf(ctx: ToolContext, node: string) {
  const opts = { signal: ctx.signal };
  try {
    return z.array(Pool).parse(await ctx.api.get(`/nodes/${node}/ceph/pool`, undefined, opts));
  } catch (err) {
    // PVE 7 names the pool list `ceph/pools`.
    if (err instanceof ProxmoxApiError && (err.status === 501 || err.status === 404)) {
      return z.array(Pool).parse(await ctx.api.get(`/nodes/${node}/ceph/pools`, undefined, opts));
    }
    throw err;
  }
}

const cephStatus = defineTool({
  name: "ceph_status",
  title: "Ceph status",
  description:
    "Ceph health with each check explained, OSDs up/in and which are down, PG states, pools with usage, monitors. Says so when Ceph is not configured.",
  toolset: "ceph",
  privilege: "Sys.Audit or Datastore.Audit on /",
  annotations: READ_ONLY,
  input: args({ node: nodeParam("Node name to ask; default: the first online node").optional() }),
  output: z.object({
    configured: z.boolean(),
    health: z.string().optional().describe("HEALTH_OK, HEALTH_WARN or HEALTH_ERR"),
    checks: rows("code, severity, summary, explanation, detail").optional(),
    osds: z.object({
      total: z.number(),
      up: z.number(),
      in: z.number(),
      down: rows("name, host"),
    }).optional(),
    pgs: z.object({
      total: z.number(),
      states: z.array(z.object({ state: z.string(), count: z.number() })),
    }).optional(),
    usage: z.object({
      used: z.number().optional(),
      avail: z.number().optional(),
      total: z.number().optional(),
    }).optional().describe("bytes"),
    pools: rows("name, size, min_size, pg_num, used (bytes), percent_used").optional(),
    monitors: rows("name, addr, in_quorum").optional(),
    message: z.string().optional(),
  }),
  async handler(a, ctx) {
    const [node] = await nodesFor(ctx, a.node);
    if (!node) throw new ToolInputError("No node is online to ask about Ceph");
    let raw: unknown;
    try {
      raw = await ctx.api.get("/cluster/ceph/status", undefined, { signal: ctx.signal });
    } catch (err) {
      if (!notConfigured(err)) throw err;
      const message = `Ceph is not configured on this cluster (${
        (err as ProxmoxApiError).apiMessage
      }): nothing to report`;
      return { structured: { configured: false, message }, text: message };
    }
    const s = CephStatus.parse(raw);
    const opts = { signal: ctx.signal };
    const [tree, pools, mons] = await Promise.all([
      ctx.api.get(`/nodes/${node}/ceph/osd`, undefined, opts)
        .then((t) => z.object({ root: OsdTree }).loose().parse(t)),
      poolsOf(ctx, node),
      ctx.api.get(`/nodes/${node}/ceph/mon`, undefined, opts).then((m) => z.array(Mon).parse(m)),
    ]);
    const osdList = collectOsds(tree.root);
    const map: z.infer<typeof OsdMapFlat> | undefined = s.osdmap &&
      ("osdmap" in s.osdmap ? s.osdmap.osdmap as z.infer<typeof OsdMapFlat> : s.osdmap);
    const checks = Object.entries(s.health.checks).map(([code, c]) => ({
      code,
      severity: c.severity,
      summary: c.summary.message,
      explanation: EXPLAIN[code],
      detail: (c.detail ?? []).slice(0, 5).map((d) => d.message),
    }));
    const quorum = new Set(s.quorum_names ?? []);
    const out = {
      configured: true,
      health: s.health.status,
      checks,
      osds: {
        total: map?.num_osds ?? osdList.length,
        up: map?.num_up_osds ?? osdList.filter((o) => o.status === "up").length,
        in: map?.num_in_osds ?? osdList.filter((o) => o.in).length,
        down: osdList.filter((o) => o.status !== "up")
          .map((o) => ({ name: o.name ?? `osd.${o.id}`, host: o.host })),
      },
      pgs: {
        total: s.pgmap?.num_pgs ?? 0,
        states: (s.pgmap?.pgs_by_state ?? []).map((p) => ({ state: p.state_name, count: p.count }))
          .sort((x, y) => y.count - x.count),
      },
      usage: {
        used: s.pgmap?.bytes_used,
        avail: s.pgmap?.bytes_avail,
        total: s.pgmap?.bytes_total,
      },
      pools: pools.map((p) => ({
        name: p.pool_name,
        size: p.size,
        min_size: p.min_size,
        pg_num: p.pg_num,
        used: p.bytes_used,
        percent_used: p.percent_used === undefined
          ? undefined
          : Math.round(p.percent_used * 10_000) / 100,
      })),
      monitors: mons.map((m) => ({
        name: m.name,
        addr: m.addr,
        in_quorum: quorum.size ? quorum.has(m.name) : m.quorum === true || m.quorum === 1,
      })),
    };
    const text = [
      pairs({
        health: out.health,
        osds: `${out.osds.up} up, ${out.osds.in} in of ${out.osds.total}${
          out.osds.down.length
            ? ` (down: ${out.osds.down.map((o) => `${o.name}@${o.host ?? "?"}`).join(", ")})`
            : ""
        }`,
        pgs: `${out.pgs.total}: ${out.pgs.states.map((p) => `${p.count} ${p.state}`).join(", ")}`,
        usage: `${bytes(out.usage.used)} used of ${bytes(out.usage.total)}`,
        monitors: out.monitors.map((m) => `${m.name}${m.in_quorum ? "" : " (out of quorum)"}`)
          .join(", "),
      }),
      ...checks.map((c) =>
        `${c.severity} ${c.code}: ${c.summary}${c.explanation ? ` — ${c.explanation}` : ""}${
          c.detail.length ? `\n  ${c.detail.join("\n  ")}` : ""
        }`
      ),
      table(out.pools, [
        "name",
        "size",
        "min_size",
        "pg_num",
        ["used", (p) => bytes(p.used)],
        ["use%", (p) => p.percent_used],
      ]),
    ].join("\n");
    return { structured: out, text };
  },
});

/** The Ceph toolset. */
export const cephTools: Tool[] = [cephStatus];
