import assert from "node:assert/strict";
import { buildServer, openBackend } from "../src/server/app.ts";
import { startHttpServer } from "../src/server/http.ts";
import { Client, StreamableHTTPClientTransport } from "../src/server/sdk_client.ts";
import { catalogue } from "../src/tools/catalogue.ts";
import { DEFAULT_TOOLSETS } from "../src/tools/toolsets.ts";
import { silentLogger } from "../src/util/log.ts";

/** An HTTP server on the simulator whose sessions may narrow with headers. */
async function httpStack(opts: { readOnly?: boolean; toolsets?: string[] } = {}) {
  const backend = await openBackend({
    simulator: true,
    readOnly: opts.readOnly,
    listing: { toolsets: opts.toolsets, privilegeFilter: false },
    logger: silentLogger,
  });
  const server = await startHttpServer({
    hostname: "127.0.0.1",
    port: 0,
    createServer: (stopCalls, narrow) => buildServer(backend, silentLogger, { stopCalls, narrow }),
    logger: silentLogger,
  });
  return {
    url: server.url,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await backend[Symbol.asyncDispose]();
    },
  };
}

async function session(url: string, headers: Record<string, string>) {
  const client = new Client({ name: "narrowing-test", version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  await client.connect(transport);
  const names = new Set((await client.listTools()).tools.map((t) => t.name));
  return {
    client,
    names,
    async [Symbol.asyncDispose]() {
      await transport.terminateSession().catch(() => {});
      await client.close();
    },
  };
}

const inSets = (sets: readonly string[]) =>
  new Set(catalogue.filter((t) => sets.includes(t.toolset)).map((t) => t.name));

Deno.test("HTTP sessions narrow toolsets and read-only with headers, never widen", async (t) => {
  await using http = await httpStack();

  await t.step("without headers: the server's toolsets", async () => {
    await using s = await session(http.url, {});
    assert.deepEqual(s.names, inSets(DEFAULT_TOOLSETS));
  });
  await t.step("X-MCP-Toolsets narrows to the named toolsets", async () => {
    await using s = await session(http.url, { "X-MCP-Toolsets": "guests, tasks" });
    assert.deepEqual(s.names, inSets(["guests", "tasks"]));
  });
  await t.step("X-MCP-Toolsets cannot add a toolset the server has off", async () => {
    await using s = await session(http.url, { "X-MCP-Toolsets": "tasks,access" });
    assert.deepEqual(s.names, inSets(["tasks"]));
    assert.ok(!s.names.has("my_permissions"));
  });
  await t.step("X-MCP-Toolsets: all is the server's set, not more", async () => {
    await using s = await session(http.url, { "X-MCP-Toolsets": "all" });
    assert.deepEqual(s.names, inSets(DEFAULT_TOOLSETS));
  });
  await t.step("X-MCP-Readonly: true hides and refuses every change", async () => {
    await using s = await session(http.url, { "X-MCP-Readonly": "true" });
    const writers = catalogue.filter((x) => !x.annotations.readOnlyHint).map((x) => x.name);
    for (const w of writers) assert.ok(!s.names.has(w), w);
    assert.ok(s.names.has("api_read"));
    const r = await s.client.callTool({
      name: "api_change",
      arguments: { method: "DELETE", path: "/nodes/pve2/qemu/105" },
    });
    assert.equal(r.isError, true);
  });
  await t.step("other sessions keep their own view", async () => {
    await using narrow = await session(http.url, { "X-MCP-Readonly": "1" });
    await using wide = await session(http.url, {});
    assert.ok(!narrow.names.has("guest_power"));
    assert.ok(wide.names.has("guest_power"));
  });
  await t.step("an unknown value is refused, not ignored", async () => {
    for (
      const [header, value, pattern] of [
        ["X-MCP-Toolsets", "guests,vms", /X-MCP-Toolsets: Unknown toolset \\"vms\\"/],
        ["X-MCP-Readonly", "maybe", /X-MCP-Readonly: expected true or false/],
      ] as const
    ) {
      const res = await fetch(http.url, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
          [header]: value,
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-11-25",
            capabilities: {},
            clientInfo: { name: "raw", version: "1" },
          },
        }),
      });
      assert.equal(res.status, 400);
      assert.match(await res.text(), pattern);
    }
  });
});

Deno.test("X-MCP-Readonly: false does not widen a read-only server", async () => {
  await using http = await httpStack({ readOnly: true, toolsets: ["all"] });
  await using s = await session(http.url, { "X-MCP-Readonly": "false" });
  assert.ok(!s.names.has("guest_power") && !s.names.has("api_change"));
  assert.ok(s.names.has("my_permissions"), "toolsets of the server: all");
});
