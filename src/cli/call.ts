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
import { connectServer } from "../server/connect.ts";

/** Connects an in-process MCP client to a server on `backend`. */
export async function connectInProcess(backend: Backend, logger: Logger): Promise<Client> {
  const server = buildServer(backend, logger);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await connectServer(server, serverSide);
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
    let result = await client.callTool({ name, arguments: args });
    const token = confirmationToken(result.structuredContent);
    if (token) {
      const plan = planText(textOf(result));
      const confirmed = cli.yes || await askOnTerminal(plan);
      if (!confirmed) {
        console.log(plan);
        console.log(
          `Not confirmed: nothing was changed. ${
            Deno.stdin.isTerminal()
              ? "You answered no"
              : "There is no terminal to ask on; add --yes to confirm"
          } (exit status ${EXIT_NOT_CONFIRMED}).`,
        );
        return EXIT_NOT_CONFIRMED;
      }
      result = await client.callTool({
        name,
        arguments: { ...args, confirmation_token: token },
      });
    }
    const texts = textOf(result);
    console.log(
      cli.json ? JSON.stringify(result.structuredContent ?? { error: texts }, null, 2) : texts,
    );
    return result.isError ? 1 : 0;
  } finally {
    await client.close();
  }
}

/** Exit status of `call` when a change needed confirmation and did not get it. */
export const EXIT_NOT_CONFIRMED = 3;

function textOf(result: Record<string, unknown>): string {
  return ((result.content ?? []) as { type: string; text?: string }[])
    .filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

function confirmationToken(structured: unknown): string | undefined {
  const s = structured as { status?: unknown; confirmation_token?: unknown } | undefined;
  return s?.status === "confirmation_required" && typeof s.confirmation_token === "string"
    ? s.confirmation_token
    : undefined;
}

/** The plan without the instructions meant for an assistant (the CLI asks the person itself). */
function planText(text: string): string {
  const cut = text.indexOf("Show this plan to the user.");
  return (cut >= 0 ? text.slice(0, cut) : text).trimEnd();
}

/** On a terminal: shows the plan and asks y/N. False without a terminal or on anything but yes. */
async function askOnTerminal(plan: string): Promise<boolean> {
  if (!Deno.stdin.isTerminal()) return false;
  const out = new TextEncoder();
  await Deno.stderr.write(out.encode(`${plan}\nProceed? [y/N] `));
  const buf = new Uint8Array(256);
  const n = await Deno.stdin.read(buf);
  const answer = n === null ? "" : new TextDecoder().decode(buf.subarray(0, n)).trim();
  return /^y(es)?$/i.test(answer);
}
