/**
 * What a route handler receives, and helpers shared by the handlers: typed parameter access,
 * guest resolution with PVE's error messages, locks and task start.
 *
 * @module
 */
import type { HttpMethod } from "../../proxmox/api_schema/schema.ts";
import type { SimulatorCore } from "../core.ts";
import { ApiError, paramError } from "../errors.ts";
import type { Identity } from "../privileges.ts";
import type { Guest, GuestType, NodeState, TaskState } from "../state.ts";
import type { TaskSpec } from "../tasks.ts";
import type { UsageView } from "../usage.ts";

/** One validated, authenticated request on its way to a handler. */
export interface RouteContext {
  sim: SimulatorCore;
  method: HttpMethod;
  /** Schema path template, e.g. `/nodes/{node}/qemu/{vmid}/status/current`. */
  template: string;
  /** Coerced parameter values, path parameters included. */
  values: Record<string, unknown>;
  identity: Identity;
  privs: ReadonlySet<string>;
  /** Derived figures at this request's time. */
  view: UsageView;
  now: number;
  /** The guest named by `{vmid}` in the path, resolved on `{node}`. */
  guest?: Guest;
}

/** A route handler: returns the `data` value (or a `Reply`), throws `ApiError`. */
export type RouteHandler = (ctx: RouteContext) => unknown;

/** A string parameter, or undefined. */
export function optStr(ctx: RouteContext, name: string): string | undefined {
  const v = ctx.values[name];
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? v.map(String).join(",") : String(v);
}

/** A required string parameter. */
export function str(ctx: RouteContext, name: string): string {
  const v = optStr(ctx, name);
  if (v === undefined) throw paramError({ [name]: "property is missing and it is not optional" });
  return v;
}

/** An integer parameter, or undefined. */
export function optInt(ctx: RouteContext, name: string): number | undefined {
  const v = ctx.values[name];
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isFinite(n)) {
    throw paramError({ [name]: `type check ('integer') failed - got '${v}'` });
  }
  return Math.trunc(n);
}

/** A boolean parameter (accepts true/false, 0/1 and their strings); undefined when absent. */
export function optBool(ctx: RouteContext, name: string): boolean | undefined {
  const v = ctx.values[name];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  return ["1", "true", "yes", "on"].includes(String(v).toLowerCase());
}

/** A boolean parameter with a default. */
export function bool(ctx: RouteContext, name: string, fallback = false): boolean {
  return optBool(ctx, name) ?? fallback;
}

/** The raw config string of a parameter value as PVE stores it (booleans as 0/1). */
export function rawValue(v: unknown): string {
  if (typeof v === "boolean") return v ? "1" : "0";
  if (Array.isArray(v)) return v.map(String).join(",");
  return String(v);
}

/** The `{node}` of the request (existence was checked by the pipeline). */
export function node(ctx: RouteContext): NodeState {
  const name = str(ctx, "node");
  const n = ctx.sim.state.nodes.get(name);
  if (!n) throw new ApiError(595, `no such cluster node '${name}'`);
  return n;
}

/** The guest type addressed by the path template. */
export function pathType(ctx: RouteContext): GuestType {
  return ctx.template.startsWith("/nodes/{node}/lxc") ? "lxc" : "qemu";
}

/** "VM" or "CT", as PVE words messages. */
export function kindWord(type: GuestType): "VM" | "CT" {
  return type === "qemu" ? "VM" : "CT";
}

/** The config file path PVE names in errors. */
export function confPath(nodeName: string, type: GuestType, vmid: number): string {
  return `nodes/${nodeName}/${type === "qemu" ? "qemu-server" : "lxc"}/${vmid}.conf`;
}

/** Resolves `{vmid}` on `{node}` for the path's guest type, with PVE's 500 when absent. */
export function resolveGuest(ctx: RouteContext): Guest {
  const vmid = optInt(ctx, "vmid")!;
  const nodeName = str(ctx, "node");
  const type = pathType(ctx);
  const guest = ctx.sim.state.guests.get(vmid);
  if (!guest || guest.node !== nodeName || guest.type !== type) {
    throw new ApiError(
      500,
      `Configuration file '${confPath(nodeName, type, vmid)}' does not exist`,
    );
  }
  return guest;
}

/** The resolved guest of the request. */
export function guestOf(ctx: RouteContext): Guest {
  return ctx.guest ?? resolveGuest(ctx);
}

/** Refuses when the guest holds a lock, unless `skiplock` (root only) is set. */
export function checkLock(ctx: RouteContext, guest: Guest): void {
  if (optBool(ctx, "skiplock")) {
    if (ctx.identity.userid !== "root@pam") {
      throw new ApiError(500, "Only root may use this option.");
    }
    return;
  }
  const lock = guest.config.lock;
  if (lock) throw new ApiError(500, `${kindWord(guest.type)} is locked (${lock})`);
}

/** Sets a lock on a guest for a task's life and releases it when the task ends. */
export function lockFor(guest: Guest, lock: string): () => void {
  guest.config.lock = lock;
  return () => {
    if (guest.config.lock === lock) delete guest.config.lock;
  };
}

/** Starts a task on the request's node as the caller; returns its UPID. */
export function startTask(
  ctx: RouteContext,
  spec: Omit<TaskSpec, "user" | "node"> & { node?: string },
): string {
  const task: TaskState = ctx.sim.tasks.start({
    ...spec,
    node: spec.node ?? str(ctx, "node"),
    user: ctx.identity.principal,
  });
  return task.upid;
}

/** Throws 500 with PVE's wording when the storage is unknown. */
export function storageOrFail(ctx: RouteContext, id: string) {
  const s = ctx.sim.state.storages.get(id);
  if (!s) throw new ApiError(500, `storage '${id}' does not exist`);
  return s;
}
