import assert from "node:assert/strict";
import { buildServer } from "../src/server/app.ts";
import { Client, InMemoryTransport } from "../src/server/sdk_client.ts";
import { LoggingMessageNotificationSchema } from "../src/server/sdk.ts";
import { memorySafety } from "../src/safety/stages.ts";
import { safetySettings } from "../src/safety/settings.ts";
import { ProxmoxClient } from "../src/proxmox/client.ts";
import { startSimulator } from "../src/simulator/mod.ts";
import { systemClock } from "../src/util/clock.ts";
import type { Logger } from "../src/util/log.ts";
import { startMutationStack } from "./helpers/mutations.ts";
import { startStack } from "./helpers/stack.ts";

Deno.test("resources/list  a failure is an error that says why, never an empty list", async (t) => {
  await t.step("the API token is refused (stdio)", async () => {
    await using s = await startStack({
      config: { token_secret: "00000000-0000-4000-8000-000000000000" },
    });
    await assert.rejects(s.client.listResources(), (e: Error) => {
      assert.match(e.message, /401|authentication|token/i);
      return true;
    });
  });

  await t.step("the cluster's resource list fails", async () => {
    await using s = await startMutationStack();
    s.sim.faults.failNext(20, { status: 500, pathPrefix: "/cluster/resources" });
    await assert.rejects(s.client.listResources(), (e: Error) => {
      assert.match(e.message, /Proxmox API error 500 on GET \/cluster\/resources/);
      return true;
    });
    s.sim.faults.reset();
    const { resources } = await s.client.listResources();
    assert.ok(resources.some((r) => r.uri === "proxmox://guest/100"));
  });
});

Deno.test("log notifications  a failed send is logged on stderr, not dropped", async () => {
  await using sim = await startSimulator();
  const { tokenId, tokenSecret } = sim.credentials.admin;
  const api = new ProxmoxClient({
    baseUrl: sim.url,
    auth: { type: "token", tokenId, secret: tokenSecret },
    caCerts: [sim.caCert],
  });
  const logged: string[] = [];
  const logger: Logger = { log: (level, message) => logged.push(`${level}: ${message}`) };
  const server = buildServer({
    client: api,
    description: "test",
    readOnly: false,
    safety: memorySafety(safetySettings(), systemClock),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  }, logger);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const send = b.send.bind(b);
  b.send = (message, options) =>
    "method" in message && message.method === "notifications/message"
      ? Promise.reject(new Error("the client went away"))
      : send(message, options);
  await server.connect(b);
  const client = new Client({ name: "t", version: "1" });
  let received = 0;
  client.setNotificationHandler(LoggingMessageNotificationSchema, () => {
    received++;
  });
  await client.connect(a);
  try {
    await client.setLoggingLevel("info");
    const r = await client.callTool({
      name: "guest_power",
      arguments: { vmid: 100, action: "shutdown", dry_run: true },
    });
    assert.ok(!r.isError);
    assert.equal(received, 0);
    assert.ok(
      logged.includes("warning: Sending a log notification to the client failed"),
      logged.join("\n"),
    );
  } finally {
    await client.close();
    await server.close();
    api.close();
  }
});
