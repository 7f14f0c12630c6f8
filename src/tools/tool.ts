/**
 * The shape of one row of the tool catalogue, and `defineTool()` to write one with full typing.
 *
 * @module
 */
import { z } from "zod";
import type { Plan } from "../safety/change.ts";
import type { ToolCall } from "../safety/pipeline.ts";
import type { ToolContext } from "./context.ts";

/** Groups of tools that can be enabled or disabled together. */
export const TOOLSETS = [
  "cluster",
  "nodes",
  "guests",
  "storage",
  "provision",
  "tasks",
  "access",
  "snapshots",
  "backups",
  "api",
  "metrics",
  "logs",
  "ha",
  "ceph",
  "firewall",
  "replication",
  "sdn",
  "network",
  "hardware",
  "pools",
  "bulk",
  "exec",
  "health",
  "console",
] as const;

/** A toolset name. */
export type Toolset = typeof TOOLSETS[number];

/**
 * MCP tool annotations, all stated explicitly for every row (`tools/list` leaves out the ones a
 * client reads the same without them: see `listedAnnotations`).
 */
export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** A strict zod object: unknown arguments are refused, not dropped. */
export type InputSchema = z.ZodObject<z.ZodRawShape, z.core.$strict>;

/** What a handler returns: the structured result and, optionally, compact text for the model. */
export interface ToolOutput<O> {
  structured: O;
  text?: string;
}

/** One row of the catalogue, typed by its input and output schemas. */
export interface ToolDefinition<I extends InputSchema, O extends z.ZodObject> {
  /** Tool name as MCP clients see it (`guest_status`). */
  name: string;
  /** Short human title. */
  title: string;
  /** What the tool does, written for an LLM: short and precise. */
  description: string;
  toolset: Toolset;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  /** The Proxmox privilege the API needs, e.g. `VM.Audit on /vms/{vmid}`. */
  privilege: string;
  /** See {@link ToolMeta.readsSnapshot}. */
  readsSnapshot?: boolean;
  handler(args: z.infer<I>, ctx: ToolContext): Promise<ToolOutput<z.infer<O>>>;
}

/**
 * What is known of a row without loading its code: enough to list it and to decide whether it
 * is offered (toolsets, modes, privileges). Kept in `manifest.json` for the serving process.
 */
export interface ToolMeta {
  name: string;
  title: string;
  description: string;
  toolset: Toolset;
  annotations: ToolAnnotations;
  privilege: string;
  /**
   * Set on tools whose destructiveness depends on the call (`api_change`): the safety table
   * judges each plan, so `disable_destructive` refuses destructive plans instead of hiding the
   * tool.
   */
  judgedPerCall?: boolean;
  /**
   * Set on tools whose every call reads the cluster's resource snapshot (`guest_list`,
   * `cluster_resources`): on a call that must first import the tool's module, the server starts
   * that read meanwhile, so the two overlap.
   */
  readsSnapshot?: boolean;
}

/** A catalogue row with its types erased, as the server and pipeline handle it. */
export interface Tool extends ToolMeta {
  input: InputSchema;
  output: z.ZodObject;
  /**
   * Set on the universal `api_change`: every request of its plans is judged by the danger table
   * (`safety/danger.ts`): confirmation, destructiveness, and refusal of cluster-wide requests
   * unless `allow_cluster_changes`. Curated tools classify their own plans.
   */
  dangerTable?: boolean;
  handler(args: Record<string, unknown>, ctx: ToolContext): Promise<ToolOutput<unknown>>;
  /** Mutating tools: the preflight checks and the plan; only reads the cluster. */
  plan?(args: Record<string, unknown>, ctx: ToolContext): Promise<Plan>;
  /** Mutating tools: sends the planned requests once every safety stage agreed. */
  execute?(call: ToolCall): Promise<ToolOutput<unknown>>;
}

/** Declares a catalogue row; the handler's argument and result types follow from the schemas. */
export function defineTool<I extends InputSchema, O extends z.ZodObject>(
  def: ToolDefinition<I, O>,
): Tool {
  return {
    ...def,
    handler: (args, ctx) => def.handler(args as z.infer<I>, ctx),
  };
}

/** Annotations of a tool that only reads. */
export const READ_ONLY: ToolAnnotations = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
};
