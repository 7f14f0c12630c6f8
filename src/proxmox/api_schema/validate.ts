/**
 * Checks a (method, path, parameters) triple against the official Proxmox VE API schema
 * the way `pveproxy` does, with the same per-parameter messages.
 *
 * @module
 */
import { apiSchema, type HttpMethod, type MethodSchema, type ParamSchema } from "./schema.ts";
import { checkNamedFormat } from "./formats.ts";

/** A parameter value as it arrives on the wire (strings) or from JSON. */
export type ParamValue = string | number | boolean | string[];

/** A concrete path matched to its schema template. */
export interface RouteMatch {
  template: string;
  method: HttpMethod;
  schema: MethodSchema;
  pathParams: Record<string, string>;
}

/** Outcome of validating parameters; `values` holds the coerced values. */
export interface ValidationResult {
  ok: boolean;
  errors: Record<string, string>;
  values: Record<string, unknown>;
}

/** Outcome of validating a whole request. */
export type RequestCheck =
  | { ok: true; route: RouteMatch; values: Record<string, unknown> }
  | { ok: false; status: 400 | 501; message: string; errors?: Record<string, string> };

interface TrieNode {
  literal: Map<string, TrieNode>;
  param?: { name: string; node: TrieNode };
  template?: string;
}

let trie: TrieNode | undefined;

function buildTrie(): TrieNode {
  const root: TrieNode = { literal: new Map() };
  for (const template of Object.keys(apiSchema.paths)) {
    let node = root;
    for (const seg of template.split("/").filter(Boolean)) {
      const m = /^\{(.+)\}$/.exec(seg);
      if (m) {
        node.param ??= { name: m[1], node: { literal: new Map() } };
        node = node.param.node;
      } else {
        let next = node.literal.get(seg);
        if (!next) node.literal.set(seg, next = { literal: new Map() });
        node = next;
      }
    }
    node.template = template;
  }
  return root;
}

function findTemplate(
  node: TrieNode,
  segs: string[],
  i: number,
  params: Record<string, string>,
): string | undefined {
  if (i === segs.length) return node.template;
  const lit = node.literal.get(segs[i]);
  if (lit) {
    const found = findTemplate(lit, segs, i + 1, params);
    if (found) return found;
  }
  if (node.param) {
    const found = findTemplate(node.param.node, segs, i + 1, params);
    if (found) {
      params[node.param.name] = segs[i];
      return found;
    }
  }
  return undefined;
}

/** Finds the schema template and method for a concrete API path such as `/nodes/pve1/status`. */
export function matchRoute(
  method: string,
  path: string,
): RouteMatch | { error: "not_found" | "method_not_allowed"; message: string } {
  trie ??= buildTrie();
  const segs = path.split("/").filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  const pathParams: Record<string, string> = {};
  const template = findTemplate(trie, segs, 0, pathParams);
  const message = `Method '${method} ${path}' not implemented`;
  if (!template) return { error: "not_found", message };
  const schema = apiSchema.paths[template][method as HttpMethod];
  if (!schema) return { error: "method_not_allowed", message };
  return { template, method: method as HttpMethod, schema, pathParams };
}

/** Finds the schema entry for a parameter name, expanding indexed names (`net0` → `net[n]`). */
export function lookupParam(
  schema: MethodSchema,
  name: string,
): ParamSchema | undefined {
  const props = schema.parameters.properties;
  if (Object.hasOwn(props, name)) return props[name];
  const m = /^([a-z_-]+?)(\d+)$/i.exec(name);
  if (m && Object.hasOwn(props, `${m[1]}[n]`)) return props[`${m[1]}[n]`];
  return undefined;
}

const NOT_DEFINED =
  "property is not defined in schema and the schema does not allow additional properties";
const MISSING = "property is missing and it is not optional";

/** Validates parameters (path parameters included) against one method's schema. */
export function validateParams(
  schema: MethodSchema,
  params: Record<string, ParamValue | undefined>,
): ValidationResult {
  const errors: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(params)) {
    if (raw === undefined) continue;
    const prop = lookupParam(schema, name);
    if (!prop) {
      if (!schema.parameters.additionalProperties) errors[name] = NOT_DEFINED;
      else values[name] = raw;
      continue;
    }
    const checked = checkValue(prop, raw, name);
    if (checked.error !== undefined) errors[name] = checked.error;
    else values[name] = checked.value;
  }
  for (const [name, prop] of Object.entries(schema.parameters.properties)) {
    if (prop.optional || name.endsWith("[n]")) continue;
    if (params[name] === undefined && !(name in errors)) errors[name] = MISSING;
  }
  for (const [name, prop] of Object.entries(schema.parameters.properties)) {
    if (prop.requires && values[name] !== undefined && params[prop.requires] === undefined) {
      errors[prop.requires] ??= `parameter is required by '${name}'`;
    }
  }
  return { ok: Object.keys(errors).length === 0, errors, values };
}

/** Validates a whole request the way pveproxy does: route first, then parameters. */
export function validateRequest(
  method: string,
  path: string,
  params: Record<string, ParamValue | undefined>,
): RequestCheck {
  const route = matchRoute(method, path);
  if ("error" in route) return { ok: false, status: 501, message: route.message };
  const all: Record<string, ParamValue | undefined> = { ...params, ...route.pathParams };
  const result = validateParams(route.schema, all);
  if (!result.ok) {
    return {
      ok: false,
      status: 400,
      message: "Parameter verification failed.",
      errors: result.errors,
    };
  }
  return { ok: true, route, values: result.values };
}

type Checked = { value: unknown; error?: undefined } | { value?: undefined; error: string };

/** Checks one value against its schema and coerces it (`"1"` → 1 for integers). */
export function checkValue(prop: ParamSchema, raw: unknown, name = ""): Checked {
  if (prop.type === "array") {
    const list = Array.isArray(raw) ? raw : [raw];
    const out: unknown[] = [];
    for (const item of list) {
      const c: Checked = prop.items ? checkValue(prop.items, item, name) : { value: item };
      if (c.error !== undefined) return c;
      out.push(c.value);
    }
    return { value: out };
  }
  if (Array.isArray(raw)) {
    if (raw.length !== 1) return { error: `type check ('${prop.type}') failed - got ARRAY` };
    raw = raw[0];
  }
  switch (prop.type) {
    case "integer":
    case "number": {
      const text = String(raw).trim();
      const re = prop.type === "integer" ? /^-?\d+$/ : /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;
      if (typeof raw === "boolean" || !re.test(text)) {
        return { error: `type check ('${prop.type}') failed - got '${String(raw)}'` };
      }
      const n = Number(text);
      if (prop.minimum !== undefined && n < prop.minimum) {
        return { error: `value must have a minimum value of ${prop.minimum}` };
      }
      if (prop.maximum !== undefined && n > prop.maximum) {
        return { error: `value must have a maximum value of ${prop.maximum}` };
      }
      if (prop.enum && !prop.enum.map(String).includes(text)) return enumError(text, prop.enum);
      if (typeof prop.format === "string") {
        const fe = checkNamedFormat(prop.format, text);
        if (fe) return { error: `invalid format - ${fe}` };
      }
      return { value: n };
    }
    case "boolean": {
      const text = String(raw).toLowerCase();
      if (raw === true || /^(1|true|yes|on)$/.test(text)) return { value: 1 };
      if (raw === false || /^(0|false|no|off)$/.test(text)) return { value: 0 };
      return { error: `type check ('boolean') failed - got '${String(raw)}'` };
    }
    case "object":
      return typeof raw === "object" && raw !== null
        ? { value: raw }
        : { error: `type check ('object') failed - got '${String(raw)}'` };
    default:
      return checkString(prop, String(raw), name);
  }
}

function enumError(value: string, allowed: string[]): Checked {
  return {
    error: `value '${value}' does not have a value in the enumeration '${allowed.join(", ")}'`,
  };
}

function checkString(prop: ParamSchema, value: string, name: string): Checked {
  if (prop.minLength !== undefined && value.length < prop.minLength) {
    return { error: `value must be at least ${prop.minLength} characters long` };
  }
  if (prop.maxLength !== undefined && value.length > prop.maxLength) {
    return { error: `value may only be ${prop.maxLength} characters long` };
  }
  if (prop.enum && !prop.enum.includes(value)) return enumError(value, prop.enum);
  if (prop.pattern && compilePattern(prop.pattern)?.test(value) === false) {
    return { error: "value does not match the regex pattern" };
  }
  if (typeof prop.format === "string") {
    const fe = checkNamedFormat(prop.format, value);
    if (fe) return { error: `invalid format - ${fe}` };
  } else if (prop.format) {
    const fe = checkPropertyString(prop.format, value, name);
    if (fe) return { error: `invalid format - ${fe}` };
  }
  return { value };
}

/** Splits a property string (`virtio=AA:..,bridge=vmbr0`) honouring double-quoted values. */
export function splitPropertyString(text: string): string[] {
  const parts: string[] = [];
  let cur = "";
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    if (ch === "," && !quoted) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

/** Parses a property string into its keys, resolving default keys and key aliases. */
export function parsePropertyString(
  format: Record<string, ParamSchema>,
  text: string,
): { values: Record<string, string>; error?: string } {
  const values: Record<string, string> = {};
  const defaultKey = Object.entries(format).find(([, s]) => s.default_key)?.[0];
  for (const part of splitPropertyString(text)) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    let key = eq < 0 ? undefined : part.slice(0, eq).trim();
    let value = eq < 0 ? part : part.slice(eq + 1);
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      value = value.slice(1, -1);
    }
    if (key === undefined) {
      if (!defaultKey) {
        return { values, error: `value without key, but schema does not define a default key` };
      }
      key = defaultKey;
    }
    let schema = format[key];
    if (schema?.alias) {
      if (schema.keyAlias) {
        if (values[schema.keyAlias] !== undefined) {
          return {
            values,
            error: `duplicate key in comma-separated list property: ${schema.keyAlias}`,
          };
        }
        values[schema.keyAlias] = key;
      }
      key = schema.alias;
      schema = format[key];
    }
    if (!schema) return { values, error: `unknown key '${key}'` };
    if (values[key] !== undefined) {
      return { values, error: `duplicate key in comma-separated list property: ${key}` };
    }
    values[key] = value;
  }
  return { values };
}

function checkPropertyString(
  format: Record<string, ParamSchema>,
  text: string,
  name: string,
): string | undefined {
  const { values, error } = parsePropertyString(format, text);
  if (error) return error;
  const problems: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const c = checkValue(format[key], value, `${name}.${key}`);
    if (c.error !== undefined) problems.push(`${name ? name + "." : ""}${key}: ${c.error}`);
  }
  for (const [key, schema] of Object.entries(format)) {
    if (
      !schema.optional && !schema.alias && schema.default === undefined && values[key] === undefined
    ) {
      problems.push(`${name ? name + "." : ""}${key}: ${MISSING}`);
    }
  }
  return problems.length ? `format error: ${problems.join("; ")}` : undefined;
}

const patterns = new Map<string, RegExp | undefined>();

/**
 * Compiles a Perl pattern from the schema as an anchored JS RegExp: `(?^:` groups become plain
 * groups, `(?^i:` makes the whole pattern case-insensitive, atomic groups become plain groups.
 * A pattern JS cannot express is skipped (undefined), never a crash.
 */
export function compilePattern(pattern: string): RegExp | undefined {
  if (patterns.has(pattern)) return patterns.get(pattern);
  let flags = "";
  const source = pattern
    .replace(/\(\?\^([a-z]*):/g, (_m, f: string) => {
      if (f.includes("i")) flags = "i";
      return "(?:";
    })
    .replace(/\(\?>/g, "(?:");
  let re: RegExp | undefined;
  try {
    re = new RegExp(`^(?:${source})$`, flags);
  } catch {
    re = undefined;
  }
  patterns.set(pattern, re);
  return re;
}
