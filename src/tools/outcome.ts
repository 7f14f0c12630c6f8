/**
 * What is known about a write request that got no usable answer: it was never sent (Proxmox
 * could not be reached, so nothing changed), it failed (Proxmox answered with an error), or its
 * outcome is unknown (it reached Proxmox, or may have, and the answer was lost). For an unknown
 * outcome the task list is searched for the task the request started before anyone is told
 * anything, and the model is told to check, not to retry.
 *
 * @module
 */
import { z } from "zod";
import { ProxmoxConnectionError, ProxmoxEndpointsError, ProxmoxError } from "../proxmox/errors.ts";
import { apiPath } from "../proxmox/encode.ts";
import { num } from "../proxmox/resources.ts";
import type { PlannedRequest } from "../safety/change.ts";
import type { SendOutcome } from "../safety/pipeline.ts";
import type { ToolContext } from "./context.ts";

/** Connection failures that happen before a request leaves: it never reached Proxmox. */
const NEVER_REACHED = new Set(["dns", "refused", "tls"]);

/** Whether a request that threw `err` was not sent, failed, or has an unknown outcome. */
export function classifySendFailure(err: unknown): SendOutcome {
  if (err instanceof ProxmoxEndpointsError) {
    return err.failures.every((f) =>
        f.error instanceof ProxmoxConnectionError && NEVER_REACHED.has(f.error.kind)
      )
      ? "not-sent"
      : "unknown";
  }
  if (err instanceof ProxmoxConnectionError) {
    return NEVER_REACHED.has(err.kind) ? "not-sent" : "unknown";
  }
  return "failed";
}

/** Why the answer is missing, in words (without the client's "retrying may help"). */
export function lostReason(err: unknown): string {
  if (err instanceof ProxmoxConnectionError && !(err instanceof ProxmoxEndpointsError)) {
    return `${err.reason} at ${err.target}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A change whose first request never reached Proxmox: nothing was changed. */
export class ChangeNotSentError extends ProxmoxError {
  constructor(summary: string, cause: unknown) {
    super(
      `Not sent: ${summary}: Proxmox could not be reached (${
        cause instanceof Error ? cause.message : String(cause)
      }). Nothing was changed; the same call can be made again once Proxmox is reachable`,
      { cause },
    );
    this.name = "ChangeNotSentError";
  }
}

/** A change whose request reached Proxmox (or may have) without a usable answer. */
export class OutcomeUnknownError extends ProxmoxError {
  /** The task the change started, when it is known. */
  readonly upid?: string;
  constructor(message: string, opts: { cause: unknown; upid?: string }) {
    super(message, { cause: opts.cause });
    this.name = "OutcomeUnknownError";
    this.upid = opts.upid;
  }
}

/** The node and guest a request is about, read from its path and parameters. */
export function requestSubject(r: PlannedRequest): { node?: string; vmid?: number } {
  const node = /^\/nodes\/([^/]+)/.exec(r.path)?.[1];
  const inPath = /\/(?:qemu|lxc)\/(\d+)(?:\/|$)/.exec(r.path)?.[1];
  const vmid = inPath ??
    (typeof r.params.vmid === "number" || typeof r.params.vmid === "string"
      ? String(r.params.vmid)
      : undefined);
  return {
    node: node === undefined ? undefined : decodeURIComponent(node),
    vmid: vmid !== undefined && /^\d+$/.test(vmid) ? Number(vmid) : undefined,
  };
}

/** The task type a request starts, for the common ones (`qmstop`, `vzdestroy`, …). */
export function expectedTaskType(r: PlannedRequest): string | undefined {
  const m = /^\/nodes\/[^/]+\/(qemu|lxc)(?:\/\d+(\/.*)?)?$/.exec(r.path);
  if (!m) return undefined;
  const prefix = m[1] === "qemu" ? "qm" : "vz";
  const rest = m[2] ?? "";
  const status = /^\/status\/(\w+)$/.exec(rest)?.[1];
  if (status) return `${prefix}${status}`;
  if (rest === "" && r.method === "DELETE") return `${prefix}destroy`;
  if (rest === "" && r.method === "POST" && !/\/\d+$/.test(r.path)) return `${prefix}create`;
  if (rest === "/clone") return `${prefix}clone`;
  if (rest === "/migrate") return m[1] === "qemu" ? "qmigrate" : "vzmigrate";
  if (rest === "/snapshot" && r.method === "POST") return `${prefix}snapshot`;
  if (/^\/snapshot\/[^/]+\/rollback$/.test(rest)) return `${prefix}rollback`;
  if (/^\/snapshot\/[^/]+$/.test(rest) && r.method === "DELETE") return `${prefix}delsnapshot`;
  return undefined;
}

const TaskEntry = z.object({
  upid: z.string(),
  starttime: num,
  endtime: num.optional(),
  type: z.string().optional(),
}).loose();

/** Seconds of clock difference allowed between this machine and the node. */
const CLOCK_SLACK_S = 5;

/** What the task list says about a request whose answer was lost. */
export type LostTaskLookup =
  | { kind: "found"; upid: string }
  | { kind: "none"; node: string; since: number }
  | { kind: "several"; upids: string[] }
  | { kind: "unreadable"; error: string }
  | { kind: "no-node" };

/**
 * Looks in the task list of the request's node for a task it started at or after `sentAtMs`
 * (same guest and, when known, the expected type) that is not among `known`.
 */
export async function findLostTask(
  ctx: ToolContext,
  r: PlannedRequest,
  sentAtMs: number,
  known: readonly string[],
): Promise<LostTaskLookup> {
  const { node, vmid } = requestSubject(r);
  if (!node) return { kind: "no-node" };
  const since = Math.floor(sentAtMs / 1000) - CLOCK_SLACK_S;
  const type = expectedTaskType(r);
  let entries: z.infer<typeof TaskEntry>[];
  try {
    const data = await ctx.api.get(apiPath`/nodes/${node}/tasks`, {
      source: "all",
      since,
      vmid,
      typefilter: type,
      limit: 50,
    }, { signal: ctx.signal });
    entries = z.array(TaskEntry).parse(data);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    return { kind: "unreadable", error: err instanceof Error ? err.message : String(err) };
  }
  // Tasks that ended before the request was sent are not its own.
  const sentS = Math.floor(sentAtMs / 1000);
  const candidates = entries.filter((t) =>
    t.starttime >= since && !known.includes(t.upid) &&
    (t.endtime === undefined || t.endtime >= sentS - 1)
  );
  if (candidates.length === 1) return { kind: "found", upid: candidates[0].upid };
  if (candidates.length > 1) return { kind: "several", upids: candidates.map((t) => t.upid) };
  return { kind: "none", node, since };
}

/** The message for a request whose outcome stayed unknown after looking it up. */
export function unknownOutcomeMessage(
  summary: string,
  r: PlannedRequest,
  err: unknown,
  lookup: LostTaskLookup,
): string {
  const { node, vmid } = requestSubject(r);
  const found = lookup.kind === "none"
    ? `No task for it appears in the task list of ${lookup.node} since ${
      new Date(lookup.since * 1000).toISOString()
    }: it probably did not run, but that is not certain`
    : lookup.kind === "several"
    ? `Several tasks started since may be it: ${lookup.upids.join(", ")}`
    : lookup.kind === "unreadable"
    ? `The task list could not be read to find out (${lookup.error})`
    : "There is no task list to look it up in";
  const check = [
    vmid !== undefined ? `guest_status vmid=${vmid}` : undefined,
    node ? `task_list node=${node}${vmid !== undefined ? ` vmid=${vmid}` : ""}` : "task_list",
  ].filter(Boolean).join(" and ");
  return `Outcome unknown: ${summary}: ${r.method} ${r.path} reached Proxmox (or may have), but ` +
    `its answer was lost (${lostReason(err)}). ${found}. Do not retry: repeating it could do it ` +
    `twice. Check with ${check} first and tell the user what you find`;
}

/** The message for a started task that could not be followed to its end. */
export function taskUnknownMessage(summary: string, upid: string, err: unknown): string {
  return `Outcome unknown: ${summary}: task ${upid} was started, but following it failed (${
    lostReason(err)
  }). Do not retry: the task may still run or have finished. Check with task_status ` +
    `upid=${upid} (once its node answers) and tell the user what you find`;
}
