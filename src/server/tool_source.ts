/**
 * Where a server's tools come from: the generated manifest (the serving process: rows are
 * listed from precomputed JSON and imported on first call), or rows given in memory (tests,
 * and anything that builds a server from its own rows).
 *
 * @module
 */
import { loadTool, manifest, type ToolEntry } from "../tools/manifest.ts";
import type { Tool, ToolMeta } from "../tools/tool.ts";
import { listedAnnotations, type ListedTool, renderToolList } from "./tool_list.ts";

/** The rows a server can offer, listed without their code and loaded on demand. */
export interface ToolSource {
  /** Every row's metadata, in catalogue order. */
  readonly rows: readonly ToolMeta[];
  /** The `tools/list` entries of `rows` (a subset of this source's rows), in their order. */
  list(rows: readonly ToolMeta[]): ListedTool[];
  /** The row named `name` with its code; rejects for a name this source does not have. */
  load(name: string): Promise<Tool>;
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
  };
}

/** A source of rows already in memory; their schemas are rendered when first listed. */
export function rowSource(tools: readonly Tool[]): ToolSource {
  const byName = new Map(tools.map((t) => [t.name, t]));
  const rendered = new Map<string, ListedTool>();
  return {
    rows: tools,
    list(rows) {
      const missing = rows.filter((r) => !rendered.has(r.name)).map((r) => byName.get(r.name)!);
      renderToolList(missing).forEach((l) => rendered.set(l.name, l));
      return rows.map((r) => rendered.get(r.name)!);
    },
    load(name) {
      const tool = byName.get(name);
      return tool ? Promise.resolve(tool) : Promise.reject(new Error(`No tool ${name}`));
    },
  };
}
