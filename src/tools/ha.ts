/**
 * `ha_status`: quorum, the HA manager and each node's LRM, every HA resource with its requested
 * and current state and node, and how placement is constrained: PVE 9 HA rules (node and
 * resource affinity), or groups on PVE 8 and older (which answer 501 for `/cluster/ha/rules`).
 *
 * @module
 */
import { z } from "zod";
import { ProxmoxApiError } from "../proxmox/errors.ts";
import { flag, num } from "../proxmox/resources.ts";
import { args } from "./args.ts";
import type { ToolContext } from "./context.ts";
import { pairs, table } from "./format.ts";
import { rows } from "./listing.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";

const StatusEntry = z.object({
  id: z.string(),
  type: z.string(),
  node: z.string().optional(),
  status: z.string().optional(),
  quorate: flag.optional(),
  sid: z.string().optional(),
  state: z.string().optional(),
  crm_state: z.string().optional(),
  request_state: z.string().optional(),
}).loose();

const Resource = z.object({
  sid: z.string(),
  state: z.string().optional(),
  group: z.string().optional(),
  comment: z.string().optional(),
  max_restart: num.optional(),
  max_relocate: num.optional(),
  failback: flag.optional(),
}).loose();

const Rule = z.object({
  rule: z.string(),
  type: z.string(),
  resources: z.string().optional(),
  nodes: z.string().optional(),
  strict: flag.optional(),
  affinity: z.string().optional(),
  disable: flag.optional(),
  comment: z.string().optional(),
}).loose();

const Group = z.object({
  group: z.string(),
  nodes: z.string().optional(),
  restricted: flag.optional(),
  nofailback: flag.optional(),
  comment: z.string().optional(),
}).loose();

const list = (text?: string) => (text ?? "").split(/[,;\s]+/).filter(Boolean);

/** Reads an endpoint that older PVE versions do not have; undefined when the method is absent. */
async function optional<T>(ctx: ToolContext, path: string, schema: z.ZodType<T>) {
  try {
    return schema.parse(await ctx.api.get(path, undefined, { signal: ctx.signal }));
  } catch (err) {
    if (err instanceof ProxmoxApiError && (err.status === 501 || err.status === 404)) {
      return undefined;
    }
    throw err;
  }
}

const BAD_STATES = new Set(["error", "fence", "recovery", "freeze"]);

const haStatus = defineTool({
  name: "ha_status",
  title: "HA status",
  description:
    "High availability: quorum, manager and LRM state per node, every HA resource with requested/current state and node, and affinity rules (PVE 9) or groups (older).",
  toolset: "ha",
  privilege: "Sys.Audit on /",
  annotations: READ_ONLY,
  input: args({}),
  output: z.object({
    configured: z.boolean(),
    quorate: z.boolean().optional(),
    manager: z.object({ node: z.string().optional(), status: z.string().optional() }).optional(),
    lrms: rows("node, mode (active, idle, dead...), status"),
    resources: rows(
      "sid, vmid, name, node, requested, state (CRM), group, rules, max_restart, max_relocate, comment",
    ),
    placement: z.enum(["rules", "groups"]).describe("rules on PVE 9, groups before"),
    rules: rows("rule, type, resources, nodes, strict, affinity, enabled, comment").optional(),
    groups: rows("group, nodes, restricted, nofailback, comment").optional(),
    problems: z.array(z.string()),
  }),
  async handler(_a, ctx) {
    const opts = { signal: ctx.signal };
    const [status, resources, rules, groups, snapshot] = await Promise.all([
      ctx.api.get("/cluster/ha/status/current", undefined, opts)
        .then((d) => z.array(StatusEntry).parse(d)),
      ctx.api.get("/cluster/ha/resources", undefined, opts).then((d) => z.array(Resource).parse(d)),
      optional(ctx, "/cluster/ha/rules", z.array(Rule)),
      optional(ctx, "/cluster/ha/groups", z.array(Group)),
      ctx.inventory.resources(ctx.signal),
    ]);
    const quorum = status.find((s) => s.type === "quorum");
    const master = status.find((s) => s.type === "master");
    const lrms = status.filter((s) => s.type === "lrm").map((s) => ({
      node: s.node ?? s.id.replace(/^lrm:/, ""),
      mode: /\((\w[^,)]*)/.exec(s.status ?? "")?.[1] ?? "unknown",
      status: s.status,
    })).sort((x, y) => x.node.localeCompare(y.node));
    const services = new Map(
      status.filter((s) => s.type === "service" && s.sid).map((s) => [s.sid!, s]),
    );
    const ruleOut = rules?.map((r) => ({
      rule: r.rule,
      type: r.type,
      resources: list(r.resources),
      nodes: r.nodes === undefined ? undefined : list(r.nodes),
      strict: r.strict,
      affinity: r.affinity,
      enabled: !r.disable,
      comment: r.comment,
    }));
    const resOut = resources.map((r) => {
      const s = services.get(r.sid);
      const vmid = Number(r.sid.split(":")[1]);
      const guest = snapshot.guest(vmid);
      return {
        sid: r.sid,
        vmid,
        name: guest?.name,
        node: s?.node ?? guest?.node,
        requested: s?.request_state ?? r.state,
        state: s?.crm_state ?? s?.state,
        group: r.group,
        rules: (ruleOut ?? []).filter((x) => x.resources.includes(r.sid)).map((x) => x.rule),
        max_restart: r.max_restart,
        max_relocate: r.max_relocate,
        comment: r.comment,
      };
    }).sort((x, y) => x.vmid - y.vmid);
    const problems = [
      ...(quorum && !quorum.quorate ? ["cluster is not quorate: HA cannot act"] : []),
      ...lrms.filter((l) => /dead|unknown|old timestamp/.test(l.mode))
        .map((l) => `LRM on ${l.node} is ${l.mode}`),
      ...resOut.filter((r) => r.state && BAD_STATES.has(r.state)).map((r) =>
        `${r.sid} (${r.name ?? "?"}) is in state ${r.state} on ${r.node ?? "?"}${
          r.state === "error" ? ": fix the cause, set it to disabled, then back to started" : ""
        }`
      ),
    ];
    const configured = resources.length > 0 || (ruleOut?.length ?? 0) > 0 ||
      (groups?.length ?? 0) > 0;
    const out = {
      configured,
      quorate: quorum ? Boolean(quorum.quorate) : undefined,
      manager: master ? { node: master.node, status: master.status } : undefined,
      lrms,
      resources: resOut,
      placement: rules ? "rules" as const : "groups" as const,
      rules: ruleOut,
      groups: groups?.map((g) => ({
        group: g.group,
        nodes: list(g.nodes),
        restricted: Boolean(g.restricted),
        nofailback: Boolean(g.nofailback),
        comment: g.comment,
      })),
      problems,
    };
    if (!configured) {
      const text = "HA is not configured: no HA resources, rules or groups";
      return { structured: out, text };
    }
    const text = [
      pairs({
        quorum: out.quorate === undefined ? undefined : out.quorate ? "OK" : "NOT quorate",
        manager: master?.status,
        lrm: lrms.map((l) => `${l.node} ${l.mode}`).join(", "),
      }),
      problems.length ? `problems:\n  ${problems.join("\n  ")}` : "no HA problems",
      table(resOut, [
        "sid",
        "name",
        "node",
        "requested",
        "state",
        ["constraints", (r) => [...(r.group ? [`group ${r.group}`] : []), ...r.rules].join(", ")],
      ]),
      ...(ruleOut ?? []).map((r) =>
        `rule ${r.rule} (${r.type}${r.enabled ? "" : ", disabled"}): ${r.resources.join(",")}${
          r.nodes ? ` on ${r.nodes.join(",")}${r.strict ? " strict" : ""}` : ""
        }${r.affinity ? ` ${r.affinity === "negative" ? "apart" : "together"}` : ""}`
      ),
      ...(out.groups ?? []).map((g) =>
        `group ${g.group}: ${g.nodes.join(",")}${g.restricted ? " restricted" : ""}${
          g.nofailback ? " nofailback" : ""
        }`
      ),
    ].join("\n");
    return { structured: out, text };
  },
});

/** The HA toolset. */
export const haTools: Tool[] = [haStatus];
