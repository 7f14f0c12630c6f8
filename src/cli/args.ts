/**
 * Command-line parsing with `node:util` parseArgs: flags, subcommand, and the help text.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { ListingFlags } from "../server/listing.ts";
import type { BackendOptions } from "../server/app.ts";
import type { Logger } from "../util/log.ts";

/** Subcommands; `serve` is the default. */
export const COMMANDS = [
  "serve",
  "tools",
  "call",
  "simulator",
  "demo",
  "doctor",
  "healthcheck",
  "audit",
  "approvals",
  "freeze",
  "unfreeze",
] as const;

/** A subcommand name. */
export type Command = typeof COMMANDS[number];

/** Parsed command line. */
export interface CliArgs {
  command: Command;
  positionals: string[];
  config?: string;
  simulator: boolean;
  readOnly: boolean;
  /** `--toolsets a,b` (names as given; validated when the server is built). */
  toolsets?: string[];
  /** `--disable-destructive`: hide and refuse destructive tools and api_change plans. */
  disableDestructive: boolean;
  /** `--no-privilege-filter` sets false: list tools whatever the identity's privileges. */
  privilegeFilter?: boolean;
  help: boolean;
  version: boolean;
  json: boolean;
  /** `HOST:PORT` to serve Streamable HTTP on (`serve`), or to probe (`healthcheck`). */
  http?: string;
  bearerTokenFile?: string;
  allowedHosts?: string[];
  allowedOrigins?: string[];
  /** Seconds shutdown waits for calls in flight. */
  shutdownGrace?: string;
  /** Allow `verify_ssl: false` with HTTP on a non-loopback address. */
  allowInsecureTls: boolean;
  /** (approvals, freeze) The name recorded as who approved, rejected or froze. */
  by?: string;
  /** (simulator) Port to listen on. */
  port?: number;
  /** (simulator) Seed of the scenario; also fixes its clock, so UPIDs repeat run after run. */
  seed?: number;
  /** (call) Confirm a change without asking. */
  yes: boolean;
}

/** The text of `--help`. */
export const HELP = `proxmox-mcp: an MCP server for Proxmox VE

Usage:
  proxmox-mcp [serve] [options]        Serve MCP over stdio (what MCP clients run)
  proxmox-mcp tools [options]          List the tools as a table
  proxmox-mcp call <tool> [json-args]  Call one tool and print its result
  proxmox-mcp simulator [--port N] [--seed N]
                                       Run the embedded Proxmox VE simulator alone
  proxmox-mcp demo                     Tour: a real MCP client drives the server on the simulator
  proxmox-mcp doctor [options]         Check the configuration and the connection
  proxmox-mcp healthcheck [--http A]   Probe a running HTTP server's /healthz (exit 0 if healthy)
  proxmox-mcp audit verify <file>      Check an audit log (MACs, chain, head); report the first problem
  proxmox-mcp approvals [list]         Plans waiting for a person's approval (state folder)
  proxmox-mcp approvals approve <id>   Approve one (reject <id> [why] rejects it)
  proxmox-mcp freeze [reason]          Kill switch: every server using the state folder refuses
                                       every change at once (reads continue)
  proxmox-mcp unfreeze                 Lift the freeze

Options:
  -c, --config <path>  Config file (default ./config.json, then /etc/proxmox-mcp/config.json);
                       PROXMOX_* variables override it
  -s, --simulator      Use the embedded simulated cluster instead of a real one
      --read-only      Refuse and hide every tool that changes the cluster
      --toolsets <a,b>         Toolsets to offer ("all", or names; default the everyday set:
                               cluster,nodes,guests,snapshots,backups,storage,tasks,api)
      --disable-destructive    Allow changes but hide and refuse destructive ones
      --no-privilege-filter    List tools even when the identity lacks their privilege
      --json           (tools, call) print JSON instead of text
      --http <HOST:PORT>          Serve MCP over Streamable HTTP at http://HOST:PORT/mcp
                                  instead of stdio (healthcheck: the server to probe)
      --bearer-token-file <path>  File holding the bearer token HTTP clients must send
                                  (or PROXMOX_MCP_HTTP_TOKEN); required off loopback
      --allowed-host <host[:port]>     Accepted Host header (repeatable; default: loopback
                                  names for a loopback address, any Host otherwise)
      --allowed-origin <origin>   Accepted Origin header (repeatable; default: loopback)
      --shutdown-grace <seconds>  How long SIGTERM waits for calls in flight (default 10)
      --allow-insecure-tls        Permit verify_ssl: false while serving HTTP off loopback
      --by <name>          (approvals, freeze) Who is answering; default $USER
      --yes                (call) Confirm a change that needs confirmation without asking
      --port <n>           (simulator) Listen on this port (default: any free port)
      --seed <n>           (simulator) Scenario seed; the simulated clock then starts at
                           2026-01-01T00:00:00Z, so UPIDs and IDs repeat run after run
  -h, --help           Show this help
  -V, --version        Show the version

Environment:
  PROXMOX_HOST, PROXMOX_PORT, PROXMOX_USERNAME, PROXMOX_PASSWORD, PROXMOX_REALM,
  PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET, PROXMOX_VERIFY_SSL, PROXMOX_TIMEOUT, PROXMOX_NODE,
  PROXMOX_CA_FILE, PROXMOX_FINGERPRINT, PROXMOX_FALLBACK_HOSTS, PROXMOX_READ_ONLY,
  PROXMOX_AUDIT_LOG; the safety settings PROXMOX_ALLOWED_*/DENIED_* (NODES, VMIDS, POOLS,
  TAGS), PROXMOX_PROTECTED_TAGS,
  PROXMOX_MAX_MUTATIONS_PER_MINUTE, PROXMOX_MAX_CREATIONS, PROXMOX_CREATION_WINDOW,
  PROXMOX_CONFIRM_TIMEOUT, PROXMOX_ELICITATION, PROXMOX_TASK_TIMEOUT; the tool list
  PROXMOX_TOOLSETS, PROXMOX_DISABLE_DESTRUCTIVE, PROXMOX_PRIVILEGE_FILTER (see README)
  PROXMOX_MCP_HTTP_TOKEN, PROXMOX_MCP_HTTP_TOKEN_FILE, PROXMOX_MCP_ALLOWED_HOSTS,
  PROXMOX_MCP_ALLOWED_ORIGINS (comma-separated) configure the HTTP transport.
  DEBUG=1 logs each API request (method, path, status, time) on stderr.

Examples:
  proxmox-mcp --simulator
  proxmox-mcp call guest_list '{"node":"pve1","sort":"mem","order":"desc","limit":5}' --simulator
`;

/** A command-line mistake; the message says what is allowed. */
export class UsageError extends Error {
  /** @param message What was wrong and what is allowed. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parses `argv` (without the program name). */
export function parseCli(argv: string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      allowNegative: true,
      options: {
        config: { type: "string", short: "c" },
        simulator: { type: "boolean", short: "s", default: false },
        "read-only": { type: "boolean", default: false },
        toolsets: { type: "string", multiple: true },
        "disable-destructive": { type: "boolean", default: false },
        "privilege-filter": { type: "boolean" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
        version: { type: "boolean", short: "V", default: false },
        http: { type: "string" },
        "bearer-token-file": { type: "string" },
        "allowed-host": { type: "string", multiple: true },
        "allowed-origin": { type: "string", multiple: true },
        "shutdown-grace": { type: "string" },
        "allow-insecure-tls": { type: "boolean", default: false },
        by: { type: "string" },
        yes: { type: "boolean", short: "y", default: false },
        port: { type: "string" },
        seed: { type: "string" },
      },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}. Run proxmox-mcp --help for the options`);
  }
  const [first, ...rest] = parsed.positionals;
  let command: Command = "serve";
  let positionals = parsed.positionals;
  if (first !== undefined) {
    if (!(COMMANDS as readonly string[]).includes(first)) {
      throw new UsageError(`Unknown command "${first}": use one of ${COMMANDS.join(", ")}`);
    }
    command = first as Command;
    positionals = rest;
  }
  return {
    command,
    positionals,
    config: parsed.values.config,
    simulator: parsed.values.simulator,
    readOnly: parsed.values["read-only"],
    toolsets: parsed.values.toolsets?.flatMap((t) => t.split(",")).map((t) => t.trim())
      .filter(Boolean),
    disableDestructive: parsed.values["disable-destructive"],
    privilegeFilter: parsed.values["privilege-filter"],
    help: parsed.values.help,
    version: parsed.values.version,
    json: parsed.values.json,
    http: parsed.values.http,
    bearerTokenFile: parsed.values["bearer-token-file"],
    allowedHosts: parsed.values["allowed-host"],
    allowedOrigins: parsed.values["allowed-origin"],
    shutdownGrace: parsed.values["shutdown-grace"],
    allowInsecureTls: parsed.values["allow-insecure-tls"],
    by: parsed.values.by,
    port: integerFlag("port", parsed.values.port, 0, 65535),
    seed: integerFlag("seed", parsed.values.seed, 0, 2 ** 31 - 1),
    yes: parsed.values.yes,
  };
}

/** The tool-listing overrides of the command line. */
export function listingFlags(cli: CliArgs): ListingFlags {
  return {
    toolsets: cli.toolsets,
    disableDestructive: cli.disableDestructive,
    privilegeFilter: cli.privilegeFilter,
  };
}

/** How a serving command opens its backend: the command line's config, modes and listing. */
export function backendOptions(cli: CliArgs, logger: Logger): BackendOptions {
  return {
    configPath: cli.config,
    simulator: cli.simulator,
    readOnly: cli.readOnly || undefined,
    listing: listingFlags(cli),
    simulatorTaskMs: 1500,
    logger,
  };
}

function integerFlag(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return n;
}
