/**
 * Privilege-aware listing: the privileges of the identity this server uses, read from
 * `/access/permissions` on the first `tools/list` (once per process: every session shares
 * them), and which catalogue rows they rule out. A row names its privilege in words
 * (`VM.PowerMgmt on /vms/{vmid}`); it is hidden when the identity holds none of the privileges
 * it names on any path. Rows that need none, or that also work for the caller's own objects,
 * are never hidden. Read again after a call is refused with 403 and when the answer is older
 * than {@link PRIVILEGES_TTL_MS}; listeners hear when the hidden set changes.
 *
 * @module
 */
import { ProxmoxApiError } from "../proxmox/errors.ts";
import type { ProxmoxApi } from "../tools/context.ts";
import type { ToolMeta } from "../tools/tool.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";

/** How long an answer of `/access/permissions` is used before it is read again. */
export const PRIVILEGES_TTL_MS = 10 * 60_000;

const PRIVILEGE = /\b[A-Z][A-Za-z]+\.[A-Za-z]+(?:\.[A-Za-z*]+)*(?:\.\*)?/g;

/**
 * The privileges a row names, any of which lets it work; empty when the row is never hidden
 * (it needs none, or also works for the caller's own objects).
 */
export function namedPrivileges(privilege: string): string[] {
  const text = privilege.trim();
  if (/^none\b/i.test(text) || /\bown\b/i.test(text) || /^whatever\b/i.test(text)) return [];
  return [...new Set(text.match(PRIVILEGE) ?? [])];
}

/** Whether `held` includes `wanted` (`VM.Config.*` matches any `VM.Config.` privilege). */
function holds(held: ReadonlySet<string>, wanted: string): boolean {
  if (!wanted.endsWith(".*")) return held.has(wanted);
  const prefix = wanted.slice(0, -1);
  for (const p of held) if (p.startsWith(prefix)) return true;
  return false;
}

/** Why each of `tools` is hidden for an identity holding `held` (tool name → privileges). */
export function hiddenTools(
  tools: readonly ToolMeta[],
  held: ReadonlySet<string>,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of tools) {
    const named = namedPrivileges(t.privilege);
    if (named.length && !named.some((p) => holds(held, p))) out.set(t.name, named);
  }
  return out;
}

/** The identity's privileges, shared by every session of the process. */
export class PrivilegeCache {
  #api: ProxmoxApi;
  #clock: Clock;
  #logger: Logger;
  #held?: ReadonlySet<string>;
  #readAt = 0;
  #loading?: Promise<void>;
  #listeners = new Set<() => void>();

  constructor(api: ProxmoxApi, clock: Clock, logger: Logger) {
    this.#api = api;
    this.#clock = clock;
    this.#logger = logger;
  }

  /** The privileges read so far; undefined before the first read (or when it failed). */
  get held(): ReadonlySet<string> | undefined {
    return this.#held;
  }

  /** Reads the privileges if never read or stale; never throws (a failure hides nothing). */
  async ensure(): Promise<void> {
    const stale = this.#held !== undefined &&
      this.#clock.now() - this.#readAt >= PRIVILEGES_TTL_MS;
    if (this.#held !== undefined && !stale) return;
    await this.refresh();
  }

  /** Reads the privileges again; tells the listeners when they changed. */
  refresh(): Promise<void> {
    this.#loading ??= this.#read().finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  async #read(): Promise<void> {
    let raw: unknown;
    try {
      raw = await this.#api.get("/access/permissions", undefined, {
        signal: AbortSignal.timeout(10_000),
      });
    } catch (e) {
      this.#logger.log("warning", "Cannot read /access/permissions: listing every tool", {
        error: e instanceof Error ? e.message : String(e),
      });
      return;
    }
    const held = new Set<string>();
    if (raw && typeof raw === "object") {
      for (const privs of Object.values(raw as Record<string, unknown>)) {
        if (privs && typeof privs === "object") {
          for (const [p, v] of Object.entries(privs)) if (v) held.add(p);
        }
      }
    }
    const before = this.#held;
    this.#held = held;
    this.#readAt = this.#clock.now();
    const changed = before !== undefined &&
      (before.size !== held.size || [...held].some((p) => !before.has(p)));
    if (changed) { for (const listener of this.#listeners) listener(); }
  }

  /** Re-reads after a call was refused for lack of privilege (HTTP 403). */
  noteError(err: unknown): void {
    if (err instanceof ProxmoxApiError && err.status === 403) void this.refresh();
  }

  /** Calls `listener` whenever the privileges change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
