/**
 * Which tools a server offers: the enabled toolsets, `disable_destructive`, and whether rows
 * whose privilege the identity lacks are hidden. Resolved once from the configuration (or the
 * environment, for the simulator) and the command line; an HTTP session may narrow it.
 *
 * @module
 */
import { ConfigError } from "../config/errors.ts";
import { denoEnv, type EnvReader, readEnv } from "../config/env.ts";
import type { Toolset } from "../tools/tool.ts";
import { narrowToolsets, resolveToolsets, splitToolsets, ToolsetError } from "../tools/toolsets.ts";

/** What the tool list is filtered by, besides read-only mode. */
export interface ListingSettings {
  toolsets: ReadonlySet<Toolset>;
  /** Changes allowed, destructive ones hidden and refused. */
  disableDestructive: boolean;
  /** Hide rows whose privilege the identity lacks (read from `/access/permissions`). */
  privilegeFilter: boolean;
}

/** The defaults: the everyday toolsets, destructive tools on, privilege filter on. */
export function defaultListing(): ListingSettings {
  return { toolsets: resolveToolsets(undefined), disableDestructive: false, privilegeFilter: true };
}

/** The listing fields of a configuration (file and environment merged). */
export interface ListingConfig {
  toolsets?: readonly string[];
  disable_destructive?: boolean;
  privilege_filter?: boolean;
}

/** Command-line overrides. */
export interface ListingFlags {
  toolsets?: readonly string[];
  /** Only turns the mode on. */
  disableDestructive?: boolean;
  privilegeFilter?: boolean;
}

/** Resolves the settings: flags beat the configuration, which beats the defaults. */
export function resolveListing(config: ListingConfig, flags: ListingFlags = {}): ListingSettings {
  const names = flags.toolsets?.length ? flags.toolsets : config.toolsets;
  let toolsets: ReadonlySet<Toolset>;
  try {
    toolsets = resolveToolsets(names);
  } catch (e) {
    if (!(e instanceof ToolsetError)) throw e;
    const field = flags.toolsets?.length ? "--toolsets" : "toolsets";
    throw new ConfigError([{ field, message: e.message }], field);
  }
  return {
    toolsets,
    disableDestructive: flags.disableDestructive === true || config.disable_destructive === true,
    privilegeFilter: flags.privilegeFilter ?? config.privilege_filter ?? true,
  };
}

/** The listing fields from the environment alone (the simulator reads no config file). */
export function listingFromEnv(env: EnvReader = denoEnv): ListingConfig {
  const read = readEnv((name) =>
    name === "PROXMOX_TOOLSETS" || name === "PROXMOX_DISABLE_DESTRUCTIVE" ||
      name === "PROXMOX_PRIVILEGE_FILTER"
      ? env(name)
      : undefined
  );
  if (read.issues.length) throw new ConfigError(read.issues, "environment");
  return {
    toolsets: read.values.toolsets as string[] | undefined,
    disable_destructive: read.values.disable_destructive as boolean | undefined,
    privilege_filter: read.values.privilege_filter as boolean | undefined,
  };
}

/** What an HTTP client asked for with `X-MCP-Toolsets` and `X-MCP-Readonly`. */
export interface SessionNarrowing {
  toolsets?: string[];
  readOnly?: boolean;
}

/** A header value the server cannot use; the message says what is allowed. */
export class NarrowingError extends Error {
  /** @param message What was wrong and what is allowed. */
  constructor(message: string) {
    super(message);
    this.name = "NarrowingError";
  }
}

/**
 * Reads the narrowing headers of an HTTP request that opens a session. Throws
 * {@link NarrowingError} for a value that is not understood (rather than ignoring a client's
 * request to be restricted).
 */
export function narrowingFromHeaders(headers: Headers): SessionNarrowing {
  const out: SessionNarrowing = {};
  const sets = headers.get("x-mcp-toolsets");
  if (sets !== null) {
    const names = splitToolsets(sets);
    try {
      resolveToolsets(names);
    } catch (e) {
      throw new NarrowingError(`X-MCP-Toolsets: ${(e as Error).message}`);
    }
    out.toolsets = names.length ? names : ["none"];
  }
  const ro = headers.get("x-mcp-readonly");
  if (ro !== null) {
    const v = ro.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(v)) out.readOnly = true;
    else if (["0", "false", "no", "off"].includes(v)) out.readOnly = false;
    else {
      throw new NarrowingError(
        `X-MCP-Readonly: expected true or false (also 1/0, yes/no, on/off), got "${ro}"`,
      );
    }
  }
  return out;
}

/**
 * Applies a session's narrowing: toolsets only shrink (names not enabled are ignored), and
 * read-only can only be turned on. Returns the toolsets and whether the session is read-only.
 */
export function narrowListing(
  listing: ListingSettings,
  readOnly: boolean,
  narrowing: SessionNarrowing | undefined,
): { listing: ListingSettings; readOnly: boolean } {
  if (!narrowing) return { listing, readOnly };
  const toolsets = narrowing.toolsets
    ? (narrowing.toolsets[0] === "none" && narrowing.toolsets.length === 1
      ? new Set<Toolset>()
      : narrowToolsets(listing.toolsets, narrowing.toolsets))
    : listing.toolsets;
  return {
    listing: { ...listing, toolsets },
    readOnly: readOnly || narrowing.readOnly === true,
  };
}
