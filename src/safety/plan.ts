/**
 * The plan stage (preflight checks run by each mutating tool's `plan`, which only reads) and
 * the dry-run stage (answers with the plan and changes nothing).
 *
 * @module
 */
import {
  definedParams,
  describeChange,
  type MutationOutcome,
  type PlannedRequest,
  planView,
} from "./change.ts";
import { confirmReasons } from "./change.ts";
import { isMutating, PolicyRefusal, type Stage } from "./pipeline.ts";

/** A plan refused because the official API schema rejects one of its requests. */
export class SchemaRefusal extends PolicyRefusal {
  /** The request the schema rejected. */
  readonly request: { method: string; path: string };
  /** Per-parameter errors, as pveproxy would report them (empty for an unknown path). */
  readonly errors: Record<string, string>;
  constructor(method: string, path: string, detail: string, errors: Record<string, string>) {
    super(
      `Refused: ${method} ${path} is not a valid Proxmox request: the official API schema rejects it (${detail}). Nothing was sent`,
      "plan",
    );
    this.name = "SchemaRefusal";
    this.request = { method, path };
    this.errors = errors;
  }
}

/** The schema validator, loaded by the first plan: the 525 KB API schema stays out of startup. */
let validator: Promise<typeof import("../proxmox/api_schema/validate.ts")> | undefined;

/**
 * Builds the plan of every mutating call. A mutating tool without a `plan` is refused (fail
 * closed), and so is a plan whose requests the official API schema rejects.
 */
export function planStage(): Stage {
  return async (call, next) => {
    if (!isMutating(call.tool)) return next();
    if (!call.tool.plan) {
      throw new PolicyRefusal(
        `Refused: ${call.tool.name} changes the cluster but has no plan, so it cannot be checked`,
        "plan",
      );
    }
    const plan = await call.tool.plan(call.args, call.ctx);
    await validatePlanned(plan.requests);
    call.change = { ...plan, targets: [] };
    call.passed.add("plan");
    return next();
  };
}

/** Throws unless the official API schema accepts every one of `requests`. */
export async function validatePlanned(requests: readonly PlannedRequest[]): Promise<void> {
  const { validateRequest } = await (validator ??= import(
    "../proxmox/api_schema/validate.ts"
  ));
  for (const r of requests) {
    const params = definedParams(r.params) as Record<
      string,
      string | number | boolean | string[]
    >;
    const check = validateRequest(r.method, r.path, params);
    if (!check.ok) {
      const detail = check.errors
        ? Object.entries(check.errors).map(([k, v]) => `${k}: ${v}`).join("; ")
        : check.message;
      throw new SchemaRefusal(r.method, r.path, detail, check.errors ?? {});
    }
  }
}

/** Answers `dry_run: true` calls with the plan; nothing is sent. */
export function dryRunStage(): Stage {
  return (call, next) => {
    const change = call.change;
    if (!change) return next();
    if (call.args.dry_run === true) {
      const reasons = confirmReasons(change, call.confirmReasons);
      const structured: MutationOutcome = {
        status: "dry_run",
        summary: change.summary,
        plan: planView(change, reasons),
        warnings: change.warnings.length ? change.warnings : undefined,
      };
      const confirm = reasons.length
        ? `\nRunning it needs a confirmation: ${reasons.join("; ")}`
        : "";
      return Promise.resolve({
        structured: { ...change.result, ...structured },
        text: `Dry run; nothing was changed.\n${describeChange(change)}${confirm}`,
      });
    }
    call.passed.add("dry-run");
    return next();
  };
}
