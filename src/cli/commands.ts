/**
 * The subcommands that list tools and run the simulator, and the startup line's safety part
 * (serving on stdio is `serve_stdio.ts`).
 *
 * @module
 */
import type { Backend } from "../server/app.ts";
import { freezeMessage } from "../safety/freeze.ts";
import { describeApproval } from "../safety/settings.ts";
import { ConfigError, loadConfig } from "../config/mod.ts";
import { allowedInModes } from "../safety/mode.ts";
import { listingFromEnv, type ListingSettings, resolveListing } from "../server/listing.ts";
import { catalogueSource } from "../server/tool_source.ts";
import { type ToolMeta, TOOLSETS } from "../tools/tool.ts";
import { table } from "../tools/format.ts";
import type { Logger } from "../util/log.ts";
import { type CliArgs, listingFlags } from "./args.ts";

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
