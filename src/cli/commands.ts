/**
 * The subcommands: serve over stdio, list tools, call one tool, run the simulator.
 *
 * @module
 */
import { type Backend, buildServer, buildUnavailableServer, openBackend } from "../server/app.ts";
import { InFlight } from "../server/in_flight.ts";
import type { McpServer } from "../server/sdk.ts";
import { LineTransport } from "../server/stdio_transport.ts";
import { freezeMessage } from "../safety/freeze.ts";
import { describeApproval } from "../safety/settings.ts";
import { ConfigError, loadConfig } from "../config/mod.ts";
import { allowedInModes } from "../safety/mode.ts";
import { listingFromEnv, type ListingSettings, resolveListing } from "../server/listing.ts";
import { catalogueSource } from "../server/tool_source.ts";
import { type ToolMeta, TOOLSETS } from "../tools/tool.ts";
import { table } from "../tools/format.ts";
import type { Logger } from "../util/log.ts";
import { VERSION } from "../version.ts";
import { type CliArgs, listingFlags } from "./args.ts";
import { connectServer } from "../server/connect.ts";

/** How long calls in flight may finish after stdin ends, before they are cancelled. */
const STDIO_FINISH_MS = 600;
/** How long cancelled calls get to record their outcome (audit log) before the process exits. */
const STDIO_CANCEL_MS = 250;

/**
 * Serves MCP over stdio until stdin ends or a signal arrives. An invalid configuration does not
 * stop it: the server then answers every call with the problem and its fix. When stdin ends,
 * calls in flight get {@link STDIO_FINISH_MS} to finish, the rest are cancelled (their audit
 * records written), and the process can exit within a second.
 */
export async function serveStdio(cli: CliArgs, logger: Logger): Promise<void> {
  const inFlight = new InFlight();
  let backend: Backend | undefined;
  let server: McpServer;
  let description: string;
  try {
    backend = await openBackend({
      configPath: cli.config,
      simulator: cli.simulator,
      readOnly: cli.readOnly || undefined,
      listing: listingFlags(cli),
      simulatorTaskMs: 1500,
      logger,
    });
    server = buildServer(backend, logger, { inFlight });
    description = `backend ${backend.description}; ${
      backend.readOnly ? "read-only" : `changes allowed; ${safetyLine(backend)}`
    }`;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    logger.log("error", err.message);
    server = buildUnavailableServer(err.forAssistant(), logger);
    description = "NOT CONFIGURED: every tool call answers with the configuration problem";
  }
  const transport = new LineTransport({ logger });
  const ended = Promise.withResolvers<void>();
  transport.onEnd = () => ended.resolve();
  const stop = () => ended.resolve();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  try {
    await connectServer(server, transport);
    logger.log("info", `proxmox-mcp ${VERSION} serving MCP on stdio; ${description}`);
    await ended.promise;
    // Requests read before the end get a moment to be answered; the rest are cancelled.
    const left = await transport.answered(STDIO_FINISH_MS);
    if (left) logger.log("warning", `stdin closed: cancelling ${left} request(s) in flight`);
    await server.close(); // aborts the calls still running
    await inFlight.drain(STDIO_CANCEL_MS);
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGTERM", stop);
    await backend?.[Symbol.asyncDispose]();
  }
}

/** How changes are confirmed, where the kill switch is, and whether it is on (startup line). */
export function safetyLine(backend: Backend): string {
  const safety = backend.safety;
  if (!safety) return "";
  const frozen = safety.freeze.current();
  return `${describeApproval(safety.settings.approval, safety.approvals.channels())}; kill switch ${
    safety.freeze.where === "memory" ? "in memory (no state folder)" : safety.freeze.where
  }${frozen ? ` (FROZEN: ${freezeMessage(frozen, safety.freeze.where)})` : ""}`;
}

/**
 * Prints every toolset (on or off, its tools, the bytes its rows add to `tools/list`) and the
 * catalogue as tables (or JSON). The toolsets and modes come from the configuration (or the
 * environment when no configuration loads) and the command line.
 */
export async function listTools(cli: CliArgs): Promise<string> {
  const { listing, readOnly, note } = await listingForCli(cli);
  const modes = { readOnly, disableDestructive: listing.disableDestructive };
  const source = catalogueSource();
  const catalogue = source.rows;
  const offered = (t: ToolMeta) => listing.toolsets.has(t.toolset) && allowedInModes(t, modes);
  const bytes = new Map(
    source.list(catalogue).map((t) => [t.name, byteLength(JSON.stringify(t))]),
  );
  const sets = TOOLSETS.map((name) => {
    const rows = catalogue.filter((t) => t.toolset === name);
    const shown = rows.filter((t) => allowedInModes(t, modes));
    return {
      toolset: name,
      on: listing.toolsets.has(name),
      tools: shown.length,
      bytes: shown.reduce((n, t) => n + (bytes.get(t.name) ?? 0), 0),
      names: shown.map((t) => t.name),
    };
  });
  const rows = catalogue.map((t) => ({
    name: t.name,
    toolset: t.toolset,
    on: offered(t),
    kind: t.annotations.readOnlyHint
      ? "read"
      : t.judgedPerCall
      ? "write (judged per call)"
      : t.annotations.destructiveHint
      ? "destructive"
      : "write",
    bytes: bytes.get(t.name) ?? 0,
    privilege: t.privilege,
    title: t.title,
  }));
  const listed = JSON.stringify({
    tools: source.list(catalogue.filter(offered)),
  });
  const total = byteLength(listed);
  if (cli.json) {
    return JSON.stringify(
      {
        modes: { ...modes, toolsets: [...listing.toolsets] },
        toolsListBytes: total,
        toolsets: sets,
        tools: rows,
      },
      null,
      2,
    );
  }
  const mode = readOnly
    ? "read-only"
    : listing.disableDestructive
    ? "changes allowed, destructive tools off"
    : "changes allowed";
  return [
    `Toolsets (${mode}; tools/list is ${total} bytes with the toolsets that are on)${
      note ? `\n${note}` : ""
    }:`,
    table(sets, ["toolset", ["on", (r) => (r.on ? "on" : "off")], "tools", "bytes"]),
    "",
    "Enable with --toolsets a,b (all: every toolset; default: the everyday set, e.g. " +
    '--toolsets default,provision), PROXMOX_TOOLSETS, or "toolsets" in the config.',
    "",
    table(rows, [
      "name",
      "toolset",
      ["on", (r) => (r.on ? "on" : "off")],
      "kind",
      "bytes",
      "title",
      "privilege",
    ]),
  ].join("\n");
}

const byteLength = (text: string) => new TextEncoder().encode(text).length;

async function listingForCli(
  cli: CliArgs,
): Promise<{ listing: ListingSettings; readOnly: boolean; note?: string }> {
  const flags = listingFlags(cli);
  if (cli.simulator) {
    return { listing: resolveListing(listingFromEnv(), flags), readOnly: cli.readOnly };
  }
  try {
    const { config } = await loadConfig({ path: cli.config });
    return {
      listing: resolveListing(config, flags),
      readOnly: cli.readOnly || config.read_only,
    };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return {
      listing: resolveListing(listingFromEnv(), flags),
      readOnly: cli.readOnly,
      note: "(no usable configuration: toolsets from the environment and flags only)",
    };
  }
}

/** Where the simulated clock starts with `--seed`: a fixed instant, so UPIDs repeat. */
export const SEEDED_EPOCH = Date.UTC(2026, 0, 1);

/**
 * Runs the simulator alone and prints how to reach it; returns when interrupted. With `seed`,
 * the scenario and its clock are fixed (the clock starts at {@link SEEDED_EPOCH} and runs at
 * normal speed), so the same calls get the same UPIDs in every run.
 */
export async function runSimulator(
  logger: Logger,
  opts: { port?: number; seed?: number } = {},
): Promise<void> {
  const { startSimulator } = await import("../simulator/mod.ts");
  // With a seed the clock reads exactly SEEDED_EPOCH while the scenario is built, then runs.
  const start: { at?: number } = {};
  const clock = opts.seed === undefined
    ? undefined
    : { now: () => SEEDED_EPOCH + (start.at === undefined ? 0 : Date.now() - start.at) };
  await using sim = await startSimulator({
    taskDurationMs: 1500,
    logger,
    port: opts.port,
    seed: opts.seed,
    clock,
  });
  start.at = Date.now();
  // Under the server's permission flags no temporary file may be written: pin instead.
  const caFile = await Deno.makeTempFile({ prefix: "proxmox-mcp-sim-ca-", suffix: ".pem" })
    .then(async (path) => (await Deno.writeTextFile(path, sim.caCert), path))
    .catch(() => undefined);
  const { admin, auditor } = sim.credentials;
  const url = new URL(sim.url);
  console.log(`Proxmox VE simulator at ${sim.url}/api2/json (Ctrl-C to stop)
${caFile ? `CA certificate: ${caFile}` : `Certificate:    SHA-256 ${sim.fingerprint}`}
Admin token:    ${admin.tokenId} = ${admin.tokenSecret}
Admin login:    ${admin.username}@${admin.realm} / ${admin.password}
Auditor token:  ${auditor.tokenId} = ${auditor.tokenSecret} (read-only privileges)
A config.json for it:
${
    JSON.stringify(
      {
        host: url.hostname,
        port: Number(url.port),
        token_id: admin.tokenId,
        token_secret: admin.tokenSecret,
        ...(caFile ? { ca_file: caFile } : { fingerprint: sim.fingerprint }),
        read_only: false,
      },
      null,
      2,
    )
  }`);
  const stop = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", () => stop.resolve());
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", () => stop.resolve());
  await stop.promise;
  if (caFile) await Deno.remove(caFile).catch(() => {});
}
