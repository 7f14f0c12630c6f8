/**
 * The MCP SDK's Streamable HTTP server transport, apart from `sdk.ts` so that a server on
 * stdio does not load it.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
export { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
