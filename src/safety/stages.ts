/**
 * The safety pipeline in one place: every stage, in order, configured once.
 *
 * audit → mode → plan (preflight) → scope → dry run → rate limit → confirmation → executor
 *
 * - audit wraps everything after it, so refusals by any later stage are recorded too;
 * - mode refuses (and hides) changing tools on a read-only server;
 * - plan runs the tool's preflight checks (reads only) and validates the requests it would send
 *   against the official API schema;
 * - scope refuses out-of-scope targets and removals from protected guests, and asks for a
 *   confirmation for guests with protected tags;
 * - dry run answers with the plan;
 * - rate limit refuses before anyone is asked to confirm, and takes its slot just before sending;
 * - confirmation asks the human (elicitation) or checks the one-time token;
 * - the executor refuses unless every checkpoint was passed, then sends the planned requests.
 *
 * @module
 */
import type { Tool } from "../tools/tool.ts";
import type { AuditLog } from "./audit.ts";
import { auditStage } from "./audit_stage.ts";
import { confirmationStage } from "./confirm.ts";
import { allowedInReadOnly, modeStage } from "./mode.ts";
import { Pipeline } from "./pipeline.ts";
import { dryRunStage, planStage } from "./plan.ts";
import { type RateLimiter, rateLimitStage } from "./rate_limit.ts";
import { type Scope, scopeStage } from "./scope.ts";
import type { ConfirmationTokens } from "./tokens.ts";

/** Everything the safety pipeline is configured with. */
export interface SafetyOptions {
  readOnly: boolean;
  scope: Scope;
  limiter: RateLimiter;
  tokens: ConfirmationTokens;
  audit: AuditLog;
  /** Ask the human through MCP elicitation when the client supports it (default true). */
  elicitation?: boolean;
}

/** The pipeline every tool call goes through. */
export function safetyPipeline(opts: SafetyOptions): Pipeline {
  return new Pipeline(
    [
      auditStage(opts.audit),
      modeStage(opts.readOnly),
      planStage(),
      scopeStage(opts.scope),
      dryRunStage(),
      rateLimitStage(opts.limiter),
      confirmationStage({ tokens: opts.tokens, elicitation: opts.elicitation }),
    ],
    (tool: Tool) => !opts.readOnly || allowedInReadOnly(tool),
  );
}
