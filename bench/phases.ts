/**
 * Where the time of one tool call goes: the same `guest_status` call measured layer by layer
 * in one process, alternating, so each phase is the difference between two adjacent layers:
 *
 * raw fetch → our API client → tool handler → safety pipeline → MCP server (in-memory
 * transport) → stdio and the process boundary (from the stdio run of the same benchmark).
 *
 * @module
 */
import { connectServer } from "../src/server/connect.ts";
import { ProxmoxClient } from "../src/proxmox/client.ts";
import { buildServer } from "../src/server/app.ts";
import { InMemoryTransport } from "../src/server/sdk_client.ts";
import { memorySafety, safetyPipeline } from "../src/safety/stages.ts";
import { safetySettings } from "../src/safety/settings.ts";
import { startSimulator } from "../src/simulator/mod.ts";
import { catalogue } from "../src/tools/catalogue.ts";
import type { ToolContext } from "../src/tools/context.ts";
import { Inventory } from "../src/tools/inventory.ts";
import { DEFAULT_TASK_WAIT } from "../src/tools/task_wait.ts";
import { systemClock } from "../src/util/clock.ts";
import { silentLogger } from "../src/util/log.ts";
import { DirectApi, type RawResource } from "./direct.ts";
import { RpcSession } from "./session.ts";
import { median, round } from "./stats.ts";

/** One phase: its name and its median cost in ms (difference of two layers' p50). */
export interface Phase {
  phase: string;
  ms: number;
}

/** The layers' medians and the phases derived from them. */
export interface CallProfile {
  tool: string;
  calls: number;
  /** p50 of each layer, cumulative, in ms. */
  layers: Record<string, number>;
  phases: Phase[];
}

const LAYERS = ["raw fetch", "API client", "handler", "pipeline", "MCP in-memory"] as const;

/**
 * Profiles `guest_status` on the default simulated cluster; `stdioP50` (the same call over
 * stdio, measured by the main benchmark) adds the transport phase.
 */
export async function profileCall(calls: number, stdioP50?: number): Promise<CallProfile> {
  await using sim = await startSimulator({ scenario: "default" });
  const { tokenId, tokenSecret } = sim.credentials.admin;
  using direct = new DirectApi(sim.url, sim.caCert, tokenId, tokenSecret);
  const client = new ProxmoxClient({
    baseUrl: sim.url,
    auth: { type: "token", tokenId, secret: tokenSecret },
    caCerts: [sim.caCert],
    logger: silentLogger,
  });
  try {
    const guests = (await direct.get<RawResource[]>("/cluster/resources"))
      .filter((r) => r.type === "qemu" && r.status === "running");
    const g = guests[0];
    const path = `/nodes/${g.node}/${g.type}/${g.vmid}/status/current`;
    const args = { vmid: g.vmid };
    const tool = catalogue.find((t) => t.name === "guest_status")!;
    const safety = memorySafety(safetySettings(), systemClock);
    const pipeline = safetyPipeline({ ...safety, readOnly: false });
    const ctx: ToolContext = {
      api: client,
      inventory: Inventory.shared(client, systemClock),
      signal: new AbortController().signal,
      logger: silentLogger,
      scope: safety.scope,
      tasks: { ...DEFAULT_TASK_WAIT, clock: systemClock },
    };
    const server = buildServer(
      {
        client,
        description: "bench",
        readOnly: false,
        safety,
        [Symbol.asyncDispose]: async () => {},
      },
      silentLogger,
    );
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await connectServer(server, serverSide);
    await using session = new RpcSession(clientSide);
    await session.start();
    await session.initialize();

    const run: Record<(typeof LAYERS)[number], () => Promise<unknown>> = {
      "raw fetch": () => direct.get(path),
      "API client": () => client.get(path),
      "handler": () => tool.handler(args, ctx),
      "pipeline": () => pipeline.run({ tool, args, ctx }),
      "MCP in-memory": () => session.call("guest_status", args),
    };
    const samples = Object.fromEntries(LAYERS.map((l) => [l, [] as number[]]));
    for (let i = 0; i < calls + 50; i++) {
      for (const layer of LAYERS) {
        const t = performance.now();
        await run[layer]();
        if (i >= 50) samples[layer].push(performance.now() - t);
      }
    }
    await server.close();
    const layers: Record<string, number> = Object.fromEntries(
      LAYERS.map((l) => [l, round(median(samples[l]), 3)]),
    );
    if (stdioP50 !== undefined) layers["stdio"] = round(stdioP50, 3);
    const names: Record<string, string> = {
      "raw fetch": "the API request itself (fetch, TLS, simulator)",
      "API client": "our API client (URL, auth header, retry policy, JSON, typed errors)",
      "handler": "the tool handler (parse, render text and structuredContent)",
      "pipeline": "the safety pipeline (audit, mode, plan, scope, ... for a read)",
      "MCP in-memory": "the MCP server (JSON-RPC dispatch, argument check, answer)",
      "stdio": "stdio and the process boundary (both sides' JSON and pipes)",
    };
    const order = Object.keys(layers);
    const phases = order.map((l, i) => ({
      phase: names[l],
      ms: round(i === 0 ? layers[l] : layers[l] - layers[order[i - 1]], 3),
    }));
    return { tool: "guest_status", calls, layers, phases };
  } finally {
    client.close();
  }
}
