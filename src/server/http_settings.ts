/**
 * Settings of the HTTP transport from command-line flags and `PROXMOX_MCP_*` variables: listen
 * address, bearer token (value or file), Host/Origin allowlists and the shutdown grace period.
 *
 * @module
 */
import { denoEnv, type EnvReader } from "../config/mod.ts";
import { type ListenAddress, parseListenAddress } from "./http_address.ts";
import { HttpSetupError } from "./http.ts";

/** Environment variables of the HTTP transport (part of the `--allow-env` list). */
export const HTTP_ENV_VARS = [
  "PROXMOX_MCP_LISTEN",
  "PROXMOX_MCP_HTTP_TOKEN",
  "PROXMOX_MCP_HTTP_TOKEN_FILE",
  "PROXMOX_MCP_ALLOWED_HOSTS",
  "PROXMOX_MCP_ALLOWED_ORIGINS",
] as const;

/** The HTTP-related command-line flags. */
export interface HttpFlags {
  /** `HOST:PORT` from `--http`. */
  http: string;
  bearerTokenFile?: string;
  allowedHosts?: string[];
  allowedOrigins?: string[];
  /** Seconds, from `--shutdown-grace`. */
  shutdownGrace?: string;
}

/** Resolved settings of the HTTP transport. */
export interface HttpSettings {
  address: ListenAddress;
  /** The bearer token, when one is configured. */
  token?: string;
  /** Where the token came from, for the startup line (never the token itself). */
  tokenSource?: string;
  allowedHosts: string[];
  allowedOrigins: string[];
  shutdownGraceMs: number;
}

/** Inputs of {@link resolveHttpSettings} that tests replace. */
export interface HttpSettingsIo {
  env?: EnvReader;
  readFile?: (path: string) => Promise<string>;
}

/** Resolves the settings; flags win over variables. Throws {@link HttpSetupError}. */
export async function resolveHttpSettings(
  flags: HttpFlags,
  io: HttpSettingsIo = {},
): Promise<HttpSettings> {
  const env = io.env ?? denoEnv;
  const readFile = io.readFile ?? ((p: string) => Deno.readTextFile(p));
  let address: ListenAddress;
  try {
    address = parseListenAddress(flags.http);
  } catch (e) {
    throw new HttpSetupError((e as Error).message);
  }
  let token: string | undefined;
  let tokenSource: string | undefined;
  const file = flags.bearerTokenFile ?? nonEmpty(env("PROXMOX_MCP_HTTP_TOKEN_FILE"));
  if (file) {
    token = (await readTokenFile(file, readFile)).trim();
    tokenSource = file;
    if (!token) throw new HttpSetupError(`The bearer token file ${file} is empty`);
  } else {
    const value = nonEmpty(env("PROXMOX_MCP_HTTP_TOKEN"));
    if (value) {
      token = value.trim();
      tokenSource = "PROXMOX_MCP_HTTP_TOKEN";
    }
  }
  if (token !== undefined && /\s/.test(token)) {
    throw new HttpSetupError(`The bearer token from ${tokenSource} contains whitespace`);
  }
  if (token !== undefined && isPlaceholderToken(token)) {
    throw new HttpSetupError(
      `The bearer token from ${tokenSource} is a placeholder, not a secret: generate one with ` +
        "openssl rand -hex 32 and put it there (for Kubernetes, in the Secret's http-token)",
    );
  }
  let shutdownGraceMs = 10_000;
  if (flags.shutdownGrace !== undefined) {
    const seconds = Number(flags.shutdownGrace);
    if (!Number.isFinite(seconds) || seconds < 0 || seconds > 600) {
      throw new HttpSetupError(
        `Invalid --shutdown-grace "${flags.shutdownGrace}": expected seconds from 0 to 600`,
      );
    }
    shutdownGraceMs = Math.round(seconds * 1000);
  }
  return {
    address,
    token,
    tokenSource,
    allowedHosts: list(flags.allowedHosts, env("PROXMOX_MCP_ALLOWED_HOSTS")),
    allowedOrigins: list(flags.allowedOrigins, env("PROXMOX_MCP_ALLOWED_ORIGINS")),
    shutdownGraceMs,
  };
}

/** Words of sample values in documentation and manifests, never of a generated secret. */
const PLACEHOLDER_WORDS =
  /replace|change.?me|placeholder|example|your[-_]|token[-_]?here|secret[-_]?here|openssl|output[-_]of|^x+$|^(.)\1+$/i;

/** Whether `token` is a sample value (e.g. the k8s Secret's) rather than a generated secret. */
export function isPlaceholderToken(token: string): boolean {
  return PLACEHOLDER_WORDS.test(token);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v;
}

/** Flag values if any, else the comma-separated variable. */
function list(flag: string[] | undefined, variable: string | undefined): string[] {
  const values = flag?.length ? flag : (variable ?? "").split(",");
  return values.map((v) => v.trim()).filter((v) => v !== "");
}

async function readTokenFile(
  path: string,
  readFile: (path: string) => Promise<string>,
): Promise<string> {
  try {
    return await readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      throw new HttpSetupError(
        `Cannot read the bearer token file ${path}: this process may not read it; put it in ` +
          "/etc/proxmox-mcp/ (readable under the permission flags) or use PROXMOX_MCP_HTTP_TOKEN",
      );
    }
    if (e instanceof Deno.errors.NotFound) {
      throw new HttpSetupError(`Cannot read the bearer token file ${path}: file not found`);
    }
    throw new HttpSetupError(
      `Cannot read the bearer token file ${path}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}
