/**
 * Stopping a running Proxmox task by UPID.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import { parseUpid } from "../proxmox/upid.ts";
import type { Plan } from "../safety/change.ts";
import { ToolInputError } from "./context.ts";
import { defineMutation } from "./mutation.ts";
import { Facts } from "./preflight.ts";
import { describeTask } from "./task_wait.ts";
import type { Tool } from "./tool.ts";
import { upid } from "./params.ts";

/** Task types whose interruption leaves nothing half-done. */
const SAFE_TO_STOP = new Set(["vzdump", "download", "aptupdate", "imgcopy"]);

const taskStop = defineMutation({
  name: "task_stop",
  title: "Stop task",
  description:
    "Stop a running task by UPID. Backups/downloads stop cleanly; others may leave a guest half-done (confirmation needed).",
  toolset: "tasks",
  privilege: "Sys.Modify on /nodes/{node}, or the task's own user",
  destructive: true,
  input: { upid: upid() },
  result: { upid: z.string() },
  async plan(a, ctx): Promise<Plan> {
    const u = parseUpid(a.upid);
    if (!u) {
      throw new ToolInputError(
        "Invalid upid: expected UPID:node:pid:pstart:starttime:type:id:user: as returned by a task",
      );
    }
    const facts = new Facts(ctx);
    await facts.onlineNode(u.node);
    const path = apiPath`/nodes/${u.node}/tasks/${a.upid}`;
    const s = z.object({ status: z.string(), exitstatus: z.string().optional() }).loose().parse(
      await ctx.api.get(`${path}/status`, undefined, { signal: ctx.signal }),
    );
    if (s.status !== "running") {
      throw new ToolInputError(
        `Task ${describeTask(a.upid)} is not running (${s.exitstatus ?? s.status})`,
      );
    }
    const safe = SAFE_TO_STOP.has(u.type);
    return {
      summary: `stop task ${describeTask(a.upid)} on ${u.node} (started by ${u.user})`,
      requests: [{ method: "DELETE", path, params: {} }],
      destructive: !safe,
      loses: safe
        ? undefined
        : `task ${u.type} is interrupted midway; its guest may be left half-done`,
      warnings: [],
      creates: 0,
      result: { upid: a.upid },
    };
  },
});

/** The task rows that write. */
export const taskStopTools: Tool[] = [taskStop];
