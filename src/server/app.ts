/**
 * Assembles the application: a Proxmox backend (a real cluster from the configuration, or the
 * embedded simulator), the policy pipeline and the MCP server built from the catalogue.
 *
 * @module
 */
import { loadConfig } from "../config/mod.ts";
import { toClientOptions } from "../config/mod.ts";
import { ProxmoxClient } from "../proxmox/client.ts";
import { chooseTls, type TlsMode } from "../proxmox/tls_mode.ts";
import { allowedInReadOnly, modeStage } from "../safety/mode.ts";
import { Pipeline } from "../safety/pipeline.ts";
import { catalogue } from "../tools/catalogue.ts";
import { Inventory } from "../tools/inventory.ts";
import type { ProxmoxApi } from "../tools/context.ts";
import type { Tool } from "../tools/tool.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import { createMcpServer } from "./mcp_server.ts";
import type { McpServer } from "./sdk.ts";

/** Where the server's Proxmox API calls go. */
export interface Backend extends AsyncDisposable {
  client: ProxmoxApi;
  /** Human description for startup lines, e.g. `simulator at https://127.0.0.1:40123`. */
  description: string;
  defaultNode?: string;
  /** Whether mutating tools are refused. */
  readOnly: boolean;
  /** How the Proxmox node certificate is checked (`insecure` for `verify_ssl: false`). */
  tls?: TlsMode;
}

/** How to open a backend. */
export interface BackendOptions {
  /** Path of config.json; default `./config.json`. */
  configPath?: string;
  /** Use the embedded simulator instead of a configured cluster. */
  simulator?: boolean;
  /** Force read-only mode (otherwise: the config's `read_only`; the simulator allows writes). */
  readOnly?: boolean;
  /** Simulated task duration; the demo slows tasks down so progress is visible. */
  simulatorTaskMs?: number;
  logger: Logger;
  clock?: Clock;
}

/** Opens the backend named by `opts`: the simulator, or the cluster in the configuration. */
export async function openBackend(opts: BackendOptions): Promise<Backend> {
  if (opts.simulator) {
    const { startSimulator } = await import("../simulator/mod.ts");
    const sim = await startSimulator({
      taskDurationMs: opts.simulatorTaskMs ?? 0,
      logger: opts.logger,
    });
    const { tokenId, tokenSecret } = sim.credentials.admin;
    const client = new ProxmoxClient({
      baseUrl: sim.url,
      auth: { type: "token", tokenId, secret: tokenSecret },
      caCerts: [sim.caCert],
      logger: opts.logger,
      clock: opts.clock,
    });
    return {
      client,
      description: `embedded simulator at ${sim.url}`,
      tls: "ca",
      readOnly: opts.readOnly ?? false,
      async [Symbol.asyncDispose]() {
        client.close();
        await sim.close();
      },
    };
  }
  const loaded = await loadConfig({ path: opts.configPath });
  for (const w of loaded.warnings) opts.logger.log("warning", w);
  const tls = chooseTls(loaded.config);
  const client = new ProxmoxClient(
    await toClientOptions(loaded.config, {
      logger: opts.logger,
      clock: opts.clock,
      ...(tls.transport ? { transport: tls.transport } : {}),
    }),
  );
  return {
    client,
    tls: tls.mode,
    description: `${loaded.config.host}:${loaded.config.port} (${loaded.source}; ${tls.description})`,
    defaultNode: loaded.config.node,
    readOnly: opts.readOnly || loaded.config.read_only,
    // deno-lint-ignore require-await
    async [Symbol.asyncDispose]() {
      client.close();
    },
  };
}

/** Builds the MCP server for `backend` from the whole catalogue (or `tools`). */
export function buildServer(
  backend: Backend,
  logger: Logger,
  opts: { tools?: readonly Tool[]; clock?: Clock } = {},
): McpServer {
  const clock = opts.clock ?? systemClock;
  const inventory = new Inventory(backend.client, clock);
  const pipeline = new Pipeline(
    [modeStage(backend.readOnly)],
    (tool) => !backend.readOnly || allowedInReadOnly(tool),
  );
  return createMcpServer({
    tools: opts.tools ?? catalogue,
    pipeline,
    logger,
    context: (signal) => ({
      api: backend.client,
      inventory,
      defaultNode: backend.defaultNode,
      signal,
      logger,
    }),
  });
}
