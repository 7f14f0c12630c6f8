/**
 * Mutating catalogue rows: `defineMutation()` adds the control arguments every mutating tool
 * takes (`dry_run`, `confirmation_token`, `wait`), the common result shape, and the executor
 * that sends a plan's requests once every safety stage agreed, then waits for the tasks.
 *
 * @module
 */
import { z } from "zod";
import { ProxmoxError } from "../proxmox/errors.ts";
import { systemClock } from "../util/clock.ts";
import {
  ChangeNotSentError,
  classifySendFailure,
  findLostTask,
  lostReason,
  OutcomeUnknownError,
  taskUnknownMessage,
  unknownOutcomeMessage,
} from "./outcome.ts";
import { type Change, MUTATION_STATUS, type MutationOutcome, type Plan } from "../safety/change.ts";
import type { UndoPlan } from "../safety/undo.ts";
import { redactText } from "../safety/redact.ts";
import { CHECKPOINTS, PolicyRefusal, type ToolCall } from "../safety/pipeline.ts";
import { args } from "./args.ts";
import { CONTROL_SHAPE } from "./params.ts";
import type { ToolContext } from "./context.ts";
import { describeTask, type TaskOutcome, waitForTask } from "./task_wait.ts";
import type { Tool, ToolOutput, Toolset } from "./tool.ts";

/** The control arguments as handlers see them (after defaults). */
export type ControlArgs = z.infer<z.ZodObject<typeof CONTROL_SHAPE>>;

/**
 * Result fields common to every mutating tool. Only the ones a client acts on are declared, to
 * keep `tools/list` small; the result also carries `plan` (see `PlanView`), `expires_at`,
 * `exitstatus`, `log_tail` and `warnings` (the output schema allows extra fields).
 */
export const OUTCOME_SHAPE = {
  status: MUTATION_STATUS,
  summary: z.string(),
  confirmation_token: z.string().optional(),
  upid: z.string().optional(),
};

/** A mutating row, typed by its own input and result shapes. */
export interface MutationDefinition<S extends z.ZodRawShape, R extends z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  toolset: Toolset;
  privilege: string;
  input: S;
  /** Tool-specific result fields (optional in the output; known at plan time or after). */
  result: R;
  /** Whether data can be lost (MCP `destructiveHint`). */
  destructive: boolean;
  /** Whether repeating the call changes nothing more (MCP `idempotentHint`). */
  idempotent?: boolean;
  /**
   * The plan decides per call whether it is destructive (`disable_destructive` then refuses
   * only destructive plans instead of hiding the tool).
   */
  judgedPerCall?: boolean;
  /** Preflight checks and the plan; reads only. */
  plan(a: z.infer<z.ZodObject<S>> & ControlArgs, ctx: ToolContext): Promise<Plan>;
  /**
   * Extra result fields once the requests were sent and the tasks ended; `responses` holds
   * the data each planned request answered with, in order.
   */
  after?(
    a: z.infer<z.ZodObject<S>> & ControlArgs,
    ctx: ToolContext,
    change: Change,
    responses: unknown[],
  ): Promise<Record<string, unknown>>;
  /**
   * Replaces the default executor (requests in order, one task at a time); it must call
   * {@link openSend} before its first write.
   */
  run?(call: ToolCall): Promise<ToolOutput<unknown>>;
  /** Extra lines for the result text (e.g. a command's output), from the final result. */
  report?(result: Record<string, unknown>): string | undefined;
}

/** Declares a mutating catalogue row. */
export function defineMutation<S extends z.ZodRawShape, R extends z.ZodRawShape>(
  def: MutationDefinition<S, R>,
): Tool {
  type A = z.infer<z.ZodObject<S>> & ControlArgs;
  const input = args({ ...def.input, ...CONTROL_SHAPE });
  const output = z.looseObject({ ...OUTCOME_SHAPE, ...partial(def.result) });
  return {
    name: def.name,
    title: def.title,
    description: def.description,
    toolset: def.toolset,
    privilege: def.privilege,
    judgedPerCall: def.judgedPerCall,
    input,
    output,
    annotations: {
      readOnlyHint: false,
      destructiveHint: def.destructive,
      idempotentHint: def.idempotent ?? false,
      openWorldHint: true,
    },
    handler() {
      return Promise.reject(
        new PolicyRefusal(`Refused: ${def.name} runs only through the safety pipeline`, "pipeline"),
      );
    },
    plan: async (a, ctx) => withoutSecrets(await def.plan(a as A, ctx)),
    execute: (call) =>
      def.run ? def.run(call) : executeChange(
        call,
        def.after
          ? (ctx, change, responses) => def.after!(call.args as A, ctx, change, responses)
          : undefined,
        def.report,
      ),
  };
}

/**
 * `change` with URL secrets hidden in the words shown to people (summary, losses, warnings);
 * the requests keep the real values, which only Proxmox receives.
 */
function withoutSecrets(change: Plan): Plan {
  return {
    ...change,
    summary: redactText(change.summary),
    loses: change.loses === undefined ? undefined : redactText(change.loses),
    warnings: change.warnings.map(redactText),
  };
}

function partial(shape: z.ZodRawShape): z.ZodRawShape {
  return Object.fromEntries(
    Object.entries(shape).map(([k, v]) => [k, (v as z.ZodType).optional()]),
  );
}

/** A task started by a change ended with an error. */
export class TaskFailedError extends ProxmoxError {
  readonly upid: string;
  readonly exitstatus: string;
  constructor(summary: string, outcome: TaskOutcome) {
    super(
      `Failed: ${summary}: task ${outcome.upid} ended with "${outcome.exitstatus}"` +
        (outcome.tail.length ? `. Last log lines:\n${outcome.tail.join("\n")}` : ""),
    );
    this.name = "TaskFailedError";
    this.upid = outcome.upid;
    this.exitstatus = outcome.exitstatus ?? "unknown";
  }
}

const UPID_RE = /^UPID:/;

/**
 * Checks that `call` passed every safety checkpoint (fail closed), then runs the send gates
 * and announcements. Returns the plan to send. Every executor calls this before its first
 * write; the executor then runs `call.lastChecks` right before that write.
 */
export async function openSend(call: ToolCall): Promise<Change> {
  const change = call.change;
  const missing = CHECKPOINTS.filter((c) => !call.passed.has(c));
  if (!change || missing.length) {
    throw new PolicyRefusal(
      `Refused: ${call.tool.name} did not pass the safety checks (${
        missing.join(", ")
      }); nothing was sent`,
      "pipeline",
    );
  }
  for (const gate of call.beforeSend) gate();
  for (const announce of call.onSend) await announce();
  return change;
}

/**
 * Sends the planned requests of `call` in order and waits for their tasks. Refuses unless the
 * call passed every safety checkpoint (fail closed); runs the send gates first.
 */
export async function executeChange(
  call: ToolCall,
  after?: (
    ctx: ToolContext,
    change: Change,
    responses: unknown[],
  ) => Promise<Record<string, unknown>>,
  report?: (result: Record<string, unknown>) => string | undefined,
): Promise<ToolOutput<MutationOutcome & Record<string, unknown>>> {
  const change = await openSend(call);
  const { ctx } = call;
  const wait = call.args.wait !== false;
  let last: TaskOutcome | undefined;
  let startedUpid: string | undefined;
  let answer: unknown;
  const undo = change.undo;
  if (!change.requests.length && !undo) {
    for (const check of call.lastChecks) check();
    call.record.sent = true;
  }
  const warnings = [...change.warnings];
  const clock = ctx.tasks?.clock ?? systemClock;
  const responses: unknown[] = [];
  try {
    if (undo) {
      for (const check of call.lastChecks) check();
      call.record.sent = true;
      await takeUndoPoint(call, undo);
    }
    for (const [i, r] of change.requests.entries()) {
      if (i === 0 && !undo) {
        for (const check of call.lastChecks) check();
        call.record.sent = true;
      }
      const sentAt = clock.now();
      let data: unknown;
      try {
        data = await send(ctx, r);
      } catch (err) {
        data = await lostAnswer(call, change, i, sentAt, err);
        warnings.push(
          `the answer to ${r.method} ${r.path} was lost (${lostReason(err)}); the task it ` +
            `started was found in the task list and followed`,
        );
      }
      responses.push(data);
      const upid = typeof data === "string" && UPID_RE.test(data) ? data : undefined;
      if (!upid) {
        if (data !== null && data !== undefined) answer = data;
        continue;
      }
      call.record.upids.push(upid);
      const isLast = i === change.requests.length - 1;
      if (!wait && isLast) {
        startedUpid = upid;
        break;
      }
      try {
        last = await waitForTask(ctx, upid, { stopOnCancel: change.stopOnCancel });
      } catch (err) {
        if (ctx.signal.aborted || isAbort(err)) throw err;
        call.record.outcome = "unknown";
        throw new OutcomeUnknownError(taskUnknownMessage(change.summary, upid, err), {
          cause: err,
          upid,
        });
      }
      if (last.state === "failed") {
        call.record.outcome = "failed";
        throw new TaskFailedError(change.summary, last);
      }
      if (last.state === "timeout") break;
    }
  } finally {
    ctx.inventory.invalidate();
  }
  let removed: string[] | undefined;
  if (undo?.prune.length) {
    if (last?.state === "timeout" || startedUpid) {
      warnings.push(
        `older undo points were not removed while the change still runs (${
          undo.pruneNames.join(", ")
        })`,
      );
    } else {
      removed = await pruneUndoPoints(call, undo, warnings);
    }
  }
  let extra: Record<string, unknown> = {};
  if (last?.state !== "timeout" && !startedUpid && after) {
    try {
      extra = await after(ctx, change, responses);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const message = err instanceof Error ? err.message : String(err);
      ctx.logger.log("warning", `${call.tool.name}: reading the result failed`, { error: message });
      warnings.push(`the change was made, but reading its result afterwards failed: ${message}`);
    }
  }
  if (last?.state === "warnings") warnings.push(`task ended with ${last.exitstatus}`);
  const status: MutationOutcome["status"] = startedUpid
    ? "started"
    : last?.state === "timeout"
    ? "running"
    : "done";
  const upid = startedUpid ?? last?.upid;
  const structured = {
    ...change.result,
    ...extra,
    // api_change hands back what Proxmox answered besides a task.
    ...(call.tool.dangerTable && answer !== undefined ? { data: answer } : {}),
    status,
    summary: change.summary,
    upid,
    exitstatus: last?.exitstatus,
    log_tail: last && last.state !== "ok" ? last.tail : undefined,
    warnings: warnings.length ? warnings : undefined,
    undo_point: undo?.name,
    undo_removed: removed?.length ? removed : undefined,
    undo_skipped: change.undoSkipped,
  };
  const undoText = undo
    ? `\nUndo point: snapshot ${undo.name} was taken first; guest_undo vmid=${
      undo.path.split("/").at(-1)
    } rolls back to it${removed?.length ? ` (removed older: ${removed.join(", ")})` : ""}`
    : change.undoSkipped
    ? `\nNo undo point: ${change.undoSkipped.replace(/^no undo point before this [^:]*: /, "")}`
    : "";
  const more = report?.(structured);
  const text = outcomeText(status, change, upid, last, warnings) + undoText;
  return { structured, text: more ? `${text}\n${more}` : text };
}

/**
 * Takes the undo point before the change; a failure stops the call with nothing else sent.
 * Taking a snapshot rewrites the guest's config, so the config digest the plan carries (which
 * guards against changes by others) is refreshed afterwards.
 */
async function takeUndoPoint(call: ToolCall, undo: UndoPlan): Promise<void> {
  const { ctx } = call;
  const data = await send(ctx, undo.create);
  if (typeof data === "string" && UPID_RE.test(data)) {
    call.record.upids.push(data);
    const done = await waitForTask(ctx, data, {});
    if (done.state === "failed" || done.state === "timeout") {
      call.record.outcome = "failed";
      throw new TaskFailedError(
        `the undo point ${undo.name} could not be taken, so nothing else was changed`,
        done,
      );
    }
  }
  if (!call.change!.requests.some((r) => r.params.digest !== undefined)) return;
  const { digest } = z.object({ digest: z.string().optional() }).loose().parse(
    await ctx.api.get(`${undo.path}/config`, undefined, { signal: ctx.signal }),
  );
  for (const r of call.change!.requests) {
    if (r.params.digest !== undefined && r.path.startsWith(undo.path)) r.params.digest = digest;
  }
}

/** Removes the undo points beyond `undo_keep`; failures become warnings. */
async function pruneUndoPoints(
  call: ToolCall,
  undo: UndoPlan,
  warnings: string[],
): Promise<string[]> {
  const { ctx } = call;
  const removed: string[] = [];
  for (const [i, r] of undo.prune.entries()) {
    try {
      const data = await send(ctx, r);
      if (typeof data === "string" && UPID_RE.test(data)) {
        call.record.upids.push(data);
        const done = await waitForTask(ctx, data, {});
        if (done.state === "failed" || done.state === "timeout") throw new Error(done.exitstatus);
      }
      removed.push(undo.pruneNames[i]);
    } catch (err) {
      warnings.push(
        `old undo point ${undo.pruneNames[i]} was not removed (${
          err instanceof Error ? err.message : String(err)
        })`,
      );
    }
  }
  return removed;
}

/** Sends one planned request. */
function send(ctx: ToolContext, r: Change["requests"][number]): Promise<unknown> {
  const opts = { signal: ctx.signal };
  if (r.method === "POST") return ctx.api.post(r.path, r.params, opts);
  if (r.method === "PUT") return ctx.api.put(r.path, r.params, opts);
  return ctx.api.delete(r.path, r.params, opts);
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError") &&
    !(err instanceof ProxmoxError);
}

/**
 * Request `i` of `change` got no answer (`err`). Not sent: nothing changed (for the first
 * request) and the call fails saying so. Failed: Proxmox answered with an error. Unknown: the
 * task list is searched for the task it started; found, its UPID is returned as if it had been
 * the answer; otherwise the call fails telling the model to check, not to retry.
 */
async function lostAnswer(
  call: ToolCall,
  change: Change,
  i: number,
  sentAt: number,
  err: unknown,
): Promise<string> {
  if (call.ctx.signal.aborted || isAbort(err)) throw err;
  const kind = classifySendFailure(err);
  if (kind === "not-sent" && i === 0) {
    call.record.outcome = "not-sent";
    throw new ChangeNotSentError(change.summary, err);
  }
  if (kind !== "unknown") {
    call.record.outcome = "failed";
    throw err;
  }
  const r = change.requests[i];
  const lookup = await findLostTask(call.ctx, r, sentAt, call.record.upids);
  call.ctx.logger.log("warning", `${call.tool.name}: the answer to a write was lost`, {
    request: `${r.method} ${r.path}`,
    error: lostReason(err),
    lookup: lookup.kind,
  });
  if (lookup.kind === "found") return lookup.upid;
  call.record.outcome = "unknown";
  throw new OutcomeUnknownError(unknownOutcomeMessage(change.summary, r, err, lookup), {
    cause: err,
  });
}

function outcomeText(
  status: MutationOutcome["status"],
  change: Change,
  upid: string | undefined,
  last: TaskOutcome | undefined,
  warnings: string[],
): string {
  const w = warnings.length ? `\nWarnings: ${warnings.join("; ")}` : "";
  if (status === "started") {
    return `Started: ${change.summary}\nTask ${upid} (${
      describeTask(upid!)
    }) is running; follow it with task_status or task_log.${w}`;
  }
  if (status === "running") {
    const secs = Math.round((last?.waitedMs ?? 0) / 1000);
    const tail = last?.tail.length ? `\nLatest log: ${last.tail.at(-1)}` : "";
    return `Still running after ${secs} s: ${change.summary}\nTask ${upid} was not stopped; ` +
      `follow it with task_status or task_log (upid above).${tail}${w}`;
  }
  const task = upid ? ` (task ${describeTask(upid)}: ${last?.exitstatus ?? "OK"})` : "";
  return `Done: ${change.summary}${task}${w}`;
}
