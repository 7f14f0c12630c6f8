/**
 * The safety pipeline in one place: every stage, in order, configured once.
 *
 * audit → mode → freeze → plan (preflight) → danger table → destructive plans
 * (disable_destructive) → scope → undo → dry run → rate limit → confirmation → executor
 *
 * - audit wraps everything after it, so refusals by any later stage are recorded too;
 * - mode refuses (and hides) changing tools on a read-only server, and destructive tools with
 *   `disable_destructive`;
 * - freeze refuses every change while the kill switch is on (and again right before sending);
 * - plan runs the tool's preflight checks (reads only) and validates the requests it would send
 *   against the official API schema;
 * - the danger table (`danger.ts`) judges each request of a tool judged per call (`api_change`):
 *   cluster-wide ones are refused unless `allow_cluster_changes`, destructive ones marked, the
 *   rest of what it lists needs a confirmation;
 * - destructive plans (of tools judged per call, like `api_change`) are refused with
 *   `disable_destructive`;
 * - scope derives every target from the exact requests of the plan (`targets.ts`: nodes,
 *   guests, new VMIDs, pools, storages, owners of volumes and backups), looks each up in the
 *   cluster, refuses out-of-scope targets and removals from protected guests, and asks for a
 *   confirmation for guests with protected tags;
 * - undo plans the undo point (snapshot) a risky change to a guest takes first;
 * - dry run answers with the plan;
 * - rate limit refuses before anyone is asked to confirm, and takes its slot last, in the step
 *   that sends (after the token was spent and the audit line written, so a refused replay or a
 *   failed audit write uses no slot);
 * - confirmation asks the human (elicitation), checks the one-time token, or waits for a
 *   person's approval on the approval board (`approval: human`); after a human answered, the
 *   call is planned again and passes every stage from the plan on again;
 * - the executor refuses unless every checkpoint was passed, then sends the planned requests.
 *
 * @module
 */
import type { ToolMeta } from "../tools/tool.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import { type ApprovalBoard, LocalApprovals } from "./approvals.ts";
import { AuditLog } from "./audit.ts";
import { auditStage } from "./audit_stage.ts";
import { confirmationStage } from "./confirm.ts";
import { FileFreeze, freezeStage, type FreezeSwitch, MemoryFreeze } from "./freeze.ts";
import { dangerStage } from "./danger.ts";
import { allowedInModes, destructivePlanStage, type Modes, modeStage } from "./mode.ts";
import { Pipeline } from "./pipeline.ts";
import { dryRunStage, planStage } from "./plan.ts";
import { RateLimiter, rateLimitStage } from "./rate_limit.ts";
import { Scope, scopeStage } from "./scope.ts";
import { type SafetySettings, safetySettings } from "./settings.ts";
import { findStateDir, type StateDir } from "./state_dir.ts";
import { ConfirmationTokens } from "./tokens.ts";
import { auditLogProblem } from "./audit_problem.ts";
import { undoStage } from "./undo.ts";

/**
 * The process-wide safety state: one scope, one rate limiter, one token issuer and one audit
 * log shared by every MCP session (so a new session neither resets a limit nor forks the chain).
 */
export interface Safety {
  settings: SafetySettings;
  scope: Scope;
  limiter: RateLimiter;
  tokens: ConfirmationTokens;
  audit: AuditLog;
  /** The kill switch. */
  freeze: FreezeSwitch;
  /** Where plans wait for a person's approval. */
  approvals: ApprovalBoard;
  /** The state folder, when there is one. */
  stateDir?: StateDir;
  /** Releases timers and files; the audit log is closed separately. */
  close(): void;
}

/** Creates the safety state; the audit log is kept in memory unless `auditPath` is given. */
export async function openSafety(
  settings: SafetySettings = safetySettings(),
  opts: { clock: Clock; auditPath?: string; auditKeyFile?: string },
): Promise<Safety> {
  const stateDir = await findStateDir(settings.stateDir);
  const approvals = new LocalApprovals({ clock: opts.clock, dir: stateDir });
  return {
    ...memorySafety(settings, opts.clock),
    audit: await openAudit(opts.auditPath, opts.clock, opts.auditKeyFile),
    freeze: stateDir ? new FileFreeze(stateDir, opts.clock) : new MemoryFreeze(opts.clock),
    approvals,
    stateDir,
    close: () => approvals.close(),
  };
}

/**
 * The audit log at `path`; when it cannot be opened (e.g. its folder does not exist), a log that
 * refuses every change with one line naming the path and the fix, so reads keep working.
 */
async function openAudit(
  path: string | undefined,
  clock: Clock,
  keyFile: string | undefined,
): Promise<AuditLog> {
  try {
    return await AuditLog.open(path, clock, { keyFile });
  } catch (e) {
    if (!path) throw e;
    return AuditLog.refusing(clock, auditLogProblem(path, e));
  }
}

/** Safety state with an in-memory audit log. */
export function memorySafety(settings: SafetySettings, clock: Clock): Safety {
  return {
    settings,
    scope: new Scope(settings.scope),
    limiter: new RateLimiter(settings.limits, clock),
    tokens: new ConfirmationTokens({ clock, ttlMs: settings.confirmTimeoutMs }),
    audit: AuditLog.memory(clock),
    freeze: new MemoryFreeze(clock),
    approvals: new LocalApprovals({ clock }),
    close() {},
  };
}

/** The pipeline every tool call goes through. */
export function safetyPipeline(opts: Safety & Modes & { clock?: Clock }): Pipeline {
  const disableDestructive = opts.disableDestructive ?? false;
  const clock = opts.clock ?? systemClock;
  const plan = planStage();
  return new Pipeline(
    [
      auditStage(opts.audit),
      modeStage(opts.readOnly, disableDestructive),
      freezeStage(opts.freeze),
      plan,
      dangerStage({ allowClusterChanges: opts.settings.allowClusterChanges }),
      destructivePlanStage(disableDestructive),
      scopeStage(opts.scope),
      undoStage({
        settings: opts.settings.undo,
        protectedTags: opts.settings.scope.protectedTags ?? [],
        clock,
      }),
      dryRunStage(),
      rateLimitStage(opts.limiter),
      confirmationStage({
        tokens: opts.tokens,
        elicitation: opts.settings.elicitation,
        approval: {
          policy: opts.settings.approval,
          board: opts.approvals,
          now: () => clock.now(),
        },
      }),
    ],
    (tool: ToolMeta) => allowedInModes(tool, { readOnly: opts.readOnly, disableDestructive }),
    plan,
  );
}
