/**
 * A planned change: what a mutating tool would do, computed before anything is sent. The
 * safety stages decide on it (scope, confirmation, rate limit, audit) and the executor sends
 * exactly its requests.
 *
 * @module
 */
import { z } from "zod";
import type { ApiParams } from "../tools/context.ts";
import { redact } from "./redact.ts";
import type { UndoIntent, UndoPlan } from "./undo.ts";

/** Guest kinds. */
export type GuestKind = "qemu" | "lxc";

/** A write request to the Proxmox API, exactly as it will be sent. */
export interface PlannedRequest {
  method: "POST" | "PUT" | "DELETE";
  /** API path after `/api2/json`, segments encoded. */
  path: string;
  params: ApiParams;
}

/** What kind of thing a target is. */
export type TargetKind = "node" | "guest" | "pool" | "storage";

/**
 * How a request involves a target: `subject` (acted on: the path's guest or node), `new` (a
 * guest the request creates, or overwrites), `destination` (where something goes: a target
 * node, storage or pool), `source` (whose data is read: the guest a backup or disk belongs to).
 */
export type TargetRole = "subject" | "new" | "destination" | "source";

/**
 * Something a change touches, derived from its requests by the scope stage
 * (`safety/targets.ts`) and looked up in the cluster; scope and protection rules are checked
 * against each.
 */
export interface Target {
  kind: TargetKind;
  role: TargetRole;
  /** Where the request names it: `path vmid`, `parameter target`, `parameter archive`, … */
  via: string;
  /** The node the target is on (absent for pools, and guests that no longer exist). */
  node?: string;
  vmid?: number;
  type?: GuestKind;
  name?: string;
  tags: string[];
  pool?: string;
  /** Proxmox's own `protection` flag of the guest. */
  protection: boolean;
  /** False for a guest that does not exist (yet). */
  exists: boolean;
  status?: string;
  storage?: string;
  volid?: string;
}

/** What a change removes, for the `protection` rule. */
export type Removal = "guest" | "disks";

/** The plan of one mutating call, as its tool describes it: the exact requests and their effects. */
export interface Plan {
  /** One line: what, where. */
  summary: string;
  requests: PlannedRequest[];
  /** Needs a confirmation (data can be lost, or service interrupted). */
  destructive: boolean;
  /** What is lost or interrupted, in words; set for destructive changes. */
  loses?: string;
  /**
   * Why this change needs a confirmation although it loses nothing (access changes, guest
   * commands, risky network or firewall edits); `disable_destructive` does not refuse it.
   */
  confirm?: string;
  /** Guests removed or disks destroyed: refused for guests with the `protection` flag. */
  removes?: Removal;
  /** Things to know (privileged container, overcommit, …). */
  warnings: string[];
  /** How many guests or volumes the change creates (creation rate limit). */
  creates: number;
  /** Tool-specific facts known at plan time (e.g. the chosen VMID), merged into the result. */
  result?: Record<string, unknown>;
  /** Stop the Proxmox task if the client cancels while waiting. */
  stopOnCancel?: boolean;
  /** A risky change to a guest that an undo point should precede. */
  undoPoint?: UndoIntent;
}

/** A plan with its targets, derived from the requests by the scope stage (empty before). */
export interface Change extends Plan {
  targets: Target[];
  /** The undo point this change takes (set by the undo stage). */
  undo?: UndoPlan;
  /** Why this change takes no undo point although it would (set by the undo stage). */
  undoSkipped?: string;
}

/** The plan as clients see it (structured output). */
export interface PlanView {
  summary: string;
  destructive: boolean;
  /** Why executing it needs a confirmation; absent when it does not. */
  confirm?: string[];
  loses?: string;
  warnings?: string[];
  targets: {
    kind: TargetKind;
    role: TargetRole;
    vmid?: number;
    node?: string;
    type?: string;
    name?: string;
    tags?: string[];
    pool?: string;
    storage?: string;
  }[];
  requests: PlannedRequest[];
  /** The undo point taken first, or why there is none. */
  undo?: string;
}

/** The client-facing view of a change; `confirm` lists why it needs a confirmation. */
export function planView(change: Change, confirm: string[] = []): PlanView {
  return {
    summary: change.summary,
    destructive: change.destructive,
    confirm: confirm.length ? confirm : undefined,
    loses: change.loses,
    warnings: change.warnings.length ? change.warnings : undefined,
    targets: change.targets.map((t) => ({
      kind: t.kind,
      role: t.role,
      vmid: t.vmid,
      node: t.node,
      type: t.type,
      name: t.name,
      tags: t.tags.length ? t.tags : undefined,
      pool: t.pool,
      storage: t.storage,
    })),
    requests: change.requests.map((r) => ({ ...r, params: redact(definedParams(r.params)) })),
    undo: undoLine(change),
  };
}

/** The plan's undo line: the undo point taken first, or why there is none. */
export function undoLine(change: Change): string | undefined {
  if (change.undo) {
    const pruned = change.undo.pruneNames.length
      ? `; afterwards older undo points are removed (${change.undo.pruneNames.join(", ")})`
      : "";
    return `undo point: snapshot ${change.undo.name} is taken first (guest_undo rolls back to it)${pruned}`;
  }
  return change.undoSkipped;
}

/** Parameters without undefined values. */
export function definedParams(params: ApiParams): ApiParams {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
}

/** Renders a change as compact text for the model and for humans confirming it (secrets hidden). */
export function describeChange(change: Change): string {
  const lines = [change.summary];
  if (change.loses) lines.push(`Lost or interrupted: ${change.loses}`);
  for (const w of change.warnings) lines.push(`Warning: ${w}`);
  const undo = undoLine(change);
  if (undo) lines.push(undo.charAt(0).toUpperCase() + undo.slice(1));
  for (const r of change.requests) lines.push(`${r.method} ${r.path}${renderParams(r.params)}`);
  return lines.join("\n");
}

function renderParams(params: ApiParams): string {
  const parts = Object.entries(redact(definedParams(params))).map(([k, v]) =>
    `${k}=${Array.isArray(v) ? v.join(",") : String(v)}`
  );
  return parts.length ? ` ${parts.join(" ")}` : "";
}

/** A short label for a target: `qemu 101 (web-01) on pve1`, `storage local on pve2`, `pool lab`. */
export function targetLabel(t: Target): string {
  const on = t.node ? ` on ${t.node}` : "";
  switch (t.kind) {
    case "node":
      return `node ${t.node}`;
    case "pool":
      return `pool ${t.pool}`;
    case "storage":
      return `storage ${t.storage}${on}`;
    case "guest": {
      const kind = t.type ? `${t.type} ` : "guest ";
      const what = `${kind}${t.vmid}${t.name ? ` (${t.name})` : ""}${on}`;
      if (t.role === "new" && !t.exists) return `new ${what}`;
      if (t.role === "source") return `${what} (${t.via})`;
      return what;
    }
  }
}

/**
 * How a mutating call ended. done: finished; started: task running, not waited for
 * (wait=false); running: still running when the wait ended; dry_run: plan only;
 * confirmation_required: nothing done, repeat with the token.
 */
export const MUTATION_STATUS = z.enum([
  "done",
  "started",
  "running",
  "dry_run",
  "confirmation_required",
]);

/** What a mutating tool returns (plus tool-specific fields). */
export interface MutationOutcome {
  /** See {@link MUTATION_STATUS}. */
  status: z.infer<typeof MUTATION_STATUS>;
  summary: string;
  plan?: PlanView;
  confirmation_token?: string;
  /** ISO time the token expires. */
  expires_at?: string;
  upid?: string;
  exitstatus?: string;
  log_tail?: string[];
  warnings?: string[];
}

/** Why a change needs a confirmation: its own destructiveness plus `extra` reasons. */
export function confirmReasons(change: Change, extra: readonly string[]): string[] {
  const out: string[] = [];
  if (change.destructive) out.push(`destructive: ${change.loses ?? "data or service can be lost"}`);
  if (change.confirm) out.push(change.confirm);
  out.push(...extra);
  return out;
}
