/**
 * Completion values for prompt arguments and resource template variables: VMIDs, node names
 * and storage IDs, read from the inventory cache (no extra API call while it is fresh).
 *
 * Every matching value is returned in order; the SDK sends the first 100 of them with the
 * total and `hasMore`, so a client can tell the user to type more. A completion that cannot
 * read the cluster answers with no values rather than an error (it runs on keystrokes).
 *
 * @module
 */
import type { Inventory } from "../tools/inventory.ts";
import type { Logger } from "../util/log.ts";

/** Completion sources backed by the inventory. */
export class Completions {
  #inventory: Inventory;
  #logger: Logger;

  /** @param logger Where failed completions are noted (they answer with no values). */
  constructor(inventory: Inventory, logger: Logger) {
    this.#inventory = inventory;
    this.#logger = logger;
  }

  /** VMIDs of guests starting with `prefix`, ascending. */
  vmids(prefix: string | undefined): Promise<string[]> {
    return this.#safely("vmid", async () => {
      const snapshot = await this.#inventory.resources();
      const all = snapshot.memo(
        "completion:vmids",
        () =>
          snapshot.lookup("type", "vm").flatMap((r) =>
            r.vmid === undefined ? [] : [String(r.vmid)]
          ),
      );
      const p = (prefix ?? "").trim();
      return p ? all.filter((v) => v.startsWith(p)) : [...all];
    });
  }

  /** Node names starting with `prefix` (case-insensitive), sorted. */
  nodes(prefix: string | undefined): Promise<string[]> {
    return this.#safely("node", async () => {
      const p = (prefix ?? "").trim().toLowerCase();
      return (await this.#inventory.nodes())
        .map((n) => n.node)
        .filter((n) => n.toLowerCase().startsWith(p))
        .sort();
    });
  }

  /** Storage IDs starting with `prefix` (case-insensitive), on `node` when given, sorted. */
  storages(prefix: string | undefined, node?: string): Promise<string[]> {
    return this.#safely("storage", async () => {
      const p = (prefix ?? "").trim().toLowerCase();
      const snapshot = await this.#inventory.resources();
      const ids = new Set<string>();
      for (const r of snapshot.lookup("type", "storage")) {
        if (!r.storage || (node && r.node !== node)) continue;
        if (r.storage.toLowerCase().startsWith(p)) ids.add(r.storage);
      }
      return [...ids].sort();
    });
  }

  async #safely(what: string, fn: () => Promise<string[]>): Promise<string[]> {
    try {
      return await fn();
    } catch (err) {
      this.#logger.log("info", `Completion of ${what} failed`, {
        error: err instanceof Error ? err.message : String(err),
      });
      return [];
    }
  }
}
