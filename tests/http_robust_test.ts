import assert from "node:assert/strict";
import { serverFlags } from "../scripts/permissions.ts";
import { loadConfig } from "../src/config/mod.ts";
import { buildServer, openBackend } from "../src/server/app.ts";
import { startHttpServer } from "../src/server/http.ts";
import { isPlaceholderToken, resolveHttpSettings } from "../src/server/http_settings.ts";
import { silentLogger } from "../src/util/log.ts";
import { START_FLAGS } from "./helpers/stack.ts";

const ROOT = new URL("../", import.meta.url);
const MAIN = new URL("src/main.ts", ROOT).pathname;
const TOKEN = "f3c1a9e27b5d4c8e9a0b1c2d3e4f5a6b";

/** Sends raw HTTP/1.1 (fetch will not send a malformed Host); returns the status line. */
async function rawRequest(port: number, host: string, path = "/mcp"): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    ));
    let text = "";
    const buf = new Uint8Array(4096);
    while (!text.includes("\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text.split("\r\n")[0];
  } finally {
    conn.close();
  }
}

Deno.test("HTTP  malformed Host headers are refused with 403, on every path", async (t) => {
  const backend = await openBackend({ simulator: true, logger: silentLogger });
  const server = await startHttpServer({
    hostname: "127.0.0.1",
    port: 0,
    bearerToken: TOKEN,
    createServer: () => buildServer(backend, silentLogger),
    logger: silentLogger,
  });
  try {
    for (const host of [`127.0.0.1:${server.port}.evil.example`, "a b", "%00", "[::1"]) {
      await t.step(JSON.stringify(host), async () => {
        assert.match(await rawRequest(server.port, host), /^HTTP\/1\.1 403/);
        assert.match(await rawRequest(server.port, host, "/healthz"), /^HTTP\/1\.1 403/);
      });
    }
    await t.step("a well-formed Host still works", async () => {
      assert.match(await rawRequest(server.port, `127.0.0.1:${server.port}`, "/healthz"), / 200 /);
    });
    await t.step("malformed JSON-RPC over HTTP gets JSON-RPC errors", async () => {
      const res = await fetch(server.url, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${TOKEN}`,
          "Content-Type": "application/json",
          Accept: "application/json, text/event-stream",
        },
        body: JSON.stringify([{ jsonrpc: "2.0", id: 1, method: "ping" }]),
      });
      assert.equal(res.status, 400);
      const body = await res.json();
      assert.deepEqual(body, [{
        jsonrpc: "2.0",
        id: 1,
        error: {
          code: -32600,
          message:
            "Invalid Request: batches are not supported by MCP: send each message on its own line",
        },
      }]);
    });
  } finally {
    await server.shutdown();
    await backend[Symbol.asyncDispose]();
  }
});

Deno.test("deployment files  placeholders, health check address, secret mounts", async (t) => {
  await t.step("the k8s Secret's placeholder bearer token is refused at startup", async () => {
    const secret = await Deno.readTextFile(new URL("deploy/k8s/secret.yaml", ROOT));
    const placeholder = /http-token: "([^"]+)"/.exec(secret)![1];
    assert.ok(placeholder.length >= 16, "long enough to pass the length check");
    await assert.rejects(
      resolveHttpSettings({ http: "0.0.0.0:8080" }, {
        env: (n) => n === "PROXMOX_MCP_HTTP_TOKEN" ? placeholder : undefined,
      }),
      /is a placeholder, not a secret: generate one with openssl rand -hex 32/,
    );
    assert.equal(isPlaceholderToken(TOKEN), false);
    assert.equal(isPlaceholderToken(crypto.randomUUID().replaceAll("-", "")), false);
    for (const bad of ["changeme-changeme-123", "x".repeat(32), "your-token-goes-in-here"]) {
      assert.equal(isPlaceholderToken(bad), true, bad);
    }
  });

  await t.step("no OWNER placeholder in the README or the manifests", async () => {
    for (
      const file of ["README.md", "deploy/k8s/deployment.yaml", "deploy/k8s/kustomization.yaml"]
    ) {
      const text = await Deno.readTextFile(new URL(file, ROOT));
      assert.doesNotMatch(text, /\bOWNER\b/, file);
    }
  });

  await t.step("the image's health check follows PROXMOX_MCP_LISTEN", async () => {
    const dockerfile = await Deno.readTextFile(new URL("Dockerfile", ROOT));
    assert.match(dockerfile, /^ENV PROXMOX_MCP_LISTEN=0\.0\.0\.0:8080$/m);
    assert.match(dockerfile, /CMD \["\/usr\/local\/bin\/proxmox-mcp", "healthcheck"\]/);
    assert.match(dockerfile, /^CMD \["serve"\]$/m);
    assert.doesNotMatch(dockerfile.split("HEALTHCHECK")[1], /8080/);
    // What the container does: serve at PROXMOX_MCP_LISTEN, healthcheck probes it.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const env = { PROXMOX_MCP_LISTEN: `127.0.0.1:${port}`, NO_COLOR: "1" };
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", ...(await serverFlags()), MAIN, "serve", "--simulator"],
      env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let log = "";
    try {
      while (!log.includes(`Streamable HTTP at http://127.0.0.1:${port}/mcp`)) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`the server ended:\n${log}`);
        log += value;
      }
      const check = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...START_FLAGS, MAIN, "healthcheck"],
        env,
        stdin: "null",
      }).output();
      assert.equal(check.code, 0);
      assert.equal(new TextDecoder().decode(check.stdout).trim(), "200 ok");
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel().catch(() => {});
    }
  });

  await t.step("a read-only secret mount (mode 0440) gets no chmod warning", async () => {
    const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-mount-" });
    const path = `${dir}/config.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({ host: "pve1", token_id: "mcp@pve!mcp", token_secret: crypto.randomUUID() }),
    );
    try {
      const warnings = async (mode: number) =>
        (await loadConfig({ path, env: () => undefined, stat: () => Promise.resolve({ mode }) }))
          .warnings.join("\n");
      assert.doesNotMatch(await warnings(0o100440), /readable/);
      assert.doesNotMatch(await warnings(0o100400), /readable/);
      assert.match(await warnings(0o100444), /read-only mount: .*defaultMode: 0440 or 0400/);
      assert.match(await warnings(0o100640), /chmod 600/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("scripts/smoke.sh  passes against the server run with the binary's flags", async () => {
  const out = await new Deno.Command("bash", {
    args: [
      new URL("scripts/smoke.sh", ROOT).pathname,
      Deno.execPath(),
      "run",
      ...(await serverFlags()),
      MAIN,
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /smoke test passed/);
});
