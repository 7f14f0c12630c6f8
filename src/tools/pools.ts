/**
 * `pool_list`: resource pools with their comment and members (guests and storages). Reads
 * members with `GET /pools?poolid=` (PVE 8.1 and later) and falls back to the older
 * `GET /pools/{poolid}` when that parameter is refused.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import { ProxmoxApiError } from "../proxmox/errors.ts";
import { num } from "../proxmox/resources.ts";
import { args } from "./args.ts";
import type { ToolContext } from "./context.ts";
import { ToolInputError } from "./context.ts";
import { table } from "./format.ts";
import { rows } from "./listing.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";

const Member = z.object({
  id: z.string().optional(),
  type: z.string(),
  vmid: num.optional(),
  name: z.string().optional(),
  node: z.string().optional(),
  status: z.string().optional(),
  storage: z.string().optional(),
}).loose();
const Members = z.array(Member).default([]);

async function membersOf(ctx: ToolContext, poolid: string) {
  const opts = { signal: ctx.signal };
  try {
    const list = z.array(z.object({ members: Members }).loose())
      .parse(await ctx.api.get("/pools", { poolid }, opts));
    return list[0]?.members ?? [];
  } catch (err) {
    if (!(err instanceof ProxmoxApiError) || err.status !== 400) throw err;
    const one = z.object({ members: Members }).loose()
      .parse(await ctx.api.get(apiPath`/pools/${poolid}`, undefined, opts));
    return one.members;
  }
}

const poolList = defineTool({
  name: "pool_list",
  title: "Resource pools",
  description:
    "Resource pools with comment and members: guests (VMID, name, node, status) and storages.",
  toolset: "cluster",
  privilege: "Pool.Audit on /pool/{poolid}",
  annotations: READ_ONLY,
  input: args({
    poolid: z.string().regex(/^[A-Za-z0-9.\-_]+$/, {
      error: "poolid must be a pool name such as prod (letters, digits, . - _)",
    }).optional().describe("Only this pool"),
  }),
  output: z.object({
    pools: rows("poolid, comment, guests (vmid, name, type, node, status), storages"),
  }),
  async handler(a, ctx) {
    const all = z.array(z.object({ poolid: z.string(), comment: z.string().optional() }).loose())
      .parse(await ctx.api.get("/pools", undefined, { signal: ctx.signal }));
    if (a.poolid && !all.some((p) => p.poolid === a.poolid)) {
      throw new ToolInputError(
        `Unknown pool "${a.poolid}": pools are ${
          all.map((p) => p.poolid).sort().join(", ") || "(none)"
        }`,
      );
    }
    const chosen = all.filter((p) => !a.poolid || p.poolid === a.poolid)
      .sort((x, y) => x.poolid.localeCompare(y.poolid));
    const pools = await Promise.all(chosen.map(async (p) => {
      const members = await membersOf(ctx, p.poolid);
      return {
        poolid: p.poolid,
        comment: p.comment?.trim() || undefined,
        guests: members.filter((m) =>
          (m.type === "qemu" || m.type === "lxc") && m.vmid !== undefined
        )
          .map((m) => ({
            vmid: m.vmid!,
            name: m.name,
            type: m.type,
            node: m.node,
            status: m.status,
          }))
          .sort((x, y) => x.vmid - y.vmid),
        storages: [
          ...new Set(
            members.filter((m) => m.type === "storage" && m.storage).map((m) => m.storage!),
          ),
        ]
          .sort(),
      };
    }));
    const text = pools.length
      ? pools.map((p) =>
        `${p.poolid}${p.comment ? ` (${p.comment})` : ""}: ${p.guests.length} guests, storages ${
          p.storages.join(", ") || "none"
        }\n` + (p.guests.length ? table(p.guests, ["vmid", "name", "type", "node", "status"]) : "")
      ).join("\n")
      : "no resource pools";
    return { structured: { pools }, text };
  },
});

/** The pool listing tool. */
export const poolTools: Tool[] = [poolList];
