/**
 * Preflight for access changes: who this server is, what it may do, and the two refusals —
 * removing the server's own privileges, and handing out more privileges than it has.
 *
 * @module
 */
import { z } from "zod";
import { type ToolContext, ToolInputError } from "./context.ts";

/** Privileges per ACL path, as `GET /access/permissions` answers. */
export type PrivMap = Map<string, Set<string>>;

const Perms = z.record(z.string(), z.record(z.string(), z.unknown()));

/** Reads the effective privileges of `userid` (a user or `user@realm!token`), or of the caller. */
export async function privilegesOf(ctx: ToolContext, userid?: string): Promise<PrivMap> {
  const raw = Perms.parse(
    await ctx.api.get("/access/permissions", userid ? { userid } : undefined, {
      signal: ctx.signal,
    }) ?? {},
  );
  return new Map(Object.entries(raw).map(([p, privs]) => [p, new Set(Object.keys(privs))]));
}

/** The privileges `map` grants on `path`: the entry of the longest ACL path above it. */
export function privsOn(map: PrivMap, path: string): Set<string> {
  let best: string | undefined;
  for (const p of map.keys()) {
    const covers = p === "/" || path === p || path.startsWith(`${p}/`);
    if (covers && (best === undefined || p.length > best.length)) best = p;
  }
  return best === undefined ? new Set() : map.get(best)!;
}

/** Privileges in `wanted` on `path` that `server` lacks there. */
export function missingOn(server: PrivMap, path: string, wanted: Iterable<string>): string[] {
  const have = privsOn(server, path);
  return [...wanted].filter((p) => !have.has(p)).sort();
}

/** This server's identity, split; refuses when unknown. */
export function self(ctx: ToolContext): { principal: string; user: string; token?: string } {
  const principal = ctx.api.identity;
  if (!principal) {
    throw new ToolInputError(
      "Refused: this server's own identity is unknown, so an access change can't be checked against it",
    );
  }
  const [user, token] = principal.split("!");
  return { principal, user, token };
}

/** Refuses when `map` (someone's privileges) holds anything this server does not. */
export function refuseMoreThanSelf(server: PrivMap, other: PrivMap, what: string): void {
  const extra: string[] = [];
  for (const [path, privs] of other) {
    const missing = missingOn(server, path, privs);
    if (missing.length) extra.push(`${path}: ${missing.join(", ")}`);
  }
  if (extra.length) {
    throw new ToolInputError(
      `Refused: ${what} would have privileges this server does not have (${extra.join("; ")}). ` +
        "Use privilege separation (privsep: true) and grant only what is needed",
    );
  }
}
