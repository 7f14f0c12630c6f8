/**
 * The audit stage: the outermost stage for mutating tools. It refuses every change while the
 * audit log is unusable (failed its check at start), records every decision the inner stages
 * take (refused, dry run, confirmation requested; a dry run or a confirmation request whose
 * record cannot be written is refused), writes an "execute" line before the first request is
 * sent (the call is refused if that write fails) and a "result" line after (if that fails, the
 * answer says so). Each record is also logged (stderr, and MCP logging notifications when the
 * client asked).
 *
 * @module
 */
import type { ToolOutput } from "../tools/tool.ts";
import type { LogLevel } from "../util/log.ts";
import type { AuditLog, AuditRecord } from "./audit.ts";
import { definedParams, type MutationOutcome } from "./change.ts";
import { isMutating, PolicyRefusal, type Stage, type ToolCall } from "./pipeline.ts";
import { redact, redactStrings } from "./redact.ts";

/** Builds the audit stage writing to `log`. */
export function auditStage(log: AuditLog): Stage {
  return async (call, next) => {
    if (!isMutating(call.tool)) return next();
    if (log.problem) {
      throw new PolicyRefusal(
        `Refused: changes are off because ${log.problem}. Nothing was changed; reads still work`,
        "audit",
      );
    }
    call.passed.add("audit");
    const id = crypto.randomUUID().slice(0, 8);
    const write = async (record: AuditRecord, level: LogLevel) => {
      const full = { id, tool: call.tool.name, ...record, ...facts(call) };
      const what = record.event === "result" ? record.outcome : record.decision;
      call.ctx.logger.log(
        level,
        `${call.tool.name}: ${String(what)}`,
        redactStrings({
          id,
          summary: call.change?.summary,
          ...pick(record, ["stage", "reason", "outcome", "upids", "error"]),
        }),
      );
      await log.append(redactStrings(full));
    };
    call.onSend.push(async () => {
      try {
        await write({
          event: "execute",
          decision: call.record.decision ?? "allowed",
          confirmed_by: call.record.confirmedBy,
          approved_by: call.record.approvedBy,
          approval_channel: call.record.approvalChannel,
        }, "info");
      } catch (err) {
        throw new PolicyRefusal(
          `Refused: the audit log could not be written (${
            err instanceof Error ? err.message : String(err)
          }); nothing was changed`,
          "audit",
        );
      }
    });
    let out: ToolOutput<unknown>;
    try {
      out = await next();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const record: AuditRecord = call.record.sent
        ? {
          event: "result",
          decision: call.record.outcome ?? "failed",
          outcome: call.ctx.signal.aborted ? "cancelled" : call.record.outcome ?? "failed",
          upids: call.record.upids,
          error: message,
        }
        : {
          event: "decision",
          decision: "refused",
          stage: err instanceof PolicyRefusal ? err.stage : "preflight",
          reason: message,
        };
      await write(record, "warning").catch((e) => logFailure(call, e));
      throw err;
    }
    const status = (out.structured as Partial<MutationOutcome> | undefined)?.status;
    if (!call.record.sent) {
      const decision = status === "dry_run"
        ? "dry-run"
        : status === "confirmation_required"
        ? "confirmation-required"
        : "refused";
      try {
        await write({ event: "decision", decision }, "info");
      } catch (err) {
        logFailure(call, err);
        if (decision === "refused") return out;
        throw new PolicyRefusal(
          `Refused: the audit log could not record this ${decision} (${
            err instanceof Error ? err.message : String(err)
          }); nothing was changed`,
          "audit",
        );
      }
      return out;
    }
    try {
      await write({
        event: "result",
        decision: call.record.decision ?? "allowed",
        outcome: status ?? "done",
        upids: call.record.upids,
      }, "info");
    } catch (err) {
      logFailure(call, err);
      return withAuditWarning(out, err);
    }
    return out;
  };
}

/** What the audit line says about the call itself: targets, redacted arguments, requests. */
function facts(call: ToolCall): AuditRecord {
  const c = call.change;
  return {
    summary: c?.summary,
    targets: c?.targets.map((t) => ({
      vmid: t.vmid,
      node: t.node,
      type: t.type,
      name: t.name,
      storage: t.storage,
      volid: t.volid,
    })),
    args: redact(call.args),
    requests: c?.requests.map((r) => ({ ...r, params: redact(definedParams(r.params)) })),
  };
}

function pick(record: AuditRecord, keys: string[]): AuditRecord {
  return Object.fromEntries(keys.filter((k) => record[k] !== undefined).map((k) => [k, record[k]]));
}

/** `out` with a warning that its result is missing from the audit log. */
function withAuditWarning(out: ToolOutput<unknown>, err: unknown): ToolOutput<unknown> {
  const warning = `the audit log could not record the result of this change (${
    err instanceof Error ? err.message : String(err)
  }); its execute line is there`;
  const structured = out.structured as { warnings?: string[] } | undefined;
  return {
    ...out,
    structured: structured && typeof structured === "object"
      ? { ...structured, warnings: [...(structured.warnings ?? []), warning] }
      : structured,
    text: out.text === undefined ? undefined : `${out.text}\nWarning: ${warning}`,
  };
}

function logFailure(call: ToolCall, err: unknown): void {
  call.ctx.logger.log("error", `Audit log write failed for ${call.tool.name}`, {
    error: err instanceof Error ? err.message : String(err),
  });
}
