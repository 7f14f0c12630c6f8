/**
 * The simulator without a socket: state, clock, tasks, tickets, faults and counters. The HTTP
 * pipeline (`handler.ts`) works on this; `mod.ts` puts it behind Deno.serve.
 *
 * @module
 */
import { type Clock, systemClock } from "../util/clock.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import { TicketAuthority } from "./auth.ts";
import { Faults } from "./faults.ts";
import { buildDefaultScenario, type BuiltScenario } from "./scenario_default.ts";
import { buildGeneratedScenario, type ScenarioSpec } from "./scenario_generated.ts";
import type { Credentials } from "./scenario_common.ts";
import type { ClusterState } from "./state.ts";
import { TaskEngine } from "./tasks.ts";
import { simulatorServerFingerprint } from "./tls/certs.ts";

/** Options of a simulator core (a subset of the public `SimulatorOptions`). */
export interface CoreOptions {
  /** "default" (3 nodes, 15 guests), "large" (20 nodes, 10,000 guests) or a generated spec. */
  scenario?: "default" | "large" | ScenarioSpec;
  /** Seed of everything random; default 1. */
  seed?: number;
  /** Time source; default the system clock. */
  clock?: Clock;
  /** Duration of simulated tasks in clock ms; default 0 (they end with the request). */
  taskDurationMs?: number;
  /** Where diagnostics go; default silent. */
  logger?: Logger;
}

/** Everything a simulated API request works on. */
export class SimulatorCore {
  /** The cluster (inspectable and mutable). */
  readonly state: ClusterState;
  readonly clock: Clock;
  readonly tasks: TaskEngine;
  readonly tickets: TicketAuthority;
  readonly faults: Faults;
  readonly logger: Logger;
  /** Ready-made identities. */
  readonly credentials: Credentials;
  /** API requests served so far. */
  requests = 0;
  #arrivals = new Set<{ count: number; resolve: () => void }>();
  /** SHA-256 fingerprint of the served certificate (shown as nodes' `ssl_fingerprint`). */
  readonly fingerprint = simulatorServerFingerprint;

  constructor(opts: CoreOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? silentLogger;
    const seed = opts.seed ?? 1;
    const now = this.clock.now();
    const scenario = opts.scenario ?? "default";
    const built: BuiltScenario = scenario === "default"
      ? buildDefaultScenario(seed, now)
      : buildGeneratedScenario(seed, now, scenario === "large" ? {} : scenario);
    this.state = built.state;
    this.credentials = built.credentials;
    const duration = opts.taskDurationMs ?? 0;
    if (!Number.isFinite(duration) || duration < 0) {
      throw new RangeError(`Invalid taskDurationMs: ${duration} (expected a number >= 0)`);
    }
    this.tasks = new TaskEngine(this.state, this.clock, duration);
    for (const spec of built.history) this.tasks.start(spec);
    this.tasks.settle(now);
    this.tickets = new TicketAuthority(this.clock);
    this.faults = new Faults(this.state, () => this.tickets.rotate());
  }

  /** Counts one arriving request and wakes those waiting for that many. */
  countRequest(): void {
    this.requests++;
    for (const a of this.#arrivals) {
      if (this.requests >= a.count) {
        this.#arrivals.delete(a);
        a.resolve();
      }
    }
  }

  /**
   * Resolves once `count` requests in all have arrived (before they are answered), or rejects
   * with the reason of `signal` when it aborts first: tests wait on this instead of polling.
   */
  requestsReached(count: number, signal?: AbortSignal): Promise<void> {
    if (this.requests >= count) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const arrival = { count, resolve };
    this.#arrivals.add(arrival);
    signal?.addEventListener("abort", () => {
      this.#arrivals.delete(arrival);
      reject(signal.reason);
    }, { once: true });
    return promise;
  }

  /** The node whose API answers (the first node); it is never proxied. */
  get localNode(): string {
    return this.state.nodes.keys().next().value ?? "pve1";
  }
}
