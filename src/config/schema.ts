/**
 * The zod schema of `config.json`, field by field, with messages that name what is allowed.
 *
 * @module
 */
import { z } from "zod";
import { describeValue } from "./describe.ts";
import { allowedToolsets, toolsetProblem } from "../tools/toolsets.ts";

/** What each field accepts, in words; reused by the schema and the environment coercion. */
export const ALLOWED = {
  host: 'a hostname or IP address without scheme or port (e.g. "pve1.example.lan")',
  port: "an integer 1–65535",
  fallback_hosts:
    'a list of other nodes\' hostnames or IP addresses, without scheme or port (e.g. ["pve2.example.lan", "10.0.0.3"])',
  username: 'a user name such as "root" or "root@pam"',
  password: "a non-empty string",
  realm: 'a realm name such as "pam" or "pve"',
  verify_ssl: "true or false",
  timeout: "a number of seconds greater than 0 and at most 600",
  node: 'a node name such as "pve1" (letters, digits and hyphens)',
  token_id: 'an API token id USER@REALM!TOKENID (e.g. "mcp@pve!mcp")',
  token_secret: "the API token secret, a UUID such as 01234567-89ab-cdef-0123-456789abcdef",
  ca_file: 'the path of a PEM CA certificate (e.g. "/etc/pve/pve-root-ca.pem")',
  fingerprint: "a SHA-256 fingerprint: 32 hex byte pairs separated by colons (AA:BB:…)",
  read_only: "true or false",
  audit_log: "a file path for the audit log",
  audit_key_file: "a file path for the audit log's key (default: the audit log's path + .key)",
  allowed_nodes: 'a list of node names changes are limited to (e.g. ["pve1", "pve2"])',
  denied_nodes: "a list of node names never changed",
  allowed_vmids: 'a list of VMIDs or ranges changes are limited to (e.g. ["100-199", 9000])',
  denied_vmids: 'a list of VMIDs or ranges never changed (e.g. ["100-109"])',
  allowed_pools: "a list of pool IDs changes are limited to",
  denied_pools: "a list of pool IDs never changed",
  allowed_tags: "a list of tags: only guests with one of them are changed",
  denied_tags: "a list of tags: guests with any of them are never changed",
  protected_tags:
    'a list of tags whose guests need a confirmation for every change (default ["prod", "production"])',
  max_mutations_per_minute: "an integer 0–10000 (0 = no limit; default 30)",
  max_creations:
    "an integer 0–10000 of guests and downloads per creation_window (0 = no limit; default 10)",
  creation_window: "a number of seconds from 1 to 604800 (default 3600)",
  confirm_timeout: "a number of seconds from 10 to 3600 a confirmation stays valid (default 300)",
  elicitation:
    "true or false: ask the user through MCP elicitation when the client can (default true)",
  task_timeout: "a number of seconds from 1 to 86400 to wait for a task (default 300)",
  toolsets:
    'a list of toolsets to offer: ["all"] or names such as ["guests", "tasks", "api"] (default: the everyday set)',
  disable_destructive:
    "true or false: allow changes but hide and refuse every destructive tool and api_change call (default false)",
  privilege_filter:
    "true or false: hide tools whose Proxmox privilege the identity lacks (default true)",
  approval:
    'how changes are confirmed: "auto", "elicitation", "token" or "human" for every level, or per level as "destructive=human,protected=token" (default "destructive=auto,protected=elicitation")',
  approver_token:
    "the password of the /approvals page: at least 16 characters, not the MCP bearer token",
  state_dir:
    "a folder only the server's user can use (mode 0700) for the kill switch and terminal approvals (default /var/lib/proxmox-mcp when it exists)",
  undo_snapshots:
    'true (every guest), false (never) or "protected" (guests with protected tags; the default)',
  undo_keep: "an integer 1–100 of undo points kept per guest (default 3)",
  exec_allowlist:
    'a list of commands guest_exec may run: program names or patterns ("df", "systemctl status *") or {"pattern": "df -h", "read_only": true} to run without confirmation (default: none)',
  exec_timeout: "a number of seconds from 1 to 3600 guest_exec waits for a command (default 30)",
  exec_max_output:
    "an integer 1024–16777216 of output bytes guest_exec keeps per stream (default 65536)",
  admin_sources:
    'a list of IP addresses or CIDRs this server reaches Proxmox from, for the firewall lockout check (e.g. ["192.168.10.50"]; default: the local address of a connection to the host)',
  allow_cluster_changes:
    "true or false: let api_change send cluster-wide requests the scope cannot bound (default false)",
} as const;

/** Every field `config.json` may contain. */
export type ConfigField = keyof typeof ALLOWED;

/** The names of every known field, in documentation order. */
export const CONFIG_FIELDS: readonly ConfigField[] = Object.keys(ALLOWED) as ConfigField[];

type Issue = { input?: unknown };

/** Error message builder: "expected X, got Y" (or "required: expected X"). */
function expected(field: ConfigField, hint?: (input: unknown) => string | undefined) {
  return (iss: Issue): string => {
    if (iss.input === undefined) return `required: expected ${ALLOWED[field]}`;
    const extra = hint?.(iss.input);
    return `expected ${ALLOWED[field]}, got ${describeValue(field, iss.input)}${
      extra ? `: ${extra}` : ""
    }`;
  };
}

/** Hint for a JSON string where a number or boolean was expected. */
function unquoteHint(input: unknown): string | undefined {
  return typeof input === "string" ? "write it without quotes" : undefined;
}

const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** True for a bare IPv6 address (no brackets). */
export function isIpv6(value: string): boolean {
  if (!value.includes(":") || !/^[0-9a-f:.]+$/i.test(value)) return false;
  try {
    new URL(`https://[${value}]/`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why `value` is not an acceptable `host` (or entry of `fallback_hosts`, whose fixes say that
 * every endpoint shares `port`), with a fix; undefined when it is fine.
 */
export function hostProblem(
  value: string,
  field: "host" | "fallback_hosts" = "host",
): string | undefined {
  const use = (host: string, port?: string): string => {
    if (field === "host") {
      return `use "host": ${JSON.stringify(host)}${port ? ` and "port": ${port}` : ""}`;
    }
    return `write ${JSON.stringify(host)}${
      port ? ' (every endpoint uses the one "port" field)' : ""
    }`;
  };
  const v = value.trim();
  if (v === "") return "it is empty";
  if (v !== value) return "remove the surrounding spaces";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    try {
      const url = new URL(v);
      return `that is a URL: ${use(url.hostname.replace(/^\[(.*)\]$/, "$1"), url.port)}`;
    } catch {
      return "that looks like a URL: give only the host name";
    }
  }
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (bracketed) {
    return `write the IPv6 address without brackets: ${use(bracketed[1], bracketed[2])}`;
  }
  const hostPort = /^([^:/]+):(\d+)$/.exec(v);
  if (hostPort) {
    return field === "host"
      ? `the port goes in its own field: ${use(hostPort[1], hostPort[2])}`
      : `fallback hosts take no port, they share "port" with host: ${use(hostPort[1])}`;
  }
  if (v.includes("/")) return `remove the path: ${use(v.split("/")[0])}`;
  const ipv4 = IPV4.exec(v);
  if (ipv4) {
    return ipv4.slice(1).every((o) => Number(o) <= 255) ? undefined : "not a valid IPv4 address";
  }
  if (isIpv6(v) || HOSTNAME.test(v)) return undefined;
  return "a host name may contain only letters, digits, hyphens and dots";
}

const REALM = /^[A-Za-z][A-Za-z0-9.\-_]+$/;
const TOKEN_NAME = /^[A-Za-z][A-Za-z0-9.\-_]+$/;
const USER = /^[^\s:@!]+$/;

/** Why `value` is not a valid `USER@REALM!TOKENID`; undefined when it is fine. */
export function tokenIdProblem(value: string): string | undefined {
  const bang = value.indexOf("!");
  if (bang < 0) return 'the token name after "!" is missing';
  const userRealm = value.slice(0, bang);
  const name = value.slice(bang + 1);
  const at = userRealm.lastIndexOf("@");
  if (at < 0) return 'the realm is missing: write the user as USER@REALM (e.g. "root@pam")';
  const user = userRealm.slice(0, at);
  const realm = userRealm.slice(at + 1);
  if (!USER.test(user)) return "the user part is empty or contains spaces, ':', '@' or '!'";
  if (!REALM.test(realm)) return `the realm ${JSON.stringify(realm)} is not a valid realm name`;
  if (name.includes("=")) {
    return 'it contains "=": put the secret in token_secret, not in token_id';
  }
  if (!TOKEN_NAME.test(name)) {
    return `the token name ${
      JSON.stringify(name)
    } must start with a letter and contain only letters, digits, '.', '-' and '_'`;
  }
  return undefined;
}

/** Why `value` is not a usable `username`; undefined when it is fine. */
export function usernameProblem(value: string): string | undefined {
  if (value === "") return "it is empty";
  if (value.includes("!")) return "that looks like an API token id: put it in token_id instead";
  const at = value.lastIndexOf("@");
  const user = at < 0 ? value : value.slice(0, at);
  if (!USER.test(user)) return "the user part is empty or contains spaces, ':', '@' or '!'";
  if (at >= 0 && !REALM.test(value.slice(at + 1))) return "the realm after '@' is not valid";
  return undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NODE = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;

/** Normalises a SHA-256 fingerprint to upper-case colon form; undefined if malformed. */
export function normalizeFingerprint(value: string): string | undefined {
  const hex = value.trim().replace(/^sha256\s*[:=]?\s*/i, "");
  const bytes = hex.includes(":") ? hex.split(":") : hex.match(/.{1,2}/g) ?? [];
  if (bytes.length !== 32 || !bytes.every((b) => /^[0-9a-f]{2}$/i.test(b))) return undefined;
  return bytes.join(":").toUpperCase();
}

function checked<T>(field: ConfigField, problem: (v: T) => string | undefined) {
  return (value: T, ctx: z.RefinementCtx<T>): void => {
    const why = problem(value);
    if (why) {
      ctx.addIssue({
        code: "custom",
        message: `expected ${ALLOWED[field]}, got ${describeValue(field, value)}: ${why}`,
      });
    }
  };
}

const nonEmpty = (v: string) => (v.trim() === "" ? "it is empty" : undefined);

/** A list of names (nodes, pools, tags) for `field`. */
function nameList(field: ConfigField, pattern: RegExp) {
  return z.array(
    z.string({ error: expected(field) }).regex(pattern, { error: expected(field) }),
    { error: expected(field) },
  ).optional();
}

const VMID_RANGE = /^\s*\d+\s*(-\s*\d+\s*)?$/;

/** Why `value` is not a VMID or range; undefined when it is fine. */
export function vmidRangeProblem(value: string | number): string | undefined {
  const s = String(value).trim();
  if (!VMID_RANGE.test(s)) return "write a VMID (105) or a range (100-199)";
  const [from, to = from] = s.split("-").map((x) => Number(x.trim()));
  if (from < 100 || to > 999999999) return "VMIDs are 100–999999999";
  if (from > to) return "the range runs backwards: write low-high";
  return undefined;
}

function vmidList(field: ConfigField) {
  return z.array(
    z.union([z.string(), z.number()], { error: expected(field) })
      .superRefine(checked(field, vmidRangeProblem)),
    { error: expected(field) },
  ).optional();
}

function intIn(field: ConfigField, min: number, max: number) {
  return z.number({ error: expected(field, unquoteHint) })
    .refine((v) => Number.isInteger(v) && v >= min && v <= max, { error: expected(field) })
    .optional();
}

function numIn(field: ConfigField, min: number, max: number) {
  return z.number({ error: expected(field, unquoteHint) })
    .refine((v) => v >= min && v <= max, { error: expected(field) })
    .optional();
}

const TAG = /^[a-z0-9_][a-z0-9_\-+.]*$/i;
/** A pool ID as Proxmox allows it (`pve-poolid`): nested pools up to three levels. */
const POOL = /^[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+){0,2}$/;

/** The schema of a complete, merged configuration (file and environment). */
export const configSchema = z.object({
  host: z.string({ error: expected("host") }).superRefine(checked("host", hostProblem)),
  port: z.number({ error: expected("port", unquoteHint) })
    .refine((v) => Number.isInteger(v) && v >= 1 && v <= 65535, { error: expected("port") })
    .default(8006),
  fallback_hosts: z.array(
    z.string({ error: expected("fallback_hosts") })
      .superRefine(checked("fallback_hosts", (v: string) => hostProblem(v, "fallback_hosts"))),
    { error: expected("fallback_hosts") },
  ).optional(),
  username: z.string({ error: expected("username") })
    .superRefine(checked("username", usernameProblem)).optional(),
  password: z.string({ error: expected("password") }).min(1, { error: expected("password") })
    .optional(),
  realm: z.string({ error: expected("realm") })
    .regex(REALM, { error: expected("realm") }).default("pam"),
  verify_ssl: z.boolean({ error: expected("verify_ssl", unquoteHint) }).default(true),
  timeout: z.number({ error: expected("timeout", unquoteHint) })
    .refine((v) => v > 0 && v <= 600, { error: expected("timeout") }).default(30),
  node: z.string({ error: expected("node") }).regex(NODE, { error: expected("node") }).optional(),
  token_id: z.string({ error: expected("token_id") })
    .superRefine(checked("token_id", tokenIdProblem)).optional(),
  token_secret: z.string({ error: expected("token_secret") })
    .regex(UUID, { error: expected("token_secret") }).optional(),
  ca_file: z.string({ error: expected("ca_file") })
    .superRefine(checked("ca_file", nonEmpty)).optional(),
  fingerprint: z.string({ error: expected("fingerprint") })
    .transform((v, ctx) => {
      const normalized = normalizeFingerprint(v);
      if (normalized) return normalized;
      ctx.addIssue({ code: "custom", message: expected("fingerprint")({ input: v }) });
      return z.NEVER;
    }).optional(),
  read_only: z.boolean({ error: expected("read_only", unquoteHint) }).default(true),
  audit_log: z.string({ error: expected("audit_log") })
    .superRefine(checked("audit_log", nonEmpty)).optional(),
  audit_key_file: z.string({ error: expected("audit_key_file") })
    .superRefine(checked("audit_key_file", nonEmpty)).optional(),
  allowed_nodes: nameList("allowed_nodes", NODE),
  denied_nodes: nameList("denied_nodes", NODE),
  allowed_vmids: vmidList("allowed_vmids"),
  denied_vmids: vmidList("denied_vmids"),
  allowed_pools: nameList("allowed_pools", POOL),
  denied_pools: nameList("denied_pools", POOL),
  allowed_tags: nameList("allowed_tags", TAG),
  denied_tags: nameList("denied_tags", TAG),
  protected_tags: nameList("protected_tags", TAG),
  max_mutations_per_minute: intIn("max_mutations_per_minute", 0, 10000),
  max_creations: intIn("max_creations", 0, 10000),
  creation_window: numIn("creation_window", 1, 604800),
  confirm_timeout: numIn("confirm_timeout", 10, 3600),
  elicitation: z.boolean({ error: expected("elicitation", unquoteHint) }).optional(),
  task_timeout: numIn("task_timeout", 1, 86400),
  toolsets: z.array(
    z.string({ error: expected("toolsets") }).superRefine((v, ctx) => {
      const why = toolsetProblem(v.trim().toLowerCase());
      if (why) ctx.addIssue({ code: "custom", message: `${why} (${allowedToolsets()})` });
    }),
    { error: expected("toolsets") },
  ).optional(),
  disable_destructive: z.boolean({ error: expected("disable_destructive", unquoteHint) })
    .optional(),
  privilege_filter: z.boolean({ error: expected("privilege_filter", unquoteHint) }).optional(),
  approval: z.string({ error: expected("approval") })
    .superRefine(checked("approval", approvalProblem)).optional(),
  approver_token: z.string({ error: expected("approver_token") })
    .min(16, { error: expected("approver_token") }).optional(),
  state_dir: z.string({ error: expected("state_dir") })
    .superRefine(checked("state_dir", nonEmpty)).optional(),
  undo_snapshots: z.preprocess(
    (v) => typeof v === "string" && /^(true|false)$/i.test(v.trim()) ? /^true$/i.test(v.trim()) : v,
    z.union([z.boolean(), z.literal("protected")], { error: expected("undo_snapshots") }),
  ).optional(),
  undo_keep: intIn("undo_keep", 1, 100),
  exec_allowlist: z.array(
    z.union([
      z.string().trim().min(1),
      z.strictObject({ pattern: z.string().trim().min(1), read_only: z.boolean().optional() }),
    ], { error: expected("exec_allowlist") }),
    { error: expected("exec_allowlist") },
  ).optional(),
  exec_timeout: numIn("exec_timeout", 1, 3600),
  exec_max_output: intIn("exec_max_output", 1024, 16_777_216),
  admin_sources: nameList("admin_sources", /^[0-9a-fA-F.:]+(\/\d{1,3})?$/),
  allow_cluster_changes: z.boolean({ error: expected("allow_cluster_changes", unquoteHint) })
    .optional(),
});

const APPROVAL_MODES = ["auto", "elicitation", "token", "human"];
const APPROVAL_LEVELS = ["destructive", "protected"];

/** Why `value` is not an approval setting; undefined when it is fine. */
export function approvalProblem(value: string): string | undefined {
  const v = value.trim();
  if (APPROVAL_MODES.includes(v)) return undefined;
  for (const part of v.split(",")) {
    const [level, mode, ...rest] = part.split("=").map((x) => x.trim());
    if (!APPROVAL_LEVELS.includes(level) || rest.length) {
      return `"${part}" is not LEVEL=MODE with LEVEL ${APPROVAL_LEVELS.join(" or ")}`;
    }
    if (!APPROVAL_MODES.includes(mode)) {
      return `mode "${mode ?? ""}" is not one of ${APPROVAL_MODES.join(", ")}`;
    }
  }
  return undefined;
}

/** A validated configuration with defaults applied. */
export type Config = z.infer<typeof configSchema>;
