/**
 * Derives the structural facts of the official Proxmox VE API schema into
 * `src/proxmox/api_schema/pve-api.json`.
 *
 * Usage: `deno task schema [path/to/pve-api-schema.json]` (default `../shared/pve-api/pve-api-schema.json`).
 *
 * Kept: paths, methods, parameter names, types, formats, enums, ranges, lengths, patterns,
 * required flags, defaults, return shapes and permission checks. Dropped: every description.
 *
 * @module
 */

/** A node of the official schema tree. */
interface SourceNode {
  path: string;
  info?: Record<string, SourceMethod>;
  children?: SourceNode[];
}
interface SourceMethod {
  method: string;
  name?: string;
  parameters?: {
    properties?: Record<string, Record<string, unknown>>;
    additionalProperties?: number;
  };
  returns?: Record<string, unknown>;
  permissions?: Record<string, unknown>;
  protected?: number;
  proxyto?: string;
  allowtoken?: number;
}

const KEEP = [
  "type",
  "enum",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "pattern",
  "optional",
  "default",
  "default_key",
  "alias",
  "keyAlias",
  "requires",
] as const;

function slimSchema(schema: unknown): unknown {
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) return schema;
  const src = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of KEEP) if (key in src) out[key] = src[key];
  if (typeof src.format === "string") out.format = src.format;
  else if (src.format && typeof src.format === "object") {
    out.format = mapValues(src.format as Record<string, unknown>, slimSchema);
  }
  if (src.items) out.items = slimSchema(src.items);
  if (src.properties && typeof src.properties === "object") {
    out.properties = mapValues(src.properties as Record<string, unknown>, slimSchema);
  }
  if (src.additionalProperties !== undefined) out.additionalProperties = src.additionalProperties;
  return out;
}

function mapValues(obj: Record<string, unknown>, f: (v: unknown) => unknown) {
  return Object.fromEntries(
    Object.keys(obj).sort().map((k) => [k, f(obj[k])]),
  );
}

function slimMethod(m: SourceMethod) {
  const out: Record<string, unknown> = {};
  if (m.name) out.name = m.name;
  out.parameters = {
    ...(m.parameters?.additionalProperties ? { additionalProperties: 1 } : {}),
    properties: mapValues(m.parameters?.properties ?? {}, slimSchema),
  };
  if (m.returns) out.returns = slimSchema(m.returns);
  if (m.permissions) {
    const { check, user } = m.permissions as { check?: unknown; user?: unknown };
    out.permissions = { ...(check ? { check } : {}), ...(user ? { user } : {}) };
  }
  if (m.protected) out.protected = 1;
  if (m.proxyto) out.proxyto = m.proxyto;
  if (m.allowtoken) out.allowtoken = 1;
  return out;
}

/** Flattens the tree into `{ path: { METHOD: method } }`, sorted by path. */
export function derive(tree: SourceNode[]): Record<string, Record<string, unknown>> {
  const paths: Record<string, Record<string, unknown>> = {};
  const walk = (nodes: SourceNode[]) => {
    for (const node of nodes) {
      const methods = Object.keys(node.info ?? {}).sort();
      if (methods.length) {
        paths[node.path] = Object.fromEntries(methods.map((m) => [m, slimMethod(node.info![m])]));
      }
      if (node.children) walk(node.children);
    }
  };
  walk(tree);
  return Object.fromEntries(Object.keys(paths).sort().map((p) => [p, paths[p]]));
}

if (import.meta.main) {
  const source = Deno.args[0] ??
    new URL("../../shared/pve-api/pve-api-schema.json", import.meta.url).pathname;
  const target = new URL("../src/proxmox/api_schema/pve-api.json", import.meta.url);
  const tree = JSON.parse(await Deno.readTextFile(source)) as SourceNode[];
  const paths = derive(tree);
  const origin = {
    source: "Proxmox VE API schema, pve-docs api-viewer/apidata.js (pve-docs 9.1.3, PVE 9.1)",
    license:
      "AGPL-3.0-or-later (Proxmox Server Solutions GmbH); structural data only, descriptions removed",
    generator: "scripts/gen_api_schema.ts",
  };
  const lines = Object.entries(paths).map(([p, m]) => `${JSON.stringify(p)}:${JSON.stringify(m)}`);
  const text = `{"origin":${JSON.stringify(origin)},\n"paths":{\n${lines.join(",\n")}\n}}\n`;
  await Deno.writeTextFile(target, text);
  const methods = Object.values(paths).reduce((n, m) => n + Object.keys(m).length, 0);
  console.error(`Wrote ${target.pathname}: ${lines.length} paths, ${methods} methods`);
}
