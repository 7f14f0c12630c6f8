/**
 * The universal read tools: `api_search` finds methods of the official API schema, `api_read`
 * sends any GET after checking it against the schema, with a bounded answer.
 *
 * @module
 */
import { z } from "zod";
import type { HttpMethod } from "../proxmox/api_schema/schema.ts";
import { apiParamsArg, apiPathArg, checkApiRequest, schemaModules } from "./api_request.ts";
import { args, cursor, limit, oneOf } from "./args.ts";
import { boundAnswer } from "./bounded.ts";
import { paginate, queryKey } from "./paginate.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";

const METHODS = ["GET", "POST", "PUT", "DELETE"] as const;

/** Optional parameters are listed in full when a page has at most this many methods. */
const DETAIL_UP_TO = 3;

const search = defineTool({
  name: "api_search",
  title: "Search the Proxmox API",
  description:
    "Find Proxmox API methods by words ('firewall rules vm') or path prefix ('/cluster/ha'): " +
    "method, path, typed parameters, whether it changes anything. Then api_read or api_change.",
  toolset: "api",
  privilege: "none (reads the embedded schema)",
  annotations: { ...READ_ONLY, openWorldHint: false },
  input: args({
    query: z.string().max(200).describe("Words, or a path prefix starting with /"),
    method: oneOf(METHODS, "method").optional().describe("Only this HTTP method"),
    limit: limit(10, 50),
    cursor: cursor(),
  }),
  output: z.object({
    items: z.array(z.looseObject({ method: z.string(), path: z.string(), changes: z.boolean() })),
    total: z.number(),
    more: z.number(),
    next_cursor: z.string().optional(),
  }),
  async handler(a) {
    const s = await schemaModules();
    const hits = s.searchMethods(a.query, a.method as HttpMethod | undefined);
    const page = paginate(hits, { limit: a.limit, cursor: a.cursor, query: queryKey(a) });
    const detail = page.items.length <= DETAIL_UP_TO;
    const items = page.items.map((h) => {
      const { required, optional } = s.methodParams(h.schema);
      return {
        method: h.method,
        path: h.path,
        changes: s.changesCluster(h.method),
        name: h.schema.name,
        about: s.familySummary(h.path),
        required,
        optional: detail ? optional : Object.keys(optional),
        returns: s.describeReturns(h.schema),
      };
    });
    const lines = items.map((i) => {
      const req = Object.entries(i.required).map(([k, v]) => `${k} (${v})`).join("; ");
      const opt = Array.isArray(i.optional)
        ? i.optional.join(", ")
        : Object.entries(i.optional).map(([k, v]) => `${k} (${v})`).join("; ");
      return `${i.method} ${i.path}${i.changes ? " [changes]" : ""}${
        i.about ? ` - ${i.about}` : ""
      }\n  required: ${req || "none"}\n  optional: ${opt || "none"}\n  returns: ${i.returns}`;
    });
    const more = page.next_cursor
      ? `\n${page.more} more: pass cursor="${page.next_cursor}"${
        detail ? "" : "; narrow the query for full parameter details"
      }`
      : "";
    const text = page.total
      ? `${page.total} methods match.\n${lines.join("\n")}${more}`
      : `No API method matches "${a.query}": try other words (vm, container, firewall, ha, ceph, storage, ...) or a path prefix such as /nodes/{node}/qemu`;
    return {
      structured: { items, total: page.total, more: page.more, next_cursor: page.next_cursor },
      text,
    };
  },
});

const read = defineTool({
  name: "api_read",
  title: "Read any Proxmox API path",
  description:
    "GET any Proxmox API path no other tool covers, checked against the official schema " +
    "first. Lists are paged; big answers are cut with a hint. Paths: api_search.",
  toolset: "api",
  privilege: "whatever the path needs (see api_search)",
  annotations: READ_ONLY,
  input: args({
    path: apiPathArg(),
    params: apiParamsArg(),
    fields: z.array(z.string().max(100)).min(1).max(50).optional().describe(
      "Keep only these keys (of each list item)",
    ),
    limit: limit(50, 500),
    cursor: cursor(),
  }),
  output: z.looseObject({
    path: z.string(),
    data: z.unknown(),
    total: z.number().optional(),
    next_cursor: z.string().optional(),
    hint: z.string().optional(),
  }),
  async handler(a, ctx) {
    const req = await checkApiRequest("GET", a.path, a.params ?? {});
    const data = await ctx.api.get(req.path, req.params, { signal: ctx.signal });
    const bounded = boundAnswer(data, {
      fields: a.fields,
      limit: a.limit,
      cursor: a.cursor,
      query: queryKey({ path: req.shown, params: a.params ?? {} }),
    });
    const structured = { path: req.shown, ...bounded };
    const count = bounded.total !== undefined
      ? `${(bounded.data as unknown[]).length} of ${bounded.total} items`
      : "";
    const next = bounded.next_cursor ? ` (next_cursor="${bounded.next_cursor}")` : "";
    const text = `GET ${req.shown}${count ? `: ${count}` : ""}${next}\n${
      JSON.stringify(bounded.data)
    }${bounded.hint ? `\n${bounded.hint}` : ""}`;
    return { structured, text };
  },
});

/** The universal read tools. */
export const apiReadTools: Tool[] = [search, read];
