/**
 * Builds the MCP server from the catalogue: one registration per visible row, every call
 * through the policy pipeline. Each call's context carries the request's cancellation signal,
 * a progress sender (when the client asked for progress), an elicitation function (when the
 * client supports it) and a logger that also sends MCP logging notifications once the client
 * has chosen a level. Resources, prompts and completions read through the same read-only tools
 * and pipeline (see `resources.ts`, `prompts.ts`).
 *
 * @module
 */
import type { Pipeline } from "../safety/pipeline.ts";
import type { ElicitAnswer, ElicitRequest } from "../safety/confirm.ts";
import type { ToolContext } from "../tools/context.ts";
import type { Tool, ToolMeta } from "../tools/tool.ts";
import type { ToolSource } from "./tool_source.ts";
import type { Logger, LogLevel } from "../util/log.ts";
import { maskSecretLike, redact, redactStrings, redactText } from "../safety/redact.ts";
import { z } from "zod";
import { nearest } from "../config/suggest.ts";
import { describeError } from "./errors.ts";
import { directHandlers } from "./connect.ts";
import type { InFlight } from "./in_flight.ts";
import { readHost } from "./features.ts";
import { registerPrompts } from "./prompts.ts";
import { registerResources } from "./resources.ts";
import { registerSubscriptions } from "./subscriptions.ts";
import { hiddenTools, type PrivilegeCache } from "./privilege_filter.ts";
import { serveToolList } from "./tool_list.ts";
import {
  type CallToolResult,
  ErrorCode,
  McpError,
  McpServer,
  type RequestHandlerExtra,
  type ServerNotification,
  type ServerRequest,
  SetLevelRequestSchema,
} from "./sdk.ts";
import { SERVER_INFO, serverInstructions } from "./instructions.ts";

/** Per-call facilities the server offers a tool context. */
export interface CallExtras {
  /** Logs to stderr and, when the client asked for it, as MCP logging notifications. */
  logger: Logger;
  progress?: ToolContext["progress"];
  elicit?: ToolContext["elicit"];
  /** The calling session (see `ToolContext.session`). */
  session?: string;
}

/** What the server is built from. */
export interface ServerOptions {
  /** Where the rows come from (listed without their code, loaded on first call). */
  tools: ToolSource;
  /** The rows of the enabled toolsets; the pipeline's modes decide which of them are listed. */
  offered: readonly ToolMeta[];
  pipeline: Pipeline;
  /** Builds the context of one call; `signal` aborts when the client cancels. */
  context(signal: AbortSignal, extras: CallExtras): ToolContext;
  logger: Logger;
  /** How long to wait for a user's answer to a confirmation question (default 5 min). */
  elicitTimeoutMs?: number;
  /** Appended to the server's instructions (e.g. how changes are confirmed here). */
  instructions?: string;
  /** Time between checks of subscribed resources for changes made elsewhere. */
  subscriptionPollMs?: number;
  /** Privilege-aware listing: rows whose privilege the identity lacks are hidden. */
  privileges?: PrivilegeCache;
  /**
   * Why the server cannot work (e.g. an invalid configuration, and the fix): the server still
   * completes the handshake, says so in its instructions and answers every tool call with it.
   */
  unavailable?: string;
  /** Tracks every tool call in progress (so shutdown can wait for them). */
  inFlight?: InFlight;
  /** Why a tool the pipeline hides is refused, with how to allow it (read-only mode). */
  hiddenReason?: (tool: ToolMeta) => string | undefined;
  /** Why a name not offered is refused when it is a row of a toolset that is off. */
  offReason?: (name: string) => string | undefined;
  /** Starts reading the resource snapshot (see `ToolMeta.readsSnapshot`); never throws. */
  warmSnapshot?: () => void;
}

const LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Creates an MCP server offering every tool the pipeline lets clients see. */
export function createMcpServer(opts: ServerOptions): McpServer {
  const visible = opts.offered.filter((t) => opts.pipeline.visible(t));
  const privileges = opts.privileges;
  // Recomputed only when the privileges were read again (a new set), not on every call.
  let hiddenFor: { held: ReadonlySet<string>; hidden: Map<string, string[]> } | undefined;
  const none = new Map<string, string[]>();
  const hidden = () => {
    const held = privileges?.held;
    if (!held) return none;
    if (hiddenFor?.held !== held) hiddenFor = { held, hidden: hiddenTools(visible, held) };
    return hiddenFor.hidden;
  };
  const server = new McpServer(SERVER_INFO, {
    instructions: serverInstructions({
      unavailable: opts.unavailable,
      extra: opts.instructions,
      hidden: privileges ? hidden() : undefined,
    }),
    capabilities: { logging: {}, ...(privileges ? { tools: { listChanged: true } } : {}) },
  });
  // One server per MCP session (stdio: the process; HTTP: each session): its random identity,
  // plus the authenticated caller when the transport names one, binds confirmation tokens.
  const instance = crypto.randomUUID();
  let clientLevel: string | undefined;
  server.server.setRequestHandler(SetLevelRequestSchema, (request) => {
    clientLevel = request.params.level;
    return {};
  });
  const wants = (level: LogLevel) =>
    clientLevel !== undefined && LEVELS.indexOf(level) >= LEVELS.indexOf(clientLevel);

  const extrasFor = (extra: Extra): CallExtras => {
    const logger: Logger = {
      log(level, message, fields) {
        opts.logger.log(level, message, fields);
        if (!wants(level)) return;
        extra.sendNotification({
          method: "notifications/message",
          params: { level, logger: "proxmox-mcp", data: redact({ message, ...fields }) },
        }).catch((err) => {
          // Only to stderr: sending it as a notification is what failed.
          opts.logger.log("warning", "Sending a log notification to the client failed", {
            error: err instanceof Error ? err.message : String(err),
          });
        });
      },
    };
    const token = extra._meta?.progressToken;
    const progress: CallExtras["progress"] = token === undefined
      ? undefined
      : (p) =>
        extra.sendNotification({
          method: "notifications/progress",
          params: { progressToken: token, ...p },
        });
    const caps = server.server.getClientCapabilities()?.elicitation;
    const elicit: CallExtras["elicit"] = caps && (caps.form !== undefined || !caps.url)
      ? async (req: ElicitRequest): Promise<ElicitAnswer> => {
        const r = await server.server.elicitInput(
          { mode: "form", message: req.message, requestedSchema: req.requestedSchema },
          {
            relatedRequestId: extra.requestId,
            timeout: opts.elicitTimeoutMs ?? 300_000,
            signal: extra.signal,
          },
        );
        return { action: r.action, content: r.content as Record<string, unknown> | undefined };
      }
      : undefined;
    const session = `${instance}\0${extra.authInfo?.clientId ?? ""}\0${
      extra.authInfo?.token ?? ""
    }`;
    return { logger, progress, elicit, session };
  };

  let subscriptions: ReturnType<typeof registerSubscriptions> | undefined;
  const runTool = async (
    tool: Tool,
    args: Record<string, unknown>,
    extra: Extra,
  ): Promise<CallToolResult> => {
    const started = performance.now();
    const extras = extrasFor(extra);
    const lacks = hidden().get(tool.name);
    if (lacks) {
      return toolError(
        `Refused ${tool.name}: it is hidden because the identity this server uses ` +
          `has none of ${lacks.join(", ")} on any path. Grant the privilege in Proxmox, ` +
          'or set "privilege_filter": false to list every tool',
      );
    }
    try {
      const out = await opts.pipeline.run({ tool, args, ctx: opts.context(extra.signal, extras) });
      opts.logger.log("debug", `tool ${tool.name}`, {
        ms: Math.round(performance.now() - started),
      });
      if (changedCluster(tool, out.structured)) {
        server.sendResourceListChanged();
        subscriptions?.check().catch(() => {});
      }
      const structured = redactStrings(out.structured as Record<string, unknown>);
      return {
        content: [{ type: "text", text: redactText(out.text ?? JSON.stringify(structured)) }],
        structuredContent: structured,
      };
    } catch (err) {
      privileges?.noteError(err);
      const message = maskSecretLike(describeError(tool.name, err, opts.logger));
      opts.logger.log("info", `tool ${tool.name} failed`, { error: message });
      return toolError(message);
    }
  };
  server.server.registerCapabilities({ tools: { listChanged: true } });
  // Calls are answered here rather than by the SDK: a hidden tool (read-only mode) says why and
  // how to allow it, an unknown name gets a suggestion, and arguments are checked with messages
  // a model can act on. The loose request schema keeps the SDK from answering malformed params
  // with raw validation output.
  const track = (p: Promise<CallToolResult>) => opts.inFlight ? opts.inFlight.track(p) : p;
  const callTool = async (request: { params?: unknown }, extra: Extra) => {
    const params = readCallParams(request.params);
    if (opts.unavailable) return toolError(opts.unavailable);
    const row = opts.offered.find((t) => t.name === params.name);
    if (!row) {
      return toolError(opts.offReason?.(params.name) ?? unknownTool(params.name, visible));
    }
    // A tool hidden by the server's mode says why and how to allow it; nothing runs.
    if (!opts.pipeline.visible(row)) {
      return toolError(
        opts.hiddenReason?.(row) ?? `Refused ${row.name}: this server does not offer it`,
      );
    }
    // A first call imports the tool's module; a snapshot it will read is fetched meanwhile.
    if (row.readsSnapshot && !opts.tools.loaded(row.name) && !hidden().has(row.name)) {
      opts.warmSnapshot?.();
    }
    const tool = await opts.tools.load(row.name);
    const parsed = tool.input.safeParse(params.arguments);
    if (!parsed.success) return toolError(invalidArguments(tool.name, parsed.error.issues));
    return track(runTool(tool, parsed.data as Record<string, unknown>, extra));
  };
  server.server.setRequestHandler(CallToolRequestLoose, callTool);
  directHandlers.set(server, { "tools/call": callTool });
  serveToolList(
    server,
    opts.tools,
    visible,
    privileges && {
      ensure: () => privileges.ensure(),
      hidden: () => new Set(hidden().keys()),
    },
  );
  if (privileges) {
    // The first tools/list needs the identity's privileges: read them while the client is
    // still starting its session, so the list does not wait for the round trip.
    void privileges.ensure();
    let shown = [...hidden().keys()].join(",");
    const stop = privileges.onChange(() => {
      const now = [...hidden().keys()].join(",");
      if (now === shown) return;
      shown = now;
      if (server.isConnected()) server.sendToolListChanged();
    });
    const closed = server.server.onclose;
    server.server.onclose = () => {
      stop();
      closed?.();
    };
  }
  if (!opts.unavailable) {
    const host = readHost({
      tools: visible,
      load: (name) => opts.tools.load(name),
      pipeline: opts.pipeline,
      logger: opts.logger,
      context: (extra) =>
        extra
          ? opts.context(extra.signal, extrasFor(extra))
          : opts.context(new AbortController().signal, { logger: opts.logger }),
    });
    registerResources(server, host);
    subscriptions = registerSubscriptions(server, host, opts.subscriptionPollMs);
    registerPrompts(server, host);
  }
  return server;
}

/** A loose `tools/call` schema: the parameters are checked by {@link readCallParams}. */
const CallToolRequestLoose = z.object({ method: z.literal("tools/call"), params: z.unknown() });

/** The name and arguments of a `tools/call`, or a JSON-RPC invalid-params error. */
function readCallParams(params: unknown): { name: string; arguments: Record<string, unknown> } {
  const p = (typeof params === "object" && params !== null ? params : {}) as Record<
    string,
    unknown
  >;
  if (typeof p.name !== "string" || p.name === "") {
    throw new McpError(
      ErrorCode.InvalidParams,
      `Invalid params for tools/call: name must be the tool's name (a string), got ${
        JSON.stringify(p.name) ?? "nothing"
      }`,
    );
  }
  const args = p.arguments ?? {};
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw new McpError(
      ErrorCode.InvalidParams,
      `Invalid params for tools/call: arguments must be an object of named arguments, got ${
        JSON.stringify(args)
      }`,
    );
  }
  return { name: p.name, arguments: args as Record<string, unknown> };
}

function toolError(text: string): CallToolResult {
  return { content: [{ type: "text", text }], isError: true };
}

/** The answer for a tool name that does not exist. */
function unknownTool(name: string, visible: readonly ToolMeta[]): string {
  const names = visible.map((t) => t.name);
  const guess = nearest(name, names);
  return `Unknown tool ${JSON.stringify(name)}${guess ? `: did you mean ${guess}?` : ""} Tools: ${
    names.join(", ")
  }`;
}

/** Readable text of the argument problems zod found. */
function invalidArguments(
  tool: string,
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): string {
  const parts = issues.slice(0, 5).map((i) =>
    i.path.length ? `${i.path.map(String).join(".")}: ${i.message}` : i.message
  );
  return `Invalid arguments for tool ${tool}: ${parts.join("; ")}`;
}

/** Whether a call's answer says it changed the cluster (not a dry run or a pending confirmation). */
function changedCluster(tool: ToolMeta, structured: unknown): boolean {
  if (tool.annotations.readOnlyHint) return false;
  const status = (structured as { status?: unknown } | null)?.status;
  return status === "done" || status === "started" || status === "running";
}
