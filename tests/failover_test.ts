import assert from "node:assert/strict";
import { type ClientOptions, ProxmoxClient } from "../src/proxmox/client.ts";
import {
  classifyNetworkFailure,
  ProxmoxApiError,
  ProxmoxConnectionError,
  ProxmoxEndpointsError,
  ProxmoxTimeoutError,
} from "../src/proxmox/errors.ts";
import { ConfigError, type ConfigIssue, loadConfig, toClientOptions } from "../src/config/mod.ts";
import { otherCaCert, type Simulator, startSimulator } from "../src/simulator/mod.ts";
import { simulatorServerCert, simulatorServerKey } from "../src/simulator/tls/certs.ts";
import type { Logger, LogLevel } from "../src/util/log.ts";
import { START_FLAGS, startStack, textOf, writeSimConfig } from "./helpers/stack.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

/** A loopback port nothing listens on: connecting to it is refused. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Text of a Deno `fetch` DNS failure, for host names under `.invalid` (tests may not resolve). */
function dnsFailure(url: URL): TypeError {
  return new TypeError("fetch failed", {
    cause: new Error(
      `error sending request for url (${url}): client error (Connect): dns error: failed to ` +
        "lookup address information: Name or service not known",
    ),
  });
}

/**
 * A transport over `fetch` trusting the simulator CA that records every request as
 * `METHOD host:port path`; `.invalid` host names fail as DNS failures do.
 */
function recordingTransport(caCert: string) {
  const http = Deno.createHttpClient({ caCerts: [caCert] });
  const seen: string[] = [];
  return {
    seen,
    /** Requests sent to `host:port`. */
    to: (target: string) => seen.filter((s) => s.split(" ")[1] === target),
    transport: (req: Request): Promise<Response> => {
      const url = new URL(req.url);
      seen.push(`${req.method} ${url.host} ${url.pathname.replace("/api2/json", "")}`);
      if (url.hostname.endsWith(".invalid")) return Promise.reject(dnsFailure(url));
      return fetch(req, { client: http });
    },
    [Symbol.dispose]() {
      http.close();
    },
  };
}

/** A logger that keeps every record. */
function recordingLogger() {
  const records: { level: LogLevel; message: string; fields?: Record<string, unknown> }[] = [];
  const logger: Logger = {
    log: (level, message, fields) => records.push({ level, message, fields }),
  };
  return {
    logger,
    records,
    failovers: () =>
      records.filter((r) => r.message === "proxmox endpoint failover").map((r) => r.fields!),
  };
}

/**
 * A TLS server that reads one request head, counts it, and closes the connection without an
 * answer: the client sees a reset after its request went out.
 */
function resettingServer() {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: simulatorServerCert,
    key: simulatorServerKey,
  });
  const port = (listener.addr as Deno.NetAddr).port;
  const open = new Set<Deno.Conn>();
  let requests = 0;
  const handle = async (conn: Deno.Conn) => {
    open.add(conn);
    const buf = new Uint8Array(16384);
    let head = "";
    try {
      while (!head.includes("\r\n\r\n")) {
        const n = await conn.read(buf);
        if (n === null) break;
        head += new TextDecoder().decode(buf.subarray(0, n));
      }
      if (head.includes("\r\n\r\n")) requests++;
    } catch {
      // The client went away first.
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) handle(conn);
    } catch {
      // Listener closed.
    }
  })();
  return {
    url: `https://127.0.0.1:${port}`,
    target: `127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      await accepting;
    },
  };
}

/** A TLS server that counts requests and answers none until disposed. */
function silentServer() {
  const release = Promise.withResolvers<void>();
  let requests = 0;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    cert: simulatorServerCert,
    key: simulatorServerKey,
  }, async () => {
    requests++;
    await release.promise;
    return new Response("{}");
  });
  return {
    url: `https://127.0.0.1:${server.addr.port}`,
    target: `127.0.0.1:${server.addr.port}`,
    get requests() {
      return requests;
    },
    async [Symbol.asyncDispose]() {
      release.resolve();
      await server.shutdown();
    },
  };
}

/**
 * A TCP forwarder to `port` on loopback: a second endpoint for the same simulator (its
 * certificate names 127.0.0.1). `stop()` closes it and its connections: it then refuses.
 */
function forwarder(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const own = (listener.addr as Deno.NetAddr).port;
  const open = new Set<Deno.Conn>();
  const pipes: Promise<unknown>[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        const upstream = await Deno.connect({ hostname: "127.0.0.1", port });
        open.add(conn);
        open.add(upstream);
        pipes.push(
          conn.readable.pipeTo(upstream.writable).catch(() => {}),
          upstream.readable.pipeTo(conn.writable).catch(() => {}),
        );
      }
    } catch {
      // Listener closed.
    }
  })();
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Already closed by a pipe.
        }
      }
      await accepting;
      await Promise.all(pipes);
    })();
  return {
    url: `https://127.0.0.1:${own}`,
    target: `127.0.0.1:${own}`,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** A client for `urls` (first is primary) with the simulator admin token, no retry delays. */
function clientFor(
  sim: Simulator,
  urls: string[],
  extra: Partial<ClientOptions> & Pick<ClientOptions, "transport">,
): ProxmoxClient {
  const { tokenId, tokenSecret } = sim.credentials.admin;
  return new ProxmoxClient({
    baseUrl: urls[0],
    fallbackUrls: urls.slice(1),
    auth: { type: "token", tokenId, secret: tokenSecret },
    sleep: () => Promise.resolve(),
    ...extra,
  });
}

const targetOf = (url: string) => new URL(url).host;

/** A QEMU guest of the simulator and the path of its snapshots. */
function snapshotTarget(sim: Simulator) {
  const guest = [...sim.state.guests.values()].find((g) => g.type === "qemu")!;
  return { guest, path: `/nodes/${guest.node}/qemu/${guest.vmid}/snapshot` };
}

Deno.test("failover  GET moves past a refused endpoint and stays on the one that answered", async (t) => {
  await using sim = await startSimulator();
  using rec = recordingTransport(sim.caCert);
  const log = recordingLogger();
  const down = `https://127.0.0.1:${closedPort()}`;
  await using api = clientFor(sim, [down, sim.url], {
    transport: rec.transport,
    logger: log.logger,
  });

  await t.step("the first GET is answered by the second endpoint", async () => {
    assert.equal(api.baseUrl, down);
    const version = await api.get<{ version: string }>("/version");
    assert.match(version.version, /^\d+\.\d+/);
    assert.equal(api.baseUrl, sim.url);
    assert.deepEqual(api.endpoints, [down, sim.url]);
  });

  await t.step("the failover is logged at debug level: from, to, reason, no secret", () => {
    const moves = log.failovers();
    assert.equal(moves.length, 1);
    assert.deepEqual(moves[0], {
      method: "GET",
      path: "/version",
      from: targetOf(down),
      to: targetOf(sim.url),
      reason: "connection refused",
    });
    const all = JSON.stringify(log.records);
    assert.ok(!all.includes(sim.credentials.admin.tokenSecret), "no token secret in the log");
    assert.ok(log.records.every((r) => r.level === "debug"));
  });

  await t.step("later requests go straight to the endpoint that answered", async () => {
    await api.get("/cluster/status");
    await api.get("/nodes");
    assert.equal(rec.to(targetOf(down)).length, 1, rec.seen.join("\n"));
    assert.equal(rec.to(targetOf(sim.url)).length, 3);
    assert.equal(log.failovers().length, 1);
  });
});

Deno.test("failover  writes move on only when they never reached a server", async (t) => {
  await using sim = await startSimulator();
  using rec = recordingTransport(sim.caCert);
  const { guest, path } = snapshotTarget(sim);

  await t.step("POST after a refused connection is sent to the next endpoint, once", async () => {
    const down = `https://127.0.0.1:${closedPort()}`;
    await using api = clientFor(sim, [down, sim.url], { transport: rec.transport });
    const before = sim.requests;
    await api.post(path, { snapname: "failover1" });
    assert.equal(sim.requests - before, 1, "the simulator saw the write exactly once");
    assert.deepEqual(guest.snapshots.map((s) => s.name).filter((n) => n === "failover1"), [
      "failover1",
    ]);
    assert.equal(api.baseUrl, sim.url);
  });

  await t.step("POST after a DNS failure is sent to the next endpoint", async () => {
    await using api = clientFor(sim, ["https://pve-gone.invalid:8006", sim.url], {
      transport: rec.transport,
    });
    const before = sim.requests;
    await api.post(path, { snapname: "failover2" });
    assert.equal(sim.requests - before, 1);
  });

  await t.step("POST after a reset is not sent again anywhere", async () => {
    await using resetting = resettingServer();
    await using api = clientFor(sim, [resetting.url, sim.url], { transport: rec.transport });
    const before = sim.requests;
    const err = await api.post(path, { snapname: "failover3" }).then(
      () => assert.fail("expected a reset"),
      (e) => e,
    );
    assert.ok(err instanceof ProxmoxConnectionError, String(err));
    assert.equal(err.kind, "reset");
    assert.equal(resetting.requests, 1, "the resetting server saw the write once");
    assert.equal(sim.requests - before, 0, "the write did not go to the other endpoint");
    assert.ok(!guest.snapshots.some((s) => s.name === "failover3"));
    assert.equal(api.baseUrl, resetting.url);
  });

  await t.step("a GET after a reset does move on", async () => {
    await using resetting = resettingServer();
    await using api = clientFor(sim, [resetting.url, sim.url], { transport: rec.transport });
    await api.get("/version");
    assert.equal(resetting.requests, 1);
    assert.equal(api.baseUrl, sim.url);
  });

  await t.step("POST after a timeout is not sent again anywhere", async () => {
    await using silent = silentServer();
    await using api = clientFor(sim, [silent.url, sim.url], {
      transport: rec.transport,
      timeoutMs: 200,
    });
    const before = sim.requests;
    const err = await api.post(path, { snapname: "failover4" }).then(
      () => assert.fail("expected a timeout"),
      (e) => e,
    );
    assert.ok(err instanceof ProxmoxTimeoutError, String(err));
    assert.equal(silent.requests, 1);
    assert.equal(sim.requests - before, 0);
    assert.ok(!guest.snapshots.some((s) => s.name === "failover4"));
  });

  await t.step("a GET after a timeout moves on", async () => {
    await using silent = silentServer();
    await using api = clientFor(sim, [silent.url, sim.url], {
      transport: rec.transport,
      timeoutMs: 200,
    });
    await api.get("/version");
    assert.equal(silent.requests, 1);
    assert.equal(api.baseUrl, sim.url);
  });
});

Deno.test("failover  answers about other nodes are answers, not endpoint failures", async (t) => {
  await using sim = await startSimulator();
  using rec = recordingTransport(sim.caCert);
  await using first = forwarder(sim.port);
  await using api = clientFor(sim, [first.url, sim.url], { transport: rec.transport });
  const node = [...sim.state.nodes.keys()].sort()[1];

  await t.step("595 for a node that is down is returned, nothing else is asked", async () => {
    sim.faults.nodeDown(node);
    try {
      const err = await api.get(`/nodes/${node}/status`).then(
        () => assert.fail("expected a 595"),
        (e) => e,
      );
      assert.ok(err instanceof ProxmoxApiError, String(err));
      assert.equal(err.status, 595);
      assert.match(err.message, /Connection timed out|no such cluster node/);
      assert.equal(rec.to(targetOf(sim.url)).length, 0, rec.seen.join("\n"));
      assert.equal(api.baseUrl, first.url);
    } finally {
      sim.faults.nodeUp(node);
    }
  });

  await t.step("596 is retried on the same endpoint", async () => {
    sim.faults.failNext(1, { status: 596 });
    await api.get("/cluster/status");
    assert.equal(rec.to(targetOf(sim.url)).length, 0, rec.seen.join("\n"));
    assert.equal(api.baseUrl, first.url);
  });

  await t.step("a GET answered 503 moves to the next endpoint", async () => {
    sim.faults.failNext(1, { status: 503, method: "GET" });
    await api.get("/cluster/status");
    assert.equal(rec.to(targetOf(sim.url)).length, 1, rec.seen.join("\n"));
    assert.equal(api.baseUrl, sim.url);
  });

  await t.step("a POST answered 503 is not sent again", async () => {
    const { path } = snapshotTarget(sim);
    sim.faults.failNext(1, { status: 503, method: "POST" });
    const before = sim.requests;
    const err = await api.post(path, { snapname: "after503" }).then(
      () => assert.fail("expected a 503"),
      (e) => e,
    );
    assert.ok(err instanceof ProxmoxApiError, String(err));
    assert.equal(err.status, 503);
    assert.equal(sim.requests - before, 1);
  });
});

Deno.test("failover  when every endpoint fails, one error names each", async (t) => {
  await using sim = await startSimulator();
  using rec = recordingTransport(sim.caCert);
  const a = closedPort();
  const b = closedPort();
  const urls = [
    `https://127.0.0.1:${a}`,
    "https://pve-gone.invalid:8006",
    `https://127.0.0.1:${b}`,
  ];

  await t.step("GET: each endpoint with its failure, after the retry rounds", async () => {
    await using api = clientFor(sim, urls, { transport: rec.transport });
    const err = await api.get("/version").then(() => assert.fail("expected failure"), (e) => e);
    assert.ok(err instanceof ProxmoxEndpointsError, String(err));
    assert.equal(
      err.message,
      `No Proxmox VE endpoint could serve GET /version (3 tried): 127.0.0.1:${a}: connection ` +
        "refused; pve-gone.invalid:8006: the host name could not be resolved; " +
        `127.0.0.1:${b}: connection refused: check that the nodes are up and pveproxy runs on ` +
        "them (systemctl status pveproxy), and host, fallback_hosts and port in the configuration",
    );
    assert.deepEqual(err.failures.map((f) => f.target), [
      `127.0.0.1:${a}`,
      "pve-gone.invalid:8006",
      `127.0.0.1:${b}`,
    ]);
    assert.equal(err.kind, "other", "mixed kinds");
    assert.equal(rec.to(`127.0.0.1:${a}`).length, 3, "three rounds (refused is transient)");
  });

  await t.step("POST: one round, every endpoint once", async () => {
    rec.seen.length = 0;
    await using api = clientFor(sim, urls, { transport: rec.transport });
    const err = await api.post("/nodes/pve1/qemu/100/snapshot", { snapname: "x" }).then(
      () => assert.fail("expected failure"),
      (e) => e,
    );
    assert.ok(err instanceof ProxmoxEndpointsError, String(err));
    assert.equal(err.failures.length, 3);
    assert.equal(rec.seen.length, 3, rec.seen.join("\n"));
  });

  await t.step("only DNS failures: no retry rounds", async () => {
    rec.seen.length = 0;
    await using api = clientFor(sim, ["https://a.invalid:8006", "https://b.invalid:8006"], {
      transport: rec.transport,
    });
    const err = await api.get("/version").then(() => assert.fail("expected failure"), (e) => e);
    assert.ok(err instanceof ProxmoxEndpointsError);
    assert.equal(err.kind, "dns");
    assert.equal(rec.seen.length, 2);
  });

  await t.step("a TLS failure is reported, not skipped", async () => {
    // This client trusts another CA: the first endpoint's certificate is not trusted.
    using untrusting = recordingTransport(otherCaCert);
    await using api = clientFor(sim, [sim.url, `https://127.0.0.1:${a}`], {
      transport: untrusting.transport,
    });
    const err = await api.get("/version").then(() => assert.fail("expected failure"), (e) => e);
    assert.ok(err instanceof ProxmoxConnectionError, String(err));
    assert.ok(!(err instanceof ProxmoxEndpointsError));
    assert.equal(err.kind, "tls");
    assert.match(err.message, /not trusted \(unknown issuer\).*ca_file/);
    assert.deepEqual(untrusting.seen, [`GET ${targetOf(sim.url)} /version`]);
  });

  await t.step("a dropped TLS connection and a non-TLS port are classified", () => {
    const dropped = new TypeError("fetch failed", {
      cause: new Error("peer closed connection without sending TLS close_notify: https://x"),
    });
    assert.equal(classifyNetworkFailure(dropped).kind, "reset");
    const plain = new Error("client error (Connect): received corrupt message of type X");
    assert.equal(classifyNetworkFailure(plain).kind, "tls");
  });
});

Deno.test("failover  a ticket from one endpoint is used on the others", async () => {
  await using sim = await startSimulator();
  using rec = recordingTransport(sim.caCert);
  const log = recordingLogger();
  await using first = forwarder(sim.port);
  const { username, password, realm } = sim.credentials.admin;
  const { path, guest } = snapshotTarget(sim);
  await using api = new ProxmoxClient({
    baseUrl: first.url,
    fallbackUrls: [sim.url],
    auth: { type: "ticket", username: `${username}@${realm}`, password },
    transport: rec.transport,
    logger: log.logger,
    sleep: () => Promise.resolve(),
  });
  await api.get("/version");
  assert.equal(rec.to(first.target).filter((s) => s.endsWith("/access/ticket")).length, 1);

  await first.stop();
  await api.get("/cluster/status");
  await api.post(path, { snapname: "ticketed" });
  assert.equal(api.baseUrl, sim.url);
  assert.equal(rec.seen.filter((s) => s.endsWith("/access/ticket")).length, 1, rec.seen.join("\n"));
  assert.ok(guest.snapshots.some((s) => s.name === "ticketed"), "the CSRF token worked too");
  assert.ok(!JSON.stringify(log.records).includes(password), "no password in the log");
});

Deno.test("failover  a login that cannot reach its endpoint moves on, also for writes", async () => {
  await using sim = await startSimulator();
  using rec = recordingTransport(sim.caCert);
  await using silent = silentServer();
  const { username, password, realm } = sim.credentials.admin;
  const { path, guest } = snapshotTarget(sim);
  await using api = new ProxmoxClient({
    baseUrl: silent.url,
    fallbackUrls: [sim.url],
    auth: { type: "ticket", username: `${username}@${realm}`, password },
    transport: rec.transport,
    timeoutMs: 200,
  });
  // The login times out on the first endpoint; the write itself was never sent there.
  await api.post(path, { snapname: "after-login-timeout" });
  assert.equal(silent.requests, 1);
  assert.deepEqual(rec.to(silent.target), ["POST " + silent.target + " /access/ticket"]);
  assert.equal(guest.snapshots.filter((s) => s.name === "after-login-timeout").length, 1);
});

function issuesOf(e: unknown): ConfigIssue[] {
  assert.ok(e instanceof ConfigError, String(e));
  return e.issues;
}

Deno.test("failover  fallback_hosts configuration", async (t) => {
  const base = {
    host: "pve1.example.lan",
    token_id: "mcp@pve!mcp",
    token_secret: "5f0c2b7e-9a41-4c6d-8e3f-1b2a3c4d5e6f",
  };
  const load = (file: Record<string, unknown>, env: Record<string, string> = {}) =>
    loadConfig({
      path: "/virtual/config.json",
      env: (name) => env[name],
      readFile: (p) =>
        p === "/virtual/config.json"
          ? Promise.resolve(JSON.stringify({ ...base, ...file }))
          : Promise.reject(new Deno.errors.NotFound(p)),
      stat: () => Promise.resolve({ mode: 0o600 }),
    });
  const issues = (file: Record<string, unknown>, env: Record<string, string> = {}) =>
    load(file, env).then(() => assert.fail("expected a ConfigError"), issuesOf);

  await t.step("a list of hosts becomes fallback URLs on the same port", async () => {
    const { config } = await load({ fallback_hosts: ["pve2.example.lan", "fd00::12"], port: 8443 });
    assert.deepEqual(config.fallback_hosts, ["pve2.example.lan", "fd00::12"]);
    const options = await toClientOptions(config);
    assert.equal(options.baseUrl, "https://pve1.example.lan:8443");
    assert.deepEqual(options.fallbackUrls, [
      "https://pve2.example.lan:8443",
      "https://[fd00::12]:8443",
    ]);
  });

  await t.step("without fallback hosts the options have none", async () => {
    const options = await toClientOptions((await load({})).config);
    assert.equal(options.fallbackUrls, undefined);
  });

  await t.step("PROXMOX_FALLBACK_HOSTS takes a comma-separated list", async () => {
    const loaded = await load({}, { PROXMOX_FALLBACK_HOSTS: "pve2.example.lan, 10.0.0.3" });
    assert.deepEqual(loaded.config.fallback_hosts, ["pve2.example.lan", "10.0.0.3"]);
    assert.equal(loaded.origins.fallback_hosts, "PROXMOX_FALLBACK_HOSTS");
  });

  await t.step("entries are checked like host, with fixes that fit a list", async () => {
    const found = await issues({
      fallback_hosts: ["https://pve2.example.lan:8006", "pve3:8006", "[fd00::12]", "pve 4"],
    });
    assert.deepEqual(found.map((i) => i.field), Array(4).fill("fallback_hosts"));
    const messages = found.map((i) => i.message);
    assert.match(
      messages[0],
      /^expected a list of other nodes' hostnames .* got "https:\/\/pve2\.example\.lan:8006": that is a URL: write "pve2\.example\.lan" \(every endpoint uses the one "port" field\)$/,
    );
    assert.match(
      messages[1],
      /fallback hosts take no port, they share "port" with host: write "pve3"$/,
    );
    assert.match(messages[2], /write the IPv6 address without brackets: write "fd00::12"$/);
    assert.match(messages[3], /a host name may contain only letters, digits, hyphens and dots$/);
  });

  await t.step("a single string instead of a list", async () => {
    const found = await issues({ fallback_hosts: "pve2.example.lan" });
    assert.equal(found.length, 1);
    assert.equal(found[0].field, "fallback_hosts");
    assert.match(
      found[0].message,
      /^expected a list of other nodes' hostnames.*got "pve2\.example\.lan"$/,
    );
  });

  await t.step("a bad entry from the environment names the variable", async () => {
    const found = await issues({}, { PROXMOX_FALLBACK_HOSTS: "pve2,http://pve3" });
    assert.equal(found.length, 1);
    assert.equal(found[0].field, "PROXMOX_FALLBACK_HOSTS");
    assert.match(found[0].message, /that is a URL: write "pve3"$/);
  });

  await t.step("fingerprint with fallback hosts is refused, pointing at ca_file", async () => {
    const fingerprint = "AB:".repeat(31) + "AB";
    const found = await issues({ fallback_hosts: ["pve2"], fingerprint });
    assert.equal(found.length, 1);
    assert.equal(found[0].field, "fallback_hosts");
    assert.match(
      found[0].message,
      /^cannot be combined with fingerprint: a fingerprint pins one node's certificate .*set ca_file to the cluster CA/,
    );
    const fromEnv = await issues({}, {
      PROXMOX_FALLBACK_HOSTS: "pve2",
      PROXMOX_FINGERPRINT: fingerprint,
    });
    assert.equal(fromEnv[0].field, "PROXMOX_FALLBACK_HOSTS");
    assert.match(fromEnv[0].message, /^cannot be combined with PROXMOX_FINGERPRINT/);
    // Alone, fingerprint is fine as before.
    assert.equal((await load({ fingerprint })).config.fingerprint, fingerprint);
  });

  await t.step("a host listed twice", async () => {
    const found = await issues({ fallback_hosts: ["PVE1.example.lan", "pve2", "pve2"] });
    assert.deepEqual(found.map((i) => i.message), [
      '"PVE1.example.lan" repeats host: list each other node once',
      '"pve2" repeats another entry: list each other node once',
    ]);
  });
});

/** Runs `proxmox-mcp doctor --config <path>` as the server would run (all hosts allowed). */
async function doctorProcess(configPath: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...START_FLAGS, MAIN, "doctor", "--config", configPath],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

Deno.test("failover  doctor reports every endpoint", async () => {
  await using sim = await startSimulator();
  // Nothing listens on [::1] at the simulator's port; 127.0.0.1 is the simulator.
  const { dir, path } = await writeSimConfig(sim, { host: "::1", fallback_hosts: ["127.0.0.1"] });
  try {
    const { code, stdout } = await doctorProcess(path);
    const lines = stdout.trim().split("\n");
    const target = `127.0.0.1:${sim.port}`;
    assert.equal(code, 1, stdout);
    assert.ok(
      lines.includes(
        `ok: endpoint: https://[::1]:${sim.port}/api2/json`,
      ),
      stdout,
    );
    assert.ok(lines.includes(`ok: fallback endpoints: https://${target}`), stdout);
    assert.ok(
      lines.includes(`ok: endpoint ${target}: reachable; certificate SHA-256 ${sim.fingerprint}`),
      stdout,
    );
    assert.ok(
      lines.some((l) => l.startsWith("ok: version: Proxmox VE ") && l.endsWith(`(via ${target})`)),
      stdout,
    );
    assert.ok(lines.includes(`ok: endpoint ${target}: the API answers`), stdout);
    assert.ok(lines.includes(`ok: tls: certificate verified against ${dir}/ca.pem`), stdout);
    assert.deepEqual(lines.filter((l) => l.startsWith("problem:")), [
      `problem: refused: [::1]:${sim.port}: connection refused: check port (8006 by default) ` +
      "and that pveproxy runs on the node (systemctl status pveproxy)",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("failover  the MCP server answers through a fallback host", async () => {
  // The server process may reach [::1], where nothing listens at the simulator's port.
  await using stack = await startStack({
    config: { host: "::1", fallback_hosts: ["127.0.0.1"] },
  });
  const before = stack.sim.requests;
  const result = await stack.client.callTool({ name: "cluster_status", arguments: {} });
  assert.ok(!result.isError, textOf(result));
  const status = result.structuredContent as { cluster: string };
  assert.equal(status.cluster, stack.sim.state.clusterName);
  assert.ok(stack.sim.requests > before);
  assert.match(stack.stderr(), /backend ::1:\d+, failing over to 127\.0\.0\.1 \(/);
});
