/**
 * The MCP SDK client transports the benchmark drives the server with, imported in one place
 * with the type hints Deno needs.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
export {
  getDefaultEnvironment,
  StdioClientTransport,
} from "@modelcontextprotocol/sdk/client/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
export { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
// @ts-types="@modelcontextprotocol/sdk/types"
export type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
