import assert from "node:assert/strict";
import { apiPath, type ClientOptions, ProxmoxClient } from "../src/proxmox/client.ts";
import {
  ProxmoxApiError,
  ProxmoxAuthError,
  ProxmoxConnectionError,
  ProxmoxTimeoutError,
} from "../src/proxmox/errors.ts";
import { ManualClock } from "../src/util/clock.ts";
import type { LogLevel } from "../src/util/log.ts";
import {
  simulatorCaCert,
  simulatorServerCert,
  simulatorServerKey,
} from "../src/simulator/tls/certs.ts";
import { startSimulator } from "../src/simulator/mod.ts";

const TOKEN_ID = "mcp@pve!mcp";
const TOKEN_SECRET = "5f0c2b7e-9a41-4c6d-8e3f-1b2a3c4d5e6f";
const PASSWORD = "correct horse battery staple";

/** One request as the test server saw it. */
interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Headers;
  body: string;
}

type Handler = (req: Request, seen: Seen) => Response | Promise<Response>;

/** A loopback HTTP server recording every request; closes on dispose. */
function loopback(handler: Handler, tls = false) {
  const requests: Seen[] = [];
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    ...(tls ? { cert: simulatorServerCert, key: simulatorServerKey } : {}),
  }, async (req) => {
    const url = new URL(req.url);
    const seen: Seen = {
      method: req.method,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: await req.text(),
    };
    requests.push(seen);
    for (const w of [...waiters]) {
      if (requests.length >= w.count) {
        waiters.delete(w);
        w.resolve();
      }
    }
    return await handler(req, seen);
  });
  const waiters = new Set<{ count: number; resolve: () => void }>();
  const closedPort = () => server.addr.port;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${server.addr.port}`,
    port: closedPort(),
    requests,
    /** Resolves handlers that wait on it (timeouts, held requests). */
    release: release.promise,
    /** Resolves once `count` requests arrived; rejects after 10 s. */
    arrived(count: number): Promise<void> {
      if (requests.length >= count) return Promise.resolve();
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      const timer = setTimeout(
        () => reject(new Error(`only ${requests.length} of ${count} requests arrived in 10 s`)),
        10_000,
      );
      waiters.add({ count, resolve: () => (clearTimeout(timer), resolve()) });
      return promise;
    },
    api: () => requests.filter((r) => r.path !== "/api2/json/access/ticket"),
    logins: () => requests.filter((r) => r.path === "/api2/json/access/ticket"),
    async [Symbol.asyncDispose]() {
      release.resolve();
      await server.shutdown();
    },
  };
}

function json(body: unknown, init: ResponseInit = {}): Response {
  return new Response(JSON.stringify(body), {
    ...init,
    headers: { "content-type": "application/json" },
  });
}

/** A stand-in for pveproxy's ticket handling: tickets are numbered; `valid` decides. */
function ticketServer(opts: {
  valid?: (ticket: string) => boolean;
  loginDelay?: Promise<void>;
  onApi?: (seen: Seen) => Response | undefined;
} = {}): Handler {
  let issued = 0;
  return async (_req, seen) => {
    if (seen.path === "/api2/json/access/ticket") {
      await opts.loginDelay;
      const form = new URLSearchParams(seen.body);
      const renewing = form.get("password")?.startsWith("PVE:");
      if (form.get("username") !== "root@pam" || (!renewing && form.get("password") !== PASSWORD)) {
        return new Response(null, { status: 401 });
      }
      issued++;
      return json({
        data: {
          username: "root@pam",
          ticket: `PVE:root@pam:${issued}`,
          CSRFPreventionToken: `csrf-${issued}`,
          cap: {},
        },
      });
    }
    const cookie = seen.headers.get("cookie") ?? "";
    const ticket = /PVEAuthCookie=([^;]+)/.exec(cookie)?.[1];
    if (!ticket || !(opts.valid?.(ticket) ?? true)) return new Response(null, { status: 401 });
    if (seen.method !== "GET") {
      const expected = `csrf-${ticket.split(":")[2]}`;
      if (seen.headers.get("csrfpreventiontoken") !== expected) {
        return new Response(null, { status: 401, statusText: "Permission denied - invalid csrf" });
      }
    }
    return opts.onApi?.(seen) ?? json({ data: { ok: true, ticket } });
  };
}

function recordingSleep() {
  const delays: number[] = [];
  return {
    delays,
    sleep: (ms: number) => {
      delays.push(ms);
      return Promise.resolve();
    },
  };
}

function client(url: string, extra: Partial<ClientOptions> = {}): ProxmoxClient {
  return new ProxmoxClient({
    baseUrl: url,
    auth: { type: "token", tokenId: TOKEN_ID, secret: TOKEN_SECRET },
    timeoutMs: 5_000,
    sleep: () => Promise.resolve(),
    random: () => 0.5,
    ...extra,
  });
}

function ticketClient(url: string, extra: Partial<ClientOptions> = {}): ProxmoxClient {
  return client(url, {
    auth: { type: "ticket", username: "root@pam", password: PASSWORD },
    ...extra,
  });
}

Deno.test("ProxmoxClient  authenticates with an API token", async (t) => {
  await using srv = loopback(() => json({ data: [{ node: "pve1" }] }));
  await using api = client(srv.url);

  await t.step("sends the PVEAPIToken header and returns data", async () => {
    const data = await api.get("/nodes");
    assert.deepEqual(data, [{ node: "pve1" }]);
    const [seen] = srv.requests;
    assert.equal(seen.path, "/api2/json/nodes");
    assert.equal(seen.headers.get("authorization"), `PVEAPIToken=${TOKEN_ID}=${TOKEN_SECRET}`);
    assert.equal(seen.headers.get("cookie"), null);
  });

  await t.step("sends no CSRF token on writes", async () => {
    await api.post("/nodes/pve1/qemu/100/status/start");
    const seen = srv.requests.at(-1)!;
    assert.equal(seen.method, "POST");
    assert.equal(seen.headers.get("csrfpreventiontoken"), null);
    assert.equal(srv.logins().length, 0);
  });
});

Deno.test("ProxmoxClient  encodes parameters", async (t) => {
  await using srv = loopback(() => json({ data: null }));
  await using api = client(srv.url);

  await t.step(
    "POST/PUT send a form: booleans 1/0, arrays repeated, undefined omitted",
    async () => {
      await api.post("/nodes/pve1/qemu", {
        vmid: 100,
        start: true,
        onboot: false,
        skip: undefined,
        delete: ["net1", "ide2"],
        name: "a b&c",
      });
      const seen = srv.requests.at(-1)!;
      assert.equal(seen.headers.get("content-type"), "application/x-www-form-urlencoded");
      assert.equal(seen.body, "vmid=100&start=1&onboot=0&delete=net1&delete=ide2&name=a+b%26c");
      await api.put("/nodes/pve1/qemu/100/config", { memory: 2048 });
      assert.equal(srv.requests.at(-1)!.body, "memory=2048");
    },
  );

  await t.step("GET and DELETE send a query string and no body", async () => {
    await api.get("/cluster/resources", { type: "vm", full: true, none: undefined });
    let seen = srv.requests.at(-1)!;
    assert.equal(seen.query.toString(), "type=vm&full=1");
    assert.equal(seen.body, "");
    await api.delete("/nodes/pve1/qemu/100", { purge: true });
    seen = srv.requests.at(-1)!;
    assert.equal(seen.method, "DELETE");
    assert.equal(seen.query.get("purge"), "1");
  });

  await t.step("apiPath encodes every interpolated segment", async () => {
    const upid = "UPID:pve1:0000ABCD:00000001:65000000:qmstart:100:root@pam:";
    const path = apiPath`/nodes/${"pve1"}/tasks/${upid}/status`;
    assert.equal(
      path,
      "/nodes/pve1/tasks/UPID%3Apve1%3A0000ABCD%3A00000001%3A65000000%3Aqmstart%3A100%3Aroot%40pam%3A/status",
    );
    await api.get(path);
    assert.equal(
      decodeURIComponent(srv.requests.at(-1)!.path),
      `/api2/json/nodes/pve1/tasks/${upid}/status`,
    );
  });

  await t.step("rejects paths without a leading slash or with a query", async () => {
    await assert.rejects(api.get("nodes"), TypeError);
    await assert.rejects(api.get("/nodes?x=1"), TypeError);
  });
});

Deno.test("ProxmoxClient  logs in with a ticket", async (t) => {
  const clock = new ManualClock();
  await using srv = loopback(ticketServer());
  await using api = ticketClient(srv.url, { clock });

  await t.step("logs in once, sends the cookie, and CSRF only on writes", async () => {
    await api.get("/nodes");
    await api.get("/version");
    await api.post("/nodes/pve1/qemu/100/status/start");
    await api.delete("/nodes/pve1/qemu/100/snapshot/s1");
    assert.equal(srv.logins().length, 1);
    const login = new URLSearchParams(srv.logins()[0].body);
    assert.equal(login.get("username"), "root@pam");
    assert.equal(login.get("password"), PASSWORD);
    const [get1, get2, post, del] = srv.api();
    for (const r of [get1, get2, post, del]) {
      assert.equal(r.headers.get("cookie"), "PVEAuthCookie=PVE:root@pam:1");
      assert.equal(r.headers.get("authorization"), null);
    }
    assert.equal(get1.headers.get("csrfpreventiontoken"), null);
    assert.equal(get2.headers.get("csrfpreventiontoken"), null);
    assert.equal(post.headers.get("csrfpreventiontoken"), "csrf-1");
    assert.equal(del.headers.get("csrfpreventiontoken"), "csrf-1");
  });

  await t.step("renews by posting the current ticket once it is older than 1h45", async () => {
    clock.advance(100 * 60_000);
    await api.get("/nodes");
    assert.equal(srv.logins().length, 1, "no renewal before 1h45");
    clock.advance(10 * 60_000);
    await api.get("/nodes");
    assert.equal(srv.logins().length, 2);
    const renewal = new URLSearchParams(srv.logins()[1].body);
    assert.equal(renewal.get("password"), "PVE:root@pam:1");
    assert.equal(srv.api().at(-1)!.headers.get("cookie"), "PVEAuthCookie=PVE:root@pam:2");
  });

  await t.step("logs in with the password once the ticket is 2 hours old", async () => {
    clock.advance(2 * 60 * 60_000);
    await api.post("/nodes/pve1/qemu/100/status/stop");
    assert.equal(srv.logins().length, 3);
    assert.equal(new URLSearchParams(srv.logins()[2].body).get("password"), PASSWORD);
    assert.equal(srv.api().at(-1)!.headers.get("csrfpreventiontoken"), "csrf-3");
  });
});

Deno.test("ProxmoxClient  falls back to a full login when renewal is refused", async () => {
  const clock = new ManualClock();
  let renewals = 0;
  const inner = ticketServer();
  await using srv = loopback((req, seen) => {
    const form = new URLSearchParams(seen.body);
    if (seen.path.endsWith("/access/ticket") && form.get("password")?.startsWith("PVE:")) {
      renewals++;
      return new Response(null, { status: 401 });
    }
    return inner(req, seen);
  });
  await using api = ticketClient(srv.url, { clock });
  await api.get("/nodes");
  clock.advance(110 * 60_000);
  await api.get("/nodes");
  assert.equal(renewals, 1);
  assert.equal(srv.logins().length, 3);
  assert.equal(new URLSearchParams(srv.logins()[2].body).get("password"), PASSWORD);
});

Deno.test("ProxmoxClient  re-logs in once after a 401", async (t) => {
  await t.step("retries the request once with the new ticket, also for writes", async () => {
    let revoked = "";
    await using srv = loopback(ticketServer({ valid: (tk) => tk !== revoked }));
    await using api = ticketClient(srv.url);
    await api.get("/nodes");
    revoked = "PVE:root@pam:1";
    const data = await api.post<{ ticket: string }>("/nodes/pve1/qemu/100/status/start");
    assert.equal(data.ticket, "PVE:root@pam:2");
    assert.equal(srv.logins().length, 2);
    const posts = srv.api().filter((r) => r.method === "POST");
    assert.equal(posts.length, 2);
    assert.equal(posts[1].headers.get("csrfpreventiontoken"), "csrf-2");
  });

  await t.step("gives up after the second 401 instead of looping", async () => {
    await using srv = loopback(ticketServer({ valid: () => false }));
    await using api = ticketClient(srv.url);
    const err = await api.get("/nodes").catch((e) => e);
    assert.ok(err instanceof ProxmoxAuthError);
    assert.equal(err.status, 401);
    assert.match(err.message, /^Proxmox API error 401 on GET \/nodes: /);
    assert.match(err.message, /root@pam even after logging in again: check username, realm/);
    assert.equal(srv.api().length, 2);
    assert.equal(srv.logins().length, 2);
    assert.ok(!err.message.includes(PASSWORD));
  });

  await t.step("a refused login is an auth error naming the user", async () => {
    await using srv = loopback(ticketServer());
    await using api = client(srv.url, {
      auth: { type: "ticket", username: "root", realm: "pam", password: "wrong" },
    });
    const err = await api.get("/nodes").catch((e) => e);
    assert.ok(err instanceof ProxmoxAuthError);
    assert.match(err.message, /POST \/access\/ticket: .*login failed for root@pam/);
    assert.equal(new URLSearchParams(srv.logins()[0].body).get("realm"), "pam");
    assert.equal(srv.api().length, 0);
  });

  await t.step("a token 401 is not retried and says what to check", async () => {
    await using srv = loopback(() =>
      new Response(null, { status: 401, statusText: "authentication failure" })
    );
    await using api = client(srv.url);
    const err = await api.get("/nodes").catch((e) => e);
    assert.ok(err instanceof ProxmoxAuthError);
    assert.match(err.message, /token_id \(USER@REALM!TOKENID/);
    assert.match(err.message, /privilege-separated/);
    assert.ok(!err.message.includes(TOKEN_SECRET));
    assert.equal(srv.requests.length, 1);
  });
});

Deno.test("ProxmoxClient  shares one login between concurrent requests", async () => {
  const gate = Promise.withResolvers<void>();
  await using srv = loopback(ticketServer({ loginDelay: gate.promise }));
  await using api = ticketClient(srv.url);
  const pending = Array.from({ length: 5 }, (_, i) => api.get(`/nodes/pve${i}/status`));
  await srv.arrived(1); // the login is held at the server
  gate.resolve();
  const results = await Promise.all(pending);
  assert.equal(results.length, 5);
  assert.equal(srv.logins().length, 1);
  assert.equal(srv.api().length, 5);
});

Deno.test("ProxmoxClient  asks TFA users for an API token", async () => {
  await using srv = loopback(() =>
    json({ data: { ticket: "PVE:root@pam:tfa", NeedTFA: 1, username: "root@pam" } })
  );
  await using api = ticketClient(srv.url);
  const err = await api.get("/nodes").catch((e) => e);
  assert.ok(err instanceof ProxmoxAuthError);
  assert.match(err.message, /two-factor authentication.*API token/);
  assert.equal(srv.requests.length, 1);
});

Deno.test("ProxmoxClient  retries idempotent GETs on transient failures", async (t) => {
  await t.step("502, 503 and 596 are retried with growing jittered delays", async () => {
    const statuses = [502, 503, 596];
    await using srv = loopback(() => {
      const status = statuses.shift();
      return status ? new Response("busy", { status }) : json({ data: "ok" });
    });
    const { delays, sleep } = recordingSleep();
    await using api = client(srv.url, {
      sleep,
      retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000 },
    });
    assert.equal(await api.get("/version"), "ok");
    assert.equal(srv.requests.length, 4);
    assert.deepEqual(delays, [75, 150, 300]);
  });

  await t.step("retries are bounded (default 3 attempts)", async () => {
    await using srv = loopback(() => json({ data: null, message: "busy" }, { status: 503 }));
    const { delays, sleep } = recordingSleep();
    await using api = client(srv.url, { sleep });
    const err = await api.get("/version").catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError);
    assert.equal(err.status, 503);
    assert.equal(srv.requests.length, 3);
    assert.equal(delays.length, 2);
  });

  await t.step("a refused connection is retried, then names host, port and pveproxy", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const { delays, sleep } = recordingSleep();
    await using api = client(`http://127.0.0.1:${port}`, { sleep });
    const err = await api.get("/version").catch((e) => e);
    assert.ok(err instanceof ProxmoxConnectionError);
    assert.equal(err.kind, "refused");
    assert.equal(delays.length, 2);
    assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(err.message, /connection refused: check port \(8006 by default\).*pveproxy/);
  });

  await t.step("POST is never retried on 503", async () => {
    await using srv = loopback(() => new Response("busy", { status: 503 }));
    const { delays, sleep } = recordingSleep();
    await using api = client(srv.url, { sleep });
    const err = await api.post("/nodes/pve1/qemu", { vmid: 100 }).catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError);
    assert.equal(err.status, 503);
    assert.equal(srv.requests.length, 1);
    assert.equal(delays.length, 0);
  });

  await t.step("500 is not retried", async () => {
    await using srv = loopback(() => json({ data: null }, { status: 500 }));
    await using api = client(srv.url);
    await assert.rejects(api.get("/version"), ProxmoxApiError);
    assert.equal(srv.requests.length, 1);
  });
});

Deno.test("ProxmoxClient  maps error answers to ProxmoxApiError", async (t) => {
  await t.step("400 keeps the per-parameter errors", async () => {
    await using srv = loopback(() =>
      json({
        data: null,
        message: "Parameter verification failed.\n",
        errors: { vmid: "value must have a minimum value of 100\n" },
      }, { status: 400 })
    );
    await using api = client(srv.url);
    const err = await api.post("/nodes/pve1/qemu", { vmid: 5 }).catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError);
    assert.equal(
      err.message,
      "Proxmox API error 400 on POST /nodes/pve1/qemu: Parameter verification failed.: vmid: value must have a minimum value of 100",
    );
    assert.equal(err.status, 400);
    assert.equal(err.method, "POST");
    assert.equal(err.path, "/nodes/pve1/qemu");
    assert.equal(err.apiMessage, "Parameter verification failed.");
    assert.deepEqual(err.errors, { vmid: "value must have a minimum value of 100" });
  });

  await t.step("403 keeps Proxmox's message and hints at ACLs", async () => {
    await using srv = loopback(() =>
      json({ data: null, message: "Permission check failed (/vms/100, VM.PowerMgmt)\n" }, {
        status: 403,
      })
    );
    await using api = client(srv.url);
    const err = await api.post("/nodes/pve1/qemu/100/status/start").catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError && !(err instanceof ProxmoxAuthError));
    assert.equal(err.status, 403);
    assert.equal(err.apiMessage, "Permission check failed (/vms/100, VM.PowerMgmt)");
    assert.match(err.message, /403 on POST .*VM\.PowerMgmt\): .*ACL/);
  });

  await t.step("500 takes the message from the body", async () => {
    await using srv = loopback(() =>
      json({ data: null, message: "VM 100 is locked (backup)\n" }, { status: 500 })
    );
    await using api = client(srv.url);
    const err = await api.post("/nodes/pve1/qemu/100/status/start").catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError);
    assert.equal(err.apiMessage, "VM 100 is locked (backup)");
    assert.equal(
      err.message,
      "Proxmox API error 500 on POST /nodes/pve1/qemu/100/status/start: VM 100 is locked (backup)",
    );
  });

  await t.step("500 takes the message from the HTTP reason when the body has none", async () => {
    await using api = client("https://pve.invalid:8006", {
      transport: () =>
        Promise.resolve(
          new Response('{"data":null}', {
            status: 500,
            statusText: "storage 'local' does not support content-type 'images'",
          }),
        ),
    });
    const err = await api.get("/storage/local").catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError);
    assert.equal(err.apiMessage, "storage 'local' does not support content-type 'images'");
  });

  await t.step("a 200 that is not JSON says so", async () => {
    await using srv = loopback(() => new Response("<html>proxy</html>"));
    await using api = client(srv.url);
    const err = await api.get("/version").catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError);
    assert.match(err.message, /not JSON: check that host and port point at the Proxmox VE API/);
  });
});

Deno.test("ProxmoxClient.getList()  reads a data list element by element", async (t) => {
  const even = (e: unknown) => typeof e === "number" && e % 2 === 0 ? e * 10 : undefined;

  await t.step("items of the list, in order, the parser's drops left out", async () => {
    // A body sent in many small chunks, cut inside strings and numbers.
    const text = JSON.stringify({ data: [1, 2, 'x"]', 4, { a: [6] }, 8] });
    await using srv = loopback(() =>
      new Response(
        new ReadableStream({
          start(c) {
            for (let i = 0; i < text.length; i += 3) {
              c.enqueue(new TextEncoder().encode(text.slice(i, i + 3)));
            }
            c.close();
          },
        }),
      )
    );
    await using api = client(srv.url);
    assert.deepEqual(await api.getList("/cluster/resources", { type: "vm" }, even), [20, 40, 80]);
    assert.equal(srv.requests[0].query.get("type"), "vm");
  });

  await t.step("the same from a body that is not a byte stream (a custom transport)", async () => {
    const text = JSON.stringify({ data: [2, 'é\\"', { b: "}" }, 6, 7] });
    const bytes = new TextEncoder().encode(text);
    const body = () =>
      new ReadableStream<Uint8Array>({
        start(c) {
          // Cut inside the two-byte "é" and inside escapes.
          for (let i = 0; i < bytes.length; i += 5) c.enqueue(bytes.slice(i, i + 5));
          c.close();
        },
      });
    await using api = client("https://pve.invalid:8006", {
      transport: () => Promise.resolve(new Response(body())),
    });
    assert.deepEqual(await api.getList("/cluster/resources", undefined, even), [20, 60]);
    const all = await api.getList("/cluster/resources", undefined, (e) => e);
    assert.deepEqual(all, [2, 'é\\"', { b: "}" }, 6, 7]);
  });

  await t.step("an answer whose data is not a list gives no items", async () => {
    await using srv = loopback(() => json({ data: null }));
    await using api = client(srv.url);
    assert.deepEqual(await api.getList("/cluster/resources", undefined, even), []);
  });

  await t.step("a retried GET keeps only the items of the answer that succeeded", async () => {
    let n = 0;
    await using srv = loopback(() =>
      n++ === 0 ? new Response("busy", { status: 503 }) : json({ data: [2, 4] })
    );
    await using api = client(srv.url);
    assert.deepEqual(await api.getList("/cluster/resources", undefined, even), [20, 40]);
    assert.equal(srv.requests.length, 2);
  });

  await t.step("a 200 that is not JSON and an error answer are refused like get()", async () => {
    await using bad = loopback(() => new Response('{"data":[2,4'));
    await using api = client(bad.url);
    const err = await api.getList("/cluster/resources", undefined, even).catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError);
    assert.match(err.message, /not JSON: check that host and port point at the Proxmox VE API/);
    await using denied = loopback(() =>
      json({ data: null, message: "Permission check failed (/, Sys.Audit)\n" }, { status: 403 })
    );
    await using api2 = client(denied.url);
    const e2 = await api2.getList("/cluster/resources", undefined, even).catch((e) => e);
    assert.ok(e2 instanceof ProxmoxApiError);
    assert.equal(e2.status, 403);
    assert.equal(e2.apiMessage, "Permission check failed (/, Sys.Audit)");
  });
});

Deno.test("ProxmoxClient  times out and honours the caller's abort", async (t) => {
  await t.step("a timeout names the host and the time, and what to check", async () => {
    await using srv = loopback(async () => {
      await srv.release;
      return json({ data: null });
    });
    const { delays, sleep } = recordingSleep();
    await using api = client(srv.url, {
      timeoutMs: 50,
      sleep,
      retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
    });
    const err = await api.get("/nodes").catch((e) => e);
    assert.ok(err instanceof ProxmoxTimeoutError);
    assert.equal(err.timeoutMs, 50);
    assert.ok(
      err.message.startsWith(`Cannot reach Proxmox VE at 127.0.0.1:${srv.port} (GET /nodes): `),
    );
    assert.match(err.message, /no answer within 0\.05 s: check that the host is reachable/);
    assert.equal(delays.length, 1, "GET timeouts are retried within the bound");
  });

  await t.step("a POST that times out is not retried", async () => {
    await using srv = loopback(async () => {
      await srv.release;
      return json({ data: null });
    });
    await using api = client(srv.url, { timeoutMs: 50 });
    await assert.rejects(api.post("/nodes/pve1/qemu"), ProxmoxTimeoutError);
    assert.equal(srv.requests.length, 1);
  });

  await t.step("the caller's abort reason propagates and stops retries", async () => {
    await using srv = loopback(async () => {
      await srv.release;
      return json({ data: null });
    });
    const { delays, sleep } = recordingSleep();
    await using api = client(srv.url, { sleep });
    const ctrl = new AbortController();
    const reason = new Error("cancelled by the MCP client");
    const pending = api.get("/nodes", undefined, { signal: ctrl.signal });
    await srv.arrived(1); // the request is held at the server
    ctrl.abort(reason);
    const err = await pending.catch((e) => e);
    assert.equal(err, reason);
    assert.equal(delays.length, 0);
    assert.equal(srv.requests.length, 1);
  });

  await t.step("an already aborted signal sends nothing", async () => {
    await using srv = loopback(() => json({ data: null }));
    await using api = client(srv.url);
    const err = await api.get("/nodes", undefined, { signal: AbortSignal.abort() }).catch((e) => e);
    assert.equal((err as DOMException).name, "AbortError");
    assert.equal(srv.requests.length, 0);
  });
});

Deno.test("ProxmoxClient  logs method, path, status and duration but never secrets", async () => {
  const records: { level: LogLevel; message: string; fields?: Record<string, unknown> }[] = [];
  await using srv = loopback(ticketServer());
  await using api = ticketClient(srv.url, {
    logger: { log: (level, message, fields) => records.push({ level, message, fields }) },
  });
  await api.post("/nodes/pve1/qemu", { vmid: 100, name: "secret-name-param" });
  const requests = records.filter((r) => r.message === "proxmox request");
  assert.equal(requests.length, 2);
  assert.equal(requests[0].fields?.path, "/access/ticket");
  assert.equal(requests[1].fields?.method, "POST");
  assert.equal(requests[1].fields?.path, "/nodes/pve1/qemu");
  assert.equal(requests[1].fields?.status, 200);
  assert.equal(typeof requests[1].fields?.ms, "number");
  assert.ok(records.every((r) => r.level === "debug"));
  const text = JSON.stringify(records);
  for (const secret of [PASSWORD, "PVE:root@pam:1", "csrf-1", "secret-name-param"]) {
    assert.ok(!text.includes(secret), `log leaks ${secret}`);
  }
});

Deno.test("ProxmoxClient  verifies TLS against the configured CA", async (t) => {
  await using srv = loopback(() => json({ data: { version: "9.1" } }), true);

  await t.step("trusts a server signed by caCerts", async () => {
    await using api = client(srv.url, { caCerts: [simulatorCaCert] });
    assert.deepEqual(await api.get("/version"), { version: "9.1" });
  });

  await t.step("an unknown issuer is a TLS error that points at ca_file", async () => {
    const { delays, sleep } = recordingSleep();
    await using api = client(srv.url, { sleep });
    const err = await api.get("/version").catch((e) => e);
    assert.ok(err instanceof ProxmoxConnectionError);
    assert.equal(err.kind, "tls");
    assert.match(err.message, /not trusted.*ca_file.*pve-root-ca\.pem.*fingerprint/);
    assert.equal(delays.length, 0, "TLS failures are not retried");
  });
});

Deno.test("ProxmoxClient  against the simulator over HTTPS", async (t) => {
  const clock = new ManualClock(Date.now());
  await using sim = await startSimulator({ clock });
  const { admin, auditor } = sim.credentials;
  const { delays, sleep } = recordingSleep();
  await using api = new ProxmoxClient({
    baseUrl: sim.url,
    caCerts: [sim.caCert],
    auth: {
      type: "ticket",
      username: admin.username,
      realm: admin.realm,
      password: admin.password,
    },
    clock,
    sleep,
  });
  const guest = [...sim.state.guests.values()].find((g) => g.type === "qemu")!;
  const snapshots = apiPath`/nodes/${guest.node}/qemu/${guest.vmid}/snapshot`;

  await t.step("logs in and writes with the CSRF token", async () => {
    const upid = await api.post<string>(snapshots, { snapname: "before_upgrade" });
    assert.match(upid, /^UPID:[^:]+:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmsnapshot:/);
  });

  await t.step("re-logs in after the tickets expire", async () => {
    sim.faults.expireTickets();
    const list = await api.get<{ name: string }[]>(snapshots);
    assert.ok(list.some((s) => s.name === "before_upgrade"));
  });

  await t.step("renews the ticket after 1h50 and logs in again after 2h", async () => {
    clock.advance(110 * 60_000);
    assert.ok(Array.isArray(await api.get("/nodes")));
    clock.advance(121 * 60_000);
    assert.ok(Array.isArray(await api.get("/nodes")));
    await api.post(snapshots, { snapname: "after_renewal" });
  });

  await t.step("GETs ride out injected 503s; POSTs do not retry", async () => {
    sim.faults.failNext(2, { status: 503, pathPrefix: "/version" });
    const version = await api.get<{ release: string }>("/version");
    assert.equal(typeof version.release, "string");
    assert.equal(delays.length, 2);
    sim.faults.failNext(1, { status: 503, method: "POST" });
    const err = await api.post(snapshots, { snapname: "never" }).catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError);
    assert.equal(err.status, 503);
    assert.equal(delays.length, 2);
    const names = (await api.get<{ name: string }[]>(snapshots)).map((s) => s.name);
    assert.ok(!names.includes("never"));
  });

  await t.step("parameter errors come back per parameter", async () => {
    const err = await api.post(apiPath`/nodes/${guest.node}/qemu`, { vmid: 5 }).catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError);
    assert.equal(err.status, 400);
    assert.match(err.errors?.vmid ?? "", /minimum value of 100/);
  });

  await t.step("an auditor token may read but not write", async () => {
    await using ro = new ProxmoxClient({
      baseUrl: sim.url,
      caCerts: [sim.caCert],
      auth: { type: "token", tokenId: auditor.tokenId, secret: auditor.tokenSecret },
    });
    assert.ok(Array.isArray(await ro.get(snapshots)));
    const err = await ro.post(snapshots, { snapname: "denied" }).catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError && !(err instanceof ProxmoxAuthError));
    assert.equal(err.status, 403);
  });
});
