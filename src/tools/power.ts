/**
 * Power actions for VMs and containers through one tool.
 *
 * @module
 */
import { z } from "zod";
import type { Plan } from "../safety/change.ts";
import { oneOf } from "./args.ts";
import { guestId, optNode } from "./mutation_args.ts";
import { type ToolContext, ToolInputError } from "./context.ts";
import { defineMutation } from "./mutation.ts";
import { Facts, type GuestFacts } from "./preflight.ts";
import type { Tool } from "./tool.ts";

const ACTIONS = ["start", "stop", "shutdown", "reboot", "reset", "suspend", "resume"] as const;
type Action = typeof ACTIONS[number];

/** The live run state of a guest: `running`, `paused` or `stopped`. */
async function liveState(ctx: ToolContext, g: GuestFacts): Promise<string> {
  const s = z.object({ status: z.string(), qmpstatus: z.string().optional() }).loose().parse(
    await ctx.api.get(`${g.path}/status/current`, undefined, { signal: ctx.signal }),
  );
  return s.status === "running" && s.qmpstatus === "paused" ? "paused" : s.status;
}

const NEEDS: Record<Action, string[]> = {
  start: ["stopped"],
  stop: ["running", "paused"],
  shutdown: ["running"],
  reboot: ["running"],
  reset: ["running", "paused"],
  suspend: ["running"],
  resume: ["paused"],
};

const guestPower = defineMutation({
  name: "guest_power",
  title: "Power action",
  description:
    "Power a VM or container. stop/reset cut power (confirmation needed); shutdown is graceful. reset/suspend/resume: VMs only.",
  toolset: "guests",
  privilege: "VM.PowerMgmt on /vms/{vmid}",
  destructive: true,
  input: {
    vmid: guestId(),
    node: optNode(),
    action: oneOf(ACTIONS, "action").describe("Power action"),
    timeout_s: z.int().min(1).max(3600).optional().describe("shutdown/reboot: seconds to wait"),
    force_stop: z.boolean().optional().describe("shutdown: stop hard after timeout_s"),
  },
  result: { vmid: z.number(), node: z.string(), action: z.string(), state: z.string() },
  async plan(a, ctx): Promise<Plan> {
    const facts = new Facts(ctx);
    const g = await facts.guest(a.vmid, a.node);
    const kind = g.type === "qemu" ? "VM" : "container";
    if (g.template) {
      throw new ToolInputError(`Guest ${g.vmid} is a template: templates can't be powered on`);
    }
    if (g.type === "lxc" && ["reset", "suspend", "resume"].includes(a.action)) {
      throw new ToolInputError(
        `${a.action} is for VMs; ${g.vmid} is a container: use reboot, or stop then start`,
      );
    }
    if (a.force_stop !== undefined && a.action !== "shutdown") {
      throw new ToolInputError("force_stop applies only to action shutdown");
    }
    if (a.timeout_s !== undefined && a.action !== "shutdown" && a.action !== "reboot") {
      throw new ToolInputError("timeout_s applies only to actions shutdown and reboot");
    }
    const state = await liveState(ctx, g);
    if (!NEEDS[a.action].includes(state)) {
      throw new ToolInputError(
        `Cannot ${a.action} ${kind} ${g.vmid}: it is ${state}; ${a.action} needs it ${
          NEEDS[a.action].join(" or ")
        }`,
      );
    }
    const warnings: string[] = [];
    if (a.action === "start") {
      const mem = Number(g.config.memory ?? 512) * 1024 * 1024;
      const cap = await facts.nodeCapacity(g.node);
      if (cap.free < mem) {
        warnings.push(
          `node ${g.node} has ${Math.round(cap.free / 2 ** 20)} MiB free; the guest has ${
            Math.round(mem / 2 ** 20)
          } MiB`,
        );
      }
    }
    const hard = a.action === "stop" || a.action === "reset" ||
      (a.action === "shutdown" && a.force_stop === true);
    const params = a.action === "shutdown"
      ? { timeout: a.timeout_s, forceStop: a.force_stop }
      : a.action === "reboot"
      ? { timeout: a.timeout_s }
      : {};
    return {
      summary: `${a.action} ${g.type} ${g.vmid}${g.name ? ` (${g.name})` : ""} on ${g.node}`,
      requests: [{ method: "POST", path: `${g.path}/status/${a.action}`, params }],
      destructive: hard,
      loses: hard
        ? `${kind} ${g.vmid} loses power at once: unsaved data in memory is lost and its services stop abruptly`
        : undefined,
      warnings,
      creates: 0,
      result: { vmid: g.vmid, node: g.node, action: a.action },
    };
  },
  async after(a, ctx) {
    const facts = new Facts(ctx);
    const g = await facts.guest(a.vmid, a.node);
    return { state: await liveState(ctx, g) };
  },
});

/** The power toolset rows. */
export const powerTools: Tool[] = [guestPower];
