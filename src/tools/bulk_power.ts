/**
 * Starting or shutting down a set of guests (by tag, pool, node or list) as one change: one
 * plan, one confirmation, then the guests in order (start: by startup order, then VMID;
 * shutdown: the reverse) with a concurrency limit, progress per guest, and each guest's outcome
 * reported — a failure does not stop the others.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import type { Plan } from "../safety/change.ts";
import type { ToolCall } from "../safety/pipeline.ts";
import { type ToolContext, ToolInputError } from "./context.ts";
import { guestId, poolId, tagList } from "./mutation_args.ts";
import { defineMutation, openSend } from "./mutation.ts";
import { node as nodeParam } from "./params.ts";
import { Facts } from "./preflight.ts";
import { waitForTask } from "./task_wait.ts";
import type { Tool, ToolOutput } from "./tool.ts";

/** One guest of the set, in plan order. */
interface Member {
  vmid: number;
  node: string;
  type: "qemu" | "lxc";
  name?: string;
  /** Startup order (`startup: order=N`); guests without one go last on start. */
  order: number;
}

/** What happened to one guest. */
interface Outcome {
  vmid: number;
  name?: string;
  node: string;
  result: "ok" | "failed" | "timeout" | "skipped";
  upid?: string;
  exitstatus?: string;
  error?: string;
  log_tail?: string[];
}

function startupOrder(config: Record<string, string>): number {
  const m = /(?:^|,)order=(\d+)/.exec(config.startup ?? "");
  return m ? Number(m[1]) : Number.MAX_SAFE_INTEGER;
}

const bulkPower = defineMutation({
  name: "bulk_power",
  title: "Start or shut down many guests",
  description:
    "Start or shut down every guest matching tag, pool, node or a VMID list, in startup order (shutdown: reverse) with a concurrency limit. One plan, one confirmation; per-guest progress and results.",
  toolset: "bulk",
  privilege: "VM.PowerMgmt on /vms/{vmid} for each guest",
  destructive: true,
  judgedPerCall: true,
  input: {
    action: z.enum(["start", "shutdown"]).describe("Start or graceful shutdown"),
    tag: tagList().max(1).optional().describe("Guests with this tag"),
    pool: poolId().optional().describe("Guests in this pool"),
    node: nodeParam("Only this node").optional(),
    vmids: z.array(guestId()).min(1).max(500).optional().describe("These guests"),
    concurrency: z.int().min(1).max(10).default(3).describe("Guests at a time"),
    timeout_s: z.int().min(1).max(3600).optional().describe("shutdown: per guest"),
  },
  result: {},
  async plan(a, ctx): Promise<Plan> {
    if (!a.tag?.length && !a.pool && !a.node && !a.vmids) {
      throw new ToolInputError("Say which guests: give tag, pool, node or vmids");
    }
    const facts = new Facts(ctx);
    const all = await facts.guests();
    const want = a.action === "start" ? "stopped" : "running";
    const matching = all.filter((r) => {
      const vmid = r.vmid ?? Number(r.id.split("/")[1]);
      const tags = (r.tags ?? "").split(/[;,\s]+/).map((t) => t.toLowerCase());
      return (!a.tag?.length || tags.includes(a.tag[0].toLowerCase())) &&
        (!a.pool || r.pool === a.pool) &&
        (!a.node || r.node === a.node) &&
        (!a.vmids || a.vmids.includes(vmid)) &&
        r.template !== true;
    });
    if (a.vmids) {
      const found = new Set(matching.map((r) => r.vmid ?? Number(r.id.split("/")[1])));
      const missing = a.vmids.filter((v) => !found.has(v));
      if (missing.length) {
        throw new ToolInputError(`No such guests (or templates): ${missing.join(", ")}`);
      }
    }
    const skipped = matching.filter((r) => r.status !== want);
    const todo = matching.filter((r) => r.status === want);
    if (!todo.length) {
      throw new ToolInputError(
        `Nothing to ${a.action}: ${matching.length} guest(s) match and none is ${want}`,
      );
    }
    const members: Member[] = [];
    for (const r of todo) {
      const g = await facts.guest(r.vmid ?? Number(r.id.split("/")[1]));
      if (g.template) continue;
      members.push({
        vmid: g.vmid,
        node: g.node,
        type: g.type,
        name: g.name,
        order: startupOrder(g.config),
      });
    }
    members.sort((x, y) => x.order - y.order || x.vmid - y.vmid);
    if (a.action === "shutdown") members.reverse();
    const params = a.action === "shutdown" ? { timeout: a.timeout_s } : {};
    const list = members.map((m) => `${m.vmid}${m.name ? ` (${m.name})` : ""}`).join(", ");
    return {
      summary: `${a.action} ${members.length} guest(s), ${a.concurrency} at a time: ${list}`,
      requests: members.map((m) => ({
        method: "POST" as const,
        path: apiPath`/nodes/${m.node}/${m.type}/${m.vmid}/status/${a.action}`,
        params,
      })),
      destructive: a.action === "shutdown",
      loses: a.action === "shutdown"
        ? `the services of ${members.length} guest(s) stop until started again`
        : undefined,
      confirm: `changes the power state of ${members.length} guest(s) at once`,
      warnings: skipped.length
        ? [`skipped, already not ${want}: ${skipped.map((r) => r.vmid).join(", ")}`]
        : [],
      creates: 0,
      result: { order: members.map((m) => m.vmid) },
    };
  },
  run: (call) => runBulk(call),
});

/** Startup-order groups run one after another; shutdown runs all with the limit. */
function groupsInOrder(action: string, members: Member[]): Member[][] {
  if (action === "shutdown") return [members];
  const groups: Member[][] = [];
  for (const m of members) {
    const last = groups.at(-1);
    if (last && last[0].order === m.order) last.push(m);
    else groups.push([m]);
  }
  return groups;
}

async function runBulk(call: ToolCall): Promise<ToolOutput<unknown>> {
  const change = await openSend(call);
  const ctx: ToolContext = call.ctx;
  const action = String(call.args.action);
  const concurrency = Number(call.args.concurrency ?? 3);
  const members: Member[] = change.requests.map((r) => {
    const [, , node, type, vmid] = r.path.split("/");
    const t = change.targets.find((x) => x.vmid === Number(vmid));
    return {
      vmid: Number(vmid),
      node: decodeURIComponent(node),
      type: type as Member["type"],
      name: t?.name,
      order: 0,
    };
  });
  // The plan fixed the order; the startup order groups come from the configs again.
  const facts = new Facts(ctx);
  for (const m of members) m.order = startupOrder((await facts.guest(m.vmid)).config);
  const outcomes: Outcome[] = [];
  let done = 0;
  let stopped: string | undefined;
  const one = async (m: Member, i: number): Promise<void> => {
    const r = change.requests[i];
    const o: Outcome = { vmid: m.vmid, name: m.name, node: m.node, result: "ok" };
    // The last checks (kill switch) run right before each guest's request; before the first
    // one a refusal ends the call with nothing sent, later it skips the rest.
    if (!stopped) {
      try {
        for (const check of call.lastChecks) check();
      } catch (e) {
        if (!call.record.sent) throw e;
        stopped = e instanceof Error ? e.message : String(e);
      }
    }
    if (stopped) {
      outcomes[i] = { ...o, result: "skipped", error: stopped };
      return;
    }
    call.record.sent = true;
    try {
      const upid = String(await ctx.api.post(r.path, r.params, { signal: ctx.signal }));
      call.record.upids.push(upid);
      o.upid = upid;
      const t = await waitForTask(ctx, upid);
      o.exitstatus = t.exitstatus;
      if (t.state === "failed") {
        o.result = "failed";
        o.log_tail = t.tail;
      } else if (t.state === "timeout") o.result = "timeout";
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      o.result = "failed";
      o.error = e instanceof Error ? e.message : String(e);
    }
    outcomes[i] = o;
    done++;
    await ctx.progress?.({
      progress: done,
      total: members.length,
      message: `${action} ${m.vmid}${m.name ? ` (${m.name})` : ""}: ${o.result}${
        o.result === "failed" ? ` (${o.error ?? o.exitstatus})` : ""
      }`,
    });
  };
  try {
    let index = 0;
    for (const group of groupsInOrder(action, members)) {
      const queue = group.map((m) => ({ m, i: index++ }));
      const workers = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        for (let next = queue.shift(); next; next = queue.shift()) await one(next.m, next.i);
      });
      await Promise.all(workers);
    }
  } finally {
    ctx.inventory.invalidate();
  }
  const failed = outcomes.filter((o) => o.result !== "ok");
  const structured = {
    ...change.result,
    status: "done",
    summary: change.summary,
    total: outcomes.length,
    succeeded: outcomes.length - failed.length,
    failed: failed.length,
    guests: outcomes,
    warnings: change.warnings.length ? change.warnings : undefined,
  };
  const lines = outcomes.map((o) =>
    `${o.vmid}${o.name ? ` (${o.name})` : ""} on ${o.node}: ${o.result}${
      o.result === "ok"
        ? ""
        : ` — ${o.error ?? o.exitstatus ?? "no answer"}${
          o.log_tail?.length ? `; log: ${o.log_tail.at(-1)}` : ""
        }`
    }`
  );
  const head = failed.length
    ? `Done with failures: ${failed.length} of ${outcomes.length} guest(s) did not ${action}`
    : `Done: ${action} of ${outcomes.length} guest(s) succeeded`;
  return { structured, text: `${head}\n${lines.join("\n")}` };
}

/** The bulk toolset. */
export const bulkTools: Tool[] = [bulkPower];
