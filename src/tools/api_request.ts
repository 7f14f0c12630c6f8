/**
 * Checks a request of the universal API tools (`api_read`, `api_change`) against the embedded
 * official schema before anything is sent: a path that matches nothing answers with the closest
 * valid paths, a method the path does not take with the ones it does, a bad parameter with what
 * is allowed. The schema is loaded on first use, so it stays out of startup.
 *
 * @module
 */
import { z } from "zod";
import type { HttpMethod } from "../proxmox/api_schema/schema.ts";
import type { RouteMatch } from "../proxmox/api_schema/validate.ts";
import { show } from "./args.ts";
import { type ApiParams, ToolInputError } from "./context.ts";

/** The schema modules, imported on first use. */
export function schemaModules() {
  return schema ??= Promise.all([
    import("../proxmox/api_schema/validate.ts"),
    import("../proxmox/api_schema/search.ts"),
  ]).then(([validate, search]) => ({ ...validate, ...search }));
}
let schema:
  | Promise<
    & typeof import("../proxmox/api_schema/validate.ts")
    & typeof import("../proxmox/api_schema/search.ts")
  >
  | undefined;

/** An API path as the tools take it: `/nodes/pve1/qemu/100/config`. */
export const apiPathArg = () =>
  z.string().min(1).max(1000, { error: "path is too long (at most 1000 characters)" })
    .describe("API path after /api2/json, e.g. /nodes/pve1/qemu/100/config");

/** API parameters as the tools take them. */
export const apiParamsArg = () =>
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]))
    .optional().describe("API parameters by name (see api_search)");

/** A request that passed the schema: the path re-encoded, the schema template, the route. */
export interface CheckedRequest {
  method: HttpMethod;
  /** Path with every segment URL-encoded, as it will be sent. */
  path: string;
  /** Path as given, decoded (for messages). */
  shown: string;
  route: RouteMatch;
  params: ApiParams;
}

/**
 * Normalises `path` (leading `/`, optional `/api2/json` prefix, segments re-encoded) and checks
 * `method path params` against the schema. Throws {@link ToolInputError} naming what is wrong
 * and what is allowed; nothing is sent.
 */
export async function checkApiRequest(
  method: HttpMethod,
  rawPath: string,
  params: Record<string, string | number | boolean | string[]> = {},
): Promise<CheckedRequest> {
  const s = await schemaModules();
  if (rawPath.includes("?") || rawPath.includes("#")) {
    throw new ToolInputError(
      `Invalid path ${show(rawPath)}: put query parameters in params, not in the path`,
    );
  }
  let p = rawPath.trim();
  if (!p.startsWith("/")) p = `/${p}`;
  p = p.replace(/^\/api2\/json(?=\/|$)/, "") || "/";
  const segs = p.split("/").filter(Boolean).map((seg) => {
    try {
      return decodeURIComponent(seg);
    } catch {
      return seg;
    }
  });
  if (segs.some((seg) => seg === "." || seg === "..")) {
    throw new ToolInputError(
      `Invalid path ${show(rawPath)}: "." and ".." segments are not allowed`,
    );
  }
  const shown = `/${segs.join("/")}`;
  const path = `/${segs.map(encodeURIComponent).join("/")}`;
  const route = s.matchRoute(method, path);
  if ("error" in route) {
    if (route.error === "method_not_allowed") {
      const takes = s.methodsOf(path);
      const tool = (m: HttpMethod) => (m === "GET" ? "api_read" : `api_change (method ${m})`);
      throw new ToolInputError(
        `${method} is not a method of ${shown}: it takes ${takes.join(", ")}; use ${
          takes.map(tool).join(" or ")
        }`,
      );
    }
    const near = s.closestPaths(shown, method);
    throw new ToolInputError(
      `No API path matches ${shown} for ${method}. Closest valid paths: ${near.join(", ")}. ` +
        "api_search finds paths by words or prefix",
    );
  }
  const all = { ...params, ...route.pathParams };
  const result = s.validateParams(route.schema, all);
  if (!result.ok) {
    const props = route.schema.parameters.properties;
    const known = Object.keys(props).join(", ") || "(none)";
    const problems = Object.entries(result.errors).map(([name, why]) => {
      const prop = s.lookupParam(route.schema, name);
      if (!prop) return `unknown parameter "${name}" (this method takes ${known})`;
      const where = name in route.pathParams ? " (from the path)" : "";
      return `${name}${where}: ${why}; allowed: ${s.describeParam(prop)}`;
    });
    throw new ToolInputError(
      `Refused ${method} ${route.template} before sending: the official API schema rejects ` +
        `the parameters: ${problems.join("; ")}`,
    );
  }
  const sent: ApiParams = {};
  for (const [k, v] of Object.entries(params)) if (!(k in route.pathParams)) sent[k] = v;
  return { method, path, shown, route, params: sent };
}
