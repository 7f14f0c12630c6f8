/**
 * `serve --http HOST:PORT`: MCP over Streamable HTTP until SIGTERM or SIGINT, then a graceful
 * shutdown; and `healthcheck`, which probes a running server's `/healthz` (for container
 * health checks in images without a shell).
 *
 * @module
 */
import { buildServer, openBackend } from "../server/app.ts";
import { hostPort, isLoopback, listenFromEnv, parseListenAddress } from "../server/http_address.ts";
import { HttpSetupError, startHttpServer } from "../server/http.ts";
import { resolveHttpSettings } from "../server/http_settings.ts";
import { approvalsPage } from "../server/approvals_page.ts";
import { systemClock } from "../util/clock.ts";
import { safetyLine } from "./commands.ts";
import type { Logger } from "../util/log.ts";
import { VERSION } from "../version.ts";
import { backendOptions, type CliArgs } from "./args.ts";

/** Serves MCP over Streamable HTTP until a signal arrives; returns once shut down. */
export async function serveHttp(cli: CliArgs, logger: Logger): Promise<void> {
  const settings = await resolveHttpSettings({
    http: cli.http ?? "127.0.0.1:8080",
    bearerTokenFile: cli.bearerTokenFile,
    allowedHosts: cli.allowedHosts,
    allowedOrigins: cli.allowedOrigins,
    shutdownGrace: cli.shutdownGrace,
  });
  const { hostname, port } = settings.address;
  const loopback = isLoopback(hostname);
  await using backend = await openBackend(backendOptions(cli, logger));
  if (backend.tls === "insecure" && !loopback && !cli.allowInsecureTls) {
    throw new HttpSetupError(
      `Refusing to serve HTTP on ${hostname} with verify_ssl: false: remote clients would drive ` +
        "a connection to Proxmox that anyone on the path can intercept. Set fingerprint or " +
        "ca_file, or pass --allow-insecure-tls to accept the risk",
    );
  }
  const safety = backend.safety;
  if (backend.approverToken && backend.approverToken === settings.token) {
    throw new HttpSetupError(
      "Refusing to start: approver_token equals the MCP bearer token, so any MCP client could " +
        "approve its own changes. Give approvers a different credential",
    );
  }
  const approvals = safety && backend.approverToken
    ? approvalsPage({
      board: safety.approvals,
      freeze: safety.freeze,
      approverToken: backend.approverToken,
      clock: systemClock,
      logger,
    })
    : undefined;
  const server = await startHttpServer({
    approvals,
    hostname,
    port,
    bearerToken: settings.token,
    allowedHosts: settings.allowedHosts,
    allowedOrigins: settings.allowedOrigins,
    shutdownGraceMs: settings.shutdownGraceMs,
    createServer: (stopCalls, narrow) => buildServer(backend, logger, { stopCalls, narrow }),
    logger,
  });
  if (approvals && safety) {
    safety.approvals.addChannel(server.url.replace(/\/mcp$/, "/approvals"));
  }
  if (!settings.token) {
    logger.log(
      "warning",
      "No bearer token: every local process can use this server (set PROXMOX_MCP_HTTP_TOKEN)",
    );
  }
  if (!loopback && settings.allowedHosts.length === 0) {
    logger.log(
      "info",
      "Host header not checked (listening beyond loopback): set PROXMOX_MCP_ALLOWED_HOSTS " +
        "to the names clients use to pin it",
    );
  }
  logger.log(
    "info",
    `proxmox-mcp ${VERSION} serving MCP over Streamable HTTP at ${server.url} (${
      settings.token ? `bearer token from ${settings.tokenSource}` : "no authentication"
    }); backend ${backend.description}; ${backend.readOnly ? "read-only" : "changes allowed"}${
      backend.readOnly ? "" : `; ${safetyLine(backend)}`
    }`,
  );
  const stop = () => {
    logger.log("info", "Signal received: shutting down");
    void server.shutdown();
  };
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  try {
    await server.finished;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    if (Deno.build.os !== "windows") Deno.removeSignalListener("SIGTERM", stop);
  }
  logger.log("info", "HTTP server stopped");
}

/**
 * Probes `http://HOST:PORT/healthz` (`--http`, else `PROXMOX_MCP_LISTEN`, else 127.0.0.1:8080;
 * a wildcard address is probed on loopback); returns 0 when healthy, 1 otherwise.
 */
export async function healthcheck(cli: CliArgs): Promise<number> {
  const address = parseListenAddress(cli.http ?? listenFromEnv() ?? "127.0.0.1:8080");
  const host = address.hostname === "0.0.0.0"
    ? "127.0.0.1"
    : address.hostname === "::"
    ? "::1"
    : address.hostname;
  const url = `http://${hostPort(host, address.port)}/healthz`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    console.log(`${res.status} ${text}`);
    return res.ok ? 0 : 1;
  } catch (e) {
    console.log(`unhealthy: ${url}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
