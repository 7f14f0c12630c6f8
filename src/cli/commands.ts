/**
 * The subcommands: serve over stdio, list tools, call one tool, run the simulator.
 *
 * @module
 */
import { buildServer, openBackend } from "../server/app.ts";
import { StdioServerTransport } from "../server/sdk.ts";
import { catalogue } from "../tools/catalogue.ts";
import { table } from "../tools/format.ts";
import type { Logger } from "../util/log.ts";
import { VERSION } from "../version.ts";
import type { CliArgs } from "./args.ts";

/** Serves MCP over stdio until stdin closes or a signal arrives. */
export async function serveStdio(cli: CliArgs, logger: Logger): Promise<void> {
  await using backend = await openBackend({
    configPath: cli.config,
    simulator: cli.simulator,
    readOnly: cli.readOnly || undefined,
    simulatorTaskMs: 1500,
    logger,
  });
  const server = buildServer(backend, logger);
  const transport = new StdioServerTransport();
  const closed = Promise.withResolvers<void>();
  transport.onclose = () => closed.resolve();
  const stop = () => closed.resolve();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  await server.connect(transport);
  logger.log(
    "info",
    `proxmox-mcp ${VERSION} serving MCP on stdio; backend ${backend.description}; ${
      backend.readOnly ? "read-only" : "changes allowed"
    }`,
  );
  await closed.promise;
  Deno.removeSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGTERM", stop);
  await server.close();
}

/** Prints the catalogue as a table (or JSON). */
export function listTools(cli: CliArgs): string {
  const rows = catalogue.map((t) => ({
    name: t.name,
    toolset: t.toolset,
    kind: t.annotations.readOnlyHint
      ? "read"
      : t.annotations.destructiveHint
      ? "destructive"
      : "write",
    privilege: t.privilege,
    title: t.title,
  }));
  if (cli.json) return JSON.stringify(rows, null, 2);
  return table(rows, ["name", "toolset", "kind", "title", "privilege"]);
}

/** Runs the simulator alone and prints how to reach it; returns when interrupted. */
export async function runSimulator(logger: Logger): Promise<void> {
  const { startSimulator } = await import("../simulator/mod.ts");
  await using sim = await startSimulator({ taskDurationMs: 1500, logger });
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
