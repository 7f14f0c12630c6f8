/**
 * Loading the configuration: `config.json` (optional), environment overrides, validation,
 * file checks and warnings; and turning it into {@link ClientOptions}.
 *
 * @module
 */
import { dirname, isAbsolute, resolve } from "node:path";
import type { ClientOptions } from "../proxmox/client.ts";
import {
  ALLOWED,
  type Config,
  CONFIG_FIELDS,
  type ConfigField,
  configSchema,
  isIpv6,
} from "./schema.ts";
import { type ConfigEnvVar, denoEnv, type EnvReader, readEnv } from "./env.ts";
import { ConfigError, type ConfigIssue } from "./errors.ts";
import { describeValue } from "./describe.ts";
import { nearest } from "./suggest.ts";

/** Where the configuration file is looked for first when no path is given. */
export const DEFAULT_CONFIG_PATH = "./config.json";

/** Where the configuration file is looked for when no path is given, in order. */
export const DEFAULT_CONFIG_PATHS: readonly string[] = [
  DEFAULT_CONFIG_PATH,
  "/etc/proxmox-mcp/config.json",
];

/** Inputs of {@link loadConfig}; everything is injectable for tests. */
export interface LoadConfigOptions {
  /** Path of the config file; when given, the file must exist. Default: the first of {@link DEFAULT_CONFIG_PATHS} that exists. */
  path?: string;
  /** Environment reader; default `Deno.env` (variables not granted read as unset). */
  env?: EnvReader;
  /** Reads a text file (config and CA); default `Deno.readTextFile`. */
  readFile?: (path: string) => Promise<string>;
  /** File mode lookup for the permission warning; default `Deno.stat`. */
  stat?: (path: string) => Promise<{ mode: number | null }>;
  /** Operating system; the permission warning is skipped on Windows. Default `Deno.build.os`. */
  os?: string;
}

/** Where a field's value came from. */
export type FieldOrigin = "file" | "default" | ConfigEnvVar;

/** A validated configuration and how it was assembled. */
export interface LoadedConfig {
  /** The validated configuration with defaults applied; relative paths from the file resolved. */
  config: Config;
  /** Human description of the sources, e.g. `./config.json + environment (PROXMOX_TOKEN_SECRET)`. */
  source: string;
  /** Non-fatal problems worth telling the operator (file permissions, ignored fields). */
  warnings: string[];
  /** Origin of each field that has a value. */
  origins: Partial<Record<ConfigField, FieldOrigin>>;
}

/**
 * Loads, merges (environment beats file) and validates the configuration. Throws
 * {@link ConfigError} listing every problem found.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const readFile = options.readFile ?? ((p: string) => Deno.readTextFile(p));
  const candidates = options.path !== undefined ? [options.path] : DEFAULT_CONFIG_PATHS;
  let path = candidates[0];
  let file: FileRead = { found: false };
  for (const candidate of candidates) {
    file = await readConfigFile(candidate, options.path !== undefined, readFile);
    if (file.found) {
      path = candidate;
      break;
    }
  }
  const env = readEnv(options.env ?? denoEnv);
  const issues: ConfigIssue[] = [...env.issues];

  const merged: Record<string, unknown> = {};
  const origins: Partial<Record<ConfigField, FieldOrigin>> = {};
  const known = new Set<string>(CONFIG_FIELDS);
  for (const [key, value] of Object.entries(file.values ?? {})) {
    if (!known.has(key)) {
      issues.push({ field: key, message: unknownFieldMessage(key, path) });
      continue;
    }
    const field = key as ConfigField;
    merged[field] = (field === "ca_file" || field === "audit_log" || field === "state_dir" ||
        field === "audit_key_file") &&
        typeof value === "string" &&
        value.trim() !== "" && !isAbsolute(value)
      ? resolve(dirname(path), value)
      : value;
    origins[field] = "file";
  }
  for (const [field, value] of Object.entries(env.values) as [ConfigField, unknown][]) {
    merged[field] = value;
    origins[field] = env.vars[field];
  }
  const label = (field: string) => env.vars[field as ConfigField] ?? field;
  const failedEnv = new Set(Object.keys(env.vars).filter((f) => !(f in env.values)));

  const parsed = configSchema.safeParse(merged);
  const badFields = new Set<string>();
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? "config");
      badFields.add(field);
      if (failedEnv.has(field)) continue;
      issues.push({ field: label(field), message: issue.message });
    }
  }
  const warnings: string[] = [];
  issues.push(...checkAuth(merged, label, warnings, file.found ? undefined : path));

  if (parsed.success) issues.push(...checkEndpoints(parsed.data, label));

  if (parsed.success && parsed.data.ca_file !== undefined && !badFields.has("ca_file")) {
    const problem = await caFileProblem(parsed.data.ca_file, readFile);
    if (problem) issues.push({ field: label("ca_file"), message: problem });
  }

  const envVars = Object.values(env.vars);
  const envPart = envVars.length ? `environment (${envVars.join(", ")})` : "";
  const source = file.found
    ? path + (envPart ? ` + ${envPart}` : "")
    : `${envPart || "environment"} (no config file at ${path})`;
  if (issues.length || !parsed.success) throw new ConfigError(issues, source);
  const config = parsed.data;

  for (const field of CONFIG_FIELDS) {
    if (config[field] !== undefined && origins[field] === undefined) origins[field] = "default";
  }
  if (file.found && file.values && ("password" in file.values || "token_secret" in file.values)) {
    const warning = await permissionWarning(path, options);
    if (warning) warnings.push(warning);
  }
  if (!config.verify_ssl && !config.ca_file && !config.fingerprint) {
    warnings.push(
      "INSECURE: verify_ssl is false, so the node certificate is NOT checked: anyone on the " +
        "network path can impersonate the node and capture the credentials. Set fingerprint " +
        "to the node certificate's SHA-256 fingerprint (proxmox-mcp doctor shows it) or " +
        "ca_file to the cluster CA (/etc/pve/pve-root-ca.pem), and remove verify_ssl",
    );
  }
  return { config, source, warnings, origins };
}

interface FileRead {
  found: boolean;
  values?: Record<string, unknown>;
}

async function readConfigFile(
  path: string,
  explicit: boolean,
  readFile: (path: string) => Promise<string>,
): Promise<FileRead> {
  let text: string;
  try {
    text = await readFile(path);
  } catch (e) {
    // A default location this process may not read counts as absent: with `deno run -P=server`
    // the set's relative paths belong to deno.json's folder, not the working directory.
    if ((e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotCapable) && !explicit) {
      return { found: false };
    }
    throw new ConfigError([{ field: path, message: fileReadProblem(e, path) }], path);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new ConfigError(
      [{ field: path, message: `not valid JSON: ${detail} (JSON allows no comments)` }],
      path,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(
      [{
        field: path,
        message: `expected a JSON object of settings ({"host": …}), got ${
          describeValue("", value)
        }`,
      }],
      path,
    );
  }
  return { found: true, values: value as Record<string, unknown> };
}

function fileReadProblem(e: unknown, path: string): string {
  if (e instanceof Deno.errors.NotFound) {
    return "file not found: check the path, or leave it out and set the PROXMOX_* environment variables";
  }
  if (e instanceof Deno.errors.NotCapable) {
    return `this process may not read it: grant --allow-read=${resolve(path)}`;
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return "permission denied by the operating system: check the file's owner and mode";
  }
  if (e instanceof Deno.errors.IsADirectory) return "that is a directory, not a file";
  return `cannot read the file: ${e instanceof Error ? e.message : String(e)}`;
}

function unknownFieldMessage(key: string, path: string): string {
  const where = `Unknown field ${JSON.stringify(key)} in ${path}`;
  const envField = key.toUpperCase().startsWith("PROXMOX_")
    ? CONFIG_FIELDS.find((f) => `PROXMOX_${f.toUpperCase()}` === key.toUpperCase())
    : undefined;
  if (envField) {
    return `${where}: did you mean ${
      JSON.stringify(envField)
    }? (${key} is an environment variable name)`;
  }
  const guess = nearest(key, CONFIG_FIELDS);
  if (guess) return `${where}: did you mean ${JSON.stringify(guess)}?`;
  return `${where}: known fields are ${CONFIG_FIELDS.join(", ")}`;
}

function present(merged: Record<string, unknown>, field: ConfigField): boolean {
  const v = merged[field];
  return v !== undefined && v !== null && v !== "";
}

/** Exactly one complete auth method; realm consistent with the username. */
function checkAuth(
  merged: Record<string, unknown>,
  label: (field: string) => string,
  warnings: string[],
  missingFile: string | undefined,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const has = (f: ConfigField) => present(merged, f);
  if (has("token_id") || has("token_secret")) {
    if (!has("token_id")) {
      issues.push({
        field: "token_id",
        message: `required: token_secret is set, so ${ALLOWED.token_id} is needed too`,
      });
    }
    if (!has("token_secret")) {
      issues.push({
        field: "token_secret",
        message: "required: token_id is set, so its secret is needed too (the UUID shown once " +
          "when the token was created)",
      });
    }
    if (has("password")) {
      issues.push({
        field: "auth",
        message: `both an API token (${label("token_id")}) and a password (${
          label("password")
        }) are set: keep only one; the API token is preferred`,
      });
    } else if (has("username")) {
      warnings.push(`${label("username")} is ignored: the API token is used to log in`);
    }
  } else if (has("username") || has("password")) {
    if (!has("username")) {
      issues.push({
        field: "username",
        message: `required: password is set, so ${ALLOWED.username} is needed too`,
      });
    }
    if (!has("password")) {
      issues.push({
        field: "password",
        message: "required: username is set, so its password is needed too (or use token_id " +
          "and token_secret instead)",
      });
    }
  } else {
    const hint = missingFile
      ? ` (no config file at ${missingFile}; PROXMOX_TOKEN_ID and PROXMOX_TOKEN_SECRET work too)`
      : "";
    issues.push({
      field: "auth",
      message:
        `no credentials: set token_id and token_secret (preferred), or username and password${hint}`,
    });
  }
  const username = merged.username;
  const realm = merged.realm;
  if (typeof username === "string" && username.includes("@") && typeof realm === "string") {
    const inName = username.slice(username.lastIndexOf("@") + 1);
    if (inName !== realm) {
      issues.push({
        field: label("realm"),
        message: `${describeValue("realm", realm)} conflicts with the realm in username ${
          describeValue("username", username)
        }: remove realm or make them match`,
      });
    }
  }
  return issues;
}

/** `fallback_hosts`: each node once, and no fingerprint (it can match only one node). */
function checkEndpoints(config: Config, label: (field: string) => string): ConfigIssue[] {
  const fallbacks = config.fallback_hosts ?? [];
  if (!fallbacks.length) return [];
  const issues: ConfigIssue[] = [];
  if (config.fingerprint) {
    issues.push({
      field: label("fallback_hosts"),
      message: `cannot be combined with ${label("fingerprint")}: a fingerprint pins one ` +
        "node's certificate and every node has its own; set ca_file to the cluster CA " +
        "(/etc/pve/pve-root-ca.pem, copied from a node), which every node's certificate " +
        "chains to, and remove fingerprint",
    });
  }
  const seen = new Set([config.host.toLowerCase()]);
  for (const host of fallbacks) {
    const key = host.toLowerCase();
    if (seen.has(key)) {
      const what = key === config.host.toLowerCase() ? "host" : "another entry";
      issues.push({
        field: label("fallback_hosts"),
        message: `${describeValue("fallback_hosts", host)} repeats ${what}: list each other ` +
          "node once",
      });
    }
    seen.add(key);
  }
  return issues;
}

/** Why the CA file cannot be used; undefined when it holds a PEM certificate. */
async function caFileProblem(
  path: string,
  readFile: (path: string) => Promise<string>,
): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return `file not found: ${path}: copy /etc/pve/pve-root-ca.pem from a cluster node, or ` +
        "leave ca_file out when the certificate is signed by a public CA";
    }
    return `${path}: ${fileReadProblem(e, path)}`;
  }
  if (text.includes("-----BEGIN CERTIFICATE-----")) return undefined;
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    return `${path} holds a private key, not a certificate: use the cluster CA certificate ` +
      "(/etc/pve/pve-root-ca.pem) and keep the key secret";
  }
  return `${path} does not contain a PEM certificate (a "-----BEGIN CERTIFICATE-----" block)`;
}

async function permissionWarning(
  path: string,
  options: LoadConfigOptions,
): Promise<string | undefined> {
  if ((options.os ?? Deno.build.os) === "windows") return undefined;
  let mode: number | null;
  try {
    mode = (await (options.stat ?? Deno.stat)(path)).mode;
  } catch {
    return undefined;
  }
  if (mode === null || (mode & 0o044) === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  if ((mode & 0o222) === 0) {
    // Nobody may write it: a read-only mount such as a Kubernetes Secret volume, where a
    // group-readable mode (defaultMode 0440 with fsGroup) is how the server's user reads it.
    if ((mode & 0o004) === 0) return undefined;
    return `${path} is readable by every user (mode ${octal}) on what looks like a read-only ` +
      "mount: give the volume a mode without other-read (Kubernetes: defaultMode: 0440 or 0400)";
  }
  const shown = /^[\w./-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;
  return `${path} is readable by other users (mode ${octal}): run chmod 600 ${shown}`;
}

/** Extra inputs of {@link toClientOptions}: client options to merge, and a file reader. */
export type ToClientOptionsExtra = Partial<ClientOptions> & {
  readFile?: (path: string) => Promise<string>;
};

/** Builds {@link ClientOptions} from a validated configuration, reading the CA file if set. */
export async function toClientOptions(
  config: Config,
  extra: ToClientOptionsExtra = {},
): Promise<ClientOptions> {
  const { readFile = (p: string) => Deno.readTextFile(p), ...rest } = extra;
  const origin = (host: string) => `https://${isIpv6(host) ? `[${host}]` : host}:${config.port}`;
  let auth: ClientOptions["auth"];
  if (config.token_id && config.token_secret) {
    auth = { type: "token", tokenId: config.token_id, secret: config.token_secret };
  } else if (config.username && config.password) {
    const username = config.username.includes("@")
      ? config.username
      : `${config.username}@${config.realm}`;
    auth = { type: "ticket", username, password: config.password };
  } else {
    throw new ConfigError(
      [{ field: "auth", message: "no complete credentials (token or username and password)" }],
      "configuration",
    );
  }
  const caCerts = config.ca_file ? [await readFile(config.ca_file)] : undefined;
  const fallbackUrls = (config.fallback_hosts ?? []).map(origin);
  return {
    baseUrl: origin(config.host),
    ...(fallbackUrls.length ? { fallbackUrls } : {}),
    auth,
    timeoutMs: Math.round(config.timeout * 1000),
    ...(caCerts ? { caCerts } : {}),
    ...rest,
  };
}
