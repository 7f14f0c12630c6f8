/**
 * The `tools/list` answer, rendered once per server instead of on every request, and without
 * what the SDK repeats for every tool that no client needs: the `$schema` line of each JSON
 * Schema and the default `execution: {taskSupport: "forbidden"}`. Together about 9% of the
 * catalogue's size, i.e. of the context every model spends on the tool list. Output schemas
 * are listed one level deep (each top-level field with its type; nested lists and objects by type
 * only): what a client needs to read `structuredContent`, at about a third of the bytes. Input
 * schemas leave out upper bounds that say nothing (a VMID's 999999999). The server still
 * validates arguments and answers against the full schemas.
 *
 * @module
 */
import type { Tool, ToolMeta } from "../tools/tool.ts";
import type { ToolSource } from "./tool_source.ts";
import { ListToolsRequestSchema, type McpServer, toJsonSchemaCompat } from "./sdk.ts";

/** One tool as `tools/list` describes it. */
export interface ListedTool {
  name: string;
  title: string;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown>;
  annotations: Record<string, unknown>;
}

/** JSON Schema of a zod object, without the `$schema` key. */
function jsonSchema(schema: Tool["input"] | Tool["output"], io: "input" | "output") {
  const { $schema: _drop, ...rest } = toJsonSchemaCompat(schema, {
    strictUnions: true,
    pipeStrategy: io,
  });
  return rest as Record<string, unknown> & { type: "object" };
}

type JsonSchema = Record<string, unknown>;

/**
 * An output schema one level deep: top-level fields keep their type (and enum) only. Units are
 * stated once in the server's instructions (bytes, fractions of cores), not per field.
 * `required` and `additionalProperties` are left out: a model reads field names and types from
 * it, and the looser schema still accepts every answer the server validated.
 */
export function compactOutputSchema(schema: JsonSchema): JsonSchema {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  return {
    type: "object",
    properties: Object.fromEntries(
      Object.entries(props).map(([k, v]) => [k, shallow(v)]),
    ),
  };
}

function shallow(p: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  if (p.type !== undefined) out.type = p.type;
  else if (Array.isArray(p.anyOf)) {
    const types = (p.anyOf as JsonSchema[]).map((x) => x.type).filter((x) => x !== undefined);
    if (types.length === (p.anyOf as unknown[]).length) out.type = [...new Set(types.flat())];
  }
  if (Array.isArray(p.enum)) out.enum = p.enum;
  return out;
}

/** Upper bounds that tell a model nothing (any realistic value is below them). */
const UNINFORMATIVE_MAXIMUMS = new Set([999999999, Number.MAX_SAFE_INTEGER]);

/** An input schema without uninformative bounds; the server still validates the full one. */
function listedInput(schema: JsonSchema): JsonSchema {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  return {
    ...schema,
    properties: Object.fromEntries(
      Object.entries(props).map(([k, v]) => {
        if (!UNINFORMATIVE_MAXIMUMS.has(v.maximum as number)) return [k, v];
        const { maximum: _drop, ...rest } = v;
        return [k, rest];
      }),
    ),
  };
}

/** Renders the `tools/list` entries of `tools`, in order. */
export function renderToolList(tools: readonly Tool[]): ListedTool[] {
  return tools.map((t) => ({
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: listedInput(jsonSchema(t.input, "input")),
    outputSchema: compactOutputSchema(jsonSchema(t.output, "output")),
    annotations: { ...t.annotations },
  }));
}

/** Rows left out of the list at the moment (privilege-aware listing). */
export interface ListFilter {
  /** Brings what `hidden` knows up to date (e.g. reads the identity's privileges). */
  ensure(): Promise<void>;
  hidden(): ReadonlySet<string>;
}

/**
 * Makes `server` answer `tools/list` with the entries of `rows` from `source` minus what
 * `filter` hides, taken once per hidden set and reused after.
 */
export function serveToolList(
  server: McpServer,
  source: ToolSource,
  rows: readonly ToolMeta[],
  filter?: ListFilter,
): void {
  let rendered: { key: string; list: { tools: ListedTool[] } } | undefined;
  server.server.setRequestHandler(ListToolsRequestSchema, async () => {
    await filter?.ensure();
    const hidden = filter?.hidden() ?? new Set<string>();
    const key = [...hidden].sort().join(",");
    if (rendered?.key !== key) {
      rendered = { key, list: { tools: source.list(rows.filter((t) => !hidden.has(t.name))) } };
    }
    return rendered.list as { tools: (ListedTool & { inputSchema: { type: "object" } })[] };
  });
}
