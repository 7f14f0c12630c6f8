/**
 * The benchmark's floor: a bare Deno process running the MCP SDK's `McpServer` and nothing
 * else, over stdio, or over Streamable HTTP with `--http PORT` (one SDK transport per session,
 * on `Deno.serve`). Cold start and idle memory of proxmox-mcp are reported as ratios to this
 * process, started the same way in the same run.
 *
 * With `--api` it has a second tool, `api_get`, which makes one API request the plainest way
 * (`fetch`, the token from `config.json` in the working directory): the latency of a tool call
 * that does what `guest_status` does with no code of ours around it. Without it, the floor of
 * cold start and idle memory is a server with one tool, as issue 14 defines it.
 *
 * @module
 */
// @ts-types="@modelcontextprotocol/sdk/server/mcp"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
// @ts-types="@modelcontextprotocol/sdk/server/stdio"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
// @ts-types="@modelcontextprotocol/sdk/server/webStandardStreamableHttp"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { z } from "zod";

/** Where `api_get` sends its requests, read once from `config.json`. */
interface Backend {
  base: string;
  auth: string;
  client: Deno.HttpClient;
}

let backend: Promise<Backend> | undefined;

async function readBackend(): Promise<Backend> {
  const config = JSON.parse(await Deno.readTextFile("config.json"));
  return {
    base: `https://${config.host}:${config.port}/api2/json`,
    auth: `PVEAPIToken=${config.token_id}=${config.token_secret}`,
    client: Deno.createHttpClient({ caCerts: [await Deno.readTextFile(config.ca_file)] }),
  };
}

function floorServer(): McpServer {
  const server = new McpServer({ name: "floor", version: "1.0.0" });
  server.registerTool(
    "echo",
    { description: "Answers with its text.", inputSchema: { text: z.string() } },
    ({ text }) => ({ content: [{ type: "text", text }] }),
  );
  if (!Deno.args.includes("--api")) return server;
  server.registerTool(
    "api_get",
    { description: "GETs one API path; answers with the JSON.", inputSchema: { path: z.string() } },
    async ({ path }) => {
      const api = await (backend ??= readBackend());
      const res = await fetch(`${api.base}${path}`, {
        client: api.client,
        headers: { Authorization: api.auth },
      });
      return { content: [{ type: "text", text: await res.text() }] };
    },
  );
  return server;
}

const at = Deno.args.indexOf("--http");
if (at < 0) {
  await floorServer().connect(new StdioServerTransport());
} else {
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  Deno.serve(
    { hostname: "127.0.0.1", port: Number(Deno.args[at + 1]), onListen() {} },
    async (req) => {
      const id = req.headers.get("mcp-session-id");
      let transport = id ? sessions.get(id) : undefined;
      if (id && !transport) return new Response("Session not found", { status: 404 });
      if (!transport) {
        const created: WebStandardStreamableHTTPServerTransport =
          new WebStandardStreamableHTTPServerTransport({
            sessionIdGenerator: () => crypto.randomUUID(),
            onsessioninitialized: (sid) => void sessions.set(sid, created),
          });
        await floorServer().connect(created);
        transport = created;
      }
      return await transport.handleRequest(req);
    },
  );
}
