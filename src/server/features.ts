/**
 * What the MCP features beyond tools (resources, prompts, completions) share: a read-only view
 * of the server's own tools, run through the policy pipeline exactly as a `tools/call` would
 * be, the inventory cache, and the mapping of failures to JSON-RPC errors.
 *
 * @module
 */
import { GuestNotFoundError } from "../proxmox/guests.ts";
import { ProxmoxApiError } from "../proxmox/errors.ts";
import type { Pipeline } from "../safety/pipeline.ts";
import { type ToolContext, ToolInputError } from "../tools/context.ts";
import { type Inventory, isMissingGuest } from "../tools/inventory.ts";
import type { Tool, ToolMeta, ToolOutput } from "../tools/tool.ts";
import type { Logger } from "../util/log.ts";
import { Completions } from "./completions.ts";
import { describeError } from "./errors.ts";
import {
  ErrorCode,
  McpError,
  type RequestHandlerExtra,
  type ServerNotification,
  type ServerRequest,
} from "./sdk.ts";
import { NotFoundError } from "../tools/not_found.ts";

/** The `extra` argument of an SDK request handler. */
export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** JSON-RPC error code MCP gives to "resource not found". */
export const RESOURCE_NOT_FOUND = -32002;

/** Read access to the cluster for resources, prompts and completions. */
export interface ReadHost {
  /** The tools the server offers. */
  readonly tools: readonly ToolMeta[];
  /** Whether the server offers tool `name`. */
  has(name: string): boolean;
  /**
   * Runs read-only tool `name` with `args` (validated by its input schema) through the
   * pipeline, with the context a `tools/call` in the same request would get.
   */
  read(name: string, args: Record<string, unknown>, extra?: Extra): Promise<ToolOutput<unknown>>;
  readonly inventory: Inventory;
  readonly completions: Completions;
  readonly logger: Logger;
}

/** What {@link readHost} is built from. */
export interface ReadHostOptions {
  /** The tools the server offers (visible ones). */
  tools: readonly ToolMeta[];
  /** Loads a row's code. */
  load(name: string): Promise<Tool>;
  pipeline: Pipeline;
  /** The tool context of a request (`extra` absent: a background read such as a completion). */
  context(extra: Extra | undefined): ToolContext;
  logger: Logger;
}

/** Builds the {@link ReadHost} of a server. */
export function readHost(opts: ReadHostOptions): ReadHost {
  const byName = new Map(opts.tools.map((t) => [t.name, t]));
  const inventory = opts.context(undefined).inventory;
  return {
    tools: opts.tools,
    has: (name) => byName.has(name),
    inventory,
    completions: new Completions(inventory, opts.logger),
    logger: opts.logger,
    async read(name, args, extra) {
      const row = byName.get(name);
      if (!row || !row.annotations.readOnlyHint) {
        throw new Error(`Cannot read through ${name}: not a read-only tool of this server`);
      }
      const tool = await opts.load(name);
      const parsed = tool.input.safeParse(args);
      if (!parsed.success) {
        throw new ToolInputError(parsed.error.issues[0]?.message ?? `Invalid arguments of ${name}`);
      }
      return await opts.pipeline.run({ tool, args: parsed.data, ctx: opts.context(extra) });
    },
  };
}

/** True when `err` says the thing asked for does not exist (guest, task, node). */
export function isNotFound(err: unknown): boolean {
  if (err instanceof GuestNotFoundError || err instanceof NotFoundError) return true;
  if (!(err instanceof ProxmoxApiError)) return false;
  return err.status === 404 || err.status === 595 || isMissingGuest(err) ||
    /no such task/i.test(err.apiMessage);
}

/**
 * The JSON-RPC error for a failure while serving `subject` (a resource URI or prompt name):
 * "not found" as `notFound` (default: MCP's resource-not-found code), bad arguments as
 * invalid params, the rest as an internal error with the message a tool call would give.
 */
export function toMcpError(
  subject: string,
  err: unknown,
  logger: Logger,
  notFound: number = RESOURCE_NOT_FOUND,
): McpError {
  if (err instanceof McpError) return err;
  if (isNotFound(err)) return new FeatureError(notFound, (err as Error).message);
  if (err instanceof ToolInputError) return new FeatureError(ErrorCode.InvalidParams, err.message);
  return new FeatureError(ErrorCode.InternalError, describeError(subject, err, logger));
}

/**
 * A JSON-RPC error whose message goes out as written: the SDK's `McpError` puts
 * `MCP error <code>:` in front, and the client adds that once more when it receives it.
 */
export class FeatureError extends McpError {
  constructor(code: number, message: string) {
    super(code, message);
    this.message = message;
  }
}

/** The text of a tool answer (its compact text, else its structured content as JSON). */
export function textOf(out: ToolOutput<unknown>): string {
  return out.text ?? JSON.stringify(out.structured);
}
