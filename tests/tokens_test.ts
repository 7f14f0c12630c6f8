import assert from "node:assert/strict";
import { buildServer, openBackend } from "../src/server/app.ts";
import { startHttpServer } from "../src/server/http.ts";
import { Client, StreamableHTTPClientTransport } from "../src/server/sdk_client.ts";
import { silentLogger } from "../src/util/log.ts";
import { textOf } from "./helpers/stack.ts";

const BEARER = "tokens-test-bearer-0123456789abcdef";

/** The embedded simulator behind the HTTP transport (changes allowed), closed on dispose. */
async function httpStack() {
  const backend = await openBackend({ simulator: true, logger: silentLogger });
  const server = await startHttpServer({
    hostname: "127.0.0.1",
    port: 0,
    bearerToken: BEARER,
    createServer: () => buildServer(backend, silentLogger),
    logger: silentLogger,
  });
  const clients: Client[] = [];
  return {
    /** A new MCP session over HTTP (no elicitation: confirmations go through tokens). */
    async session(): Promise<Client> {
      const client = new Client({ name: "tokens-test", version: "1" });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(server.url), {
          requestInit: { headers: { Authorization: `Bearer ${BEARER}` } },
        }),
      );
      clients.push(client);
      return client;
    },
    async [Symbol.asyncDispose]() {
      for (const c of clients) await c.close().catch(() => {});
      await server.shutdown();
      await backend[Symbol.asyncDispose]();
    },
  };
}

type Answer = Record<string, unknown> & {
  isError?: boolean;
  structuredContent?: Record<string, unknown>;
};

async function call(client: Client, args: Record<string, unknown>): Promise<Answer> {
  return await client.callTool({ name: "guest_power", arguments: args }) as Answer;
}

async function guestStatus(client: Client, vmid: number): Promise<string> {
  const r = await client.callTool({ name: "guest_status", arguments: { vmid } }) as Answer;
  assert.ok(!r.isError, textOf(r));
  return String(r.structuredContent?.status);
}

Deno.test("confirmation tokens  work only in the MCP session that received the plan", async () => {
  await using s = await httpStack();
  const a = await s.session();
  const b = await s.session();
  const args = { vmid: 100, action: "stop" };
  const plan = await call(a, args);
  assert.equal(plan.structuredContent?.status, "confirmation_required", textOf(plan));
  const token = String(plan.structuredContent?.confirmation_token);

  const stolen = await call(b, { ...args, confirmation_token: token });
  assert.equal(stolen.isError, true, textOf(stolen));
  assert.match(textOf(stolen), /another MCP session/);
  assert.match(textOf(stolen), /Nothing was changed/);
  assert.equal(await guestStatus(b, 100), "running");

  const own = await call(a, { ...args, confirmation_token: token });
  assert.ok(!own.isError, textOf(own));
  assert.equal(own.structuredContent?.status, "done");
  assert.equal(await guestStatus(a, 100), "stopped");
});

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

Deno.test("confirmation tokens  a variant spelling of the MAC is refused", async (t) => {
  await using s = await httpStack();
  const a = await s.session();
  const args = { vmid: 101, action: "stop" };
  const plan = await call(a, args);
  const token = String(plan.structuredContent?.confirmation_token);
  const [prefix, body, mac] = token.split(".");
  // 32 MAC bytes take 43 characters; the last one has 2 unused bits, so 3 other spellings
  // decode to the very same bytes.
  assert.equal(mac.length, 43);
  const last = B64URL.indexOf(mac.at(-1)!);
  for (const flip of [1, 2, 3]) {
    await t.step(`unused bits ${flip}`, async () => {
      const variant = `${prefix}.${body}.${mac.slice(0, -1)}${B64URL[last ^ flip]}`;
      const r = await call(a, { ...args, confirmation_token: variant });
      assert.equal(r.isError, true, textOf(r));
      assert.match(textOf(r), /not valid for this call/);
    });
  }
  await t.step("padded or re-spelled parts are refused too", async () => {
    for (const variant of [`${token}=`, `${prefix}.${body}=.${mac}`]) {
      const r = await call(a, { ...args, confirmation_token: variant });
      assert.equal(r.isError, true, variant);
    }
  });
  assert.equal(await guestStatus(a, 101), "running");
  await t.step("the canonical token still works, once", async () => {
    const r = await call(a, { ...args, confirmation_token: token });
    assert.equal(r.structuredContent?.status, "done", textOf(r));
  });
});
