/**
 * A planned change: what a mutating tool would do, computed before anything is sent. The
 * safety stages decide on it (scope, confirmation, rate limit, audit) and the executor sends
 * exactly its requests.
 *
 * @module
 */
import type { ApiParams } from "../tools/context.ts";
import { redact } from "./redact.ts";

/** Guest kinds. */
export type GuestKind = "qemu" | "lxc";

/** A write request to the Proxmox API, exactly as it will be sent. */
export interface PlannedRequest {
  method: "POST" | "PUT" | "DELETE";
  /** API path after `/api2/json`, segments encoded. */
  path: string;
  params: ApiParams;
}

/** Something a change touches; scope and protection rules are checked against each. */
export interface Target {
  node: string;
  vmid?: number;
  type?: GuestKind;
  name?: string;
  tags: string[];
  pool?: string;
  /** Proxmox's own `protection` flag of the guest. */
  protection: boolean;
  /** False for a guest this change creates. */
  exists: boolean;
  status?: string;
  /** A storage or volume the change writes, for the record. */
  storage?: string;
  volid?: string;
}

/** What a change removes, for the `protection` rule. */
export type Removal = "guest" | "disks";

/** The plan of one mutating call. */
export interface Change {
  /** One line: what, where. */
  summary: string;
  targets: Target[];
  requests: PlannedRequest[];
  /** Needs a confirmation (data can be lost, or service interrupted). */
  destructive: boolean;
  /** What is lost or interrupted, in words; set for destructive changes. */
  loses?: string;
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
}

/** The plan as clients see it (structured output). */
export interface PlanView {
  summary: string;
  destructive: boolean;
  /** Why executing it needs a confirmation; absent when it does not. */
  confirm?: string[];
  loses?: string;
  warnings?: string[];
  targets: { vmid?: number; node: string; type?: string; name?: string; tags?: string[] }[];
  requests: PlannedRequest[];
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
      vmid: t.vmid,
      node: t.node,
      type: t.type,
      name: t.name,
      tags: t.tags.length ? t.tags : undefined,
    })),
    requests: change.requests.map((r) => ({ ...r, params: redact(definedParams(r.params)) })),
  };
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
  for (const r of change.requests) lines.push(`${r.method} ${r.path}${renderParams(r.params)}`);
  return lines.join("\n");
}

function renderParams(params: ApiParams): string {
  const parts = Object.entries(redact(definedParams(params))).map(([k, v]) =>
    `${k}=${Array.isArray(v) ? v.join(",") : String(v)}`
  );
  return parts.length ? ` ${parts.join(" ")}` : "";
}

/** A short label for a target: `qemu 101 (web-01) on pve1`. */
export function targetLabel(t: Target): string {
  if (t.vmid === undefined) {
    return t.storage ? `storage ${t.storage} on ${t.node}` : `node ${t.node}`;
  }
  const kind = t.type ? `${t.type} ` : "guest ";
  return `${kind}${t.vmid}${t.name ? ` (${t.name})` : ""} on ${t.node}`;
}

/** What a mutating tool returns (plus tool-specific fields). */
export interface MutationOutcome {
  /**
   * done: finished; started: task running, not waited for (wait=false); running: still running
   * when the wait ended; dry_run: plan only; confirmation_required: nothing done, repeat with
   * the token.
   */
  status: "done" | "started" | "running" | "dry_run" | "confirmation_required";
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
  out.push(...extra);
  return out;
}
