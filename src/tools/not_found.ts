/**
 * Turns Proxmox's answers for a task or storage that does not exist into errors that list what
 * does, so the model can pick a real one instead of guessing again.
 *
 * @module
 */
import { z } from "zod";
import { ProxmoxApiError } from "../proxmox/errors.ts";
import { type ToolContext, ToolInputError } from "./context.ts";

/** A task or storage named by the caller does not exist; the message lists what does. */
export class NotFoundError extends ToolInputError {
  constructor(message: string) {
    super(message);
    this.name = "NotFoundError";
  }
}

/** Whether `e` is Proxmox saying the task in the path does not exist. */
export function isNoSuchTask(e: unknown): boolean {
  return e instanceof ProxmoxApiError &&
    ((e.status === 400 && /no such task/i.test(e.errors?.upid ?? "")) ||
      /no such task/i.test(e.apiMessage));
}

/** Whether `e` is Proxmox saying the storage in the path does not exist. */
export function isNoSuchStorage(e: unknown): boolean {
  return e instanceof ProxmoxApiError && /^storage '[^']*' does not exist/.test(e.apiMessage);
}

/** The error for a UPID `node` does not know, naming its most recent tasks. */
export async function unknownTask(
  ctx: ToolContext,
  node: string,
  upid: string,
): Promise<NotFoundError> {
  const recent = await ctx.api.get(`/nodes/${node}/tasks`, { limit: 5, source: "all" }, {
    signal: ctx.signal,
  }).then((d) => z.array(z.object({ upid: z.string() }).loose()).parse(d)).catch(() => []);
  const list = recent.length ? recent.map((t) => t.upid).join(", ") : "none";
  return new NotFoundError(
    `Task ${upid}: no such task on ${node}: copy the UPID whole from a result's upid or ` +
      `task_list; the newest tasks on ${node} are ${list}`,
  );
}

/** The error for a storage `node` does not have, naming the ones it has. */
export async function unknownStorage(
  ctx: ToolContext,
  node: string,
  storage: string,
): Promise<NotFoundError> {
  const all = await ctx.api.get(`/nodes/${node}/storage`, undefined, { signal: ctx.signal })
    .then((d) => z.array(z.object({ storage: z.string() }).loose()).parse(d)).catch(() => []);
  const list = all.length ? all.map((s) => s.storage).sort().join(", ") : "none";
  return new NotFoundError(`Storage ${storage} does not exist on ${node}: storages are ${list}`);
}
