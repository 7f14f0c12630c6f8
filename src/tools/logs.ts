/**
 * Log tools: the cluster log (`cluster_log`) and a node's journal or syslog (`node_log`),
 * filtered by time, severity, service and a grep-like pattern, bounded, newest last.
 *
 * @module
 */
import { z } from "zod";
import { num } from "../proxmox/resources.ts";
import { args, limit, oneOf } from "./args.ts";
import { nodeFilter, nodeOrDefault } from "./params.ts";
import { ToolInputError } from "./context.ts";
import { table, time } from "./format.ts";
import { rows } from "./listing.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";
import { nowMs, parseWindow, timeArg } from "./timespec.ts";

/** Syslog severities, most severe first (index = priority). */
const SEVERITIES = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"] as const;

/** How many cluster log entries are read before filtering. */
const CLUSTER_LOG_READ = 2000;
/** How many journal lines are read before filtering. */
const JOURNAL_READ = 5000;

const grepArg = () =>
  z.string().min(1).max(200).optional()
    .describe("Only lines matching this case-insensitive regex");

function matcher(pattern: string | undefined): (s: string) => boolean {
  if (!pattern) return () => true;
  let re: RegExp;
  try {
    re = new RegExp(pattern, "i");
  } catch (err) {
    throw new ToolInputError(
      `Invalid grep pattern "${pattern}": ${(err as Error).message}; use a JavaScript regex`,
    );
  }
  return (s) => re.test(s);
}

const ClusterLogEntry = z.object({
  time: num,
  node: z.string().optional(),
  pri: num.optional(),
  tag: z.string().optional(),
  user: z.string().optional(),
  msg: z.string(),
}).loose();

const clusterLog = defineTool({
  name: "cluster_log",
  title: "Cluster log",
  description:
    "Cluster-wide event log (tasks, logins, HA, corosync, Ceph) filtered by time, minimum severity, node and pattern; newest last.",
  toolset: "logs",
  privilege: "none (entries are filtered by the caller's privileges)",
  annotations: READ_ONLY,
  input: args({
    since: timeArg("From"),
    until: timeArg("Until"),
    severity: oneOf(SEVERITIES, "severity").optional()
      .describe("Minimum severity, e.g. warning includes err"),
    node: nodeFilter(),
    grep: grepArg(),
    limit: limit(50, 500),
  }),
  output: z.object({
    entries: rows("time, node, severity, tag, user, msg"),
    matched: z.number(),
  }),
  async handler(a, ctx) {
    const nowSec = Math.floor(nowMs(ctx) / 1000);
    const w = parseWindow(a.since, a.until, nowSec);
    const match = matcher(a.grep);
    if (a.node) await ctx.inventory.requireNode(a.node, ctx.signal);
    const maxPri = a.severity ? SEVERITIES.indexOf(a.severity) : 7;
    const raw = z.array(ClusterLogEntry).parse(
      await ctx.api.get("/cluster/log", { max: CLUSTER_LOG_READ }, { signal: ctx.signal }),
    );
    const matched = raw
      .filter((e) =>
        (w.since === undefined || e.time >= w.since) &&
        (w.until === undefined || e.time <= w.until) &&
        (e.pri === undefined || e.pri <= maxPri) &&
        (!a.node || e.node === a.node) &&
        match(`${e.tag ?? ""} ${e.msg}`)
      )
      .sort((x, y) => x.time - y.time);
    const entries = matched.slice(-a.limit).map((e) => ({
      time: time(e.time),
      node: e.node,
      severity: e.pri === undefined ? undefined : SEVERITIES[e.pri] ?? String(e.pri),
      tag: e.tag,
      user: e.user,
      msg: e.msg.trim(),
    }));
    const text = entries.length
      ? table(entries, ["time", "node", "severity", "tag", "msg"]) +
        (matched.length > entries.length
          ? `\n(${matched.length - entries.length} older entries not shown)`
          : "")
      : "no cluster log entries match";
    return { structured: { entries, matched: matched.length }, text };
  },
});

const SHORT = /^(\w{3} +\d{1,2} \d{2}:\d{2}:\d{2}) (\S+) ([^:[]+?)(?:\[(\d+)\])?: (.*)$/;

/** Splits a journal line in short format into its parts. */
function parseLine(line: string) {
  const m = SHORT.exec(line);
  if (!m) return { line };
  return { time: m[1], ident: m[3], pid: m[4] ? Number(m[4]) : undefined, msg: m[5] };
}

const SyslogAnswer = z.array(z.object({ n: num, t: z.string() }).loose());

const nodeLog = defineTool({
  name: "node_log",
  title: "Node log",
  description:
    "A node's journal (or one service's syslog) filtered by time, service and pattern; bounded, newest last.",
  toolset: "logs",
  privilege: "Sys.Syslog on /nodes/{node}",
  annotations: READ_ONLY,
  input: args({
    node: nodeOrDefault(),
    since: timeArg("From"),
    until: timeArg("Until"),
    service: z.string().regex(/^[\w@.-]+$/, {
      error: "service must be a systemd unit name such as pveproxy or smartd.service",
    }).optional().describe("systemd unit, e.g. pveproxy"),
    grep: grepArg(),
    limit: limit(50, 500),
  }),
  output: z.object({
    node: z.string(),
    source: z.enum(["journal", "syslog"]),
    lines: rows("time, ident, pid, msg (or line)"),
    matched: z.number(),
  }),
  async handler(a, ctx) {
    const node = await ctx.inventory.pickNode(a.node, ctx.defaultNode, ctx.signal);
    const nowSec = Math.floor(nowMs(ctx) / 1000);
    const w = parseWindow(a.since, a.until, nowSec);
    const match = matcher(a.grep);
    const opts = { signal: ctx.signal };
    let raw: string[];
    let source: "journal" | "syslog";
    if (a.service) {
      source = "syslog";
      const stamp = (s?: number) =>
        s === undefined
          ? undefined
          : new Date(s * 1000).toISOString().slice(0, 19).replace("T", " ");
      raw = SyslogAnswer.parse(
        await ctx.api.get(`/nodes/${node}/syslog`, {
          service: a.service,
          since: stamp(w.since),
          until: stamp(w.until),
          limit: JOURNAL_READ,
        }, opts),
      ).map((l) => l.t);
    } else {
      source = "journal";
      raw = z.array(z.string()).parse(
        await ctx.api.get(`/nodes/${node}/journal`, {
          since: w.since,
          until: w.until,
          lastentries: w.since === undefined && !a.grep ? a.limit : JOURNAL_READ,
        }, opts),
      );
    }
    const matched = raw
      .filter((l) => l && !/^s=[0-9a-f]+;/.test(l) && !/^-- (No entries|Logs begin)/.test(l))
      .filter(match);
    const lines = matched.slice(-a.limit).map(parseLine);
    const text = lines.length
      ? `node ${node} (${source}${a.service ? ` ${a.service}` : ""})\n` +
        lines.map((l) => l.line ?? `${l.time} ${l.ident}: ${l.msg}`).join("\n") +
        (matched.length > lines.length
          ? `\n(${matched.length - lines.length} older lines not shown)`
          : "")
      : `no log lines on ${node} match`;
    return { structured: { node, source, lines, matched: matched.length }, text };
  },
});

/** The logs toolset. */
export const logTools: Tool[] = [clusterLog, nodeLog];
