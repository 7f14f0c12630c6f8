/**
 * Access tools: what the configured identity may do.
 *
 * @module
 */
import { z } from "zod";
import { args } from "./args.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";

const permissions = defineTool({
  name: "my_permissions",
  title: "My permissions",
  description:
    "Privileges of the identity this server uses, per ACL path (e.g. /vms/105: VM.PowerMgmt). Use before a change to see if it is allowed.",
  toolset: "access",
  privilege: "none (own permissions)",
  annotations: READ_ONLY,
  input: args({
    path: z.string().regex(/^\/[\w\-./]*$/, { error: "path must be an ACL path such as /vms/105" })
      .optional().describe("Only this ACL path, e.g. /vms/105"),
  }),
  output: z.object({
    paths: z.array(z.object({ path: z.string(), privileges: z.array(z.string()) })),
  }),
  async handler(a, ctx) {
    const raw = z.record(z.string(), z.record(z.string(), z.unknown())).parse(
      await ctx.api.get("/access/permissions", a.path ? { path: a.path } : undefined, {
        signal: ctx.signal,
      }),
    );
    const paths = Object.entries(raw)
      .map(([path, privs]) => ({ path, privileges: Object.keys(privs).sort() }))
      .sort((x, y) => x.path.localeCompare(y.path));
    const text = paths.map((p) => `${p.path}: ${p.privileges.join(",") || "(none)"}`).join("\n");
    return { structured: { paths }, text: text || "no privileges" };
  },
});

/** The access toolset. */
export const accessTools: Tool[] = [permissions];
