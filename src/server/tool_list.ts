/**
 * The `tools/list` answer, rendered once per server instead of on every request, and without
 * what the SDK repeats for every tool that no client needs: the `$schema` line of each JSON
 * Schema and the default `execution: {taskSupport: "forbidden"}`. Together about 9% of the
 * catalogue's size, i.e. of the context every model spends on the tool list. Output schemas
 * are listed one level deep (each top-level field with its type; nested lists and objects by type
 * only): what a client needs to read `structuredContent`, at about a third of the bytes. Input
 * schemas leave out bounds that say nothing (a VMID's 999999999, a 2048-character cap on a URL)
 * and `additionalProperties: false`; annotations leave out hints equal to the MCP defaults. The
 * server still validates arguments (strictly: unknown ones are refused) and answers against the
 * full schemas.
 *
 * @module
 */
import type { Tool, ToolMeta } from "../tools/tool.ts";
import {
  listedAnnotations,
  type ListFilter,
  toolListAnswer,
  type ToolSource,
} from "./tool_source.ts";
import { MUTATION_STATUS } from "../safety/change.ts";
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
 * An output schema one level deep: top-level fields keep their type (and enum) only, and a
 * nested list or object is named with an empty schema (`"nodes": {}`): its name says what it
 * holds, and its items are not described anyway. Units are stated once in the server's
 * instructions (bytes, fractions of cores), not per field, and so are the values of a change's
 * `status` ({@link MUTATION_STATUS}), which every changing tool answers.
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

/** JSON Schema types of a nested value: listed as `{}`. */
const NESTED = new Set(["array", "object"]);

function shallow(p: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  if (p.type !== undefined) out.type = p.type;
  else if (Array.isArray(p.anyOf)) {
    const types = (p.anyOf as JsonSchema[]).map((x) => x.type).filter((x) => x !== undefined);
    if (types.length === (p.anyOf as unknown[]).length) out.type = [...new Set(types.flat())];
  }
  if ([out.type].flat().some((t) => NESTED.has(t as string))) return {};
  if (Array.isArray(p.enum) && !sameValues(p.enum, MUTATION_STATUS.options)) out.enum = p.enum;
  return out;
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/**
 * Upper bounds that tell a model nothing (any realistic value is below them): a VMID's, and a
 * guest's 4 TiB of memory (in MiB) and 128 TiB disk (in GiB).
 */
const UNINFORMATIVE_MAXIMUMS = new Set([999999999, Number.MAX_SAFE_INTEGER, 4_194_304, 131_072]);

/**
 * Length caps from this many characters on guard the server (a URL's 2048, a comment's 256, a
 * user name's 64): no real value comes near them. Shorter ones (a snapshot name's 40) are
 * limits a real value can hit, and stay.
 */
const GUARD_MAX_LENGTH = 64;

/**
 * An input schema as listed: without uninformative bounds and length caps, and without
 * `additionalProperties: false` (at any depth). The server still validates the full, strict
 * schema: an unknown argument is refused with the list of the ones the tool accepts.
 */
export function listedInput(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === "additionalProperties" && value === false) continue;
    if (key === "propertyNames" && isStringType(value)) continue;
    // A `format` (email) says what its generated pattern spells out at length.
    if (key === "pattern" && typeof schema.format === "string") continue;
    if (key === "maximum" && UNINFORMATIVE_MAXIMUMS.has(value as number)) continue;
    if (key === "maxLength" && (value as number) >= GUARD_MAX_LENGTH) continue;
    if (key === "properties" && value && typeof value === "object") {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, listedInput(v)]),
      );
    } else if (key === "items" && value && typeof value === "object" && !Array.isArray(value)) {
      // The list itself is described ("Guests to add"); its items need no words of their own.
      const { description: _said, ...item } = value as JsonSchema;
      out.items = listedInput(item);
    } else if ((key === "anyOf" || key === "oneOf") && Array.isArray(value)) {
      out[key] = (value as JsonSchema[]).map(listedInput);
    } else out[key] = value;
  }
  return out;
}

/** `{type: "string"}`: what every JSON object key is anyway. */
function isStringType(value: unknown): boolean {
  const v = value as JsonSchema;
  return typeof v === "object" && v !== null && v.type === "string" && Object.keys(v).length === 1;
}

/** Renders the `tools/list` entries of `tools`, in order. */
export function renderToolList(tools: readonly Tool[]): ListedTool[] {
  return tools.map((t) => ({
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: listedInput(jsonSchema(t.input, "input")),
    outputSchema: compactOutputSchema(jsonSchema(t.output, "output")),
    annotations: listedAnnotations(t.annotations),
  }));
}

/** Makes `server` answer `tools/list` with {@link toolListAnswer}. */
export function serveToolList(
  server: McpServer,
  source: ToolSource,
  rows: readonly ToolMeta[],
  filter?: ListFilter,
): void {
  const answer = toolListAnswer(source, rows, filter);
  server.server.setRequestHandler(
    ListToolsRequestSchema,
    async () => (await answer()) as { tools: (ListedTool & { inputSchema: { type: "object" } })[] },
  );
}
