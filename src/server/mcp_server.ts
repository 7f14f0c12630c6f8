/**
 * Builds the MCP server from the catalogue: one registration per visible row, every call
 * through the policy pipeline.
 *
 * @module
 */
import type { Pipeline } from "../safety/pipeline.ts";
import type { ToolContext } from "../tools/context.ts";
import type { Tool } from "../tools/tool.ts";
import type { Logger } from "../util/log.ts";
import { describeError } from "./errors.ts";
import { type CallToolResult, McpServer } from "./sdk.ts";
import { VERSION } from "../version.ts";

/** What the server is built from. */
export interface ServerOptions {
  tools: readonly Tool[];
  pipeline: Pipeline;
  /** Builds the context of one call; `signal` aborts when the client cancels. */
  context(signal: AbortSignal): ToolContext;
  logger: Logger;
}

const INSTRUCTIONS =
  "Tools for a Proxmox VE cluster. Guests (VMs and containers) are addressed by VMID; the node is looked up. " +
  "Lists are paged: pass next_cursor to continue. Sizes are bytes, cpu is a fraction of the cores.";

/** Creates an MCP server offering every tool the pipeline lets clients see. */
export function createMcpServer(opts: ServerOptions): McpServer {
  const server = new McpServer(
    { name: "proxmox-mcp", title: "Proxmox VE", version: VERSION },
    { instructions: INSTRUCTIONS, capabilities: { logging: {} } },
  );
  for (const tool of opts.tools) {
    if (!opts.pipeline.visible(tool)) continue;
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.input,
        outputSchema: tool.output,
        annotations: { title: tool.title, ...tool.annotations },
      },
      async (args, extra): Promise<CallToolResult> => {
        const started = performance.now();
        try {
          const out = await opts.pipeline.run({
            tool,
            args: args as Record<string, unknown>,
            ctx: opts.context(extra.signal),
          });
          opts.logger.log("debug", `tool ${tool.name}`, {
            ms: Math.round(performance.now() - started),
          });
          return {
            content: [{ type: "text", text: out.text ?? JSON.stringify(out.structured) }],
            structuredContent: out.structured as Record<string, unknown>,
          };
        } catch (err) {
          const message = describeError(tool.name, err, opts.logger);
          opts.logger.log("info", `tool ${tool.name} failed`, { error: message });
          return { content: [{ type: "text", text: message }], isError: true };
        }
      },
    );
  }
  return server;
}
