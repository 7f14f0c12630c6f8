import assert from "node:assert/strict";
// @ts-types="@modelcontextprotocol/sdk/types"
import { SUPPORTED_PROTOCOL_VERSIONS as SDK_VERSIONS } from "@modelcontextprotocol/sdk/types.js";
import { buildServer, openBackend } from "../src/server/app.ts";
import { negotiateVersion, SUPPORTED_PROTOCOL_VERSIONS } from "../src/server/protocol_versions.ts";
import { InMemoryTransport } from "../src/server/sdk_client.ts";
import { startSimulator } from "../src/simulator/mod.ts";
import { silentLogger } from "../src/util/log.ts";
import { HANDSHAKE, startRawServer } from "./helpers/raw_stdio.ts";
import { writeSimConfig } from "./helpers/stack.ts";

type Message = Record<string, unknown> & {
  id?: string | number;
  method?: string;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
};

/** The answers of the server `buildServer` makes for `configPath`, spoken to in memory. */
async function fullServerAnswers(configPath: string, requests: Message[]): Promise<Message[]> {
  await using backend = await openBackend({ configPath, logger: silentLogger });
  const server = buildServer(backend, silentLogger);
  const [client, serverSide] = InMemoryTransport.createLinkedPair();
  const answers = new Map<unknown, Message>();
  const waiting = new Map<unknown, () => void>();
  client.onmessage = (m) => {
    const msg = m as unknown as Message;
    answers.set(msg.id, msg);
    waiting.get(msg.id)?.();
  };
  await server.connect(serverSide);
  await client.start();
  const out: Message[] = [];
  for (const r of requests) {
    const done = new Promise<void>((resolve) => waiting.set(r.id, resolve));
    await client.send(r as never);
    if (r.id !== undefined) {
      await done;
      out.push(answers.get(r.id)!);
    }
  }
  await server.close();
  return out;
}

Deno.test("EarlyAnswers  the handshake and tool list answered before the server loads are the server's own", async (t) => {
  await using sim = await startSimulator();
  const list = { jsonrpc: "2.0", id: "list", method: "tools/list" };
  for (
    const [label, extra] of [
      ["every toolset, changes allowed, no privilege filter", { privilege_filter: false }],
      ["the default toolsets, read-only", { toolsets: [], read_only: true }],
      ["an auditor with few privileges (tools hidden)", {
        token_id: sim.credentials.auditor.tokenId,
        token_secret: sim.credentials.auditor.tokenSecret,
      }],
    ] as const
  ) {
    await t.step(label, async () => {
      const { dir, path } = await writeSimConfig(sim, extra);
      try {
        await using raw = await startRawServer(["--config", path]);
        await raw.send(...HANDSHAKE, list);
        const early = [await raw.answer("init"), await raw.answer("list")] as Message[];
        const full = await fullServerAnswers(path, [HANDSHAKE[0] as Message, HANDSHAKE[1], list]);
        assert.deepEqual(early[0].result!.capabilities, full[0].result!.capabilities);
        assert.deepEqual(early[0].result!.serverInfo, full[0].result!.serverInfo);
        assert.equal(early[0].result!.protocolVersion, "2025-11-25");
        if ("privilege_filter" in extra || "read_only" in extra) {
          // With privileges the instructions name what was hidden when initialize came.
          assert.equal(early[0].result!.instructions, full[0].result!.instructions);
        }
        assert.deepEqual(early[1].result, full[1].result);
        assert.ok((early[1].result!.tools as unknown[]).length > 0);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
});

Deno.test("EarlyAnswers  requests sent before the server has loaded are answered by it, in order", async (t) => {
  await using sim = await startSimulator();
  const { dir, path } = await writeSimConfig(sim, { read_only: false });
  try {
    await using raw = await startRawServer(["--config", path]);
    const withElicitation = {
      ...HANDSHAKE[0],
      params: { ...HANDSHAKE[0].params, capabilities: { elicitation: {} } },
    };
    // No tools/list first: the calls themselves make the server load.
    await raw.send(
      withElicitation,
      HANDSHAKE[1],
      {
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "guest_status", arguments: { vmid: 100 } },
      },
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: 7 } },
      { jsonrpc: "2.0", id: 3, method: "resources/list" },
      { jsonrpc: "2.0", id: 4, method: "ping" },
    );
    await t.step("the handshake is answered", async () => {
      const init = await raw.answer("init") as Message;
      assert.equal(init.result!.protocolVersion, "2025-11-25");
    });
    const seen = new Map<unknown, Message>();
    while (seen.size < 4) {
      const m = await raw.next() as Message;
      if (m.id !== undefined) seen.set(m.id, m);
    }
    await t.step("a held call runs", () => {
      const r = seen.get(1)!.result!;
      assert.equal(r.isError, undefined, JSON.stringify(r));
      assert.equal((r.structuredContent as { vmid: number }).vmid, 100);
    });
    await t.step("a held request with bad params gets -32602 with what was wrong", () => {
      assert.equal(seen.get(2)!.error?.code, -32602);
      assert.match(seen.get(2)!.error!.message, /Invalid params for tools\/call: .*name/);
    });
    await t.step("other held requests and an early ping are answered", () => {
      assert.ok(Array.isArray(seen.get(3)!.result!.resources));
      assert.deepEqual(seen.get(4)!.result, {});
    });
    await t.step(
      "the client's capabilities reached the server: a stop is asked by elicitation",
      async () => {
        await raw.send({
          jsonrpc: "2.0",
          id: 5,
          method: "tools/call",
          params: { name: "guest_power", arguments: { vmid: 100, action: "stop" } },
        });
        let asked: Message | undefined;
        while (!asked) {
          const m = await raw.next() as Message;
          if (m.method === "elicitation/create") asked = m;
          else assert.notEqual(m.id, 5, `answered without asking: ${JSON.stringify(m)}`);
        }
        await raw.send({ jsonrpc: "2.0", id: asked.id, result: { action: "decline" } });
        const r = await raw.answer(5) as Message;
        assert.equal(r.result!.isError, true);
        assert.equal(sim.state.guests.get(100)!.status, "running");
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("negotiateVersion() follows the SDK's supported versions", () => {
  assert.deepEqual([...SUPPORTED_PROTOCOL_VERSIONS], [...SDK_VERSIONS]);
  assert.equal(negotiateVersion("2025-06-18"), "2025-06-18");
  assert.equal(negotiateVersion("1999-01-01"), SDK_VERSIONS[0]);
  assert.equal(negotiateVersion(undefined), SDK_VERSIONS[0]);
});

Deno.test("EarlyAnswers  bad and early input while the server loads", async (t) => {
  await using sim = await startSimulator();
  const { dir, path } = await writeSimConfig(sim);
  try {
    await t.step(
      "an initialize with bad params is refused; a good one after it starts the session",
      async () => {
        await using raw = await startRawServer(["--config", path]);
        await raw.send(
          { jsonrpc: "2.0", id: "bad", method: "initialize", params: { protocolVersion: 1 } },
        );
        const bad = await raw.answer("bad") as Message;
        assert.equal(bad.error?.code, -32602);
        assert.match(bad.error!.message, /Invalid params for initialize: protocolVersion/);
        await raw.send(...HANDSHAKE, { jsonrpc: "2.0", id: "list", method: "tools/list" });
        assert.equal((await raw.answer("init") as Message).result!.protocolVersion, "2025-11-25");
        assert.ok(((await raw.answer("list") as Message).result!.tools as unknown[]).length > 0);
      },
    );
    await t.step("tools/list before initialize is refused, nothing is answered early", async () => {
      await using raw = await startRawServer(["--config", path]);
      await raw.send({ jsonrpc: "2.0", id: 1, method: "tools/list" });
      const a = await raw.answer(1) as Message;
      assert.equal(a.error?.code, -32600);
      assert.match(a.error!.message, /before initialize/);
    });
    await t.step("stdin closing right after the handshake ends the process cleanly", async () => {
      await using raw = await startRawServer(["--config", path]);
      await raw.send(...HANDSHAKE);
      await raw.answer("init");
      const status = await raw.endInput(5000);
      assert.equal(status.success, true, raw.stderr());
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
