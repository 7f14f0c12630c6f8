import assert from "node:assert/strict";
import { buildServer, openBackend } from "../src/server/app.ts";
import { startHttpServer } from "../src/server/http.ts";
import { HttpSessionTransport, MAX_UNREAD_EVENTS } from "../src/server/http_transport.ts";
import type { JSONRPCMessage } from "../src/server/sdk.ts";
import { Client, StreamableHTTPClientTransport } from "../src/server/sdk_client.ts";
import { ElicitRequestSchema } from "../src/server/sdk.ts";
import { silentLogger } from "../src/util/log.ts";

const HEADERS = {
  "Content-Type": "application/json",
  Accept: "application/json, text/event-stream",
};
const INIT = {
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "t", version: "1" },
  },
} as JSONRPCMessage;

function post(headers: Record<string, string> = HEADERS): Request {
  return new Request("http://127.0.0.1/mcp", { method: "POST", headers });
}

function request(id: number, method = "tools/call"): JSONRPCMessage {
  return { jsonrpc: "2.0", id, method, params: {} } as JSONRPCMessage;
}

/** SSE events of a finished stream body, as parsed messages. */
async function events(res: Response): Promise<unknown[]> {
  const text = await res.text();
  return text.split("\n\n").filter((e) => e.startsWith("event: message"))
    .map((e) => JSON.parse(e.split("\ndata: ")[1]));
}

/**
 * A session transport whose "server" answers each request with `answer` (after `before`, the
 * messages it sends first, related to the request); initialized.
 */
async function session(
  answer: (m: { id: number; method: string }, t: HttpSessionTransport) => void,
  sseAfterMs = 1_000,
) {
  const t = new HttpSessionTransport({ sessionId: "s-1", sseAfterMs });
  t.onmessage = (m) => {
    const msg = m as { id?: number; method: string };
    if (msg.method === "initialize") {
      void t.send({ jsonrpc: "2.0", id: msg.id!, result: {} } as JSONRPCMessage);
    } else if (msg.id !== undefined) answer(msg as { id: number; method: string }, t);
  };
  const res = await t.handlePost(post(), INIT);
  assert.equal(res.headers.get("mcp-session-id"), "s-1");
  await res.body?.cancel();
  return t;
}

const result = (id: number, value: unknown = {}) =>
  ({ jsonrpc: "2.0", id, result: value }) as JSONRPCMessage;

Deno.test("HttpSessionTransport  answers as JSON or as a stream, as the call needs", async (t) => {
  await t.step("an answer that comes first is one application/json response", async () => {
    const s = await session((m, tr) => void tr.send(result(m.id, { ok: true })));
    const res = await s.handlePost(post(), request(1));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(res.headers.get("mcp-session-id"), "s-1");
    assert.deepEqual(await res.json(), { jsonrpc: "2.0", id: 1, result: { ok: true } });
  });

  await t.step("progress before the answer: an SSE stream with both, then closed", async () => {
    const s = await session((m, tr) => {
      const progress = {
        jsonrpc: "2.0",
        method: "notifications/progress",
        params: { progressToken: 7, progress: 1 },
      } as JSONRPCMessage;
      void tr.send(progress, { relatedRequestId: m.id });
      setTimeout(() => void tr.send(result(m.id)), 10);
    });
    const res = await s.handlePost(post(), request(2));
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const got = await events(res) as { method?: string; id?: number }[];
    assert.deepEqual(got.map((m) => m.method ?? `answer ${m.id}`), [
      "notifications/progress",
      "answer 2",
    ]);
  });

  await t.step("a slow answer becomes a stream after sseAfterMs", async () => {
    const s = await session((m, tr) => setTimeout(() => void tr.send(result(m.id)), 80), 20);
    const started = performance.now();
    const res = await s.handlePost(post(), request(3));
    assert.ok(performance.now() - started < 70, "the stream opens before the answer");
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    assert.deepEqual(await events(res), [{ jsonrpc: "2.0", id: 3, result: {} }]);
  });

  await t.step("a notification is 202, and reaches the server", async () => {
    const seen: string[] = [];
    const s = await session(() => {});
    const inner = s.onmessage!;
    s.onmessage = (m) => {
      seen.push((m as { method: string }).method);
      inner(m);
    };
    const res = await s.handlePost(
      post(),
      { jsonrpc: "2.0", method: "notifications/initialized" } as JSONRPCMessage,
    );
    assert.equal(res.status, 202);
    assert.deepEqual(seen, ["notifications/initialized"]);
  });

  await t.step("messages related to no request go to the GET stream, one per session", async () => {
    const s = await session(() => {});
    const get = () =>
      new Request("http://127.0.0.1/mcp", { headers: { Accept: "text/event-stream" } });
    const stream = s.handleGet(get());
    assert.equal(stream.headers.get("content-type"), "text/event-stream");
    assert.equal(s.handleGet(get()).status, 409);
    await s.send({ jsonrpc: "2.0", method: "notifications/tools/list_changed" } as JSONRPCMessage);
    await s.close();
    assert.deepEqual(await events(stream), [
      { jsonrpc: "2.0", method: "notifications/tools/list_changed" },
    ]);
  });

  await t.step("a GET stream nobody reads is closed, not buffered without end", async () => {
    const s = await session(() => {});
    const stream = s.handleGet(
      new Request("http://127.0.0.1/mcp", { headers: { Accept: "text/event-stream" } }),
    );
    const note = { jsonrpc: "2.0", method: "notifications/message", params: {} } as JSONRPCMessage;
    for (let i = 0; i < MAX_UNREAD_EVENTS + 50; i++) await s.send(note);
    const got = await events(stream);
    assert.equal(got.length, MAX_UNREAD_EVENTS, "the unread events kept");
    assert.equal(
      s.handleGet(
        new Request("http://127.0.0.1/mcp", { headers: { Accept: "text/event-stream" } }),
      ).status,
      200,
      "a new stream can be opened",
    );
    await s.close();
  });

  await t.step("a cancelled request's response ends, empty; a late answer is refused", async () => {
    const s = await session(() => {});
    const waiting = s.handlePost(post(), request(6));
    const cancel = {
      jsonrpc: "2.0",
      method: "notifications/cancelled",
      params: { requestId: 6, reason: "user" },
    } as JSONRPCMessage;
    assert.equal((await s.handlePost(post(), cancel)).status, 202);
    const res = await waiting;
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    assert.deepEqual(await events(res), []);
    await assert.rejects(s.send(result(6)), /No connection established for request ID: 6/);
    await s.close();
  });

  await t.step("an answer for a request that is not open is refused", async () => {
    const s = await session(() => {});
    await assert.rejects(s.send(result(99)), /No connection established for request ID: 99/);
  });

  await t.step("closing answers the requests still waiting, once", async () => {
    let closed = 0;
    const s = await session(() => {});
    s.onclose = () => closed++;
    const waiting = s.handlePost(post(), request(4));
    await s.close();
    await s.close();
    const res = await waiting;
    assert.equal(res.status, 404);
    assert.equal(closed, 1);
    assert.equal((await s.handlePost(post(), request(5))).status, 404);
  });
});

Deno.test("HttpSessionTransport  refuses what the protocol refuses", async (t) => {
  const s = await session((m, tr) => void tr.send(result(m.id)));
  const cases: [string, Request, JSONRPCMessage, number, RegExp][] = [
    [
      "no text/event-stream in Accept",
      post({ ...HEADERS, Accept: "application/json" }),
      request(1),
      406,
      /must accept both/,
    ],
    [
      "a body that is not JSON",
      post({ ...HEADERS, "Content-Type": "text/plain" }),
      request(1),
      415,
      /Content-Type must be application\/json/,
    ],
    [
      "an unknown protocol version",
      post({ ...HEADERS, "Mcp-Protocol-Version": "1999-01-01" }),
      request(1),
      400,
      /Unsupported protocol version: 1999-01-01 \(supported versions: 2025-11-25/,
    ],
    ["a second initialize", post(), INIT, 400, /already initialized/],
  ];
  for (const [label, req, message, status, why] of cases) {
    await t.step(label, async () => {
      const res = await s.handlePost(req, message);
      assert.equal(res.status, status);
      assert.match((await res.json()).error.message, why);
    });
  }
  await t.step("a request id already waiting", async () => {
    const slow = new HttpSessionTransport({ sessionId: "s-2" });
    slow.onmessage = (m) => {
      if ((m as { method: string }).method === "initialize") {
        void slow.send(result((m as { id: number }).id));
      }
    };
    await (await slow.handlePost(post(), INIT)).body?.cancel();
    const first = slow.handlePost(post(), request(8));
    const again = await slow.handlePost(post(), request(8));
    assert.equal(again.status, 400);
    assert.match((await again.json()).error.message, /request id 8 is already in use/);
    await slow.close();
    await first;
  });
  await t.step("a GET that does not accept text/event-stream", () => {
    const res = s.handleGet(new Request("http://127.0.0.1/mcp"));
    assert.equal(res.status, 406);
  });
  await s.close();
});

/** The HTTP server on the embedded simulator (tasks take `taskMs`), closed on dispose. */
async function httpStack(taskMs = 0) {
  const backend = await openBackend({
    simulator: true,
    simulatorTaskMs: taskMs,
    logger: silentLogger,
  });
  const server = await startHttpServer({
    hostname: "127.0.0.1",
    port: 0,
    createServer: () => buildServer(backend, silentLogger),
    logger: silentLogger,
  });
  return {
    server,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      await backend[Symbol.asyncDispose]();
    },
  };
}

Deno.test("Streamable HTTP  a confirmation by elicitation runs through the call's stream", async () => {
  await using stack = await httpStack();
  const server = stack.server;
  const client = new Client({ name: "elicit", version: "1" }, {
    capabilities: { elicitation: { form: {} } },
  });
  const asked: string[] = [];
  client.setRequestHandler(ElicitRequestSchema, (req) => {
    asked.push(String(req.params.message));
    return { action: "accept", content: { confirm: true } };
  });
  const transport = new StreamableHTTPClientTransport(new URL(server.url));
  await client.connect(transport);
  const r = await client.callTool({
    name: "guest_power",
    arguments: { vmid: 100, action: "stop" },
  }) as { isError?: boolean; structuredContent?: { status?: string } };
  assert.notEqual(r.isError, true, JSON.stringify(r));
  assert.equal(r.structuredContent?.status, "done");
  assert.equal(asked.length, 1);
  assert.match(asked[0], /^Confirm guest_power: stop qemu 100/);

  // A quick call is answered as plain JSON.
  const res = await fetch(server.url, {
    method: "POST",
    headers: {
      ...HEADERS,
      "Mcp-Session-Id": transport.sessionId!,
      "Mcp-Protocol-Version": "2025-11-25",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 42, method: "ping" }),
  });
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.deepEqual(await res.json(), { jsonrpc: "2.0", id: 42, result: {} });
  await transport.terminateSession();
  await client.close();
});

Deno.test("Streamable HTTP  a call the client cancels ends, and the session goes on", async () => {
  await using stack = await httpStack(5_000);
  const server = stack.server;
  const client = new Client({ name: "cancel", version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL(server.url));
  await client.connect(transport);
  const stop = new AbortController();
  const started = performance.now();
  const call = client.callTool(
    { name: "guest_power", arguments: { vmid: 105, action: "start" } },
    undefined,
    { signal: stop.signal },
  );
  setTimeout(() => stop.abort("changed my mind"), 200);
  await assert.rejects(call);
  assert.ok(performance.now() - started < 3_000, "the cancelled call did not run to its end");
  const r = await client.callTool({ name: "guest_status", arguments: { vmid: 100 } });
  assert.notEqual((r as { isError?: boolean }).isError, true, JSON.stringify(r));
  await transport.terminateSession();
  await client.close();
  assert.equal(server.inFlight, 0);
});
