/**
 * The catalogue as the serving process sees it before any tool is called: each row's
 * metadata and `tools/list` entry, read from `manifest.json` (generated from the catalogue by
 * `deno task manifest`), and the row itself imported from its module on first use. Start-up
 * thus loads no tool code and converts no zod schema.
 *
 * @module
 */
import data from "./manifest.json" with { type: "json" };
import { TOOL_MODULES } from "./manifest_modules.ts";
import type { Tool, ToolMeta } from "./tool.ts";

/** One catalogue row as listed, without its code. */
export interface ToolEntry extends ToolMeta {
  /** The input schema as `tools/list` shows it (JSON Schema). */
  inputSchema: Record<string, unknown>;
  /** The output schema as `tools/list` shows it (JSON Schema). */
  outputSchema: Record<string, unknown>;
  /** File in src/tools/ whose exports hold the row. */
  module: string;
}

/** The whole manifest file. */
export interface ToolManifest {
  tools: ToolEntry[];
}

/** Every catalogue row's entry, in catalogue order. */
export const manifest: ToolManifest = data as ToolManifest;

const loaded = new Map<string, Promise<Tool>>();
const ready = new Set<string>();

/** Whether the row named `name` has been imported. */
export function toolLoaded(name: string): boolean {
  return ready.has(name);
}

/** The catalogue row of `entry`, imported from its module once. */
export function loadTool(entry: ToolEntry): Promise<Tool> {
  let tool = loaded.get(entry.name);
  if (!tool) {
    tool = importRow(entry);
    loaded.set(entry.name, tool);
    tool.then(() => ready.add(entry.name), () => {});
    tool.catch(() => loaded.delete(entry.name));
  }
  return tool;
}

async function importRow(entry: ToolEntry): Promise<Tool> {
  const load = TOOL_MODULES[entry.module];
  if (!load) throw new Error(`Cannot load tool ${entry.name}: no module ${entry.module}`);
  const mod = await load();
  for (const value of Object.values(mod)) {
    if (!Array.isArray(value)) continue;
    const row = value.find((t) => (t as Tool | undefined)?.name === entry.name);
    if (row) return row as Tool;
  }
  throw new Error(`Cannot load tool ${entry.name}: ${entry.module} does not export it`);
}
