/**
 * Power actions of QEMU VMs and LXC containers (start, stop, shutdown, reboot, reset, suspend,
 * resume). Each runs as a task; the guest's run state changes when the task ends.
 *
 * @module
 */
import { ApiError } from "../errors.ts";
import type { Guest } from "../state.ts";
import {
  bool,
  checkLock,
  guestOf,
  kindWord,
  type RouteContext,
  type RouteHandler,
  startTask,
} from "./context.ts";

type Action = "start" | "stop" | "shutdown" | "reboot" | "reset" | "suspend" | "resume";

/** Applies pending config changes (what a restart does). */
export function applyPending(g: Guest): void {
  Object.assign(g.config, g.pending);
  for (const key of g.pendingDelete) delete g.config[key];
  g.pending = {};
  g.pendingDelete = [];
}

/** Marks a guest running since `at` (pending changes applied). */
export function markStarted(g: Guest, at: number): void {
  applyPending(g);
  g.status = "running";
  g.startedAt = at;
  g.paused = false;
}

/** Marks a guest stopped (pending changes applied). */
export function markStopped(g: Guest): void {
  applyPending(g);
  g.status = "stopped";
  g.startedAt = undefined;
  g.paused = false;
}

function taskType(g: Guest, action: Action): string {
  return (g.type === "qemu" ? "qm" : "vz") + action;
}

function power(action: Action): RouteHandler {
  return (ctx: RouteContext) => {
    const g = guestOf(ctx);
    const word = kindWord(g.type);
    const running = g.status === "running";
    const suspendedToDisk = g.config.lock === "suspended";
    const resumesSaved = suspendedToDisk && ["start", "stop", "resume"].includes(action);
    if (!resumesSaved) checkLock(ctx, g);
    if (action === "start" && g.template) {
      throw new ApiError(
        500,
        `you can't start a ${g.type === "qemu" ? "vm" : "CT"} if it's a template`,
      );
    }
    if (g.type === "lxc" && action === "start" && running) {
      throw new ApiError(500, `CT ${g.vmid} already running`);
    }
    const needsRunning = g.type === "lxc"
      ? ["stop", "shutdown", "reboot", "suspend", "resume"].includes(action)
      : ["reboot", "reset", "suspend"].includes(action) ||
        (action === "resume" && !suspendedToDisk);
    if (needsRunning && !running) throw new ApiError(500, `${word} ${g.vmid} not running`);
    if (g.type === "qemu" && g.paused && (action === "shutdown" || action === "reboot")) {
      if (!(action === "shutdown" && bool(ctx, "forceStop"))) {
        throw new ApiError(500, "VM is paused - cannot shutdown");
      }
    }
    const lines: string[] = [];
    let outcome = "OK";
    let effect: ((at: number) => void) | undefined;
    switch (action) {
      case "start":
        if (running && g.type === "qemu") outcome = `VM ${g.vmid} already running`;
        else if (suspendedToDisk) {
          lines.push(`resuming VM ${g.vmid} from saved state`);
          effect = (at) => {
            delete g.config.lock;
            markStarted(g, at);
          };
        } else effect = (at) => markStarted(g, at);
        break;
      case "stop":
        if (suspendedToDisk) {
          effect = () => {
            delete g.config.lock;
            markStopped(g);
          };
        } else effect = () => markStopped(g);
        if (running) lines.push(`requesting stop of ${word} ${g.vmid}`);
        break;
      case "shutdown":
        if (running) lines.push(`requesting shutdown of ${word} ${g.vmid}`);
        effect = () => markStopped(g);
        break;
      case "reboot":
        lines.push(`requesting reboot of ${word} ${g.vmid}`);
        effect = (at) => markStarted(g, at);
        break;
      case "reset":
        effect = () => {
          g.paused = false;
        };
        break;
      case "suspend":
        if (g.type === "qemu" && bool(ctx, "todisk")) {
          lines.push(`suspending VM ${g.vmid} to disk`, "saving VM state and RAM");
          effect = () => {
            markStopped(g);
            g.config.lock = "suspended";
          };
        } else {
          effect = () => {
            g.paused = true;
          };
        }
        break;
      case "resume":
        if (suspendedToDisk) {
          effect = (at) => {
            delete g.config.lock;
            markStarted(g, at);
          };
        } else {
          effect = () => {
            g.paused = false;
          };
        }
        break;
    }
    let upid = "";
    upid = startTask(ctx, {
      type: taskType(g, action),
      id: String(g.vmid),
      lines,
      outcome,
      onSuccess: effect
        ? () => effect!(ctx.sim.state.tasks.get(upid)?.endsAt ?? ctx.sim.clock.now())
        : undefined,
    });
    return upid;
  };
}

/** Power-action endpoints (only those the schema declares per type are reachable). */
export const guestPowerRoutes: Record<string, RouteHandler> = {};
for (const t of ["qemu", "lxc"]) {
  for (const a of ["start", "stop", "shutdown", "reboot", "reset", "suspend", "resume"] as const) {
    if (t === "lxc" && a === "reset") continue;
    guestPowerRoutes[`POST /nodes/{node}/${t}/{vmid}/status/${a}`] = power(a);
  }
}
