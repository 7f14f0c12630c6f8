/**
 * Checks a response value against the return schema the official PVE API declares
 * (`apiSchema.paths[template][method].returns`): required keys, JSON types (PVE booleans may be
 * 0/1), enums, nested objects and arrays.
 *
 * @module
 */
import {
  apiSchema,
  type HttpMethod,
  type ParamSchema,
} from "../../src/proxmox/api_schema/schema.ts";

/** The declared return schema of a method; throws when the schema has none. */
export function returnsOf(template: string, method: HttpMethod = "GET"): ParamSchema {
  const returns = apiSchema.paths[template]?.[method]?.returns;
  if (!returns) throw new Error(`No return schema for ${method} ${template}`);
  return returns;
}

function propFor(props: Record<string, ParamSchema>, key: string): ParamSchema | undefined {
  if (Object.hasOwn(props, key)) return props[key];
  const m = /^([a-z_-]+?)(\d+)$/i.exec(key);
  return m ? props[`${m[1]}[n]`] : undefined;
}

/** Lists every mismatch between `value` and `schema` (empty when it conforms). */
export function shapeProblems(value: unknown, schema: ParamSchema, at = "data"): string[] {
  const problems: string[] = [];
  const type = schema.type;
  if (type === undefined || type === "any") return problems;
  if (value === null || value === undefined) {
    return type === "null" ? problems : [`${at}: expected ${type}, got ${value}`];
  }
  switch (type) {
    case "null":
      return [`${at}: expected null, got ${JSON.stringify(value)}`];
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) {
        problems.push(`${at}: expected integer, got ${JSON.stringify(value)}`);
      }
      break;
    case "number":
      if (typeof value !== "number") {
        problems.push(`${at}: expected number, got ${JSON.stringify(value)}`);
      }
      break;
    case "boolean":
      if (typeof value !== "boolean" && value !== 0 && value !== 1) {
        problems.push(`${at}: expected boolean (or 0/1), got ${JSON.stringify(value)}`);
      }
      break;
    case "string":
      if (typeof value !== "string") {
        problems.push(`${at}: expected string, got ${JSON.stringify(value)}`);
      } else if (schema.enum && !schema.enum.includes(value)) {
        problems.push(`${at}: '${value}' not in enum ${schema.enum.join("|")}`);
      }
      break;
    case "array":
      if (!Array.isArray(value)) problems.push(`${at}: expected array`);
      else if (schema.items) {
        value.forEach((item, i) =>
          problems.push(...shapeProblems(item, schema.items!, `${at}[${i}]`))
        );
      }
      break;
    case "object": {
      if (typeof value !== "object" || Array.isArray(value)) {
        problems.push(`${at}: expected object`);
        break;
      }
      const obj = value as Record<string, unknown>;
      const props = schema.properties ?? {};
      for (const [key, prop] of Object.entries(props)) {
        if (key.endsWith("[n]") || prop.optional) continue;
        if (!(key in obj)) problems.push(`${at}.${key}: required key missing`);
      }
      for (const [key, v] of Object.entries(obj)) {
        const prop = propFor(props, key);
        if (prop) problems.push(...shapeProblems(v, prop, `${at}.${key}`));
        else if (schema.additionalProperties === 0 && Object.keys(props).length) {
          problems.push(`${at}.${key}: not allowed by the schema`);
        }
      }
      break;
    }
  }
  return problems;
}
