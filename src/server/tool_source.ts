/**
 * Where a server's tools come from: the generated manifest (the serving process: rows are
 * listed from precomputed JSON and imported on first call), or rows given in memory
 * (`row_source.ts`: tests, and anything that builds a server from its own rows). Also the
 * `tools/list` answer, taken once per set of hidden rows.
 *
 * @module
 */
import { loadTool, manifest, type ToolEntry, toolLoaded } from "../tools/manifest.ts";
import type { Tool, ToolAnnotations, ToolMeta } from "../tools/tool.ts";
import type { ListedTool } from "./tool_list.ts";

/** The rows a server can offer, listed without their code and loaded on demand. */
export interface ToolSource {
  /** Every row's metadata, in catalogue order. */
  readonly rows: readonly ToolMeta[];
  /** The `tools/list` entries of `rows` (a subset of this source's rows), in their order. */
  list(rows: readonly ToolMeta[]): ListedTool[];
  /** The row named `name` with its code; rejects for a name this source does not have. */
  load(name: string): Promise<Tool>;
  /** Whether the code of row `name` is loaded (a call to it imports nothing). */
  loaded(name: string): boolean;
}

/**
 * Annotations as listed: `readOnlyHint` always, `destructiveHint` always on a tool that is not
 * read-only (clients rely on both), and the other hints only where they differ from the MCP
 * defaults (`idempotentHint: false`, `openWorldHint: true`). On a read-only tool the spec gives
 * `destructiveHint` and `idempotentHint` no meaning, so they are left out.
 */
export function listedAnnotations(a: ToolAnnotations): Record<string, boolean> {
  const out: Record<string, boolean> = { readOnlyHint: a.readOnlyHint };
  if (!a.readOnlyHint) {
    out.destructiveHint = a.destructiveHint;
    if (a.idempotentHint) out.idempotentHint = true;
  }
  if (!a.openWorldHint) out.openWorldHint = false;
  return out;
}

/** Listed fields of a manifest entry (what `tools/list` shows). */
function listed(e: ToolEntry): ListedTool {
  return {
    name: e.name,
    title: e.title,
    description: e.description,
    inputSchema: e.inputSchema,
    outputSchema: e.outputSchema,
    annotations: listedAnnotations(e.annotations),
  };
}

let fromManifest: ToolSource | undefined;

/** The whole catalogue, from `src/tools/manifest.json`; rows load from their modules. */
export function catalogueSource(): ToolSource {
  return fromManifest ??= entrySource(manifest.tools);
}

function entrySource(entries: readonly ToolEntry[]): ToolSource {
  const byName = new Map(entries.map((e) => [e.name, e]));
  return {
    rows: entries,
    list: (rows) => rows.map((r) => listed(byName.get(r.name)!)),
    load(name) {
      const entry = byName.get(name);
      return entry ? loadTool(entry) : Promise.reject(new Error(`No tool ${name}`));
    },
    loaded: (name) => toolLoaded(name),
  };
}

/** Rows left out of the list at the moment (privilege-aware listing). */
export interface ListFilter {
  /** Brings what `hidden` knows up to date (e.g. reads the identity's privileges). */
  ensure(): Promise<void>;
  hidden(): ReadonlySet<string>;
}

/**
 * The `tools/list` answer: the entries of `rows` from `source` minus what `filter` hides,
 * taken once per hidden set and reused after.
 */
export function toolListAnswer(
  source: ToolSource,
  rows: readonly ToolMeta[],
  filter?: ListFilter,
): () => Promise<{ tools: ListedTool[] }> {
  let rendered: { key: string; list: { tools: ListedTool[] } } | undefined;
  return async () => {
    await filter?.ensure();
    const hidden = filter?.hidden() ?? new Set<string>();
    const key = [...hidden].sort().join(",");
    if (rendered?.key !== key) {
      rendered = { key, list: { tools: source.list(rows.filter((t) => !hidden.has(t.name))) } };
    }
    return rendered.list;
  };
}
