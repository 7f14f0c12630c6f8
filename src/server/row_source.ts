/**
 * A {@link ToolSource} of rows already in memory (tests, and anything that builds a server
 * from its own rows): their JSON Schemas are rendered when first listed.
 *
 * @module
 */
import type { Tool } from "../tools/tool.ts";
import { type ListedTool, renderToolList } from "./tool_list.ts";
import type { ToolSource } from "./tool_source.ts";

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
    loaded: () => true,
    load(name) {
      const tool = byName.get(name);
      return tool ? Promise.resolve(tool) : Promise.reject(new Error(`No tool ${name}`));
    },
  };
}
