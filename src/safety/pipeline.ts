/**
 * The policy pipeline every tool call passes through, configured once. Each stage may refuse
 * the call, answer it itself, or pass it on; the tool's handler (or, for a mutating tool, the
 * executor of its plan) runs last.
 *
 * @module
 */
import type { ToolContext } from "../tools/context.ts";
import type { Tool, ToolMeta, ToolOutput } from "../tools/tool.ts";
import type { Change } from "./change.ts";

/** Safety checkpoints a mutating call must have passed before anything is sent. */
export type Checkpoint = "audit" | "plan" | "scope" | "dry-run" | "rate-limit" | "confirmation";

/** Every checkpoint, in pipeline order. */
export const CHECKPOINTS: readonly Checkpoint[] = [
  "audit",
  "plan",
  "scope",
  "dry-run",
  "rate-limit",
  "confirmation",
];

/**
 * What is known about a write that got no usable answer: `not-sent` (Proxmox was never reached,
 * nothing changed), `failed` (Proxmox answered with an error, or its task failed), `unknown` (it
 * reached Proxmox, or may have, and the answer was lost).
 */
export type SendOutcome = "not-sent" | "failed" | "unknown";

/** What the audit record of a call says; stages fill it in as the call goes. */
export interface CallRecord {
  /** How the call was let through, when it was. */
  decision?: "allowed" | "confirmed";
  /** Who confirmed: the human (elicitation), a repeated call with a token, or an approver. */
  confirmedBy?: "elicitation" | "token" | "human";
  /** The person who approved (`human`), and through which channel. */
  approvedBy?: string;
  approvalChannel?: string;
  /** UPIDs of the tasks the call started. */
  upids: string[];
  /** True once the first write request was sent. */
  sent?: boolean;
  /** How a call that was sent ended without an answer, when it did (see {@link SendOutcome}). */
  outcome?: SendOutcome;
}

/** What a caller hands to {@link Pipeline.run}. */
export interface CallInput {
  tool: Tool;
  args: Record<string, unknown>;
  ctx: ToolContext;
}

/** One tool call on its way through the pipeline. */
export interface ToolCall extends CallInput {
  /** The plan of a mutating call, set by the plan stage. */
  change?: Change;
  /**
   * Gates run in order, synchronously, right before the first write request is sent (after
   * every stage agreed); any may throw to stop the call. Used to spend confirmation tokens with
   * no other call in between.
   */
  beforeSend: (() => void)[];
  /** Run in order after every `beforeSend` gate passed, before the first request (audit). */
  onSend: (() => Promise<void>)[];
  /**
   * Last checks, run synchronously in the same step that sends the first request (nothing can
   * happen in between), after `beforeSend` and `onSend`; any may throw to stop the call. Used by
   * the kill switch and to take the rate-limit slot.
   */
  lastChecks: (() => void)[];
  /** Why this call needs a confirmation besides being destructive (e.g. protected tags). */
  confirmReasons: string[];
  /** Checkpoints passed; the executor refuses to send unless all of them were. */
  passed: Set<Checkpoint>;
  record: CallRecord;
  /**
   * Plans the call again and runs it through every stage from the plan on, with fresh per-plan
   * state (gates, reasons and checkpoints of those stages dropped). The confirmation stage uses
   * it after a human answered, so scope and protection are checked on the cluster as it is now.
   */
  replan: () => Promise<ToolOutput<unknown>>;
  /** What a human confirmed before {@link replan} ran (the confirmation stage's memory). */
  confirmed?: ConfirmedPlan;
}

/** A plan a human confirmed, by its fingerprint. */
export interface ConfirmedPlan {
  /** Fingerprint of the plan and the reasons it needed a confirmation, as the human saw them. */
  fingerprint: string;
  /** How many times the human was asked during this call. */
  asked: number;
  /** Who approved, for human approval. */
  by?: string;
  channel?: string;
}

/** A pipeline stage: refuse by throwing `PolicyRefusal`, or call `next()` to go on. */
export type Stage = (call: ToolCall, next: () => Promise<ToolOutput<unknown>>) => Promise<
  ToolOutput<unknown>
>;

/** A call refused by policy; the message says why and what would be allowed. */
export class PolicyRefusal extends Error {
  /** The stage that refused (mode, scope, confirmation, rate-limit, audit, ...). */
  readonly stage: string;
  /**
   * @param message Why the call was refused and what to do instead.
   * @param stage The stage that refused.
   */
  constructor(message: string, stage = "policy") {
    super(message);
    this.name = "PolicyRefusal";
    this.stage = stage;
  }
}

/** Runs every call through the same stages, in order, then the tool's handler. */
export class Pipeline {
  #stages: readonly Stage[];
  #visible: (tool: ToolMeta) => boolean;
  #replanFrom: number;

  /**
   * @param stages Run in order around the handler.
   * @param visible Which tools are listed at all (e.g. read-only mode hides writers).
   * @param replanFrom The stage a re-plan starts at (the plan stage, or one before it).
   */
  constructor(
    stages: readonly Stage[],
    visible: (tool: ToolMeta) => boolean = () => true,
    replanFrom?: Stage,
  ) {
    this.#stages = stages;
    this.#visible = visible;
    const at = replanFrom ? stages.indexOf(replanFrom) : 0;
    if (at < 0) throw new RangeError("replanFrom must be one of the stages");
    this.#replanFrom = at;
  }

  /** Whether `tool` is offered to clients. */
  visible(tool: ToolMeta): boolean {
    return this.#visible(tool);
  }

  /** Runs `input` through every stage and the handler (or the plan's executor). */
  run(input: CallInput): Promise<ToolOutput<unknown>> {
    const call: ToolCall = {
      ...input,
      beforeSend: [],
      onSend: [],
      lastChecks: [],
      confirmReasons: [],
      passed: new Set(),
      record: { upids: [] },
      replan: () => Promise.reject(new Error("replan() before the re-plan point")),
    };
    let marked = false;
    const step = (i: number): Promise<ToolOutput<unknown>> => {
      if (i === this.#replanFrom && !marked) {
        marked = true;
        mark(call, () => step(i));
      }
      if (i < this.#stages.length) return this.#stages[i](call, () => step(i + 1));
      if (call.tool.execute) return call.tool.execute(call);
      return call.tool.handler(call.args, call.ctx);
    };
    return step(0);
  }
}

/** Remembers the per-plan state at the re-plan point, and sets `call.replan` to go back to it. */
function mark(call: ToolCall, again: () => Promise<ToolOutput<unknown>>): void {
  const sizes = [call.beforeSend.length, call.onSend.length, call.lastChecks.length] as const;
  const reasons = call.confirmReasons.length;
  const passed = new Set(call.passed);
  call.replan = () => {
    call.change = undefined;
    call.beforeSend.length = sizes[0];
    call.onSend.length = sizes[1];
    call.lastChecks.length = sizes[2];
    call.confirmReasons.length = reasons;
    call.passed = new Set(passed);
    return again();
  };
}

/** True for tools that change the cluster. */
export function isMutating(tool: Tool): boolean {
  return !tool.annotations.readOnlyHint;
}
