/**
 * Waiting for a person's approval: the plan goes on the approval board, the call reports
 * progress ("waiting for approval at …") until it is approved, rejected or expires, and
 * cancelling the call withdraws the request. An approval is for the exact plan: before
 * anything is sent the plan is made again, and if the cluster changed the call is refused.
 *
 * @module
 */
import type { ApprovalBoard, ApprovalDecision, ApprovalMode } from "./approvals.ts";
import { type Change, planView } from "./change.ts";
import { PolicyRefusal, type ToolCall } from "./pipeline.ts";

/** How often a waiting call reports progress. */
const PROGRESS_EVERY_MS = 10_000;

/**
 * The mode that applies to a call: `auto` means elicitation when the client can, else a
 * person through an approval channel when there is one, else the token.
 */
export function effectiveMode(
  mode: ApprovalMode,
  canElicit: boolean,
  haveChannel: boolean,
): "elicitation" | "token" | "human" {
  if (mode === "auto") return canElicit ? "elicitation" : haveChannel ? "human" : "token";
  if (mode === "elicitation") return canElicit ? "elicitation" : "token";
  return mode;
}

/** Puts the plan of `call` up for approval and waits; throws unless a person approved it. */
export async function awaitApproval(
  call: ToolCall,
  change: Change,
  reasons: string[],
  opts: { board: ApprovalBoard; ttlMs: number; now: number; fingerprint: string },
): Promise<ApprovalDecision> {
  const channels = opts.board.channels();
  if (!channels.length) {
    throw new PolicyRefusal(
      "Refused: this change needs a person's approval (approval: human) but no approval channel " +
        "is available: serve over HTTP with an approver_token (the /approvals page) or give the " +
        "server a state_dir (proxmox-mcp approvals). Nothing was changed",
      "approval",
    );
  }
  if (call.args.confirmation_token !== undefined) {
    throw new PolicyRefusal(
      `Refused: ${call.tool.name} here needs a person's approval outside this conversation ` +
        "(approval: human); a confirmation_token cannot stand in for it. Nothing was changed. " +
        "Call again without confirmation_token and ask the user to approve the plan at " +
        channels.join(" or "),
      "approval",
    );
  }
  const id = crypto.randomUUID();
  const expiresAt = new Date(opts.now + opts.ttlMs).toISOString();
  await opts.board.submit({
    id,
    tool: call.tool.name,
    summary: change.summary,
    plan: planView(change, reasons),
    reasons,
    fingerprint: opts.fingerprint,
    createdAt: new Date(opts.now).toISOString(),
    expiresAt,
  });
  const where = channels.map((c) => c.startsWith("terminal") ? `${c} approve ${id}` : c).join(
    " or ",
  );
  const message = `waiting for approval at ${where} (request ${id}, expires ${expiresAt})`;
  call.ctx.logger.log("info", `${call.tool.name}: ${message}`, { summary: change.summary });
  const started = Date.now();
  const report = () =>
    call.ctx.progress?.({
      progress: Math.round((Date.now() - started) / 1000),
      total: Math.round(opts.ttlMs / 1000),
      message,
    }).catch(() => {});
  void report();
  const ticker = setInterval(() => void report(), PROGRESS_EVERY_MS);
  let outcome;
  try {
    outcome = await opts.board.wait(id, call.ctx.signal);
  } finally {
    clearInterval(ticker);
  }
  switch (outcome.decision) {
    case "approved":
      return outcome;
    case "rejected":
      throw new PolicyRefusal(
        `Refused: ${outcome.by} rejected ${change.summary} (via ${outcome.channel}${
          outcome.note ? `: ${outcome.note}` : ""
        }). Nothing was changed`,
        "approval",
      );
    case "expired":
      throw new PolicyRefusal(
        `Refused: nobody approved ${change.summary} within ${
          Math.round(opts.ttlMs / 1000)
        } s; the request expired. Nothing was changed. Call again to ask for approval again`,
        "approval",
      );
    case "withdrawn":
      throw new PolicyRefusal(
        `Cancelled: the approval request for ${change.summary} was withdrawn. Nothing was changed`,
        "approval",
      );
  }
}
