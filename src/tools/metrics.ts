/**
 * Metrics tools: RRD history of guests and nodes summarised per series (min/avg/max/last and
 * when the peak was), a cluster-wide ranking of guests, and raw points only on request.
 *
 * @module
 */
import { z } from "zod";
import { guestPath } from "../proxmox/guests.ts";
import type { ClusterResource } from "../proxmox/resources.ts";
import { args, limit, oneOf, vmid } from "./args.ts";
import { node as nodeArg, nodeOfGuest } from "./params.ts";
import type { ToolContext } from "./context.ts";
import { bytes, table, time } from "./format.ts";
import { rows } from "./listing.ts";
import { nodesFor } from "./node_health.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";
import { nowMs, parseWindow, timeArg } from "./timespec.ts";

const TIMEFRAMES = ["hour", "day", "week", "month", "year"] as const;
const GUEST_SERIES = ["cpu", "mem", "netin", "netout", "diskread", "diskwrite"] as const;
const NODE_SERIES = [
  "cpu",
  "iowait",
  "loadavg",
  "memused",
  "swapused",
  "rootused",
  "netin",
  "netout",
] as const;

/** How each RRD field is reported: unit and scale from the raw value. */
const UNITS: Record<string, { unit: string; scale: number }> = {
  cpu: { unit: "%", scale: 100 },
  iowait: { unit: "%", scale: 100 },
  loadavg: { unit: "load", scale: 1 },
  mem: { unit: "bytes", scale: 1 },
  memused: { unit: "bytes", scale: 1 },
  swapused: { unit: "bytes", scale: 1 },
  rootused: { unit: "bytes", scale: 1 },
  netin: { unit: "bytes/s", scale: 1 },
  netout: { unit: "bytes/s", scale: 1 },
  diskread: { unit: "bytes/s", scale: 1 },
  diskwrite: { unit: "bytes/s", scale: 1 },
};

/** Most raw points returned per entity. */
const MAX_POINTS = 100;
/** Most guests one ranking reads RRD data of. */
const MAX_RANKED = 200;

const Stats = z.object({
  series: z.string(),
  unit: z.string(),
  min: z.number().optional(),
  avg: z.number().optional(),
  max: z.number().optional(),
  last: z.number().optional(),
  peak_time: z.string().optional().describe("UTC time of max"),
  samples: z.number(),
});
type Stats = z.infer<typeof Stats>;

type Row = Record<string, number>;

const RrdRows = z.array(z.record(z.string(), z.unknown())).transform((rows) =>
  rows.map((r) => {
    const out: Row = {};
    for (const [k, v] of Object.entries(r)) {
      const n = typeof v === "string" ? Number(v) : v;
      if (typeof n === "number" && Number.isFinite(n)) out[k] = n;
    }
    return out;
  }).filter((r) => r.time !== undefined)
);

function round(v: number): number {
  return Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 100) / 100;
}

/** Summary of one series over the rows that carry it. */
export function summarise(rows: Row[], series: string): Stats {
  const { unit, scale } = UNITS[series] ?? { unit: "", scale: 1 };
  const values = rows.filter((r) => r[series] !== undefined);
  if (!values.length) return { series, unit, samples: 0 };
  let peak = values[0];
  let sum = 0;
  let min = Infinity;
  for (const r of values) {
    sum += r[series];
    if (r[series] < min) min = r[series];
    if (r[series] > peak[series]) peak = r;
  }
  return {
    series,
    unit,
    min: round(min * scale),
    avg: round((sum / values.length) * scale),
    max: round(peak[series] * scale),
    last: round(values[values.length - 1][series] * scale),
    peak_time: time(peak.time),
    samples: values.length,
  };
}

function inWindow(rows: Row[], w: { since?: number; until?: number }): Row[] {
  return rows.filter((r) =>
    (w.since === undefined || r.time >= w.since) && (w.until === undefined || r.time <= w.until)
  );
}

function points(rows: Row[], series: readonly string[]): Row[] {
  const every = Math.ceil(rows.length / MAX_POINTS);
  return rows.filter((_, i) => i % every === 0).map((r) => {
    const p: Row = { time: r.time };
    for (const s of series) {
      if (r[s] !== undefined) p[s] = round(r[s] * (UNITS[s]?.scale ?? 1));
    }
    return p;
  });
}

function value(s: Stats, v: number | undefined): string {
  if (v === undefined) return "-";
  if (s.unit === "bytes") return bytes(v);
  if (s.unit === "bytes/s") return `${bytes(v)}/s`;
  return s.unit === "%" ? `${v}%` : String(v);
}

function show(s: Stats): string {
  if (!s.samples) return "no data";
  const f = (v?: number) => value(s, v);
  return `min ${f(s.min)} avg ${f(s.avg)} max ${f(s.max)} (at ${s.peak_time}) last ${f(s.last)}`;
}

async function rrd(ctx: ToolContext, path: string, timeframe: string, cf: string) {
  return RrdRows.parse(await ctx.api.get(path, { timeframe, cf }, { signal: ctx.signal }));
}

/** Runs `fn` over `items`, `width` at a time, keeping order. */
async function mapLimited<T, R>(items: T[], width: number, fn: (t: T) => Promise<R>) {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return out;
}

const common = {
  timeframe: oneOf(TIMEFRAMES, "timeframe").default("day").describe("RRD range (default day)"),
  cf: oneOf(["AVERAGE", "MAX"], "cf").default("AVERAGE").describe("Per-step AVERAGE or MAX"),
  since: timeArg("Window start"),
  until: timeArg("Window end"),
  points: z.boolean().default(false).describe(`Also return raw points (max ${MAX_POINTS})`),
};

const guestMetrics = defineTool({
  name: "guest_metrics",
  title: "Guest metrics",
  description:
    "Guest RRD history per series (cpu %, mem bytes, net/disk bytes/s): min/avg/max/last, peak time. No vmid: ranks running guests, e.g. top 5 by cpu.",
  toolset: "metrics",
  privilege: "VM.Audit on /vms/{vmid}",
  annotations: READ_ONLY,
  input: args({
    vmid: vmid().optional().describe("Guest; omit to rank guests"),
    ...common,
    series: z.array(oneOf(GUEST_SERIES, "each series")).min(1).optional()
      .describe(`Series: ${GUEST_SERIES.join(",")}`),
    rank_by: oneOf(GUEST_SERIES, "rank_by").default("cpu").describe("Ranking series"),
    top: limit(5, 50).describe("Ranking size (default 5)"),
    node: nodeOfGuest(),
    type: oneOf(["qemu", "lxc"], "type").optional().describe("Only qemu or lxc guests"),
  }),
  output: z.object({
    timeframe: z.string(),
    cf: z.string(),
    guest: z.object({
      vmid: z.number(),
      name: z.string().optional(),
      node: z.string(),
      type: z.string(),
    }).optional(),
    series: rows("series, unit, min, avg, max, last, peak_time, samples")
      .optional(),
    points: rows("time and series values").optional(),
    rank_by: z.string().optional(),
    ranking: rows(
      "vmid, name, node, type, stats",
    ).optional(),
    scanned: z.number().optional(),
    skipped: z.number().optional(),
  }),
  async handler(a, ctx) {
    const nowSec = Math.floor(nowMs(ctx) / 1000);
    const window = parseWindow(a.since, a.until, nowSec);
    if (a.vmid !== undefined) {
      const g = await ctx.inventory.guest(a.vmid, a.node, ctx.signal);
      const rows = inWindow(
        await rrd(ctx, guestPath(g, "/rrddata"), a.timeframe, a.cf),
        window,
      );
      const names = a.series ?? GUEST_SERIES;
      const series = names.map((s) => summarise(rows, s));
      const text = [
        `${g.type} ${g.vmid} ${g.name ?? ""} on ${g.node}, ${a.timeframe} (${a.cf})`,
        ...series.map((s) => `${s.series}: ${show(s)}`),
        ...(series.every((s) => !s.samples) ? ["no samples: the guest did not run then"] : []),
      ].join("\n");
      return {
        structured: {
          timeframe: a.timeframe,
          cf: a.cf,
          guest: { vmid: g.vmid, name: g.name, node: g.node, type: g.type },
          series,
          points: a.points ? points(rows, names) : undefined,
        },
        text,
      };
    }
    if (a.node) await ctx.inventory.requireNode(a.node, ctx.signal);
    const snapshot = await ctx.inventory.resources(ctx.signal);
    const candidates = snapshot.all.filter((r): r is ClusterResource & { vmid: number } =>
      (r.type === "qemu" || r.type === "lxc") && r.vmid !== undefined && !r.template &&
      r.status === "running" && (!a.node || r.node === a.node) && (!a.type || r.type === a.type)
    );
    const scan = candidates.slice(0, MAX_RANKED);
    const read = await mapLimited(scan, 6, async (r) => {
      const rows = inWindow(
        await rrd(
          ctx,
          guestPath({ node: r.node!, type: r.type as "qemu" | "lxc", vmid: r.vmid }, "/rrddata"),
          a.timeframe,
          a.cf,
        ),
        window,
      );
      return {
        vmid: r.vmid,
        name: r.name,
        node: r.node!,
        type: r.type,
        stats: summarise(rows, a.rank_by),
      };
    });
    const ranking = read.filter((r) => r.stats.samples)
      .sort((x, y) => (y.stats.max ?? 0) - (x.stats.max ?? 0))
      .slice(0, a.top);
    const text = [
      `top ${ranking.length} running guests by ${a.rank_by} max, ${a.timeframe} (${a.cf})`,
      table(ranking, [
        "vmid",
        "name",
        "node",
        ["max", (r) => value(r.stats, r.stats.max)],
        ["peak_at", (r) => r.stats.peak_time],
        ["avg", (r) => value(r.stats, r.stats.avg)],
        ["last", (r) => value(r.stats, r.stats.last)],
      ]),
      ...(candidates.length > scan.length
        ? [`read ${scan.length} of ${candidates.length} running guests: narrow with node or type`]
        : []),
    ].join("\n");
    return {
      structured: {
        timeframe: a.timeframe,
        cf: a.cf,
        rank_by: a.rank_by,
        ranking,
        scanned: scan.length,
        skipped: candidates.length - scan.length,
      },
      text,
    };
  },
});

const nodeMetrics = defineTool({
  name: "node_metrics",
  title: "Node metrics",
  description:
    "Node RRD history per series (cpu/iowait %, load, mem/swap/root bytes, net bytes/s): min/avg/max/last, peak time.",
  toolset: "metrics",
  privilege: "Sys.Audit on /nodes/{node}",
  annotations: READ_ONLY,
  input: args({
    node: nodeArg("Node name; omit for every online node").optional(),
    ...common,
    series: z.array(oneOf(NODE_SERIES, "each series")).min(1).optional()
      .describe("Series to summarise; default cpu,loadavg,memused,netin,netout"),
  }),
  output: z.object({
    timeframe: z.string(),
    cf: z.string(),
    nodes: rows("node, series, points"),
  }),
  async handler(a, ctx) {
    const nowSec = Math.floor(nowMs(ctx) / 1000);
    const window = parseWindow(a.since, a.until, nowSec);
    const names = await nodesFor(ctx, a.node);
    const wanted = a.series ?? ["cpu", "loadavg", "memused", "netin", "netout"];
    const nodes = await mapLimited(names, 4, async (node) => {
      const rows = inWindow(
        await rrd(ctx, `/nodes/${encodeURIComponent(node)}/rrddata`, a.timeframe, a.cf),
        window,
      );
      return {
        node,
        series: wanted.map((s) => summarise(rows, s)),
        points: a.points ? points(rows, wanted) : undefined,
      };
    });
    const text = nodes.map((n) =>
      [`${n.node} (${a.timeframe}, ${a.cf})`, ...n.series.map((s) => `  ${s.series}: ${show(s)}`)]
        .join("\n")
    ).join("\n");
    return { structured: { timeframe: a.timeframe, cf: a.cf, nodes }, text };
  },
});

/** The metrics toolset. */
export const metricsTools: Tool[] = [guestMetrics, nodeMetrics];
