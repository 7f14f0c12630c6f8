/**
 * Parameters many tools share, with their wording defined once: the guest ID, the node, the
 * control arguments of changing tools (`dry_run`, `confirmation_token`, `wait`), paging and task
 * IDs. Import the builders (or `WORDING` for a description of your own) instead of writing a
 * new description, so the model reads the same words everywhere and `tools/list` stays small.
 *
 * @module
 */
import { z } from "zod";
import { parseUpid, type Upid } from "../proxmox/upid.ts";
import { ToolInputError } from "./context.ts";

/** The shared descriptions, exactly as `tools/list` shows them. */
export const WORDING = {
  vmid: "Guest ID, e.g. 105",
  node: "Node name, e.g. pve1",
  nodeLookup: "Node name; found if omitted",
  nodeDefault: "Node name; default: the configured one",
  nodeFilter: "Only this node",
  dryRun: "Plan only; change nothing",
  confirmationToken: "From a confirmation_required answer",
  wait: "Wait for the task",
  cursor: "next_cursor of the previous page",
  /** Default and maximum are in the listed schema itself. */
  limit: "Page size",
  fields: (defaults: readonly string[]) => `Fields to return; default ${defaults.join(",")}`,
  upid: "Task UPID, e.g. UPID:pve1:...",
} as const;

/** Renders a rejected input for an error message. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? text.slice(0, 57) + "..." : text;
}

const NODE = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/** A node name, checked in code (no pattern in the JSON schema); `description` says when. */
export const node = (description: string = WORDING.node) =>
  z.string().refine((v) => v.length <= 63 && NODE.test(v), {
    error: (i) => `node must be a node name like pve1 (letters, digits, '-'), got ${show(i.input)}`,
  }).describe(description);

/** An optional node of a guest tool: looked up from the VMID when omitted. */
export const nodeOfGuest = () => node(WORDING.nodeLookup).optional();

/** An optional node of a node tool: the configured node when omitted. */
export const nodeOrDefault = () => node(WORDING.nodeDefault).optional();

/** An optional node filter of a list. */
export const nodeFilter = () => node(WORDING.nodeFilter).optional();

/** A guest ID: an integer from 100 to 999999999. `name` is used in the errors. */
export const vmid = (name = "vmid", description: string = WORDING.vmid) =>
  z.int({ error: (i) => `${name} must be an integer from 100 to 999999999, got ${show(i.input)}` })
    .min(100, { error: (i) => `${name} must be from 100 to 999999999, got ${show(i.input)}` })
    .max(999999999, { error: (i) => `${name} must be from 100 to 999999999, got ${show(i.input)}` })
    .describe(description);

/** Page size: 1 to `max`, `fallback` by default. */
export const limit = (fallback = 50, max = 500) =>
  z.int({ error: (i) => `limit must be an integer from 1 to ${max}, got ${show(i.input)}` })
    .min(1, { error: `limit must be from 1 to ${max}` })
    .max(max, { error: `limit must be from 1 to ${max}` })
    .default(fallback)
    .describe(WORDING.limit);

/** An opaque cursor from a previous page's `next_cursor`. */
export const cursor = () =>
  z.string().max(200, { error: "cursor is too long: pass next_cursor from the previous page" })
    .optional().describe(WORDING.cursor);

/** A task ID (UPID) as a result's `upid` gives it. */
export const upid = () =>
  z.string().refine((v) => v.length >= 1 && v.length <= 300, {
    error: "upid must be a task ID like UPID:pve1:0000A1B2:...: from a result's upid or task_list",
  }).describe(WORDING.upid);

/** Arguments every changing tool takes besides its own. */
export const CONTROL_SHAPE = {
  dry_run: z.boolean().optional().describe(WORDING.dryRun),
  confirmation_token: z.string().refine((v) => v.length >= 1 && v.length <= 600, {
    error: "confirmation_token must be the token of a confirmation_required answer",
  }).optional().describe(WORDING.confirmationToken),
  wait: z.boolean().default(true).describe(WORDING.wait),
};

/** Parses a UPID argument or says what one looks like. */
export function requireUpid(text: string): Upid {
  const u = parseUpid(text);
  if (!u) {
    throw new ToolInputError(
      `Invalid upid ${
        JSON.stringify(text.slice(0, 80))
      }: expected UPID:node:pid:pstart:starttime:type:id:user: as returned by a task`,
    );
  }
  return u;
}
