/**
 * The kill switch. While frozen, every change is refused (the check runs when the call starts
 * and again synchronously right before the first request is sent, so a freeze during a burst
 * lets nothing through after it); reads continue. Stopping a running task (`task_stop`) stays
 * allowed: it is what an operator reaches for during a freeze.
 *
 * The switch is a file `freeze` in the state folder, so `proxmox-mcp freeze` (or an operator's
 * `touch`) stops every server sharing the folder at once. Without a state folder the switch
 * lives in memory (the approvals page can still pull it).
 *
 * @module
 */
import { z } from "zod";
import { parseUpid } from "../proxmox/upid.ts";
import type { ProxmoxApi } from "../tools/context.ts";
import type { Clock } from "../util/clock.ts";
import { isMutating, PolicyRefusal, type Stage } from "./pipeline.ts";
import { errorText, removeQuietly, type StateDir, writePrivate } from "./state_dir.ts";

/** Who froze the servers, when and how. */
export interface FreezeInfo {
  by: string;
  /** ISO time. */
  at: string;
  /** How: `terminal` (proxmox-mcp freeze), `page` (/approvals), `file` (the file appeared). */
  channel: string;
  reason?: string;
}

/** The kill switch, behind one interface so a shared store can replace the file. */
export interface FreezeSwitch {
  /** The freeze in force, checked synchronously; undefined when changes are allowed. */
  current(): FreezeInfo | undefined;
  /** Freezes every server using this switch. */
  freeze(info: Omit<FreezeInfo, "at">): Promise<FreezeInfo>;
  /** Lifts the freeze; returns the one lifted, if any. */
  unfreeze(): Promise<FreezeInfo | undefined>;
  /** Where the switch lives, for messages (`/var/lib/proxmox-mcp/freeze` or `memory`). */
  readonly where: string;
}

/** Tools still allowed while frozen. */
export const ALLOWED_WHEN_FROZEN = new Set(["task_stop"]);

/** A switch kept in this process only. */
export class MemoryFreeze implements FreezeSwitch {
  #info: FreezeInfo | undefined;
  readonly where = "memory";
  constructor(private clock: Clock) {}
  current(): FreezeInfo | undefined {
    return this.#info;
  }
  freeze(info: Omit<FreezeInfo, "at">): Promise<FreezeInfo> {
    this.#info = { ...info, at: new Date(this.clock.now()).toISOString() };
    return Promise.resolve(this.#info);
  }
  unfreeze(): Promise<FreezeInfo | undefined> {
    const was = this.#info;
    this.#info = undefined;
    return Promise.resolve(was);
  }
}

const FreezeFile = z.object({
  by: z.string().optional(),
  at: z.string().optional(),
  channel: z.string().optional(),
  reason: z.string().optional(),
}).loose();

/** The switch as the file `freeze` in the state folder, read on every check. */
export class FileFreeze implements FreezeSwitch {
  readonly where: string;
  constructor(dir: StateDir, private clock: Clock) {
    this.where = dir.file("freeze");
  }

  current(): FreezeInfo | undefined {
    let text: string;
    try {
      text = Deno.readTextFileSync(this.where);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      // Fail closed: a freeze file that cannot be read may be a freeze.
      return {
        by: "unknown",
        at: new Date(this.clock.now()).toISOString(),
        channel: "file",
        reason: `the freeze file ${this.where} cannot be read (${errorText(e)})`,
      };
    }
    return parseFreezeFile(text, () => fileTime(this.where));
  }

  async freeze(info: Omit<FreezeInfo, "at">): Promise<FreezeInfo> {
    const full = { ...info, at: new Date(this.clock.now()).toISOString() };
    await writePrivate(this.where, JSON.stringify(full) + "\n");
    return full;
  }

  async unfreeze(): Promise<FreezeInfo | undefined> {
    const was = this.current();
    await removeQuietly(this.where);
    return was;
  }
}

/** Reads a freeze file: JSON as written by `proxmox-mcp freeze`, or any text (the reason). */
export function parseFreezeFile(text: string, mtime: () => string): FreezeInfo {
  let parsed: z.infer<typeof FreezeFile> | undefined;
  try {
    const r = FreezeFile.safeParse(JSON.parse(text));
    if (r.success) parsed = r.data;
  } catch {
    // not JSON: the text is the reason
  }
  const reason = parsed ? parsed.reason : text.trim() || undefined;
  return {
    by: parsed?.by ?? "whoever created the freeze file",
    at: parsed?.at ?? mtime(),
    channel: parsed?.channel ?? "file",
    reason,
  };
}

function fileTime(path: string): string {
  try {
    const m = Deno.statSync(path).mtime;
    return m ? m.toISOString() : "an unknown time";
  } catch {
    return "an unknown time";
  }
}

/** One line saying who froze, when, how to lift it. */
export function freezeMessage(info: FreezeInfo, where: string): string {
  const lift = where === "memory"
    ? "an operator lifts it on the /approvals page"
    : `an operator lifts it with proxmox-mcp unfreeze (or by removing ${where})`;
  return `changes are frozen by ${info.by} since ${info.at} (${info.channel})${
    info.reason ? `: ${info.reason}` : ""
  }; ${lift}`;
}

const TaskEntry = z.object({
  upid: z.string(),
  status: z.string().optional(),
  endtime: z.number().optional(),
}).loose();

/** Running Proxmox tasks as one line each with the `task_stop` call that stops it. */
export async function runningTaskHints(api: ProxmoxApi, signal?: AbortSignal): Promise<string[]> {
  const raw = await api.get("/cluster/tasks", undefined, { signal });
  const parsed = z.array(TaskEntry).safeParse(raw);
  if (!parsed.success) return [];
  return parsed.data
    .filter((t) => t.endtime === undefined && !t.status)
    .map((t) => {
      const u = parseUpid(t.upid);
      const what = u ? `${u.type}${u.id ? ` ${u.id}` : ""} on ${u.node} by ${u.user}` : t.upid;
      return `${what}: stop with task_stop upid="${t.upid}"`;
    });
}

/** The freeze stage: refuses every change while frozen, and re-checks right before sending. */
export function freezeStage(sw: FreezeSwitch): Stage {
  const refusal = (info: FreezeInfo, extra = "") =>
    new PolicyRefusal(
      `Refused: ${freezeMessage(info, sw.where)}. Nothing was changed; reads still work${extra}`,
      "freeze",
    );
  return async (call, next) => {
    if (!isMutating(call.tool) || ALLOWED_WHEN_FROZEN.has(call.tool.name)) return next();
    const info = sw.current();
    if (info) {
      const hints = await runningTaskHints(call.ctx.api, call.ctx.signal).catch(() => []);
      throw refusal(
        info,
        hints.length
          ? `.\nTasks still running in Proxmox (not stopped by the freeze):\n${hints.join("\n")}`
          : ". No Proxmox tasks are running",
      );
    }
    const check = () => {
      const now = sw.current();
      if (now) throw refusal(now);
    };
    call.beforeSend.push(check);
    call.lastChecks.push(check);
    return next();
  };
}
