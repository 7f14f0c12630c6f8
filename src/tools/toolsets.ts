/**
 * Toolset selection: which groups of catalogue rows a server offers. A filter applied once when
 * the server is built (config `toolsets`, `PROXMOX_TOOLSETS`, `--toolsets`, or narrowed per HTTP
 * session), like read-only mode and `disable_destructive`.
 *
 * @module
 */
import type { Tool, Toolset } from "./tool.ts";
import { TOOLSETS } from "./tool.ts";

/**
 * The everyday set, on when nothing is configured (and named by {@link DEFAULT_WORD}). Every
 * other toolset (`provision` with the tools that create guests or fetch images, and the ones
 * later added to {@link TOOLSETS}) is off until named.
 */
export const DEFAULT_TOOLSETS: readonly Toolset[] = [
  "cluster",
  "nodes",
  "guests",
  "snapshots",
  "backups",
  "storage",
  "tasks",
  "api",
];

/** The word that selects every toolset. */
export const ALL_TOOLSETS = "all";

/** The word that selects the everyday set, e.g. `default,provision`. */
export const DEFAULT_WORD = "default";

/** A toolset name (or `all`) that does not exist; the message lists the known ones. */
export class ToolsetError extends Error {
  /** @param message What was wrong and which names are allowed. */
  constructor(message: string) {
    super(message);
    this.name = "ToolsetError";
  }
}

/** What each toolset name accepts, in words (config docs and errors). */
export function allowedToolsets(): string {
  return `"${ALL_TOOLSETS}", "${DEFAULT_WORD}" (the everyday set) or toolset names among ${
    TOOLSETS.join(", ")
  }`;
}

/** Why `name` is not a toolset name (or `all`, `default`); undefined when it is one. */
export function toolsetProblem(name: string): string | undefined {
  if (name === ALL_TOOLSETS || name === DEFAULT_WORD) return undefined;
  if ((TOOLSETS as readonly string[]).includes(name)) return undefined;
  return `unknown toolset "${name}": use ${allowedToolsets()}`;
}

/**
 * Resolves a list of names (`["guests", "tasks"]`, `["all"]`, `["default", "provision"]`) to
 * toolsets; undefined or an empty list means the default set, and `default` adds it to the
 * others named. Throws {@link ToolsetError} for an unknown name.
 */
export function resolveToolsets(names: readonly string[] | undefined): ReadonlySet<Toolset> {
  if (!names || names.length === 0) return new Set(DEFAULT_TOOLSETS);
  const out = new Set<Toolset>();
  for (const raw of names) {
    const name = raw.trim().toLowerCase();
    if (name === "") continue;
    const problem = toolsetProblem(name);
    if (problem) throw new ToolsetError(problem[0].toUpperCase() + problem.slice(1));
    if (name === ALL_TOOLSETS) return new Set(TOOLSETS);
    if (name === DEFAULT_WORD) DEFAULT_TOOLSETS.forEach((t) => out.add(t));
    else out.add(name as Toolset);
  }
  return out.size ? out : new Set(DEFAULT_TOOLSETS);
}

/** Splits `"guests, tasks"` into names. */
export function splitToolsets(text: string): string[] {
  return text.split(/[,;\s]+/).map((s) => s.trim()).filter(Boolean);
}

/** Narrows `enabled` to `requested` (never widens): names not enabled are ignored. */
export function narrowToolsets(
  enabled: ReadonlySet<Toolset>,
  requested: readonly string[],
): ReadonlySet<Toolset> {
  const wanted = resolveToolsets(requested);
  return new Set([...enabled].filter((t) => wanted.has(t)));
}

/** The rows of `tools` whose toolset is enabled. */
export function selectTools<T extends Pick<Tool, "toolset">>(
  tools: readonly T[],
  enabled: ReadonlySet<Toolset>,
): T[] {
  return tools.filter((t) => enabled.has(t.toolset));
}
