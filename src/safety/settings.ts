/**
 * Safety settings from the configuration, with their defaults in one place.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { type ApprovalMode, type ApprovalPolicy, DEFAULT_APPROVAL } from "./approvals.ts";
import { DEFAULT_EXEC, execRules, type ExecSettings } from "./exec_policy.ts";
import type { RateLimits } from "./rate_limit.ts";
import { parseVmidRange, type ScopeRules } from "./scope.ts";

/** Everything the safety pipeline and the task waiter need from the configuration. */
export interface SafetySettings {
  scope: ScopeRules;
  limits: RateLimits;
  /** How long a confirmation token (or a question to the user) stays open. */
  confirmTimeoutMs: number;
  /** Ask the user through MCP elicitation when the client supports it. */
  elicitation: boolean;
  /** Longest wait for a Proxmox task. */
  taskTimeoutMs: number;
  /** How each risk level is confirmed. */
  approval: ApprovalPolicy;
  /** The state folder (kill switch, terminal approvals); default: `/var/lib/proxmox-mcp` if it exists. */
  stateDir?: string;
  /** Undo points: for every guest, none, or guests with protected tags; and how many to keep. */
  undo: { snapshots: boolean | "protected"; keep: number };
  /** What `guest_exec` may run. */
  exec: ExecSettings;
  /**
   * Addresses this server reaches Proxmox from (firewall lockout check); empty: the local
   * address of a connection to the cluster is used.
   */
  adminSources: readonly string[];
  /** Let `api_change` send cluster-wide requests the scope cannot bound. */
  allowClusterChanges: boolean;
}

/** Tags that need a confirmation for every change unless configured otherwise. */
export const DEFAULT_PROTECTED_TAGS = ["prod", "production"];

/** The defaults: no scope limits, `prod`/`production` protected, 30 changes/min, 10 creations/h. */
export const DEFAULT_SAFETY: SafetySettings = {
  scope: { protectedTags: DEFAULT_PROTECTED_TAGS },
  limits: { mutationsPerMinute: 30, creations: 10, creationWindowMs: 3_600_000 },
  confirmTimeoutMs: 300_000,
  elicitation: true,
  taskTimeoutMs: 300_000,
  approval: DEFAULT_APPROVAL,
  undo: { snapshots: "protected", keep: 3 },
  exec: DEFAULT_EXEC,
  adminSources: [],
  allowClusterChanges: false,
};

/** The safety fields of the configuration (all optional). */
export type SafetyConfig = Partial<
  Pick<
    Config,
    | "allowed_nodes"
    | "denied_nodes"
    | "allowed_vmids"
    | "denied_vmids"
    | "allowed_pools"
    | "denied_pools"
    | "allowed_tags"
    | "denied_tags"
    | "protected_tags"
    | "max_mutations_per_minute"
    | "max_creations"
    | "creation_window"
    | "confirm_timeout"
    | "elicitation"
    | "task_timeout"
    | "approval"
    | "state_dir"
    | "undo_snapshots"
    | "undo_keep"
    | "exec_allowlist"
    | "exec_timeout"
    | "exec_max_output"
    | "admin_sources"
    | "allow_cluster_changes"
  >
>;

/** Builds the settings from (validated) configuration fields, filling in defaults. */
export function safetySettings(c: SafetyConfig = {}): SafetySettings {
  const ranges = (xs: readonly (string | number)[] | undefined) => xs?.map(parseVmidRange);
  const d = DEFAULT_SAFETY;
  return {
    scope: {
      allowedNodes: c.allowed_nodes,
      deniedNodes: c.denied_nodes,
      allowedVmids: ranges(c.allowed_vmids),
      deniedVmids: ranges(c.denied_vmids),
      allowedPools: c.allowed_pools,
      deniedPools: c.denied_pools,
      allowedTags: c.allowed_tags,
      deniedTags: c.denied_tags,
      protectedTags: c.protected_tags ?? DEFAULT_PROTECTED_TAGS,
    },
    limits: {
      mutationsPerMinute: c.max_mutations_per_minute ?? d.limits.mutationsPerMinute,
      creations: c.max_creations ?? d.limits.creations,
      creationWindowMs: c.creation_window !== undefined
        ? c.creation_window * 1000
        : d.limits.creationWindowMs,
    },
    confirmTimeoutMs: c.confirm_timeout !== undefined
      ? c.confirm_timeout * 1000
      : d.confirmTimeoutMs,
    elicitation: c.elicitation ?? d.elicitation,
    taskTimeoutMs: c.task_timeout !== undefined ? c.task_timeout * 1000 : d.taskTimeoutMs,
    approval: parseApproval(c.approval),
    stateDir: c.state_dir,
    undo: {
      snapshots: c.undo_snapshots ?? d.undo.snapshots,
      keep: c.undo_keep ?? d.undo.keep,
    },
    exec: {
      allowlist: execRules(c.exec_allowlist),
      timeoutMs: c.exec_timeout !== undefined ? c.exec_timeout * 1000 : d.exec.timeoutMs,
      maxOutputBytes: c.exec_max_output ?? d.exec.maxOutputBytes,
    },
    adminSources: c.admin_sources ?? d.adminSources,
    allowClusterChanges: c.allow_cluster_changes ?? d.allowClusterChanges,
  };
}

/** Reads the (validated) `approval` setting: one mode, or `level=mode` pairs. */
export function parseApproval(value: string | undefined): ApprovalPolicy {
  const policy = { ...DEFAULT_APPROVAL };
  if (value === undefined) return policy;
  const v = value.trim();
  if (!v.includes("=")) return { destructive: v as ApprovalMode, protected: v as ApprovalMode };
  for (const part of v.split(",")) {
    const [level, mode] = part.split("=").map((x) => x.trim());
    policy[level as keyof ApprovalPolicy] = mode as ApprovalMode;
  }
  return policy;
}

/** The approval policy in words, for the startup line and the server's instructions. */
export function describeApproval(policy: ApprovalPolicy, channels: readonly string[]): string {
  const say = (m: ApprovalMode) =>
    m === "auto"
      ? channels.length
        ? "the user through elicitation when the client can, otherwise a person at " +
          channels.join(" or ")
        : "the user through elicitation when the client can, otherwise a one-time confirmation_token"
      : m === "elicitation"
      ? "the user through elicitation when the client can, otherwise a one-time confirmation_token"
      : m === "token"
      ? "a one-time confirmation_token"
      : `a person at ${channels.length ? channels.join(" or ") : "(no approval channel yet)"}`;
  return `destructive changes are confirmed by ${say(policy.destructive)}; ` +
    `changes to protected guests by ${say(policy.protected)}`;
}
