/**
 * Safety settings from the configuration, with their defaults in one place.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
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
  };
}
