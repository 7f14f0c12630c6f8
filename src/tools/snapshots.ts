/**
 * Snapshots of VMs and containers: list, create, roll back, delete.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import { flag, num } from "../proxmox/resources.ts";
import type { Plan } from "../safety/change.ts";
import { undoPoints } from "../safety/undo.ts";
import { args, oneOf, vmid } from "./args.ts";
import { guestId, optNode } from "./mutation_args.ts";
import { ToolInputError } from "./context.ts";
import { table, time } from "./format.ts";
import { defineMutation } from "./mutation.ts";
import { Facts, type GuestFacts } from "./preflight.ts";
import { defineTool, READ_ONLY, type Tool } from "./tool.ts";

/** A snapshot name as Proxmox allows it. */
export const snapName = () =>
  z.string().max(40, { error: "name: at most 40 characters" }).regex(/^[a-zA-Z][a-zA-Z0-9_-]+$/, {
    error:
      "name must start with a letter, then at least one more letter, digit, '_' or '-' (e.g. pre_upgrade)",
  });

const SnapshotEntry = z.object({
  name: z.string(),
  description: z.string().optional(),
  snaptime: num.optional(),
  vmstate: flag.optional(),
  parent: z.string().optional(),
}).loose();
type SnapshotEntry = z.infer<typeof SnapshotEntry>;

async function listSnapshots(facts: Facts, g: GuestFacts): Promise<SnapshotEntry[]> {
  return z.array(SnapshotEntry).parse(
    await facts.ctx.api.get(`${g.path}/snapshot`, undefined, { signal: facts.ctx.signal }),
  ).filter((s) => s.name !== "current");
}

function label(g: GuestFacts): string {
  return `${g.type} ${g.vmid}${g.name ? ` (${g.name})` : ""}`;
}

const snapshotList = defineTool({
  name: "snapshot_list",
  title: "List snapshots",
  description: "Snapshots of a VM or container, oldest first, with the current one's parent.",
  toolset: "snapshots",
  privilege: "VM.Audit on /vms/{vmid}",
  annotations: READ_ONLY,
  input: args({ vmid: vmid(), node: optNode() }),
  output: z.object({
    vmid: z.number(),
    node: z.string(),
    current_parent: z.string().optional(),
    snapshots: z.array(z.object({
      name: z.string(),
      description: z.string().optional(),
      snaptime: z.number().optional(),
      vmstate: z.boolean().optional(),
      parent: z.string().optional(),
    })),
  }),
  async handler(a, ctx) {
    const g = await ctx.inventory.guest(a.vmid, a.node, ctx.signal);
    const list = z.array(SnapshotEntry).parse(
      await ctx.api.get(apiPath`/nodes/${g.node}/${g.type}/${g.vmid}/snapshot`, undefined, {
        signal: ctx.signal,
      }),
    );
    const current = list.find((s) => s.name === "current");
    const snapshots = list.filter((s) => s.name !== "current")
      .sort((x, y) => (x.snaptime ?? 0) - (y.snaptime ?? 0))
      .map((s) => ({
        name: s.name,
        description: s.description?.trim() || undefined,
        snaptime: s.snaptime,
        vmstate: s.vmstate || undefined,
        parent: s.parent,
      }));
    const text = snapshots.length
      ? table(snapshots, [
        "name",
        ["taken", (s) => time(s.snaptime)],
        ["ram", (s) => (s.vmstate ? "yes" : "")],
        "parent",
        "description",
      ])
      : `No snapshots of ${g.vmid}`;
    return {
      structured: { vmid: g.vmid, node: g.node, current_parent: current?.parent, snapshots },
      text,
    };
  },
});

const snapshot = defineMutation({
  name: "snapshot",
  title: "Create, roll back or delete a snapshot",
  description:
    "Create, roll back to (loses later changes) or delete a snapshot of a guest. Rollback/delete need confirmation.",
  toolset: "snapshots",
  privilege: "VM.Snapshot (rollback: VM.Snapshot.Rollback) on /vms/{vmid}",
  destructive: true,
  input: {
    vmid: guestId(),
    action: oneOf(["create", "rollback", "delete"], "action").describe("What to do"),
    name: snapName().describe("Snapshot name, e.g. pre_upgrade"),
    description: z.string().optional().describe("create: snapshot notes"),
    vmstate: z.boolean().optional().describe("create: include RAM"),
    start: z.boolean().optional().describe("rollback: start afterwards"),
    force: z.boolean().optional().describe("delete: drop from config even if disk cleanup fails"),
  },
  result: { vmid: z.number(), name: z.string() },
  async plan(a, ctx): Promise<Plan> {
    const facts = new Facts(ctx);
    const g = await facts.guest(a.vmid);
    if (g.lock) throw new ToolInputError(`Guest ${g.vmid} is locked (${g.lock})`);
    const misplaced = [
      a.action !== "create" && (a.description !== undefined || a.vmstate !== undefined)
        ? "description/vmstate are for create"
        : "",
      a.action !== "rollback" && a.start !== undefined ? "start is for rollback" : "",
      a.action !== "delete" && a.force !== undefined ? "force is for delete" : "",
    ].filter(Boolean);
    if (misplaced.length) throw new ToolInputError(`Not for ${a.action}: ${misplaced.join("; ")}`);
    const result = { vmid: g.vmid, name: a.name };
    if (a.action === "create") return await planCreate(facts, g, a, result);
    const list = await listSnapshots(facts, g);
    const snap = list.find((s) => s.name === a.name);
    if (!snap) {
      throw new ToolInputError(
        `Snapshot ${a.name} does not exist on ${g.vmid}: snapshots are ${
          list.map((s) => s.name).join(", ") || "none"
        }`,
      );
    }
    const path = `${g.path}/snapshot/${encodeURIComponent(a.name)}`;
    if (a.action === "delete") {
      return {
        summary: `delete snapshot ${a.name} (${time(snap.snaptime)}) of ${label(g)} on ${g.node}`,
        requests: [{ method: "DELETE", path, params: { force: a.force } }],
        destructive: true,
        loses: `snapshot ${a.name} of ${g.vmid}: the guest can no longer be rolled back to it`,
        warnings: [],
        creates: 0,
        result,
      };
    }
    const newer = list.filter((s) => (s.snaptime ?? 0) > (snap.snaptime ?? 0)).map((s) => s.name);
    return {
      summary: `roll back ${label(g)} on ${g.node} to snapshot ${a.name} (${time(snap.snaptime)})`,
      requests: [{ method: "POST", path: `${path}/rollback`, params: { start: a.start } }],
      destructive: true,
      loses: `all changes to disks and configuration of ${g.vmid} since ${time(snap.snaptime)}${
        g.running ? "; the running guest is stopped and its memory state lost" : ""
      }`,
      warnings: newer.length
        ? [
          `newer snapshots exist (${
            newer.join(", ")
          }); some storages refuse rolling back past them`,
        ]
        : [],
      creates: 0,
      result,
      undoPoint: { vmid: g.vmid, why: "rollback", kind: "rollback" },
    };
  },
});

async function planCreate(
  facts: Facts,
  g: GuestFacts,
  a: { name: string; description?: string; vmstate?: boolean },
  result: Record<string, unknown>,
): Promise<Plan> {
  if (g.template) {
    throw new ToolInputError(`Guest ${g.vmid} is a template: templates have no snapshots`);
  }
  if (a.vmstate && g.type === "lxc") throw new ToolInputError("vmstate applies only to VMs");
  if (a.vmstate && !g.running) {
    throw new ToolInputError(`vmstate needs a running VM; ${g.vmid} is ${g.status}`);
  }
  const existing = await listSnapshots(facts, g);
  if (existing.some((s) => s.name === a.name)) {
    throw new ToolInputError(
      `Snapshot ${a.name} already exists on ${g.vmid}: existing are ${
        existing.map((s) => s.name).join(", ")
      }; choose another name`,
    );
  }
  return {
    summary: `snapshot ${label(g)} on ${g.node} as ${a.name}${a.vmstate ? " with RAM" : ""}`,
    requests: [{
      method: "POST",
      path: `${g.path}/snapshot`,
      params: { snapname: a.name, description: a.description, vmstate: a.vmstate },
    }],
    destructive: false,
    warnings: [],
    creates: 0,
    result,
  };
}

const guestUndo = defineMutation({
  name: "guest_undo",
  title: "Roll back to the latest undo point",
  description:
    "Roll a guest back to its latest mcp-undo-* snapshot (taken before risky changes), or to the undo point named. Loses later changes; needs confirmation.",
  toolset: "snapshots",
  privilege: "VM.Snapshot.Rollback on /vms/{vmid}",
  destructive: true,
  input: {
    vmid: guestId(),
    name: z.string().regex(/^mcp-undo-[0-9A-Za-z_-]+$/, {
      error: "name must be an undo point (mcp-undo-…); see snapshot_list",
    }).max(40).optional().describe("Undo point; default the latest"),
    start: z.boolean().optional().describe("Start afterwards"),
  },
  result: { vmid: z.number(), name: z.string() },
  async plan(a, ctx): Promise<Plan> {
    const facts = new Facts(ctx);
    const g = await facts.guest(a.vmid);
    if (g.lock) throw new ToolInputError(`Guest ${g.vmid} is locked (${g.lock})`);
    const points = await undoPoints(ctx.api, g.path, ctx.signal);
    if (!points.length) {
      throw new ToolInputError(
        `Guest ${g.vmid} has no undo points: they are taken before risky changes when undo_snapshots applies to it`,
      );
    }
    const point = a.name ? points.find((p) => p.name === a.name) : points.at(-1);
    if (!point) {
      throw new ToolInputError(
        `Undo point ${a.name} does not exist on ${g.vmid}: undo points are ${
          points.map((p) => p.name).join(", ")
        }`,
      );
    }
    return {
      summary: `undo: roll back ${label(g)} on ${g.node} to undo point ${point.name} (${
        time(point.snaptime)
      })`,
      requests: [{
        method: "POST",
        path: `${g.path}/snapshot/${encodeURIComponent(point.name)}/rollback`,
        params: { start: a.start },
      }],
      destructive: true,
      loses: `all changes to disks and configuration of ${g.vmid} since ${time(point.snaptime)}${
        g.running ? "; the running guest is stopped and its memory state lost" : ""
      }`,
      warnings: [],
      creates: 0,
      result: { vmid: g.vmid, name: point.name },
    };
  },
});

/** The snapshot toolset. */
export const snapshotTools: Tool[] = [snapshotList, snapshot, guestUndo];
