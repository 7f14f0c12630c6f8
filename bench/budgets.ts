/**
 * The byte budgets of `tools/list` (issue 10): the answer a client gets with the default
 * toolsets (changes allowed, and read-only) and with every toolset on, rendered exactly as the
 * server renders it, against the targets. Also counts the schema methods the universal tools
 * reach.
 *
 * @module
 */
import { allMethods } from "../src/proxmox/api_schema/search.ts";
import { allowedInModes } from "../src/safety/mode.ts";
import { renderToolList } from "../src/server/tool_list.ts";
import { catalogue } from "../src/tools/catalogue.ts";
import { resolveToolsets } from "../src/tools/toolsets.ts";
import type { TargetCheck } from "./report.ts";

/** One measured listing. */
export interface ListingSize {
  label: string;
  tools: number;
  bytes: number;
  targetBytes: number;
}

/** Bytes of the `tools/list` result for `toolsets` (undefined: the default) and `readOnly`. */
export function listingBytes(toolsets: string[] | undefined, readOnly: boolean): {
  tools: number;
  bytes: number;
} {
  const on = resolveToolsets(toolsets);
  const tools = catalogue.filter((t) => on.has(t.toolset) && allowedInModes(t, { readOnly }));
  const json = JSON.stringify({ tools: renderToolList(tools) });
  return { tools: tools.length, bytes: new TextEncoder().encode(json).length };
}

/** The budgets of issue 10, in bytes (1 KB read as 1000 bytes, so they hold either way). */
export const LISTING_BUDGETS = {
  defaultChanges: 32_000,
  defaultReadOnly: 20_000,
  all: 80_000,
} as const;

/** The three listings of the budget. */
export function measureListings(): ListingSize[] {
  return [
    {
      label: "default toolsets, changes allowed",
      ...listingBytes(undefined, false),
      targetBytes: LISTING_BUDGETS.defaultChanges,
    },
    {
      label: "default toolsets, read-only",
      ...listingBytes(undefined, true),
      targetBytes: LISTING_BUDGETS.defaultReadOnly,
    },
    {
      label: "every toolset on",
      ...listingBytes(["all"], false),
      targetBytes: LISTING_BUDGETS.all,
    },
  ];
}

/** `31,838 bytes (31.1 KiB)`: bytes, and KiB of 1024 bytes. */
export function showBytes(bytes: number): string {
  return `${bytes.toLocaleString("en-US")} bytes (${(bytes / 1024).toFixed(1)} KiB)`;
}

/** The budget checks, printed with the other targets. */
export function budgetChecks(sizes: readonly ListingSize[] = measureListings()): TargetCheck[] {
  const out: TargetCheck[] = sizes.map((s) => ({
    target: `tools/list, ${s.label} <= ${s.targetBytes.toLocaleString("en-US")} bytes`,
    value: `${showBytes(s.bytes)}, ${s.tools} tools`,
    met: s.bytes <= s.targetBytes,
  }));
  const methods = allMethods();
  const writes = methods.filter((m) => m.method !== "GET").length;
  out.push({
    target: "every method of the official schema reachable (api_read + api_change)",
    value: `${methods.length} methods: ${
      methods.length - writes
    } GET via api_read, ${writes} via api_change`,
    met: methods.length === 649,
  });
  return out;
}
