/**
 * The benchmark's floor: a bare Deno process running the MCP SDK's `McpServer` with one tool
 * over stdio, and nothing else. Cold start and idle memory of proxmox-mcp are reported as ratios
 * to this process, started the same way in the same run.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/server/stdio"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "floor", version: "1.0.0" });
server.registerTool(
  "echo",
  { description: "Answers with its text.", inputSchema: { text: z.string() } },
  ({ text }) => ({ content: [{ type: "text", text }] }),
);
await server.connect(new StdioServerTransport());
