/**
 * Environment-variable overrides for configuration fields.
 *
 * @module
 */
import { ALLOWED, type ConfigField } from "./schema.ts";
import type { ConfigIssue } from "./errors.ts";
import { describeValue } from "./describe.ts";

/**
 * Every environment variable the configuration reads. The single source for the
 * `--allow-env` permission list.
 */
export const CONFIG_ENV_VARS = [
  "PROXMOX_HOST",
  "PROXMOX_PORT",
  "PROXMOX_FALLBACK_HOSTS",
  "PROXMOX_USERNAME",
  "PROXMOX_PASSWORD",
  "PROXMOX_REALM",
  "PROXMOX_TOKEN_ID",
  "PROXMOX_TOKEN_SECRET",
  "PROXMOX_VERIFY_SSL",
  "PROXMOX_TIMEOUT",
  "PROXMOX_NODE",
  "PROXMOX_CA_FILE",
  "PROXMOX_FINGERPRINT",
  "PROXMOX_READ_ONLY",
  "PROXMOX_AUDIT_LOG",
  "PROXMOX_AUDIT_KEY_FILE",
  "PROXMOX_ALLOWED_NODES",
  "PROXMOX_DENIED_NODES",
  "PROXMOX_ALLOWED_VMIDS",
  "PROXMOX_DENIED_VMIDS",
  "PROXMOX_ALLOWED_POOLS",
  "PROXMOX_DENIED_POOLS",
  "PROXMOX_ALLOWED_TAGS",
  "PROXMOX_DENIED_TAGS",
  "PROXMOX_PROTECTED_TAGS",
  "PROXMOX_MAX_MUTATIONS_PER_MINUTE",
  "PROXMOX_MAX_CREATIONS",
  "PROXMOX_CREATION_WINDOW",
  "PROXMOX_CONFIRM_TIMEOUT",
  "PROXMOX_ELICITATION",
  "PROXMOX_TASK_TIMEOUT",
  "PROXMOX_TOOLSETS",
  "PROXMOX_DISABLE_DESTRUCTIVE",
  "PROXMOX_PRIVILEGE_FILTER",
  "PROXMOX_APPROVAL",
  "PROXMOX_APPROVER_TOKEN",
  "PROXMOX_STATE_DIR",
  "PROXMOX_UNDO_SNAPSHOTS",
  "PROXMOX_UNDO_KEEP",
  "PROXMOX_EXEC_ALLOWLIST",
  "PROXMOX_EXEC_TIMEOUT",
  "PROXMOX_EXEC_MAX_OUTPUT",
  "PROXMOX_ADMIN_SOURCES",
  "PROXMOX_ALLOW_CLUSTER_CHANGES",
] as const;

/** One of {@link CONFIG_ENV_VARS}. */
export type ConfigEnvVar = typeof CONFIG_ENV_VARS[number];

type Kind = "string" | "integer" | "number" | "boolean" | "list" | "commas";

/** Which field each variable overrides, and how its string value is converted. */
export const ENV_FIELDS: Readonly<Record<ConfigEnvVar, { field: ConfigField; kind: Kind }>> = {
  PROXMOX_HOST: { field: "host", kind: "string" },
  PROXMOX_PORT: { field: "port", kind: "integer" },
  PROXMOX_FALLBACK_HOSTS: { field: "fallback_hosts", kind: "list" },
  PROXMOX_USERNAME: { field: "username", kind: "string" },
  PROXMOX_PASSWORD: { field: "password", kind: "string" },
  PROXMOX_REALM: { field: "realm", kind: "string" },
  PROXMOX_TOKEN_ID: { field: "token_id", kind: "string" },
  PROXMOX_TOKEN_SECRET: { field: "token_secret", kind: "string" },
  PROXMOX_VERIFY_SSL: { field: "verify_ssl", kind: "boolean" },
  PROXMOX_TIMEOUT: { field: "timeout", kind: "number" },
  PROXMOX_NODE: { field: "node", kind: "string" },
  PROXMOX_CA_FILE: { field: "ca_file", kind: "string" },
  PROXMOX_FINGERPRINT: { field: "fingerprint", kind: "string" },
  PROXMOX_READ_ONLY: { field: "read_only", kind: "boolean" },
  PROXMOX_AUDIT_LOG: { field: "audit_log", kind: "string" },
  PROXMOX_AUDIT_KEY_FILE: { field: "audit_key_file", kind: "string" },
  PROXMOX_ALLOWED_NODES: { field: "allowed_nodes", kind: "list" },
  PROXMOX_DENIED_NODES: { field: "denied_nodes", kind: "list" },
  PROXMOX_ALLOWED_VMIDS: { field: "allowed_vmids", kind: "list" },
  PROXMOX_DENIED_VMIDS: { field: "denied_vmids", kind: "list" },
  PROXMOX_ALLOWED_POOLS: { field: "allowed_pools", kind: "list" },
  PROXMOX_DENIED_POOLS: { field: "denied_pools", kind: "list" },
  PROXMOX_ALLOWED_TAGS: { field: "allowed_tags", kind: "list" },
  PROXMOX_DENIED_TAGS: { field: "denied_tags", kind: "list" },
  PROXMOX_PROTECTED_TAGS: { field: "protected_tags", kind: "list" },
  PROXMOX_MAX_MUTATIONS_PER_MINUTE: { field: "max_mutations_per_minute", kind: "integer" },
  PROXMOX_MAX_CREATIONS: { field: "max_creations", kind: "integer" },
  PROXMOX_CREATION_WINDOW: { field: "creation_window", kind: "number" },
  PROXMOX_CONFIRM_TIMEOUT: { field: "confirm_timeout", kind: "number" },
  PROXMOX_ELICITATION: { field: "elicitation", kind: "boolean" },
  PROXMOX_TASK_TIMEOUT: { field: "task_timeout", kind: "number" },
  PROXMOX_TOOLSETS: { field: "toolsets", kind: "list" },
  PROXMOX_DISABLE_DESTRUCTIVE: { field: "disable_destructive", kind: "boolean" },
  PROXMOX_PRIVILEGE_FILTER: { field: "privilege_filter", kind: "boolean" },
  PROXMOX_APPROVAL: { field: "approval", kind: "string" },
  PROXMOX_APPROVER_TOKEN: { field: "approver_token", kind: "string" },
  PROXMOX_STATE_DIR: { field: "state_dir", kind: "string" },
  PROXMOX_UNDO_SNAPSHOTS: { field: "undo_snapshots", kind: "string" },
  PROXMOX_UNDO_KEEP: { field: "undo_keep", kind: "integer" },
  PROXMOX_EXEC_ALLOWLIST: { field: "exec_allowlist", kind: "commas" },
  PROXMOX_EXEC_TIMEOUT: { field: "exec_timeout", kind: "number" },
  PROXMOX_EXEC_MAX_OUTPUT: { field: "exec_max_output", kind: "integer" },
  PROXMOX_ADMIN_SOURCES: { field: "admin_sources", kind: "list" },
  PROXMOX_ALLOW_CLUSTER_CHANGES: { field: "allow_cluster_changes", kind: "boolean" },
};

/** Reads one environment variable; returns undefined when unset. */
export type EnvReader = (name: string) => string | undefined;

/** Reads from `Deno.env`, treating a variable this process may not read as unset. */
export const denoEnv: EnvReader = (name) => {
  try {
    return Deno.env.get(name);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw e;
  }
};

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off"]);

/** The result of reading the environment: converted values, their variables, and errors. */
export interface EnvValues {
  /** Converted values by field. */
  values: Partial<Record<ConfigField, string | number | boolean | string[]>>;
  /** The variable that supplied each field. */
  vars: Partial<Record<ConfigField, ConfigEnvVar>>;
  /** Conversion errors, named by variable. */
  issues: ConfigIssue[];
}

/** Reads and converts every set, non-empty configuration variable. */
export function readEnv(env: EnvReader): EnvValues {
  const out: EnvValues = { values: {}, vars: {}, issues: [] };
  for (const name of CONFIG_ENV_VARS) {
    const raw = env(name);
    if (raw === undefined || raw === "") continue;
    const { field, kind } = ENV_FIELDS[name];
    out.vars[field] = name;
    const converted = convert(raw, kind);
    if (converted === undefined) {
      const also = kind === "boolean" ? " (also 1/0, yes/no, on/off)" : "";
      out.issues.push({
        field: name,
        message: `expected ${ALLOWED[field]}${also}, got ${describeValue(field, raw)}`,
      });
    } else {
      out.values[field] = converted;
    }
  }
  return out;
}

function convert(raw: string, kind: Kind): string | number | boolean | string[] | undefined {
  const v = raw.trim();
  switch (kind) {
    case "list":
      return v.split(/[,;\s]+/).filter(Boolean);
    case "commas":
      return v.split(",").map((x) => x.trim()).filter(Boolean);
    case "string":
      return raw;
    case "integer":
      return /^[0-9]+$/.test(v) ? Number(v) : undefined;
    case "number": {
      if (!/^[0-9]*\.?[0-9]+$/.test(v)) return undefined;
      return Number(v);
    }
    case "boolean": {
      const lower = v.toLowerCase();
      if (TRUE.has(lower)) return true;
      if (FALSE.has(lower)) return false;
      return undefined;
    }
  }
}
