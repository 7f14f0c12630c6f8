/**
 * The cluster log (`/cluster/log`, newest first) and node journals: `/nodes/{node}/journal`
 * (lines in journalctl's short format, framed by a start and an end cursor, as
 * mini-journalreader prints them) and `/nodes/{node}/syslog` (numbered lines, filterable by unit).
 *
 * @module
 */
import { Reply } from "../errors.ts";
import type { JournalLine } from "../ops_state.ts";
import { node, optInt, optStr, type RouteHandler } from "./context.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A journal line as `journalctl -o short` prints it (UTC). */
export function shortLine(host: string, l: JournalLine): string {
  const d = new Date(l.time * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  const stamp = `${MONTHS[d.getUTCMonth()]} ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${
    p(d.getUTCMinutes())
  }:${p(d.getUTCSeconds())}`;
  return `${stamp} ${host} ${l.ident}[${l.pid}]: ${l.msg}`;
}

function cursor(host: string, time: number): string {
  return `s=5e0f2a41c1b84d7f9a3e6c2b1d0f8e7a;i=${time.toString(16)};b=${host};t=${time}000000`;
}

const clusterLog: RouteHandler = (ctx) => {
  const max = optInt(ctx, "max") ?? 50;
  const entries = ctx.sim.state.ops.clusterLog;
  return entries.slice(-max).reverse().map((e, i) => ({
    uid: entries.length - i,
    time: e.time,
    pri: e.pri,
    tag: e.tag,
    pid: e.pid,
    node: e.node,
    user: e.user,
    msg: e.msg,
  }));
};

function linesOf(ctx: Parameters<RouteHandler>[0]): JournalLine[] {
  return ctx.sim.state.ops.nodes.get(node(ctx).name)?.journal ?? [];
}

const journal: RouteHandler = (ctx) => {
  const host = node(ctx).name;
  const since = optInt(ctx, "since");
  const until = optInt(ctx, "until");
  const last = optInt(ctx, "lastentries");
  let lines = linesOf(ctx).filter((l) =>
    (since === undefined || l.time >= since) && (until === undefined || l.time <= until)
  );
  if (last !== undefined) lines = lines.slice(-last);
  const first = lines[0]?.time ?? Math.floor(ctx.now / 1000);
  const end = lines.at(-1)?.time ?? first;
  return [cursor(host, first), ...lines.map((l) => shortLine(host, l)), cursor(host, end)];
};

function parseStamp(v: string | undefined): number | undefined {
  if (!v) return undefined;
  const ms = Date.parse(v.includes("T") ? v : `${v.replace(" ", "T")}Z`);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

const syslog: RouteHandler = (ctx) => {
  const host = node(ctx).name;
  const since = parseStamp(optStr(ctx, "since"));
  const until = parseStamp(optStr(ctx, "until"));
  const service = optStr(ctx, "service");
  const start = optInt(ctx, "start") ?? 0;
  const limit = optInt(ctx, "limit") ?? 50;
  const lines = linesOf(ctx).filter((l) =>
    (since === undefined || l.time >= since) && (until === undefined || l.time <= until) &&
    (!service || l.unit === service || l.unit === `${service}.service`)
  );
  const page = lines.slice(start, start + limit).map((l, i) => ({
    n: start + i + 1,
    t: shortLine(host, l),
  }));
  return new Reply(page, { total: lines.length });
};

/** Log routes. */
export const logRoutes: Record<string, RouteHandler> = {
  "GET /cluster/log": clusterLog,
  "GET /nodes/{node}/journal": journal,
  "GET /nodes/{node}/syslog": syslog,
};
