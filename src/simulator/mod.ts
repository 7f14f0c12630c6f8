/**
 * The embedded Proxmox VE API simulator: a stateful cluster behind a pveproxy-like HTTPS API
 * on loopback, validated against the official schema, for newcomers and tests.
 *
 * ```ts
 * await using sim = await startSimulator({ clock: new ManualClock(), taskDurationMs: 1500 });
 * const client = Deno.createHttpClient({ caCerts: [sim.caCert] });
 * const { admin } = sim.credentials;
 * await fetch(`${sim.url}/api2/json/nodes`, {
 *   client,
 *   headers: { Authorization: `PVEAPIToken=${admin.tokenId}=${admin.tokenSecret}` },
 * });
 * ```
 *
 * @module
 */
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/log.ts";
import { type CoreOptions, SimulatorCore } from "./core.ts";
import type { Faults } from "./faults.ts";
import { handleApiRequest as handleCore } from "./handler.ts";
import type { Credentials } from "./scenario_common.ts";
import type { ScenarioSpec } from "./scenario_generated.ts";
import { assertLoopback, serveHttps } from "./serve.ts";
import type { ClusterState } from "./state.ts";
import { otherCaCert, simulatorCaCert, simulatorServerFingerprint } from "./tls/certs.ts";

export { SimulatorCore } from "./core.ts";
export type { CoreOptions } from "./core.ts";
export type { FailSpec, Faults, LoseSpec } from "./faults.ts";
export type { Credentials } from "./scenario_common.ts";
export type { ScenarioSpec } from "./scenario_generated.ts";
export type * from "./state.ts";
export { Guest } from "./state.ts";
export { otherCaCert, simulatorCaCert, simulatorServerFingerprint };

/** Options of {@link startSimulator}. */
export interface SimulatorOptions {
  /** "default" (3 nodes, 15 guests), "large" (10,000 guests over 20 nodes) or a generated spec. */
  scenario?: "default" | "large" | ScenarioSpec;
  /** Seed of everything generated; default 1. */
  seed?: number;
  /** Time source; default the system clock. */
  clock?: Clock;
  /** How long simulated tasks run, in clock ms; default 0 (instant). */
  taskDurationMs?: number;
  /** Loopback address to listen on; default "127.0.0.1". Other addresses are refused. */
  hostname?: string;
  /** Port; default 0 (any free port). */
  port?: number;
  /** Where diagnostics go; default silent. */
  logger?: Logger;
}

/** A running simulator. Dispose of it (`await using`) or call `close()`. */
export interface Simulator extends AsyncDisposable {
  /** Base URL, e.g. "https://127.0.0.1:41234"; the API is under `/api2/json`. */
  readonly url: string;
  readonly hostname: string;
  readonly port: number;
  /** PEM of the bundled test-only CA that signed the server certificate. */
  readonly caCert: string;
  /** SHA-256 fingerprint of the server certificate (colon hex, uppercase). */
  readonly fingerprint: string;
  /** Ready-made identities: root@pam (all privileges) and auditor@pve (PVEAuditor). */
  readonly credentials: Credentials;
  /** The cluster, inspectable and mutable (see `state.ts` for its shape). */
  readonly state: ClusterState;
  /** Fault injection. */
  readonly faults: Faults;
  /** API requests served so far. */
  readonly requests: number;
  /** The socketless core (for {@link handleApiRequest}). */
  readonly core: SimulatorCore;
  /** Stops listening. */
  close(): Promise<void>;
}

/**
 * Answers one request like pveproxy, without a socket. `sim` is a running simulator or a core
 * built with `new SimulatorCore(options)`.
 */
export function handleApiRequest(
  sim: Simulator | SimulatorCore,
  request: Request,
): Promise<Response> {
  return handleCore(sim instanceof SimulatorCore ? sim : sim.core, request);
}

/** Starts a simulator on HTTPS loopback. The default scenario starts in well under 100 ms. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const hostname = opts.hostname ?? "127.0.0.1";
  assertLoopback(hostname);
  const coreOptions: CoreOptions = {
    scenario: opts.scenario,
    seed: opts.seed,
    clock: opts.clock,
    taskDurationMs: opts.taskDurationMs,
    logger: opts.logger,
  };
  const core = new SimulatorCore(coreOptions);
  const listener = await serveHttps(
    hostname,
    opts.port ?? 0,
    (request) => handleCore(core, request),
    core.logger,
  );
  const host = listener.hostname.includes(":") ? `[${listener.hostname}]` : listener.hostname;
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= listener.close());
  core.logger.log("info", "Simulator listening", {
    url: `https://${host}:${listener.port}`,
    nodes: core.state.nodes.size,
    guests: core.state.guests.size,
  });
  return {
    url: `https://${host}:${listener.port}`,
    hostname: listener.hostname,
    port: listener.port,
    caCert: simulatorCaCert,
    fingerprint: simulatorServerFingerprint,
    credentials: core.credentials,
    state: core.state,
    faults: core.faults,
    get requests() {
      return core.requests;
    },
    core,
    close,
    [Symbol.asyncDispose]: close,
  };
}
