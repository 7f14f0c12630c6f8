/**
 * Task endpoints: node task list with PVE's filters, task status, task log and stopping a task.
 *
 * @module
 */
import { ApiError, paramError, Reply } from "../errors.ts";
import type { TaskState } from "../state.ts";
import { parseUpid } from "../../proxmox/upid.ts";
import {
  node,
  optBool,
  optInt,
  optStr,
  type RouteContext,
  type RouteHandler,
  str,
} from "./context.ts";

/** The fields that identify a task, shared by its list entry and its status. */
function taskIdentity(t: TaskState): Record<string, unknown> {
  const { upid, node, pid, pstart, starttime, type, id, user } = t;
  return { upid, node, pid, pstart, starttime, type, id, user };
}

/** A task as listed by `GET /nodes/{node}/tasks` and `/cluster/tasks`. */
export function taskListEntry(t: TaskState): Record<string, unknown> {
  const e: Record<string, unknown> = taskIdentity(t);
  if (t.status === "stopped") {
    e.endtime = t.endtime;
    e.status = t.exitstatus;
  }
  return e;
}

function statusClass(t: TaskState): string {
  if (t.status !== "stopped") return "unknown";
  if (t.exitstatus === "OK") return "ok";
  if (t.exitstatus?.startsWith("WARNINGS:")) return "warning";
  return "error";
}

const listTasks: RouteHandler = (ctx) => {
  const n = node(ctx);
  const source = optStr(ctx, "source") ?? "archive";
  const vmid = optInt(ctx, "vmid");
  const typefilter = optStr(ctx, "typefilter");
  const userfilter = optStr(ctx, "userfilter");
  const statusfilter = optStr(ctx, "statusfilter")?.split(/[,;\s]+/).filter(Boolean);
  const errors = optBool(ctx, "errors") ?? false;
  const since = optInt(ctx, "since");
  const until = optInt(ctx, "until");
  const start = optInt(ctx, "start") ?? 0;
  const limit = optInt(ctx, "limit") ?? 50;
  const matching = [...ctx.sim.state.tasks.values()]
    .filter((t) => t.node === n.name)
    .filter((t) =>
      source === "all" || (source === "active" ? t.status === "running" : t.status === "stopped")
    )
    .filter((t) => vmid === undefined || t.id === String(vmid))
    .filter((t) => !typefilter || t.type === typefilter)
    .filter((t) => !userfilter || t.user.includes(userfilter))
    .filter((t) => !errors || (t.status === "stopped" && t.exitstatus !== "OK"))
    .filter((t) => !statusfilter?.length || statusfilter.includes(statusClass(t)))
    .filter((t) => since === undefined || t.starttime >= since)
    .filter((t) => until === undefined || t.starttime <= until)
    .sort((a, b) => b.starttime - a.starttime || b.pid - a.pid);
  const page = matching.slice(start, limit > 0 ? start + limit : undefined).map(taskListEntry);
  return new Reply(page, { total: matching.length });
};

/** The task named by `{upid}` on `{node}`; 400 for a malformed or unknown UPID, as PVE answers. */
export function taskOf(ctx: RouteContext): TaskState {
  const upid = str(ctx, "upid");
  const parsed = parseUpid(upid);
  if (!parsed) throw paramError({ upid: `unable to parse worker upid '${upid}'` });
  const task = ctx.sim.state.tasks.get(upid);
  if (!task || task.node !== str(ctx, "node")) throw paramError({ upid: "no such task" });
  return task;
}

const taskIndex: RouteHandler = (ctx) => {
  taskOf(ctx);
  return [{ name: "log" }, { name: "status" }];
};

const taskStatus: RouteHandler = (ctx) => {
  const t = taskOf(ctx);
  const out: Record<string, unknown> = { ...taskIdentity(t), status: t.status };
  if (t.status === "stopped") out.exitstatus = t.exitstatus;
  return out;
};

const taskLog: RouteHandler = (ctx) => {
  const t = taskOf(ctx);
  const lines = ctx.sim.tasks.visibleLines(t, ctx.now);
  const start = optInt(ctx, "start") ?? 0;
  const limit = optInt(ctx, "limit") || 50;
  const download = optBool(ctx, "download") ?? false;
  const slice = download ? lines : lines.slice(start, start + limit);
  const first = download ? 0 : start;
  const data = slice.map((text, i) => ({ n: first + i + 1, t: text }));
  if (lines.length === 0 && start === 0) data.push({ n: 1, t: "no content" });
  return new Reply(data, { total: lines.length });
};

const stopTask: RouteHandler = (ctx) => {
  const t = taskOf(ctx);
  const own = t.user.split("!")[0] === ctx.identity.userid;
  if (!own && !ctx.privs.has("Sys.Modify")) {
    throw new ApiError(403, `Permission check failed (/nodes/${t.node}, Sys.Modify)`);
  }
  ctx.sim.tasks.abort(t);
  return null;
};

/** Task endpoints. */
export const taskRoutes: Record<string, RouteHandler> = {
  "GET /nodes/{node}/tasks": listTasks,
  "GET /nodes/{node}/tasks/{upid}": taskIndex,
  "GET /nodes/{node}/tasks/{upid}/status": taskStatus,
  "GET /nodes/{node}/tasks/{upid}/log": taskLog,
  "DELETE /nodes/{node}/tasks/{upid}": stopTask,
};
