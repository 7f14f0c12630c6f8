/**
 * Removing a stale lock from a VM (what `qm unlock` does): the lock's reason is shown, a lock
 * still held by a running task is refused, and the call always needs a confirmation.
 *
 * @module
 */
import { z } from "zod";
import { apiPath } from "../proxmox/encode.ts";
import type { Plan } from "../safety/change.ts";
import { ToolInputError } from "./context.ts";
import { guestId, optNode } from "./mutation_args.ts";
import { defineMutation } from "./mutation.ts";
import { Facts } from "./preflight.ts";
import type { Tool } from "./tool.ts";

/** What each lock means, for the confirmation. */
const LOCKS: Record<string, string> = {
  backup: "a backup was running (vzdump)",
  clone: "a clone was running",
  create: "the guest was being created",
  migrate: "a migration was running",
  rollback: "a snapshot rollback was running",
  snapshot: "a snapshot was being taken",
  "snapshot-delete": "a snapshot was being deleted",
  suspending: "the VM was being suspended to disk",
  suspended: "the VM is hibernated; unlocking discards the saved state's protection",
  disk: "a disk move was running",
};

const Task = z.object({ upid: z.string(), type: z.string().optional(), id: z.string().optional() })
  .loose();

const guestUnlock = defineMutation({
  name: "guest_unlock",
  title: "Remove a stale lock",
  description:
    "Remove a VM's lock left by a failed backup, migration or snapshot (qm unlock). Shows the lock's reason; refuses while a task of the guest still runs. Confirmation: always. Needs root@pam.",
  toolset: "hardware",
  privilege: "root@pam (skiplock)",
  destructive: false,
  input: { vmid: guestId(), node: optNode() },
  result: {},
  async plan(a, ctx): Promise<Plan> {
    const g = await new Facts(ctx).guest(a.vmid, a.node);
    if (!g.lock) throw new ToolInputError(`Guest ${g.vmid} is not locked`);
    if (g.type === "lxc") {
      throw new ToolInputError(
        `Container ${g.vmid} is locked (${g.lock}); the API can't remove container locks: run "pct unlock ${g.vmid}" on node ${g.node}`,
      );
    }
    const who = ctx.api.identity?.split("!")[0];
    if (who !== undefined && who !== "root@pam") {
      throw new ToolInputError(
        `Removing a lock needs root@pam (Proxmox allows skiplock only for root); this server is ${ctx.api.identity}`,
      );
    }
    const active = z.array(Task).parse(
      await ctx.api.get(apiPath`/nodes/${g.node}/tasks`, { vmid: g.vmid, source: "active" }, {
        signal: ctx.signal,
      }),
    );
    if (active.length) {
      throw new ToolInputError(
        `Guest ${g.vmid} is locked (${g.lock}) by a running task: ${
          active.map((t) => t.upid).join(", ")
        }. Wait for it or stop it with task_stop; the lock goes away with it`,
      );
    }
    const why = LOCKS[g.lock] ?? `lock "${g.lock}"`;
    return {
      summary: `remove the ${g.lock} lock of VM ${g.vmid}${
        g.name ? ` (${g.name})` : ""
      } on ${g.node} (${why})`,
      requests: [{
        method: "PUT",
        path: `${g.path}/config`,
        params: { delete: "lock", skiplock: 1 },
      }],
      destructive: false,
      confirm:
        `the ${g.lock} lock (${why}) protects the guest while that operation runs; remove it only if nothing is still working on ${g.vmid}`,
      warnings: [],
      creates: 0,
      result: { vmid: g.vmid, lock: g.lock },
    };
  },
});

/** Lock removal. */
export const unlockTools: Tool[] = [guestUnlock];
