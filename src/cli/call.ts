/**
 * `call`: runs one tool through the full server, in process, and prints the result.
 *
 * @module
 */
import type { Backend } from "../server/app.ts";
import { buildServer, openBackend } from "../server/app.ts";
import { Client, InMemoryTransport } from "../server/sdk_client.ts";
import type { Logger } from "../util/log.ts";
import { VERSION } from "../version.ts";
import { type CliArgs, listingFlags, UsageError } from "./args.ts";

/** Connects an in-process MCP client to a server on `backend`. */
export async function connectInProcess(backend: Backend, logger: Logger): Promise<Client> {
  const server = buildServer(backend, logger);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: "proxmox-mcp-cli", version: VERSION });
  await client.connect(clientSide);
  return client;
}

/** Calls one tool through the full server and prints its result; returns the exit code. */
export async function callTool(cli: CliArgs, logger: Logger): Promise<number> {
  const [name, json] = cli.positionals;
  if (!name) throw new UsageError("call needs a tool name: proxmox-mcp call <tool> [json-args]");
  let args: Record<string, unknown> = {};
  if (json !== undefined) {
    try {
      args = JSON.parse(json);
    } catch (err) {
      throw new UsageError(`Arguments must be a JSON object: ${(err as Error).message}`);
    }
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      throw new UsageError("Arguments must be a JSON object, e.g. '{\"vmid\":100}'");
    }
  }
  await using backend = await openBackend({
    configPath: cli.config,
    simulator: cli.simulator,
    readOnly: cli.readOnly || undefined,
    listing: listingFlags(cli),
    logger,
  });
  const client = await connectInProcess(backend, logger);
  try {
    const result = await client.callTool({ name, arguments: args });
    const texts = (result.content as { type: string; text?: string }[])
      .filter((c) => c.type === "text").map((c) => c.text).join("\n");
    console.log(
      cli.json ? JSON.stringify(result.structuredContent ?? { error: texts }, null, 2) : texts,
    );
    return result.isError ? 1 : 0;
  } finally {
    await client.close();
  }
}
