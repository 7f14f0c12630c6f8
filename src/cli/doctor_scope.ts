/**
 * The `doctor` check of the scope's name lists: entries of `allowed_nodes`, `denied_nodes`,
 * `allowed_pools` and `denied_pools` that name no node or pool of the cluster. Proxmox compares
 * node names and pool IDs exactly; a deny entry that differs only in case still denies (the scope
 * fails safe), an allow entry that differs only in case allows nothing.
 *
 * @module
 */
import { z } from "zod";
import type { Config } from "../config/schema.ts";

type ListField = "allowed_nodes" | "denied_nodes" | "allowed_pools" | "denied_pools";

/** One line per list entry naming no existing node (`nodes`) or pool (`pools`). */
export function scopeNameProblems(
  config: Partial<Pick<Config, ListField>>,
  nodes: readonly string[],
  pools: readonly string[] | undefined,
): string[] {
  const out: string[] = [];
  const check = (field: ListField, what: "node" | "pool", known: readonly string[]) => {
    for (const entry of config[field] ?? []) {
      if (known.includes(entry)) continue;
      const near = known.find((k) => k.toLowerCase() === entry.toLowerCase());
      const names = `${what}s are ${known.join(", ") || "none"}`;
      const effect = field.startsWith("denied")
        ? near
          ? `it still denies ${near} (deny entries match any case), but write "${near}"`
          : "it denies nothing; remove it or fix the name"
        : near
        ? `it allows nothing (allow entries match exactly, as Proxmox compares names): write "${near}"`
        : "it allows nothing; remove it or fix the name";
      out.push(
        `scope: ${field} entry "${entry}" names no ${what} of this cluster (${names}): ${effect}`,
      );
    }
  };
  check("allowed_nodes", "node", nodes);
  check("denied_nodes", "node", nodes);
  if (pools) {
    check("allowed_pools", "pool", pools);
    check("denied_pools", "pool", pools);
  }
  return out;
}

/** The part of the API client the check reads with. */
export interface PoolReader {
  get<T = unknown>(path: string): Promise<T>;
}

/**
 * Reads the pools (only when a pool list is configured) and returns the problems of
 * {@link scopeNameProblems}; a failed pool read is one problem line.
 */
export async function checkScopeNames(
  config: Partial<Pick<Config, ListField>>,
  api: PoolReader,
  nodes: readonly string[],
): Promise<string[]> {
  let pools: string[] | undefined;
  const problems: string[] = [];
  if (config.allowed_pools || config.denied_pools) {
    try {
      pools = z.array(z.object({ poolid: z.string() }).loose()).parse(await api.get("/pools"))
        .map((p) => p.poolid);
    } catch (e) {
      problems.push(
        `scope: the pools could not be read to check allowed_pools/denied_pools (${
          e instanceof Error ? e.message : String(e)
        }): grant Pool.Audit, or check the pool names by hand`,
      );
    }
  }
  return [...problems, ...scopeNameProblems(config, nodes, pools)];
}
