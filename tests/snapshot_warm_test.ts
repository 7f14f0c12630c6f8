import assert from "node:assert/strict";
import { ProxmoxClient } from "../src/proxmox/client.ts";
import { buildServer } from "../src/server/app.ts";
import { connectServer } from "../src/server/connect.ts";
import { resolveListing } from "../src/server/listing.ts";
import { rowSource } from "../src/server/row_source.ts";
import { Client, InMemoryTransport } from "../src/server/sdk_client.ts";
import type { ToolSource } from "../src/server/tool_source.ts";
import { startSimulator } from "../src/simulator/mod.ts";
import type { ApiParams, ApiRequestOptions } from "../src/tools/context.ts";
import { catalogue } from "../src/tools/catalogue.ts";
import { silentLogger } from "../src/util/log.ts";
import { RecordingApi } from "./helpers/recording_api.ts";

/** Records requests and says when the first read of `/cluster/resources` was sent. */
class WatchedApi extends RecordingApi {
  readonly snapshotRead = Promise.withResolvers<void>();
  override get<T>(path: string, params?: ApiParams, opts?: ApiRequestOptions): Promise<T> {
    if (path === "/cluster/resources") this.snapshotRead.resolve();
    return super.get<T>(path, params, opts);
  }
}

Deno.test("a first call of a snapshot tool reads the snapshot while the tool's module loads", async (t) => {
  await using sim = await startSimulator();
  const { tokenId, tokenSecret } = sim.credentials.admin;
  const client = new ProxmoxClient({
    baseUrl: sim.url,
    auth: { type: "token", tokenId, secret: tokenSecret },
    caCerts: [sim.caCert],
  });
  using _closeClient = { [Symbol.dispose]: () => client.close() };
  const start = async () => {
    const api = new WatchedApi(client);
    // A source whose modules load only when the test says so.
    const rows = rowSource(catalogue);
    const gate = Promise.withResolvers<void>();
    const loading = Promise.withResolvers<void>();
    const done = new Set<string>();
    const source: ToolSource = {
      rows: rows.rows,
      list: (r) => rows.list(r),
      loaded: (name) => done.has(name),
      load: async (name) => {
        loading.resolve();
        await gate.promise;
        done.add(name);
        return await rows.load(name);
      },
    };
    const server = buildServer(
      {
        client: api,
        description: "warm test",
        readOnly: true,
        listing: resolveListing({ toolsets: ["all"], privilege_filter: false }),
        [Symbol.asyncDispose]: () => Promise.resolve(),
      },
      silentLogger,
      { source },
    );
    const [a, b] = InMemoryTransport.createLinkedPair();
    await connectServer(server, b);
    const mcp = new Client({ name: "warm-test", version: "1" });
    await mcp.connect(a);
    return { api, gate, loading, mcp, [Symbol.asyncDispose]: () => mcp.close() };
  };

  await t.step(
    "guest_list: the read starts before the module has loaded, and is shared",
    async () => {
      await using s = await start();
      const call = s.mcp.callTool({ name: "guest_list", arguments: { node: "pve1" } });
      await s.api.snapshotRead.promise;
      s.gate.resolve();
      const r = await call as { isError?: boolean; structuredContent?: { items: unknown[] } };
      assert.equal(r.isError, undefined);
      assert.ok(r.structuredContent!.items.length > 0);
      const reads = s.api.requests.filter((q) => q.path === "/cluster/resources");
      assert.equal(reads.length, 1, "the handler joined the read already in flight");
    },
  );

  await t.step("guest_status sends nothing before its module loads", async () => {
    await using s = await start();
    const call = s.mcp.callTool({ name: "guest_status", arguments: { vmid: 100, node: "pve1" } });
    await s.loading.promise;
    assert.equal(s.api.requests.length, 0);
    s.gate.resolve();
    const r = await call as { isError?: boolean };
    assert.equal(r.isError, undefined);
  });
});
