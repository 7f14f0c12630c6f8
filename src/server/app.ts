/**
 * Assembles the application: a Proxmox backend (a real cluster from the configuration, or the
 * embedded simulator), the policy pipeline and the MCP server built from the catalogue.
 *
 * @module
 */
import { ConfigError, configSchema, denoEnv } from "../config/mod.ts";
import { readEnv } from "../config/env.ts";
import { ProxmoxClient } from "../proxmox/client.ts";
import type { TlsMode } from "../proxmox/tls_mode.ts";
import { type Connection, openConnection } from "./connection.ts";
import { describeApproval, type SafetyConfig, safetySettings } from "../safety/settings.ts";
import { modeRefusal } from "../safety/mode.ts";
import { memorySafety, openSafety, type Safety, safetyPipeline } from "../safety/stages.ts";
import { Inventory } from "../tools/inventory.ts";
import type { ProxmoxApi, TaskWaitSettings } from "../tools/context.ts";
import { DEFAULT_TASK_WAIT } from "../tools/task_wait.ts";
import type { Tool } from "../tools/tool.ts";
import { type Clock, systemClock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import {
  defaultListing,
  type ListingFlags,
  listingFromEnv,
  type ListingSettings,
  narrowListing,
  resolveListing,
  type SessionNarrowing,
} from "./listing.ts";
import { selectTools } from "../tools/toolsets.ts";
import { catalogueSource, type ToolSource } from "./tool_source.ts";
import { rowSource } from "./row_source.ts";
import type { InFlight } from "./in_flight.ts";
import { createMcpServer } from "./mcp_server.ts";
import { confirmationInstructions } from "./instructions.ts";
import { PrivilegeCache } from "./privilege_filter.ts";
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
  /** Process-wide safety state (scope, rate limits, tokens, audit log); defaults if absent. */
  safety?: Safety;
  /** Toolsets, `disable_destructive`, privilege filter; the defaults if absent. */
  listing?: ListingSettings;
  /** The approvers' credential for the `/approvals` page (HTTP only). */
  approverToken?: string;
  /** Base URL of the cluster's web UI (`https://host:8006`), for links such as console URLs. */
  webUrl?: string;
  /** The identity's privileges, read once and shared by every session (set by buildServer). */
  privileges?: PrivilegeCache;
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
  /** Command-line overrides of the tool listing (`--toolsets`, `--disable-destructive`, …). */
  listing?: ListingFlags;
  logger: Logger;
  clock?: Clock;
}

/** Opens the backend named by `opts`: the simulator, or the cluster in the configuration. */
export async function openBackend(opts: BackendOptions): Promise<Backend> {
  if (opts.simulator) {
    const listing = resolveListing(listingFromEnv(), opts.listing);
    const { startSimulator } = await import("../simulator/mod.ts");
    const sim = await startSimulator({
      taskDurationMs: opts.simulatorTaskMs ?? 0,
      logger: opts.logger,
    });
    const { tokenId, tokenSecret } = sim.credentials.admin;
    const fromEnv = simulatorSafetyConfig();
    const safety = await openSafety(safetySettings(fromEnv), { clock: opts.clock ?? systemClock });
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
      webUrl: sim.url,
      tls: "ca",
      readOnly: opts.readOnly ?? false,
      safety,
      listing,
      approverToken: fromEnv.approver_token,
      async [Symbol.asyncDispose]() {
        client.close();
        safety.audit.close();
        safety.close();
        await sim.close();
      },
    };
  }
  return await withSafety(await openConnection(opts), opts.clock ?? systemClock, opts.logger);
}

/**
 * The backend of `conn`: its safety state opened (audit log checked, state folder, approvals,
 * kill switch). A log that fails its check refuses changes; reads go on.
 */
export async function withSafety(conn: Connection, clock: Clock, logger: Logger): Promise<Backend> {
  const { client, config } = conn;
  const safety = await openSafety(safetySettings(config), {
    clock,
    auditPath: config.audit_log,
    auditKeyFile: config.audit_key_file,
  });
  if (safety.audit.problem) logger.log("error", `Changes are refused: ${safety.audit.problem}`);
  return {
    client,
    safety,
    tls: conn.tls,
    description: conn.description,
    defaultNode: conn.defaultNode,
    webUrl: conn.webUrl,
    readOnly: conn.readOnly,
    listing: conn.listing,
    approverToken: conn.approverToken,
    // deno-lint-ignore require-await
    async [Symbol.asyncDispose]() {
      client.close();
      safety.audit.close();
      safety.close();
    },
  };
}

/**
 * The approval, state-folder and undo settings of the simulator backend, which reads no config
 * file: from their `PROXMOX_*` variables, validated like the file.
 */
function simulatorSafetyConfig(): SafetyConfig & { approver_token?: string } {
  const env = readEnv(denoEnv);
  const fields = [
    "approval",
    "approver_token",
    "state_dir",
    "undo_snapshots",
    "undo_keep",
  ] as const;
  const picked = Object.fromEntries(fields.map((f) => [f, env.values[f]]));
  const parsed = configSchema.pick(
    Object.fromEntries(fields.map((f) => [f, true])) as Record<typeof fields[number], true>,
  ).safeParse(picked);
  const issues = [...env.issues.filter((i) => fields.some((f) => i.field === env.vars[f]))];
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const f = String(i.path[0]) as typeof fields[number];
      issues.push({ field: env.vars[f] ?? f, message: i.message });
    }
  }
  if (issues.length || !parsed.success) throw new ConfigError(issues, "environment");
  return parsed.data;
}

/**
 * Builds the MCP server for `backend` from the catalogue (or `tools`), offering the rows of the
 * enabled toolsets that the modes allow; `narrow` (an HTTP session's headers) can only shrink it.
 */
export function buildServer(
  backend: Backend,
  logger: Logger,
  opts: {
    tools?: readonly Tool[];
    /** Where the rows come from, in place of `tools` or the catalogue (tests). */
    source?: ToolSource;
    clock?: Clock;
    tasks?: Partial<TaskWaitSettings>;
    /** Cancels every call in progress when it aborts (HTTP shutdown past its grace period). */
    stopCalls?: AbortSignal;
    /** A session's narrowing of toolsets and read-only mode (never widens). */
    narrow?: SessionNarrowing;
    /** Time between checks of subscribed resources for changes made elsewhere. */
    subscriptionPollMs?: number;
    /** Tracks the tool calls in progress (stdio shutdown waits for them). */
    inFlight?: InFlight;
  } = {},
): McpServer {
  const clock = opts.clock ?? systemClock;
  const inventory = Inventory.shared(backend.client, clock);
  const safety = backend.safety ?? memorySafety(safetySettings(), clock);
  const { listing, readOnly } = narrowListing(
    backend.listing ?? defaultListing(),
    backend.readOnly,
    opts.narrow,
  );
  const pipeline = safetyPipeline({
    ...safety,
    readOnly,
    disableDestructive: listing.disableDestructive,
    clock,
  });
  const tasks: TaskWaitSettings = {
    ...DEFAULT_TASK_WAIT,
    timeoutMs: safety.settings.taskTimeoutMs,
    clock,
    ...opts.tasks,
  };
  const privileges = listing.privilegeFilter
    ? (backend.privileges ??= new PrivilegeCache(backend.client, clock, logger))
    : undefined;
  const source = opts.source ?? (opts.tools ? rowSource(opts.tools) : catalogueSource());
  return createMcpServer({
    privileges,
    tools: source,
    offered: selectTools(source.rows, listing.toolsets),
    pipeline,
    logger,
    inFlight: opts.inFlight,
    hiddenReason: (tool) =>
      modeRefusal(tool, { readOnly, disableDestructive: listing.disableDestructive }),
    offReason: (name) => {
      const row = source.rows.find((t) => t.name === name);
      if (!row || listing.toolsets.has(row.toolset)) return undefined;
      return `Refused ${name}: it is in the ${row.toolset} toolset, which this server does not ` +
        `offer. Add "${row.toolset}" to toolsets in the config, PROXMOX_TOOLSETS or --toolsets ` +
        `(e.g. --toolsets default,${row.toolset}) to use it`;
    },
    warmSnapshot: () => void inventory.resources().catch(() => {}),
    elicitTimeoutMs: safety.settings.confirmTimeoutMs,
    subscriptionPollMs: opts.subscriptionPollMs,
    instructions: confirmationInstructions(
      describeApproval(safety.settings.approval, safety.approvals.channels()),
    ),
    context: (signal, extras) => ({
      api: backend.client,
      inventory,
      defaultNode: backend.defaultNode,
      webUrl: backend.webUrl,
      signal: opts.stopCalls ? AbortSignal.any([signal, opts.stopCalls]) : signal,
      logger: extras.logger,
      progress: extras.progress,
      elicit: extras.elicit,
      session: extras.session,
      scope: safety.scope,
      policy: safety.settings,
      tasks,
    }),
  });
}

/**
 * A server for when the backend cannot be opened (an invalid configuration): it completes the
 * handshake, lists the read-only tools, and its instructions and every tool call answer
 * `problem`, so the assistant can tell the user what to fix.
 */
export function buildUnavailableServer(problem: string, logger: Logger): McpServer {
  const safety = memorySafety(safetySettings(), systemClock);
  const source = catalogueSource();
  return createMcpServer({
    tools: source,
    offered: source.rows,
    pipeline: safetyPipeline({ ...safety, readOnly: true }),
    logger,
    unavailable: problem,
    context: () => {
      throw new Error(problem);
    },
  });
}
