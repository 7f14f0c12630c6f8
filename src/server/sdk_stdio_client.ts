/**
 * The SDK's stdio client transport, kept apart from `sdk.ts`: it loads `cross-spawn`, whose
 * `which` reads the `OSTYPE` variable when loaded, which the server's `--allow-env` list does
 * not grant. Only the tour and the tests, which spawn a server, import it.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/client/stdio"
export { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
