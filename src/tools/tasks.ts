/**
 * Task tools: recent tasks with filters, one task's status, the tail of its log.
 *
 * @module
 */
import { z } from "zod";
import { num } from "../proxmox/resources.ts";
import { parseUpid } from "../proxmox/upid.ts";
import { ToolInputError } from "./context.ts";
import { args, cursor, limit, oneOf, vmid } from "./args.ts";
import { duration, pairs, table, time } from "./format.ts";
import { pageFooter, pageOf } from "./listing.ts";
import { paginate, queryKey } from "./paginate.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";
import { nodeFilter, requireUpid, upid } from "./params.ts";
import { isNoSuchTask, unknownTask } from "./not_found.ts";

const TaskEntry = z.object({
  upid: z.string(),
  node: z.string().optional(),
  type: z.string().optional(),
  id: z.string().optional(),
  user: z.string().optional(),
  starttime: num.optional(),
  endtime: num.optional(),
  status: z.string().optional(),
}).loose();

const Task = z.object({
  upid: z.string(),
  node: z.string(),
  type: z.string(),
  id: z.string(),
  user: z.string(),
  starttime: z.number(),
  endtime: z.number().optional(),
  status: z.string().describe("running, OK, WARNINGS: n, or the error"),
});
type Task = z.infer<typeof Task>;

/** The outcome class of a task status. */
function outcome(t: Task): "running" | "ok" | "warning" | "error" {
  if (t.status === "running") return "running";
  if (t.status === "OK") return "ok";
  return t.status.startsWith("WARNINGS") ? "warning" : "error";
}

const taskList = defineTool({
  name: "task_list",
  title: "List tasks",
  description:
    "Recent tasks (start, backup, migrate, ...) newest first, cluster-wide or on one node, filtered.",
  toolset: "tasks",
  privilege: "Sys.Audit on /nodes/{node} to see others' tasks",
  annotations: READ_ONLY,
  input: args({
    node: nodeFilter(),
    vmid: vmid().optional(),
    type: z.string().regex(/^[a-z][a-z0-9_-]*$/i, {
      error: "type must be a task type such as vzdump, qmstart",
    })
      .optional().describe("Task type, e.g. vzdump, qmstart"),
    status: oneOf(["running", "ok", "warning", "error"], "status").optional().describe(
      "Only this outcome",
    ),
    user: z.string().optional().describe("Started by, e.g. root@pam"),
    since: z.int().min(0).optional().describe("Started after, epoch seconds"),
    limit: limit(20, 200),
    cursor: cursor(),
  }),
  output: pageOf(Task),
  async handler(a, ctx) {
    let raw: unknown;
    if (a.node) {
      const node = (await ctx.inventory.requireNode(a.node, ctx.signal)).node;
      raw = await ctx.api.get(`/nodes/${node}/tasks`, {
        vmid: a.vmid,
        typefilter: a.type,
        userfilter: a.user,
        since: a.since,
        errors: a.status === "error" ? true : undefined,
        source: "all",
        limit: 1000,
      }, { signal: ctx.signal });
    } else {
      raw = await ctx.api.get("/cluster/tasks", undefined, { signal: ctx.signal });
    }
    const tasks = z.array(TaskEntry).parse(raw).flatMap((e): Task[] => {
      const u = parseUpid(e.upid);
      if (!u) return [];
      return [{
        upid: e.upid,
        node: e.node ?? u.node,
        type: e.type ?? u.type,
        id: e.id ?? u.id,
        user: e.user ?? u.user,
        starttime: e.starttime ?? u.starttime,
        endtime: e.endtime,
        status: e.endtime === undefined && !e.status ? "running" : (e.status ?? "running"),
      }];
    }).filter((t) =>
      (a.vmid === undefined || t.id === String(a.vmid)) &&
      (a.type === undefined || t.type === a.type) &&
      (a.user === undefined || t.user.includes(a.user)) &&
      (a.since === undefined || t.starttime >= a.since) &&
      (a.status === undefined || outcome(t) === a.status)
    ).sort((x, y) => y.starttime - x.starttime);
    const page = paginate(tasks, { limit: a.limit, cursor: a.cursor, query: queryKey(a) });
    const text = table(page.items, [
      ["start", (t) => time(t.starttime)],
      "node",
      "type",
      "id",
      "user",
      ["took", (t) => t.endtime ? duration(t.endtime - t.starttime) : "-"],
      "status",
      "upid",
    ]);
    return { structured: page, text: `${text}\n${pageFooter(page)}` };
  },
});

const TaskStatusAnswer = TaskEntry.omit({ upid: true, endtime: true }).extend({
  status: z.string(),
  exitstatus: z.string().optional(),
});

const taskStatus = defineTool({
  name: "task_status",
  title: "Task status",
  description: "Whether a task (by UPID) is running or stopped, and its exit status.",
  toolset: "tasks",
  privilege: "Sys.Audit on /nodes/{node}, or the task's own user",
  annotations: READ_ONLY,
  input: args({ upid: upid() }),
  output: z.object({
    upid: z.string(),
    node: z.string(),
    type: z.string(),
    id: z.string(),
    user: z.string(),
    starttime: z.number(),
    running: z.boolean(),
    exitstatus: z.string().optional(),
    ok: z.boolean().optional().describe("stopped with OK or only warnings"),
  }),
  async handler(a, ctx) {
    const u = requireUpid(a.upid);
    await ctx.inventory.requireNode(u.node, ctx.signal);
    const s = TaskStatusAnswer.parse(
      await ctx.api.get(`/nodes/${u.node}/tasks/${encodeURIComponent(a.upid)}/status`, undefined, {
        signal: ctx.signal,
      }).catch(async (e) => {
        throw isNoSuchTask(e) ? await unknownTask(ctx, u.node, a.upid) : e;
      }),
    );
    const running = s.status === "running";
    const out = {
      upid: a.upid,
      node: u.node,
      type: s.type ?? u.type,
      id: s.id ?? u.id,
      user: s.user ?? u.user,
      starttime: s.starttime ?? u.starttime,
      running,
      exitstatus: s.exitstatus,
      ok: running ? undefined : s.exitstatus === "OK" || !!s.exitstatus?.startsWith("WARNINGS"),
    };
    const text = pairs({
      task: `${out.type} ${out.id} on ${out.node} by ${out.user}`,
      started: time(out.starttime),
      status: running ? "running" : `stopped: ${out.exitstatus ?? "unknown"}`,
    });
    return { structured: out, text };
  },
});

const MAX_LOG_LINES = 50_000;

const taskLog = defineTool({
  name: "task_log",
  title: "Task log",
  description:
    "Log lines of a task: the last `tail` lines, or `start` + `limit`. Shows why a task failed.",
  toolset: "tasks",
  privilege: "Sys.Audit on /nodes/{node}, or the task's own user",
  annotations: READ_ONLY,
  input: args({
    upid: upid(),
    tail: z.int().min(1).max(1000).optional().describe("Last N lines (default 50)"),
    start: z.int().min(0).optional().describe("First line number (0-based); with limit"),
    limit: limit(50, 1000),
  }),
  output: z.object({
    upid: z.string(),
    total: z.number().describe("lines in the whole log"),
    first: z.number().describe("line number of lines[0]"),
    lines: z.array(z.string()),
  }),
  async handler(a, ctx) {
    const u = requireUpid(a.upid);
    if (a.tail !== undefined && a.start !== undefined) {
      throw new ToolInputError("Give either tail or start (+limit), not both");
    }
    await ctx.inventory.requireNode(u.node, ctx.signal);
    const entries = z.array(z.object({ n: num, t: z.string() }).loose()).parse(
      await ctx.api.get(
        `/nodes/${u.node}/tasks/${encodeURIComponent(a.upid)}/log`,
        { start: 0, limit: MAX_LOG_LINES },
        { signal: ctx.signal },
      ).catch(async (e) => {
        throw isNoSuchTask(e) ? await unknownTask(ctx, u.node, a.upid) : e;
      }),
    );
    const total = entries.length;
    const window = a.start !== undefined
      ? entries.slice(a.start, a.start + a.limit)
      : entries.slice(Math.max(0, total - (a.tail ?? 50)));
    const first = window.length ? entries.indexOf(window[0]) : Math.min(a.start ?? total, total);
    const lines = window.map((e) => e.t);
    const head = first > 0 ? `(lines ${first + 1}-${first + lines.length} of ${total})\n` : "";
    return { structured: { upid: a.upid, total, first, lines }, text: head + lines.join("\n") };
  },
});

/** The task toolset. */
export const taskTools: Tool[] = [taskList, taskStatus, taskLog];
