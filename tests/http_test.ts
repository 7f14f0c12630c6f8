import assert from "node:assert/strict";
import { serverFlags } from "../scripts/permissions.ts";
import { buildServer, openBackend } from "../src/server/app.ts";
import { isLoopback, parseListenAddress } from "../src/server/http_address.ts";
import {
  allowlistFor,
  bearerMatches,
  hostProblem,
  originProblem,
} from "../src/server/http_guard.ts";
import { HttpSetupError, startHttpServer } from "../src/server/http.ts";
import { resolveHttpSettings } from "../src/server/http_settings.ts";
import { Client, StreamableHTTPClientTransport } from "../src/server/sdk_client.ts";
import { startSimulator } from "../src/simulator/mod.ts";
import { silentLogger } from "../src/util/log.ts";

const TOKEN = "t0k3n-for-tests-0123456789abcdef";
const INIT = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "raw", version: "1" },
  },
};
const MCP_HEADERS = {
  "Content-Type": "application/json",
  Accept: "application/json, text/event-stream",
};

/** An HTTP server on the embedded simulator, closed on dispose. */
async function stack(opts: { token?: string; maxBodyBytes?: number } = {}) {
  const backend = await openBackend({ simulator: true, logger: silentLogger });
  const server = await startHttpServer({
    hostname: "127.0.0.1",
    port: 0,
    bearerToken: "token" in opts ? opts.token : TOKEN,
    maxBodyBytes: opts.maxBodyBytes,
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

/** An SDK client over Streamable HTTP with `headers` on every request. */
async function connect(url: string, headers: Record<string, string> = auth()) {
  const client = new Client({ name: "http-test", version: "1" });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  await client.connect(transport);
  return {
    client,
    transport,
    async [Symbol.asyncDispose]() {
      await transport.terminateSession().catch(() => {});
      await client.close();
    },
  };
}

/** Matches the SDK's error for an HTTP status. */
function httpStatus(status: number) {
  return (e: unknown) => (e as { code?: unknown }).code === status;
}

function auth(token = TOKEN): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}

/** Sends raw HTTP/1.1 (for headers fetch will not let us set, like Host); returns the status. */
async function rawStatus(port: number, head: string, body = ""): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(head + "\r\n" + body));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    const line = new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
    return Number(/^HTTP\/1\.1 (\d{3})/.exec(line)?.[1]);
  } finally {
    conn.close();
  }
}

function structured(result: unknown): Record<string, unknown> {
  const r = result as { isError?: boolean; structuredContent?: Record<string, unknown> };
  assert.notEqual(r.isError, true, JSON.stringify(result));
  assert.ok(r.structuredContent);
  return r.structuredContent;
}

Deno.test("Streamable HTTP transport  end to end with the SDK client", async (t) => {
  await using s = await stack();
  const { server } = s;

  await t.step("the right token: initialize, list and call tools", async () => {
    await using c = await connect(server.url);
    const { tools } = await c.client.listTools();
    assert.ok(tools.some((tool) => tool.name === "node_list"));
    const out = structured(await c.client.callTool({ name: "node_list", arguments: {} }));
    assert.ok(JSON.stringify(out).includes("pve1"));
  });

  await t.step("no token and a wrong token are refused with 401", async () => {
    await assert.rejects(connect(server.url, {}), httpStatus(401));
    await assert.rejects(connect(server.url, auth("x" + TOKEN.slice(1))), httpStatus(401));
    const res = await fetch(server.url, {
      method: "POST",
      headers: { ...MCP_HEADERS, Authorization: `Basic ${TOKEN}` },
      body: JSON.stringify(INIT),
    });
    assert.equal(res.status, 401);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer/);
    await res.body?.cancel();
    assert.equal(server.sessions, 0);
  });

  await t.step("a foreign Origin is refused with 403, even with the token", async () => {
    const res = await fetch(server.url, {
      method: "POST",
      headers: { ...MCP_HEADERS, ...auth(), Origin: "http://evil.example" },
      body: JSON.stringify(INIT),
    });
    assert.equal(res.status, 403);
    const body = await res.json();
    assert.match(body.error.message, /Origin "http:\/\/evil.example" is not allowed/);
    await using ok = await connect(server.url, {
      ...auth(),
      Origin: `http://127.0.0.1:${server.port}`,
    });
    assert.ok((await ok.client.listTools()).tools.length > 0);
  });

  await t.step("a foreign Host is refused with 403 (DNS rebinding)", async () => {
    const body = JSON.stringify(INIT);
    const head = (host: string) =>
      `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${TOKEN}\r\n` +
      `Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n`;
    assert.equal(await rawStatus(server.port, head("evil.example:80"), body), 403);
    assert.equal(await rawStatus(server.port, head(`localhost:${server.port}`), body), 200);
  });

  await t.step("an oversized body is refused with 413 (declared or streamed)", async () => {
    await using small = await stack({ maxBodyBytes: 1024 });
    const big = JSON.stringify({ ...INIT, params: { ...INIT.params, pad: "x".repeat(4096) } });
    const declared = await fetch(small.server.url, {
      method: "POST",
      headers: { ...MCP_HEADERS, ...auth() },
      body: big,
    });
    assert.equal(declared.status, 413);
    await declared.body?.cancel();
    const streamed = await fetch(small.server.url, {
      method: "POST",
      headers: { ...MCP_HEADERS, ...auth() },
      body: ReadableStream.from([new TextEncoder().encode(big)]),
    });
    assert.equal(streamed.status, 413);
    await streamed.body?.cancel();
    assert.equal(small.server.sessions, 0);
  });

  await t.step("session lifecycle: initialize, call, DELETE, reuse rejected", async () => {
    const base = server.sessions;
    const c = await connect(server.url);
    const id = c.transport.sessionId;
    assert.ok(id);
    assert.equal(server.sessions, base + 1);
    structured(await c.client.callTool({ name: "cluster_status", arguments: {} }));
    await c.transport.terminateSession();
    assert.equal(server.sessions, base);
    const reuse = await fetch(server.url, {
      method: "POST",
      headers: { ...MCP_HEADERS, ...auth(), "Mcp-Session-Id": id },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    });
    assert.equal(reuse.status, 404);
    await reuse.body?.cancel();
    await c.client.close();
  });

  await t.step("requests without a session are refused unless they initialize", async () => {
    const res = await fetch(server.url, {
      method: "POST",
      headers: { ...MCP_HEADERS, ...auth() },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    });
    assert.equal(res.status, 400);
    await res.body?.cancel();
    const get = await fetch(server.url, { headers: { ...auth(), Accept: "text/event-stream" } });
    assert.equal(get.status, 400);
    await get.body?.cancel();
  });

  await t.step("concurrent sessions are independent", async () => {
    const base = server.sessions;
    const clients = await Promise.all(Array.from({ length: 5 }, () => connect(server.url)));
    try {
      assert.equal(server.sessions, base + 5);
      assert.equal(new Set(clients.map((c) => c.transport.sessionId)).size, 5);
      const results = await Promise.all(
        clients.map((c, i) =>
          c.client.callTool({ name: i % 2 ? "node_list" : "guest_list", arguments: {} })
        ),
      );
      for (const r of results) structured(r);
    } finally {
      await Promise.all(clients.map((c) => c.transport.terminateSession()));
      await Promise.all(clients.map((c) => c.client.close()));
    }
    assert.equal(server.sessions, base);
  });

  await t.step("/healthz answers probes without a token; other paths are 404", async () => {
    const health = await fetch(server.url.replace("/mcp", "/healthz"));
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "ok", "no details without the token");
    const detailed = await fetch(server.url.replace("/mcp", "/healthz"), { headers: auth() });
    assert.deepEqual(await detailed.json(), {
      status: "ok",
      sessions: server.sessions,
      in_flight: 0,
    });
    const other = await fetch(server.url.replace("/mcp", "/other"), { headers: auth() });
    assert.equal(other.status, 404);
    await other.body?.cancel();
  });
});

Deno.test("startHttpServer()  refuses unsafe setups", async (t) => {
  await t.step("a non-loopback address without a token", async () => {
    await assert.rejects(
      startHttpServer({
        hostname: "0.0.0.0",
        port: 0,
        createServer: () => {
          throw new Error("unreachable");
        },
        logger: silentLogger,
      }),
      (e) => e instanceof HttpSetupError && /without a bearer token/.test(e.message),
    );
  });

  await t.step("a short token", async () => {
    await assert.rejects(
      startHttpServer({
        hostname: "127.0.0.1",
        port: 0,
        bearerToken: "short",
        createServer: () => {
          throw new Error("unreachable");
        },
        logger: silentLogger,
      }),
      /too short/,
    );
  });

  await t.step(
    "loopback without a token serves (the conformance suite runs this way)",
    async () => {
      await using s = await stack({ token: undefined });
      await using c = await connect(s.server.url, {});
      assert.ok((await c.client.listTools()).tools.length > 0);
    },
  );
});

Deno.test("HTTP guards and settings  pure functions", async (t) => {
  await t.step("listen addresses and loopback", () => {
    assert.deepEqual(parseListenAddress("127.0.0.1:8080"), { hostname: "127.0.0.1", port: 8080 });
    assert.deepEqual(parseListenAddress("[::1]:0"), { hostname: "::1", port: 0 });
    assert.throws(() => parseListenAddress("8080"), /expected HOST:PORT/);
    assert.throws(() => parseListenAddress("a:70000"), /0–65535/);
    assert.ok(isLoopback("127.0.0.2") && isLoopback("::1") && isLoopback("localhost"));
    assert.ok(!isLoopback("0.0.0.0") && !isLoopback("10.0.0.1") && !isLoopback("128.0.0.1"));
  });

  await t.step("bearer comparison", () => {
    assert.ok(bearerMatches(`Bearer ${TOKEN}`, TOKEN));
    assert.ok(bearerMatches(`bearer ${TOKEN}`, TOKEN));
    assert.ok(!bearerMatches(`Bearer ${TOKEN}x`, TOKEN));
    assert.ok(!bearerMatches(`Bearer ${TOKEN.slice(0, -1)}`, TOKEN));
    assert.ok(!bearerMatches(TOKEN, TOKEN));
    assert.ok(!bearerMatches(null, TOKEN));
    assert.ok(!bearerMatches("Bearer ", ""));
  });

  await t.step("allowlists: loopback defaults, configured values, wildcard listener", () => {
    const local = allowlistFor("127.0.0.1", 8080);
    assert.equal(hostProblem("localhost:8080", local), undefined);
    assert.match(hostProblem("localhost:9090", local) ?? "", /not allowed/);
    assert.match(hostProblem(null, local) ?? "", /Missing Host/);
    assert.equal(originProblem(null, local), undefined);
    assert.equal(originProblem("http://[::1]:8080", local), undefined);
    assert.match(originProblem("http://evil.example", local) ?? "", /not allowed/);
    const wide = allowlistFor("0.0.0.0", 8080, { hosts: ["mcp.example.lan"] });
    assert.equal(hostProblem("MCP.example.lan:443", wide), undefined);
    assert.match(hostProblem("10.0.0.5:8080", wide) ?? "", /not allowed/);
    assert.match(originProblem("http://localhost:8080", wide) ?? "", /not allowed/);
    assert.equal(hostProblem("anything", allowlistFor("0.0.0.0", 8080)), undefined);
    const origins = allowlistFor("0.0.0.0", 1, { origins: ["https://App.example/"] });
    assert.equal(originProblem("https://app.example", origins), undefined);
  });

  await t.step("settings from flags, variables and a token file", async () => {
    const env = (vars: Record<string, string>) => (name: string) => vars[name];
    const fromEnv = await resolveHttpSettings({ http: "0.0.0.0:8080" }, {
      env: env({
        PROXMOX_MCP_HTTP_TOKEN: TOKEN,
        PROXMOX_MCP_ALLOWED_HOSTS: "a.lan, b.lan:8080",
      }),
    });
    assert.equal(fromEnv.token, TOKEN);
    assert.equal(fromEnv.tokenSource, "PROXMOX_MCP_HTTP_TOKEN");
    assert.deepEqual(fromEnv.allowedHosts, ["a.lan", "b.lan:8080"]);
    const fromFile = await resolveHttpSettings(
      { http: "127.0.0.1:1", bearerTokenFile: "/etc/proxmox-mcp/token", shutdownGrace: "2.5" },
      {
        env: env({ PROXMOX_MCP_HTTP_TOKEN: "ignored" }),
        readFile: () => Promise.resolve(`${TOKEN}\n`),
      },
    );
    assert.equal(fromFile.token, TOKEN);
    assert.equal(fromFile.shutdownGraceMs, 2500);
    await assert.rejects(
      resolveHttpSettings({ http: "127.0.0.1:1", bearerTokenFile: "/x" }, {
        env: env({}),
        readFile: () => Promise.reject(new Deno.errors.NotCapable("no")),
      }),
      /may not read it/,
    );
    await assert.rejects(resolveHttpSettings({ http: "nope" }, { env: env({}) }), /HOST:PORT/);
  });
});

/** Starts `proxmox-mcp serve --http` as a subprocess with the server's permission flags. */
async function spawnServer(dir: string, extra: string[]) {
  const main = new URL("../src/main.ts", import.meta.url).pathname;
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", ...(await serverFlags()), main, "--http", "127.0.0.1:0", ...extra],
    cwd: dir,
    env: { PROXMOX_MCP_HTTP_TOKEN: TOKEN },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = process.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  const listening = Promise.withResolvers<void>();
  const lines = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      log += value;
      if (/Streamable HTTP at (\S+)/.test(log)) listening.resolve();
    }
  })();
  const timeout = AbortSignal.timeout(15_000);
  const outcome = await Promise.race([
    listening.promise.then(() => "listening"),
    process.status.then(() => "exited"),
    new Promise<string>((r) => timeout.addEventListener("abort", () => r("timeout"))),
  ]);
  if (outcome === "exited") throw new Error(`the server exited early:\n${log}`);
  const url = /Streamable HTTP at (\S+\/mcp)/.exec(log)?.[1];
  if (!url) throw new Error(`the server did not start:\n${log}`);
  return {
    url,
    process,
    log: () => log,
    async [Symbol.asyncDispose]() {
      try {
        process.kill("SIGKILL");
      } catch {
        // already exited
      }
      await process.status;
      await lines;
    },
  };
}

Deno.test("SIGTERM during a call  finishes it within the grace period, else cancels it", async (t) => {
  await using sim = await startSimulator();
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-http-" });
  const url = new URL(sim.url);
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({
      host: url.hostname,
      port: Number(url.port),
      token_id: sim.credentials.admin.tokenId,
      token_secret: sim.credentials.admin.tokenSecret,
      fingerprint: sim.fingerprint,
    }),
    { mode: 0o600 },
  );
  try {
    await t.step("a call in flight completes, then the process exits 0", async () => {
      await using srv = await spawnServer(dir, ["--shutdown-grace", "10"]);
      await using c = await connect(srv.url);
      // The identity's privileges are read once per server: after this, the next API request
      // is the call's own.
      await c.client.listTools();
      sim.faults.latencyMs = 1200;
      const before = sim.requests;
      const call = c.client.callTool({ name: "cluster_status", arguments: {} });
      await sim.core.requestsReached(before + 1, AbortSignal.timeout(10_000));
      srv.process.kill("SIGTERM");
      const result = await call;
      structured(result);
      const status = await srv.process.status;
      assert.equal(status.code, 0, srv.log());
      assert.match(srv.log(), /Signal received: shutting down/);
      assert.match(srv.log(), /HTTP server stopped/);
      sim.faults.latencyMs = 0;
    });

    await t.step(
      "a call past the grace period is cancelled and answered; exit is bounded",
      async () => {
        await using srv = await spawnServer(dir, ["--shutdown-grace", "0.3"]);
        await using c = await connect(srv.url);
        await c.client.listTools();
        sim.faults.latencyMs = 8000;
        const before = sim.requests;
        const call = c.client.callTool({ name: "cluster_status", arguments: {} }, undefined, {
          timeout: 6000,
        }).then(
          (r) => r.isError ? `error: ${JSON.stringify(r.content)}` : "completed",
          (e) => `failed: ${e}`,
        );
        await sim.core.requestsReached(before + 1, AbortSignal.timeout(10_000));
        srv.process.kill("SIGTERM");
        // The wait is bounded; that the call was cancelled rather than finished is checked below.
        const status = await Promise.race([
          srv.process.status,
          new Promise<never>((_, reject) =>
            AbortSignal.timeout(30_000).addEventListener(
              "abort",
              () => reject(new Error(`the server did not exit after SIGTERM:\n${srv.log()}`)),
            )
          ),
        ]);
        assert.equal(status.code, 0, srv.log());
        assert.match(srv.log(), /cancelling 1 call\(s\) past the grace period/);
        assert.match(
          await call,
          /^error: .*cluster_status was cancelled: the server is shutting down/,
        );
        sim.faults.latencyMs = 0;
      },
    );
  } finally {
    sim.faults.latencyMs = 0;
    await Deno.remove(dir, { recursive: true });
  }
});
