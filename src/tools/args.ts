/**
 * Argument schemas shared by the catalogue, each with an error that says what is allowed.
 *
 * @module
 */
import { z } from "zod";
import { show } from "./params.ts";

/** A strict argument object: an unknown argument is refused with the list of known ones. */
export function args<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape).join(", ") || "(none)";
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `Unknown argument ${
          issue.keys.map((k) => `"${k}"`).join(", ")
        }: this tool accepts ${known}`
        : undefined,
  });
}

/**
 * A strict object inside the arguments (`net`, `rule`): an unknown field is refused with the
 * list of the ones `name` accepts, as {@link args} does at the top level. The listed schema
 * does not say `additionalProperties: false`, so the refusal has to name what is allowed.
 */
export function fieldsOf<S extends z.ZodRawShape>(name: string, shape: S) {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `Unknown field ${issue.keys.map((k) => `"${k}"`).join(", ")}: ${name} accepts ${known}`
        : undefined,
  });
}

/** Shared parameters live in `params.ts`; re-exported for the tools that import them here. */
export {
  cursor,
  limit,
  node as nodeName,
  nodeOfGuest as optionalNode,
  show,
  vmid,
} from "./params.ts";

/** A storage ID as Proxmox allows it. */
export const storageId = () =>
  z.string().regex(/^[a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]$/, {
    error: (i) => `storage must be a storage ID like "local-lvm", got ${show(i.input)}`,
  });

/** A choice among `values`, with the allowed values named in the error. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, name: string) {
  return z.enum(values, {
    error: (i) => `${name} must be one of ${values.join(", ")}, got ${show(i.input)}`,
  });
}

/** A selection of output fields among `values`. */
export function fieldList<const T extends readonly [string, ...string[]]>(values: T) {
  return z.array(oneOf(values, "each field"))
    .min(1, { error: `fields must name at least one of ${values.join(", ")}` })
    .optional()
    .describe(`Return only these fields: ${values.join(",")}`);
}
