/**
 * proxmox-mcp: an MCP server for Proxmox VE. Entry point of the command line.
 *
 * @module
 */
import { HELP, parseCli, UsageError } from "./cli/args.ts";
import { serveStdio } from "./cli/serve_stdio.ts";
import { ConfigError } from "./config/mod.ts";
import { maskSecretLike } from "./safety/redact.ts";
import { listenFromEnv } from "./server/http_address.ts";
import { StderrLogger } from "./util/log.ts";
import { VERSION } from "./version.ts";

/** Runs the command line `argv`; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const logger = new StderrLogger();
  try {
    const cli = parseCli(argv);
    if (cli.help) {
      console.log(HELP);
      return 0;
    }
    if (cli.version) {
      console.log(`proxmox-mcp ${VERSION}`);
      return 0;
    }
    switch (cli.command) {
      case "serve": {
        const http = cli.http ?? listenFromEnv();
        if (http !== undefined) {
          const { serveHttp } = await import("./cli/serve_http.ts");
          await serveHttp({ ...cli, http }, logger);
        } else {
          await serveStdio(cli, logger);
        }
        return 0;
      }
      case "healthcheck": {
        const { healthcheck } = await import("./cli/serve_http.ts");
        return await healthcheck(cli);
      }
      case "tools":
        console.log(await (await import("./cli/commands.ts")).listTools(cli));
        return 0;
      case "call":
        return await (await import("./cli/call.ts")).callTool(cli, logger);
      case "simulator":
        await (await import("./cli/commands.ts")).runSimulator(logger, {
          port: cli.port,
          seed: cli.seed,
        });
        return 0;
      case "demo": {
        const { runDemo } = await import("./cli/demo.ts");
        return await runDemo(logger);
      }
      case "audit": {
        const { runAudit } = await import("./cli/audit.ts");
        return await runAudit(cli);
      }
      case "approvals":
        return await (await import("./cli/approvals.ts")).runApprovals(cli);
      case "freeze":
      case "unfreeze":
        return await (await import("./cli/approvals.ts")).runFreeze(
          cli,
          cli.command === "unfreeze",
        );
      case "doctor": {
        const { runDoctor } = await import("./cli/doctor.ts");
        return await runDoctor(cli, logger);
      }
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      console.error(maskSecretLike(`proxmox-mcp: ${err.message}`));
      return 2;
    }
    console.error(
      maskSecretLike(`proxmox-mcp: ${err instanceof Error ? err.message : String(err)}`),
    );
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
