/**
 * A full stack for end-to-end tests: the simulator over HTTPS on loopback, a config file for
 * it, and the real server as a child process spoken to by the SDK's client over stdio.
 *
 * @module
 */
import { Client } from "../../src/server/sdk_client.ts";
import { StdioClientTransport } from "../../src/server/sdk_stdio_client.ts";
import { type Simulator, type SimulatorOptions, startSimulator } from "../../src/simulator/mod.ts";

/** A running simulator, server process and connected client. */
export interface Stack extends AsyncDisposable {
  sim: Simulator;
  client: Client;
  configPath: string;
  /** What the server wrote on stderr so far. */
  stderr(): string;
}

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/** Permission flags of `deno task start`. */
export const START_FLAGS = ["--allow-net", "--allow-read", "--allow-env", "--no-prompt"];

/**
 * Writes a config for `sim` (token auth, its CA, every toolset on) merged with `extra`; returns
 * its path. Pass `toolsets: []` in `extra` for the server's default (everyday) set.
 */
export async function writeSimConfig(
  sim: Simulator,
  extra: Record<string, unknown> = {},
): Promise<{ dir: string; path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-test-" });
  const caFile = `${dir}/ca.pem`;
  await Deno.writeTextFile(caFile, sim.caCert);
  const url = new URL(sim.url);
  const config = {
    host: url.hostname,
    port: Number(url.port),
    token_id: sim.credentials.admin.tokenId,
    token_secret: sim.credentials.admin.tokenSecret,
    ca_file: caFile,
    timeout: 10,
    toolsets: ["all"],
    ...extra,
  };
  const path = `${dir}/config.json`;
  await Deno.writeTextFile(path, JSON.stringify(config), { mode: 0o600 });
  return { dir, path };
}

/** Starts the simulator and the server (as `deno task start` would run it) with a config for it. */
export async function startStack(
  opts: {
    config?: Record<string, unknown>;
    simulator?: SimulatorOptions;
    args?: string[];
    /** Deno flags added to {@link START_FLAGS} (e.g. `--allow-write` for an audit log). */
    flags?: string[];
  } = {},
): Promise<Stack> {
  const sim = await startSimulator(opts.simulator);
  const { dir, path } = await writeSimConfig(sim, opts.config);
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: [
      "run",
      ...START_FLAGS,
      ...(opts.flags ?? []),
      MAIN,
      "--config",
      path,
      ...(opts.args ?? []),
    ],
    stderr: "pipe",
    env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "" },
  });
  let stderr = "";
  transport.stderr?.on("data", (chunk: Uint8Array) => {
    stderr += new TextDecoder().decode(chunk);
  });
  const client = new Client({ name: "proxmox-mcp-tests", version: "1.0.0" });
  try {
    await client.connect(transport);
  } catch (err) {
    await sim.close();
    throw new Error(`Server did not start: ${(err as Error).message}\n${stderr}`);
  }
  return {
    sim,
    client,
    configPath: path,
    stderr: () => stderr,
    async [Symbol.asyncDispose]() {
      await client.close();
      await sim.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The text content of a tool result. */
export function textOf(result: Record<string, unknown>): string {
  const content = Array.isArray(result.content) ? result.content : [];
  return content.map((c: { text?: string }) => c.text ?? "").join("\n");
}

/** `call` (must succeed, returns structured content and text) and `fail` (must fail, matching). */
export function toolCalls(client: Client) {
  return {
    async call(name: string, args: Record<string, unknown> = {}) {
      const r = await client.callTool({ name, arguments: args });
      if (r.isError) throw new Error(`${name} ${JSON.stringify(args)} failed: ${textOf(r)}`);
      const text = textOf(r);
      if (!text) throw new Error(`${name} ${JSON.stringify(args)} returned no text`);
      return { s: r.structuredContent as Record<string, unknown>, text };
    },
    async fail(name: string, args: Record<string, unknown>, pattern: RegExp) {
      const r = await client.callTool({ name, arguments: args });
      if (!r.isError) throw new Error(`${name} ${JSON.stringify(args)} should fail`);
      if (!pattern.test(textOf(r))) {
        throw new Error(`${name} ${JSON.stringify(args)}: ${textOf(r)} does not match ${pattern}`);
      }
    },
  };
}
