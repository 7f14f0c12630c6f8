/**
 * `proxmox-mcp` on stdio. Start-up loads only what the first two answers need: the
 * configuration, the API client and the tool manifest. {@link EarlyAnswers} answers
 * `initialize` and `tools/list` from them while the MCP server (SDK, safety stages, resources,
 * prompts) loads, which starts once the tool list is answered or another message needs it.
 *
 * @module
 */
import { ConfigError } from "../config/mod.ts";
import { localChannels } from "../safety/approvals.ts";
import { allowedInModes } from "../safety/mode.ts";
import { describeApproval, safetySettings } from "../safety/settings.ts";
import { findStateDir } from "../safety/state_dir.ts";
import { type Connection, openConnection } from "../server/connection.ts";
import { EarlyAnswers } from "../server/early_answers.ts";
import { InFlight } from "../server/in_flight.ts";
import {
  confirmationInstructions,
  SERVER_CAPABILITIES,
  SERVER_INFO,
  serverInstructions,
} from "../server/instructions.ts";
import { hiddenTools, PrivilegeCache } from "../server/privilege_filter.ts";
import { LineTransport } from "../server/stdio_transport.ts";
import { catalogueSource, toolListAnswer } from "../server/tool_source.ts";
import { selectTools } from "../tools/toolsets.ts";
import { systemClock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import { VERSION } from "../version.ts";
import { backendOptions, type CliArgs } from "./args.ts";

/** How long calls in flight may finish after stdin ends, before they are cancelled. */
const STDIO_FINISH_MS = 600;
/** How long cancelled calls get to record their outcome (audit log) before the process exits. */
const STDIO_CANCEL_MS = 250;
/** When the server loads if the client asks for nothing after `initialize`. */
const LOAD_ANYWAY_MS = 1000;

/**
 * Serves MCP over stdio until stdin ends or a signal arrives. An invalid configuration does not
 * stop it: the server then answers every call with the problem and its fix. When stdin ends,
 * calls in flight get {@link STDIO_FINISH_MS} to finish, the rest are cancelled (their audit
 * records written), and the process can exit within a second.
 */
export async function serveStdio(cli: CliArgs, logger: Logger): Promise<void> {
  const transport = new LineTransport({ logger });
  const ended = Promise.withResolvers<void>();
  transport.onEnd = () => ended.resolve();
  const stop = () => ended.resolve();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  let dispose: (() => Promise<void>) | undefined;
  try {
    let conn: Connection | undefined;
    let problem: ConfigError | undefined;
    if (!cli.simulator) {
      try {
        conn = await openConnection(backendOptions(cli, logger));
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        problem = err;
      }
    }
    const privileges = conn?.listing.privilegeFilter
      ? new PrivilegeCache(conn.client, systemClock, logger)
      : undefined;
    void privileges?.ensure();
    const early = conn && await earlyAnswers(conn, transport, privileges);
    if (early) {
      await early.listen();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        early.needed,
        ended.promise,
        new Promise((r) => (timer = setTimeout(r, LOAD_ANYWAY_MS))),
      ]);
      clearTimeout(timer);
    }
    const [app, { connectServer }, { checkRequestParams }, { safetyLine }] = await Promise.all([
      import("../server/app.ts"),
      import("../server/connect.ts"),
      import("../server/request_params.ts"),
      import("./commands.ts"),
    ]);
    const inFlight = new InFlight();
    let server;
    let description;
    try {
      // An invalid configuration found above is not read a second time.
      if (problem) throw problem;
      const backend = conn
        ? await app.withSafety(conn, systemClock, logger)
        : await app.openBackend(backendOptions(cli, logger));
      dispose = async () => await backend[Symbol.asyncDispose]();
      backend.privileges = privileges;
      server = app.buildServer(backend, logger, { inFlight });
      description = `backend ${backend.description}; ${
        backend.readOnly ? "read-only" : `changes allowed; ${safetyLine(backend)}`
      }`;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      logger.log("error", err.message);
      server = app.buildUnavailableServer(err.forAssistant(), logger);
      description = "NOT CONFIGURED: every tool call answers with the configuration problem";
    }
    transport.checkParamsWith(checkRequestParams);
    await connectServer(server, early ?? transport);
    early?.release(checkRequestParams);
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
    await dispose?.();
  }
}

/**
 * The early answers for `conn`: the same instructions, capabilities and tool list as the
 * server that `buildServer` makes of it (checked by `tests/early_answers_test.ts`).
 */
async function earlyAnswers(
  conn: Connection,
  transport: LineTransport,
  privileges: PrivilegeCache | undefined,
): Promise<EarlyAnswers> {
  const settings = safetySettings(conn.config);
  const channels = localChannels(await findStateDir(settings.stateDir));
  const modes = { readOnly: conn.readOnly, disableDestructive: conn.listing.disableDestructive };
  const source = catalogueSource();
  const visible = selectTools(source.rows, conn.listing.toolsets).filter((t) =>
    allowedInModes(t, modes)
  );
  const hidden = () => privileges?.held ? hiddenTools(visible, privileges.held) : new Map();
  const list = toolListAnswer(
    source,
    visible,
    privileges && { ensure: () => privileges.ensure(), hidden: () => new Set(hidden().keys()) },
  );
  return new EarlyAnswers(transport, {
    initialize: () => ({
      capabilities: SERVER_CAPABILITIES,
      serverInfo: SERVER_INFO,
      instructions: serverInstructions({
        extra: confirmationInstructions(describeApproval(settings.approval, channels)),
        hidden: privileges ? hidden() : undefined,
      }),
    }),
    toolsList: list,
  });
}
