/**
 * The confirmation stage. A change that is destructive (or touches a guest with a protected
 * tag) runs only once confirmed: by the human through MCP elicitation when the client supports
 * it, otherwise by repeating the call with the one-time token the first call returned.
 *
 * A human's answer can come minutes after the question. So after they answer, the call is
 * planned again and runs through every stage again (`ToolCall.replan`): scope and protection are
 * checked against the cluster as it is then, and if the plan or the reasons for confirming differ
 * from what the human saw, they are asked again (elicitation, at most three times) or the call is
 * refused (human approval).
 *
 * @module
 */
import type { ToolOutput } from "../tools/tool.ts";
import type { CONTROL_SHAPE } from "../tools/params.ts";
import { canonicalJson, sha256Hex } from "./canonical.ts";
import {
  type Change,
  confirmReasons,
  describeChange,
  type MutationOutcome,
  planView,
} from "./change.ts";
import type { ApprovalBoard, ApprovalPolicy } from "./approvals.ts";
import { awaitApproval, effectiveMode } from "./human_approval.ts";
import { PolicyRefusal, type Stage, type ToolCall } from "./pipeline.ts";
import type { ConfirmationTokens } from "./tokens.ts";

/**
 * Control arguments a token is not bound to: the token itself, and `dry_run` (a dry run never
 * executes). `wait` stays bound: the user confirmed the call as shown, waiting included. Typed
 * against {@link CONTROL_SHAPE}, so a renamed or removed control argument fails the type check.
 */
export const UNBOUND_ARGS = ["dry_run", "confirmation_token"] as const satisfies readonly (
  keyof typeof CONTROL_SHAPE
)[];

/** What the human is asked, and what they answered. */
export interface ElicitRequest {
  message: string;
  requestedSchema: {
    type: "object";
    properties: Record<string, { type: "boolean"; title: string; description: string }>;
    required: string[];
  };
}

/** The human's answer. */
export interface ElicitAnswer {
  action: "accept" | "decline" | "cancel";
  content?: Record<string, unknown>;
}

/** Options of the confirmation stage. */
export interface ConfirmationOptions {
  tokens: ConfirmationTokens;
  /** Ask through elicitation when the client supports it (default true). */
  elicitation?: boolean;
  /** The approval mode per risk level, and the board people approve on (`human`). */
  approval?: { policy: ApprovalPolicy; board: ApprovalBoard; now: () => number };
}

/** Hash of the arguments a token is bound to: everything but {@link UNBOUND_ARGS}. */
export function argsHash(args: Record<string, unknown>): string {
  const bound = { ...args };
  for (const k of UNBOUND_ARGS) delete bound[k];
  return sha256Hex(canonicalJson(bound));
}

/** Hash of what a plan would do: the requests and the identity of each target. */
export function planHash(change: Change): string {
  return sha256Hex(canonicalJson({
    requests: change.requests,
    targets: change.targets.map((t) => [t.vmid, t.node, t.type, t.name, t.exists]),
  }));
}

/** Builds the confirmation stage. Runs after dry-run and rate-limit checks. */
export function confirmationStage(opts: ConfirmationOptions): Stage {
  const useElicitation = opts.elicitation ?? true;
  return async (call, next) => {
    const change = call.change;
    if (!change) return next();
    const reasons = confirmReasons(change, call.confirmReasons);
    if (!reasons.length) {
      call.record.decision = "allowed";
      call.passed.add("confirmation");
      return next();
    }
    const canElicit = useElicitation && call.ctx.elicit !== undefined;
    const approval = opts.approval;
    const mode = approval
      ? effectiveMode(
        change.destructive ? approval.policy.destructive : approval.policy.protected,
        canElicit,
        approval.board.channels().length > 0,
      )
      : canElicit
      ? "elicitation"
      : "token";
    const fingerprint = confirmedFingerprint(change, reasons);
    const prior = call.confirmed;
    if (mode === "human" && approval) {
      if (prior) {
        if (prior.fingerprint !== fingerprint) {
          throw new PolicyRefusal(
            `Refused: the cluster changed while ${change.summary} waited for approval, so the ` +
              "approved plan is not what would be sent now. Nothing was changed. Call again to " +
              "get the new plan approved",
            "approval",
          );
        }
        call.record.decision = "confirmed";
        call.record.confirmedBy = "human";
        call.record.approvedBy = prior.by;
        call.record.approvalChannel = prior.channel;
        call.passed.add("confirmation");
        return next();
      }
      const d = await awaitApproval(call, change, reasons, {
        board: approval.board,
        ttlMs: opts.tokens.ttlMs,
        now: approval.now(),
        fingerprint: planHash(change),
      });
      call.confirmed = { fingerprint, asked: 1, by: d.by, channel: d.channel };
      return await call.replan();
    }
    if (mode === "elicitation") {
      if (prior?.fingerprint === fingerprint) {
        call.record.decision = "confirmed";
        call.record.confirmedBy = "elicitation";
        call.passed.add("confirmation");
        return next();
      }
      if (prior && prior.asked >= MAX_ASKS) {
        throw new PolicyRefusal(
          `Refused: the plan of ${change.summary} changed each of the ${prior.asked} times the ` +
            "user was asked, so no confirmed plan can be sent. Nothing was changed. Call again " +
            "once the cluster is settled",
          "confirmation",
        );
      }
      await askHuman(call, change, reasons, prior !== undefined);
      call.confirmed = { fingerprint, asked: (prior?.asked ?? 0) + 1 };
      return await call.replan();
    }
    const token = call.args.confirmation_token;
    const aHash = argsHash(call.args);
    const pHash = planHash(change);
    if (typeof token !== "string" || token === "") {
      return confirmationRequired(call, change, reasons, opts.tokens, aHash, pHash);
    }
    const check = opts.tokens.check(token, call.tool.name, aHash, pHash, call.ctx.session ?? "");
    if (!check.ok) {
      const retry = check.problem === "plan-changed" || check.problem === "expired" ||
          check.problem === "used" || check.problem === "other-session"
        ? "Call again without confirmation_token to get the current plan and a new token"
        : `A token is valid only for the exact tool and arguments it was issued for; call ${call.tool.name} without confirmation_token to get one`;
      throw new PolicyRefusal(
        `Refused: confirmation_token is not valid for this call: ${check.message}. Nothing was changed. ${retry}`,
        "confirmation",
      );
    }
    call.beforeSend.push(() => {
      if (!opts.tokens.spend(check.nonce, check.expiresAt)) {
        throw new PolicyRefusal(
          "Refused: confirmation_token was already used by another call (tokens work once). Nothing was changed",
          "confirmation",
        );
      }
    });
    call.record.decision = "confirmed";
    call.record.confirmedBy = "token";
    call.passed.add("confirmation");
    return next();
  };
}

/** How often the user is asked during one call when the plan keeps changing. */
const MAX_ASKS = 3;

/**
 * What a human confirms: the plan (requests and targets) and why it needs a confirmation. When
 * it differs after the re-plan that follows the answer, the human is asked again.
 */
function confirmedFingerprint(change: Change, reasons: readonly string[]): string {
  return sha256Hex(canonicalJson({ plan: planHash(change), reasons }));
}

async function askHuman(
  call: ToolCall,
  change: Change,
  reasons: string[],
  changed: boolean,
): Promise<void> {
  const again = changed
    ? "The plan changed while the previous question was open; this is the plan as it is now.\n"
    : "";
  const message = `${again}Confirm ${call.tool.name}: ${describeChange(change)}\n` +
    `Confirmation needed because: ${reasons.join("; ")}`;
  let answer: ElicitAnswer;
  try {
    answer = await call.ctx.elicit!({
      message,
      requestedSchema: {
        type: "object",
        properties: {
          confirm: {
            type: "boolean",
            title: "Run this change",
            description: "Tick to let the server send these requests to Proxmox",
          },
        },
        required: ["confirm"],
      },
    });
  } catch (err) {
    throw new PolicyRefusal(
      `Refused: the confirmation request to the user failed (${
        err instanceof Error ? err.message : String(err)
      }). Nothing was changed`,
      "confirmation",
    );
  }
  if (answer.action !== "accept" || answer.content?.confirm !== true) {
    const how = answer.action === "accept" ? "did not tick confirm" : `chose ${answer.action}`;
    throw new PolicyRefusal(
      `Refused: the user ${how} when asked to confirm ${change.summary}. Nothing was changed`,
      "confirmation",
    );
  }
}

function confirmationRequired(
  call: ToolCall,
  change: Change,
  reasons: string[],
  tokens: ConfirmationTokens,
  aHash: string,
  pHash: string,
): ToolOutput<MutationOutcome> {
  const { token, expiresAt } = tokens.issue(call.tool.name, aHash, pHash, call.ctx.session ?? "");
  const minutes = Math.max(1, Math.round(tokens.ttlMs / 60_000));
  const expires = new Date(expiresAt).toISOString();
  const structured: MutationOutcome = {
    status: "confirmation_required",
    summary: change.summary,
    plan: planView(change, reasons),
    confirmation_token: token,
    expires_at: expires,
    warnings: change.warnings.length ? change.warnings : undefined,
  };
  const text = `Confirmation required; nothing was changed.\n${describeChange(change)}\n` +
    `Why: ${reasons.join("; ")}\n` +
    `Show this plan to the user. Only if they agree, call ${call.tool.name} again with exactly ` +
    `the same arguments plus confirmation_token="${token}" (valid once, for ${minutes} min, ` +
    `until ${expires}).`;
  return { structured: { ...change.result, ...structured }, text };
}
