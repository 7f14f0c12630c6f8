/**
 * Waiting for a Proxmox task (UPID): polls its status, follows its log, sends progress
 * notifications, stops on cancellation (and stops the task itself when the tool says so), and
 * gives up after a bounded time with the task still running.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import { num } from "../proxmox/resources.ts";
import { parseUpid } from "../proxmox/upid.ts";
import { abortableSleep } from "../util/abort.ts";
import { systemClock } from "../util/clock.ts";
import type { TaskWaitSettings, ToolContext } from "./context.ts";

/** How a wait ended. */
export interface TaskOutcome {
  upid: string;
  /** ok / warnings: stopped successfully; failed: stopped with an error; timeout: still running. */
  state: "ok" | "warnings" | "failed" | "timeout";
  exitstatus?: string;
  /** The last lines of the task log. */
  tail: string[];
  /** How many log lines the task wrote (only the tail is kept). */
  logLines: number;
  /** Milliseconds waited. */
  waitedMs: number;
}

/** The wait was cancelled by the client. */
export class TaskCancelledError extends Error {
  readonly upid: string;
  /** Whether the Proxmox task was stopped too. */
  readonly stopped: boolean;
  constructor(upid: string, stopped: boolean, detail = "") {
    super(
      stopped
        ? `Cancelled: stopped waiting and stopped task ${upid}${detail}`
        : `Cancelled: stopped waiting; task ${upid} is still running on Proxmox (follow it with task_status, stop it with task_stop)${detail}`,
    );
    this.name = "AbortError";
    this.upid = upid;
    this.stopped = stopped;
  }
}

/** Defaults: wait up to 5 minutes, poll every second. */
export const DEFAULT_TASK_WAIT: TaskWaitSettings = {
  timeoutMs: 300_000,
  pollMs: 1000,
  clock: systemClock,
  sleep: abortableSleep,
};

const Status = z.object({ status: z.string(), exitstatus: z.string().optional() }).loose();
const LogLines = z.array(z.object({ n: num, t: z.string() }).loose());

/** Log lines asked for per request, and the most requests per read of the log. */
const LOG_PAGE = 500;
const LOG_PAGES_PER_READ = 100;

/** Options of one wait. */
export interface WaitOptions {
  /** Stop the Proxmox task when the client cancels. */
  stopOnCancel?: boolean;
  /** Lines of log kept for the result. */
  tailLines?: number;
}

/** Waits for `upid` to stop, or for the configured time; see {@link TaskOutcome}. */
export async function waitForTask(
  ctx: ToolContext,
  upid: string,
  opts: WaitOptions = {},
): Promise<TaskOutcome> {
  const settings = ctx.tasks ?? DEFAULT_TASK_WAIT;
  const node = parseUpid(upid)?.node ?? /^UPID:([a-zA-Z0-9][a-zA-Z0-9-]*):/.exec(upid)?.[1];
  if (!node) throw new Error(`Cannot follow task: ${upid} is not a UPID`);
  const base = apiPath`/nodes/${node}/tasks/${upid}`;
  const started = settings.clock.now();
  const tailLines = opts.tailLines ?? 10;
  // Only the tail is kept; `read` counts every line so the next read starts after them.
  const lines: string[] = [];
  let read = 0;
  let tick = 0;
  // Reads pages until the log is caught up (a full page means there may be more), bounded.
  const follow = async (signal: AbortSignal) => {
    for (let page = 0; page < LOG_PAGES_PER_READ; page++) {
      const more = LogLines.parse(
        await ctx.api.get(`${base}/log`, { start: read, limit: LOG_PAGE }, { signal }),
      );
      read += more.length;
      lines.push(...more.slice(-tailLines).map((l) => l.t));
      if (lines.length > tailLines) lines.splice(0, lines.length - tailLines);
      if (more.length < LOG_PAGE) return;
    }
  };
  try {
    while (true) {
      // The log first, then the status: a "running" status then vouches for every line read,
      // and a task that ended in between is followed once more for its last lines.
      await follow(ctx.signal);
      const s = Status.parse(
        await ctx.api.get(`${base}/status`, undefined, { signal: ctx.signal }),
      );
      const waitedMs = settings.clock.now() - started;
      if (s.status !== "running") {
        await follow(ctx.signal);
        const exit = s.exitstatus ?? "unknown";
        const state = exit === "OK" ? "ok" : exit.startsWith("WARNINGS") ? "warnings" : "failed";
        return { upid, state, exitstatus: exit, tail: [...lines], logLines: read, waitedMs };
      }
      if (ctx.progress) {
        await ctx.progress({
          progress: ++tick,
          message: `${describeTask(upid)} running: ${lines.at(-1) ?? "started"}`,
        }).catch(() => {});
      }
      if (waitedMs >= settings.timeoutMs) {
        return { upid, state: "timeout", tail: [...lines], logLines: read, waitedMs };
      }
      await settings.sleep(Math.min(settings.pollMs, settings.timeoutMs - waitedMs), ctx.signal);
    }
  } catch (err) {
    if (!ctx.signal.aborted) throw err;
    if (!opts.stopOnCancel) throw new TaskCancelledError(upid, false);
    let detail = "";
    try {
      await ctx.api.delete(base, undefined, { signal: AbortSignal.timeout(15_000) });
    } catch (stopErr) {
      detail = `; stopping it failed: ${stopErr instanceof Error ? stopErr.message : stopErr}`;
    }
    throw new TaskCancelledError(upid, !detail, detail);
  }
}

/** `qmstart 100` from a UPID. */
export function describeTask(upid: string): string {
  const u = parseUpid(upid);
  return u ? `${u.type}${u.id ? ` ${u.id}` : ""}` : upid;
}
