/**
 * The simulator on a thread of its own (a worker), like a real Proxmox API in another process:
 * serving a 3 MB `/cluster/resources` answer then never stalls the benchmark's clients, whose
 * timings would otherwise include the simulator's own work.
 *
 * @module
 */
import type { FromWorker, ToWorker } from "./sim_worker.ts";

/** A simulator running on its own thread. */
export interface SimulatorThread extends AsyncDisposable {
  url: string;
  caCert: string;
  credentials: { admin: { tokenId: string; tokenSecret: string } };
  /** How long `startSimulator()` took inside the worker, in ms. */
  startMs: number;
  /** API requests the simulator has served so far. */
  requests(): Promise<number>;
}

const WAIT_MS = 30_000;

/** Starts the simulator of `scenario` in a worker and waits until it listens. */
export async function startSimulatorThread(
  scenario: "default" | "large",
): Promise<SimulatorThread> {
  const worker = new Worker(new URL("./sim_worker.ts", import.meta.url), { type: "module" });
  const waiting = new Map<string, (m: FromWorker) => void>();
  let failure: Error | undefined;
  const fail = (e: Error) => {
    failure = e;
    for (const resolve of waiting.values()) resolve({ kind: "failed", message: e.message });
    waiting.clear();
  };
  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const m = event.data;
    if (m.kind === "failed") return fail(new Error(`Simulator thread: ${m.message}`));
    const key = m.kind === "requests" ? `requests ${m.id}` : m.kind;
    waiting.get(key)?.(m);
    waiting.delete(key);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    fail(new Error(`Simulator thread failed: ${event.message}`));
  };
  const ask = async <K extends FromWorker["kind"]>(
    message: ToWorker,
    key: string,
  ): Promise<Extract<FromWorker, { kind: K }>> => {
    if (failure) throw failure;
    const answer = Promise.withResolvers<FromWorker>();
    waiting.set(key, answer.resolve);
    const timer = setTimeout(
      () => answer.resolve({ kind: "failed", message: `no answer to ${key} in ${WAIT_MS} ms` }),
      WAIT_MS,
    );
    worker.postMessage(message);
    const m = await answer.promise.finally(() => clearTimeout(timer));
    if (m.kind === "failed") throw failure ?? new Error(`Simulator thread: ${m.message}`);
    return m as Extract<FromWorker, { kind: K }>;
  };
  let next = 0;
  try {
    const started = await ask<"started">({ kind: "start", scenario }, "started");
    return {
      url: started.url,
      caCert: started.caCert,
      credentials: { admin: { tokenId: started.tokenId, tokenSecret: started.tokenSecret } },
      startMs: started.startMs,
      async requests() {
        const id = next++;
        return (await ask<"requests">({ kind: "requests", id }, `requests ${id}`)).count;
      },
      async [Symbol.asyncDispose]() {
        try {
          if (!failure) await ask<"closed">({ kind: "close" }, "closed");
        } finally {
          worker.terminate();
        }
      },
    };
  } catch (e) {
    worker.terminate();
    throw e;
  }
}
