/**
 * The worker side of {@link ../bench/sim_thread.ts}: starts the simulator on its own thread and
 * answers the host's questions (requests served so far) until told to stop.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { type Simulator, startSimulator } from "../src/simulator/mod.ts";

/** What the host sends. */
export type ToWorker =
  | { kind: "start"; scenario: "default" | "large" }
  | { kind: "requests"; id: number }
  | { kind: "close" };

/** What the worker answers. */
export type FromWorker =
  | {
    kind: "started";
    url: string;
    caCert: string;
    tokenId: string;
    tokenSecret: string;
    startMs: number;
  }
  | { kind: "requests"; id: number; count: number }
  | { kind: "closed" }
  | { kind: "failed"; message: string };

let sim: Simulator | undefined;

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  const reply = (m: FromWorker) => self.postMessage(m);
  try {
    if (msg.kind === "start") {
      const started = performance.now();
      sim = await startSimulator({ scenario: msg.scenario });
      const { tokenId, tokenSecret } = sim.credentials.admin;
      reply({
        kind: "started",
        url: sim.url,
        caCert: sim.caCert,
        tokenId,
        tokenSecret,
        startMs: performance.now() - started,
      });
    } else if (msg.kind === "requests") {
      reply({ kind: "requests", id: msg.id, count: sim?.requests ?? 0 });
    } else {
      await sim?.close();
      reply({ kind: "closed" });
    }
  } catch (e) {
    reply({ kind: "failed", message: e instanceof Error ? e.message : String(e) });
  }
};
