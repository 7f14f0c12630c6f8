import assert from "node:assert/strict";
import { apiSchema, type HttpMethod } from "../src/proxmox/api_schema/schema.ts";
import { ManualClock } from "../src/util/clock.ts";
import {
  handleApiRequest,
  otherCaCert,
  SimulatorCore,
  simulatorServerFingerprint,
  startSimulator,
} from "../src/simulator/mod.ts";
import { routes } from "../src/simulator/routes/index.ts";
import { simulatorServerCert } from "../src/simulator/tls/certs.ts";
import { adminToken, auditorToken, SimApi } from "./helpers/sim_client.ts";
import { returnsOf, shapeProblems } from "./helpers/sim_shape.ts";

const UPID_RE = /^UPID:[a-z0-9-]+:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:[a-z]+:[^:]*:[^:]+@[^:]+:$/;

async function login(api: SimApi, username: string, password: string) {
  const saved = api.auth;
  api.auth = { kind: "none" };
  const r = await api.call("POST", "/access/ticket", { username, password });
  api.auth = saved;
  return r;
}

async function ticketAuth(api: SimApi, username: string, password: string) {
  const r = await login(api, username, password);
  assert.equal(r.status, 200, r.text);
  const d = r.body!.data as { ticket: string; CSRFPreventionToken: string };
  return { kind: "ticket" as const, ticket: d.ticket, csrf: d.CSRFPreventionToken };
}

Deno.test("startSimulator()  starts on loopback only and serves TLS with the test CA", async (t) => {
  // How fast it starts is measured by the benchmark (`deno task bench`), not asserted here.
  await t.step("default scenario starts on loopback", async () => {
    await using sim = await startSimulator();
    assert.match(sim.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(sim.state.nodes.size, 3);
    assert.equal(sim.state.guests.size, 15);
  });

  await t.step("refuses non-loopback addresses", async () => {
    for (const hostname of ["0.0.0.0", "192.168.1.10", "example.org"]) {
      await assert.rejects(() => startSimulator({ hostname }), /only loopback addresses/);
    }
  });

  await using sim = await startSimulator();

  await t.step("a client without the CA fails with a certificate error", async () => {
    await assert.rejects(
      () => fetch(`${sim.url}/api2/json/version`),
      (e: Error) => /certificate|UnknownIssuer/i.test(`${e.message} ${e.cause ?? ""}`),
    );
  });

  await t.step("a client trusting an unrelated CA fails too", async () => {
    using client = Deno.createHttpClient({ caCerts: [otherCaCert] });
    await assert.rejects(
      () => fetch(`${sim.url}/api2/json/version`, { client }),
      (e: Error) => /certificate|UnknownIssuer/i.test(`${e.message} ${e.cause ?? ""}`),
    );
  });

  await t.step("a client trusting sim.caCert connects", async () => {
    using api = new SimApi(sim);
    const version = await api.data<{ version: string; release: string }>("/version");
    assert.equal(version.release, "9.1");
  });

  await t.step("the exported fingerprint is the SHA-256 of the served certificate", async () => {
    const b64 = simulatorServerCert.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    const der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
    const hex = [...digest].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
    assert.equal(simulatorServerFingerprint, hex);
    assert.equal(sim.fingerprint, hex);
  });
});

Deno.test("simulator auth  behaves like PVE tickets, CSRF and API tokens", async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 9, 0, 0));
  await using sim = await startSimulator({ clock });
  using api = new SimApi(sim);
  const { admin, auditor } = sim.credentials;

  await t.step("ticket login returns ticket, CSRF token, cap and cluster name", async () => {
    const r = await login(api, "root@pam", admin.password);
    assert.equal(r.status, 200, r.text);
    const d = r.body!.data as Record<string, unknown>;
    assert.equal(d.username, "root@pam");
    assert.match(String(d.ticket), /^PVE:root@pam:[0-9A-F]{8}::\S+$/);
    assert.match(String(d.CSRFPreventionToken), /^[0-9A-F]{8}:\S+$/);
    assert.equal(d.clustername, "sim-cluster");
    assert.equal((d.cap as Record<string, Record<string, number>>).vms["VM.PowerMgmt"], 1);
  });

  await t.step("username without realm plus realm field works", async () => {
    api.auth = { kind: "none" };
    const r = await api.call("POST", "/access/ticket", {
      username: "auditor",
      realm: "pve",
      password: auditor.password,
    });
    api.auth = adminToken(sim);
    assert.equal(r.status, 200);
    assert.equal((r.body!.data as Record<string, unknown>).username, "auditor@pve");
  });

  await t.step("wrong password answers 401 with an empty body", async () => {
    const r = await login(api, "root@pam", "wrong");
    assert.equal(r.status, 401);
    assert.equal(r.text, "");
    const unknown = await login(api, "nobody@pam", "x");
    assert.equal(unknown.status, 401);
  });

  await t.step("no or bad credentials answer 401", async () => {
    api.auth = { kind: "none" };
    assert.equal((await api.call("GET", "/nodes")).status, 401);
    api.auth = {
      kind: "token",
      tokenId: admin.tokenId,
      secret: "00000000-0000-0000-0000-000000000000",
    };
    assert.equal((await api.call("GET", "/nodes")).status, 401);
    api.auth = { kind: "none" };
    const spaced = await api.call("GET", "/nodes", {}, {
      Authorization: `PVEAPIToken ${admin.tokenId}=${admin.tokenSecret}`,
    });
    assert.equal(spaced.status, 401);
    api.auth = { kind: "ticket", ticket: "PVE:root@pam:00000000::forged" };
    assert.equal((await api.call("GET", "/nodes")).status, 401);
    api.auth = adminToken(sim);
  });

  await t.step("ticket GETs work; writes need the CSRF header", async () => {
    const auth = await ticketAuth(api, "root@pam", admin.password);
    api.auth = auth;
    assert.equal((await api.call("GET", "/nodes")).status, 200);
    api.auth = { kind: "ticket", ticket: auth.ticket };
    const noCsrf = await api.call("POST", "/nodes/pve2/qemu/105/status/start");
    assert.equal(noCsrf.status, 401);
    assert.equal(noCsrf.body!.message, "Permission denied - invalid csrf token\n");
    assert.equal(sim.state.guests.get(105)!.status, "stopped");
    api.auth = auth;
    const ok = await api.call("POST", "/nodes/pve2/qemu/105/status/start");
    assert.equal(ok.status, 200, ok.text);
    assert.match(String(ok.body!.data), UPID_RE);
    assert.ok(String(ok.body!.data).endsWith(":root@pam:"));
    api.auth = adminToken(sim);
  });

  await t.step("API tokens need no CSRF and show up as the task user", async () => {
    const r = await api.call("POST", "/nodes/pve2/qemu/105/status/stop");
    assert.equal(r.status, 200, r.text);
    assert.ok(String(r.body!.data).endsWith(":root@pam!mcp:"));
  });

  await t.step("the auditor reads but every write is refused with 403", async () => {
    api.auth = auditorToken(sim);
    assert.equal((await api.call("GET", "/cluster/resources")).status, 200);
    const start = await api.call("POST", "/nodes/pve1/qemu/100/status/stop");
    assert.equal(start.status, 403);
    assert.equal(start.body!.message, "Permission check failed (/vms/100, VM.PowerMgmt)\n");
    const create = await api.call("POST", "/nodes/pve1/qemu", { vmid: 400, memory: "512" });
    assert.equal(create.status, 403);
    const snap = await api.call("POST", "/nodes/pve1/qemu/100/snapshot", { snapname: "x1" });
    assert.equal(snap.status, 403);
    const del = await api.call("DELETE", "/nodes/pve3/qemu/106");
    assert.equal(del.status, 403);
    assert.equal(sim.state.guests.get(100)!.status, "running");
    assert.ok(sim.state.guests.has(106));
    api.auth = adminToken(sim);
  });

  await t.step("/access/permissions reports the caller's privileges", async () => {
    api.auth = auditorToken(sim);
    const perms = await api.data<Record<string, Record<string, number>>>("/access/permissions");
    assert.equal(perms["/"]["VM.Audit"], 1);
    assert.equal(perms["/"]["VM.PowerMgmt"], undefined);
    const one = await api.data<Record<string, Record<string, number>>>("/access/permissions", {
      path: "/vms/101",
    });
    assert.deepEqual(Object.keys(one), ["/vms/101"]);
    api.auth = adminToken(sim);
    const other = await api.data<Record<string, Record<string, number>>>("/access/permissions", {
      userid: "auditor@pve",
    });
    assert.equal(other["/"]["Sys.Audit"], 1);
    assert.equal(other["/"]["Sys.Modify"], undefined);
  });

  await t.step("tickets expire after two hours and renew with the ticket as password", async () => {
    const auth = await ticketAuth(api, "root@pam", admin.password);
    clock.advance(90 * 60_000);
    const renewed = await login(api, "root@pam", auth.ticket);
    assert.equal(renewed.status, 200, renewed.text);
    const fresh = (renewed.body!.data as { ticket: string }).ticket;
    assert.notEqual(fresh, auth.ticket);
    clock.advance(31 * 60_000);
    api.auth = { kind: "ticket", ticket: auth.ticket };
    assert.equal((await api.call("GET", "/nodes")).status, 401);
    assert.equal((await login(api, "root@pam", auth.ticket)).status, 401);
    api.auth = { kind: "ticket", ticket: fresh };
    assert.equal((await api.call("GET", "/nodes")).status, 200);
    api.auth = adminToken(sim);
  });

  await t.step("faults.expireTickets() invalidates every ticket", async () => {
    const auth = await ticketAuth(api, "root@pam", admin.password);
    sim.faults.expireTickets();
    api.auth = auth;
    assert.equal((await api.call("GET", "/nodes")).status, 401);
    api.auth = adminToken(sim);
    assert.equal((await api.call("GET", "/nodes")).status, 200);
  });
});

Deno.test("simulator validation  mirrors pveproxy's 400/501/595/500 answers", async (t) => {
  await using sim = await startSimulator();
  using api = new SimApi(sim);

  await t.step("a bad vmid is a 400 with errors.vmid", async () => {
    const r = await api.call("GET", "/nodes/pve1/qemu/abc/config");
    assert.equal(r.status, 400);
    assert.equal(r.body!.message, "Parameter verification failed.\n");
    assert.ok(r.body!.errors?.vmid);
    const small = await api.call("GET", "/nodes/pve1/qemu/99/config");
    assert.equal(small.status, 400);
    assert.ok(small.body!.errors?.vmid);
  });

  await t.step("an unknown parameter is a 400 naming it", async () => {
    const r = await api.call("GET", "/cluster/resources", { bogus: "1" });
    assert.equal(r.status, 400);
    assert.match(r.body!.errors!.bogus, /not defined in schema/);
    const e = await api.call("GET", "/cluster/resources", { type: "nope" });
    assert.equal(e.status, 400);
    assert.ok(e.body!.errors!.type);
  });

  await t.step("a missing required parameter is a 400", async () => {
    const r = await api.call("POST", "/nodes/pve1/qemu/101/snapshot", {});
    assert.equal(r.status, 400);
    assert.match(r.body!.errors!.snapname, /property is missing/);
  });

  await t.step("an unknown path is a 501", async () => {
    const r = await api.call("GET", "/foo/bar");
    assert.equal(r.status, 501);
    assert.equal(r.body!.message, "Method 'GET /foo/bar' not implemented\n");
    const m = await api.call("PUT", "/version");
    assert.equal(m.status, 501);
  });

  await t.step("an unknown node is a 595", async () => {
    const r = await api.call("GET", "/nodes/pve9/qemu");
    assert.equal(r.status, 595);
    assert.equal(r.body!.message, "no such cluster node 'pve9'\n");
  });

  await t.step("a missing guest or a guest on another node is PVE's 500", async () => {
    const r = await api.call("GET", "/nodes/pve1/qemu/555/status/current");
    assert.equal(r.status, 500);
    assert.equal(
      r.body!.message,
      "Configuration file 'nodes/pve1/qemu-server/555.conf' does not exist\n",
    );
    const wrongNode = await api.call("GET", "/nodes/pve1/qemu/102/config");
    assert.equal(wrongNode.status, 500);
    assert.match(wrongNode.body!.message!, /nodes\/pve1\/qemu-server\/102\.conf/);
    const wrongType = await api.call("GET", "/nodes/pve1/lxc/101/config");
    assert.equal(wrongType.status, 500);
    assert.match(wrongType.body!.message!, /nodes\/pve1\/lxc\/101\.conf/);
  });

  await t.step("JSON bodies are accepted like form bodies", async () => {
    const { admin } = sim.credentials;
    const res = await fetch(`${sim.url}/api2/json/nodes/pve1/qemu/100/snapshot`, {
      method: "POST",
      client: api.client,
      headers: {
        Authorization: `PVEAPIToken=${admin.tokenId}=${admin.tokenSecret}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ snapname: "from-json", description: "json body" }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    await res.body?.cancel();
    assert.ok(sim.state.guests.get(100)!.snapshots.some((s) => s.name === "from-json"));
  });

  await t.step("every implemented route exists in the schema", () => {
    for (const key of Object.keys(routes)) {
      const [method, template] = key.split(" ");
      assert.ok(apiSchema.paths[template]?.[method as HttpMethod], `${key} is not in the schema`);
    }
  });
});

Deno.test("simulator shapes  match the schema's declared returns", async (t) => {
  await using sim = await startSimulator();
  using api = new SimApi(sim);
  const cases: [string, string, Record<string, string | number>?][] = [
    ["/version", "/version"],
    ["/cluster/status", "/cluster/status"],
    ["/cluster/resources", "/cluster/resources"],
    ["/cluster/resources?type=vm", "/cluster/resources", { type: "vm" }],
    ["/cluster/tasks", "/cluster/tasks"],
    ["/nodes", "/nodes"],
    ["/nodes/pve1/status", "/nodes/{node}/status"],
    ["/nodes/pve2/network", "/nodes/{node}/network"],
    ["/nodes/pve1/storage", "/nodes/{node}/storage"],
    ["/nodes/pve1/storage/local-lvm/status", "/nodes/{node}/storage/{storage}/status"],
    ["/nodes/pve1/storage/nfs-backup/content", "/nodes/{node}/storage/{storage}/content"],
    ["/nodes/pve1/storage/local/content", "/nodes/{node}/storage/{storage}/content"],
    ["/nodes/pve1/storage/local-lvm/content", "/nodes/{node}/storage/{storage}/content"],
    ["/nodes/pve1/qemu", "/nodes/{node}/qemu"],
    ["/nodes/pve2/lxc", "/nodes/{node}/lxc"],
    ["/nodes/pve1/qemu/101/status/current", "/nodes/{node}/qemu/{vmid}/status/current"],
    ["/nodes/pve2/lxc/210/status/current", "/nodes/{node}/lxc/{vmid}/status/current"],
    ["/nodes/pve1/qemu/103/config", "/nodes/{node}/qemu/{vmid}/config"],
    ["/nodes/pve2/qemu/105/config", "/nodes/{node}/qemu/{vmid}/config"],
    ["/nodes/pve2/lxc/210/config", "/nodes/{node}/lxc/{vmid}/config"],
    ["/nodes/pve1/qemu/101/pending", "/nodes/{node}/qemu/{vmid}/pending"],
    ["/nodes/pve1/qemu/103/snapshot", "/nodes/{node}/qemu/{vmid}/snapshot"],
    ["/nodes/pve1/lxc/200/snapshot", "/nodes/{node}/lxc/{vmid}/snapshot"],
    ["/nodes/pve2/tasks", "/nodes/{node}/tasks"],
    ["/pools", "/pools"],
    ["/pools/prod", "/pools/{poolid}"],
    ["/access/permissions", "/access/permissions"],
  ];
  for (const [label, template, params] of cases) {
    await t.step(label, async () => {
      const data = await api.data(label.split("?")[0], params ?? {});
      assert.deepEqual(shapeProblems(data, returnsOf(template)), []);
    });
  }

  await t.step("task status and log", async () => {
    const tasks = await api.data<{ upid: string }[]>("/nodes/pve2/tasks");
    const upid = encodeURIComponent(tasks[0].upid);
    const status = await api.data(`/nodes/pve2/tasks/${upid}/status`);
    assert.deepEqual(shapeProblems(status, returnsOf("/nodes/{node}/tasks/{upid}/status")), []);
    const log = await api.call("GET", `/nodes/pve2/tasks/${upid}/log`);
    assert.deepEqual(
      shapeProblems(log.body!.data, returnsOf("/nodes/{node}/tasks/{upid}/log")),
      [],
    );
    assert.equal(typeof log.body!.total, "number");
  });

  await t.step("/cluster/nextid is a numeric string like PVE returns", async () => {
    const id = await api.data("/cluster/nextid");
    assert.equal(id, "108");
  });

  await t.step("resources carry the fields per type", async () => {
    const all = await api.data<Record<string, unknown>[]>("/cluster/resources");
    const types = new Set(all.map((r) => r.type));
    for (const t of ["qemu", "lxc", "node", "storage", "pool", "sdn"]) assert.ok(types.has(t), t);
    const vm = all.find((r) => r.id === "qemu/101")!;
    for (const k of ["vmid", "name", "node", "status", "maxmem", "maxcpu", "maxdisk", "uptime"]) {
      assert.ok(k in vm, k);
    }
    assert.equal(vm.pool, "prod");
    assert.equal(vm.tags, "prod;web");
    assert.ok(all.some((r) => r.type === "qemu" && r.template === 1));
    const st = all.find((r) => r.id === "storage/pve1/nfs-backup")!;
    assert.equal(st.shared, 1);
    assert.equal(st.plugintype, "nfs");
  });
});

Deno.test("simulator tasks  run by the clock: running → stopped, logs grow, state lands at the end", async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 9, 0, 0));
  await using sim = await startSimulator({ clock, taskDurationMs: 10_000 });
  using api = new SimApi(sim);
  const status = (node: string, upid: string) =>
    api.data<{ status: string; exitstatus?: string }>(
      `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`,
    );
  const log = async (node: string, upid: string) =>
    (await api.data<{ n: number; t: string }[]>(
      `/nodes/${node}/tasks/${encodeURIComponent(upid)}/log`,
      { limit: 500 },
    )).map((l) => l.t);

  await t.step("a start task changes the VM only when it ends OK", async () => {
    const r = await api.call("POST", "/nodes/pve2/qemu/105/status/start");
    const upid = String(r.body!.data);
    assert.match(upid, UPID_RE);
    assert.match(upid, /^UPID:pve2:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmstart:105:root@pam!mcp:$/);
    assert.equal((await status("pve2", upid)).status, "running");
    assert.equal(
      (await api.data<{ status: string }>("/nodes/pve2/qemu/105/status/current")).status,
      "stopped",
    );
    clock.advance(10_000);
    const s = await status("pve2", upid);
    assert.equal(s.status, "stopped");
    assert.equal(s.exitstatus, "OK");
    assert.equal(
      (await api.data<{ status: string }>("/nodes/pve2/qemu/105/status/current")).status,
      "running",
    );
    assert.deepEqual((await log("pve2", upid)).at(-1), "TASK OK");
  });

  await t.step(
    "a backup locks the guest, grows its log and adds the volume at the end",
    async () => {
      const r = await api.call("POST", "/nodes/pve2/vzdump", {
        vmid: "105",
        storage: "nfs-backup",
        compress: "zstd",
        "notes-template": "{{guestname}} manual",
      });
      assert.equal(r.status, 200, r.text);
      const upid = String(r.body!.data);
      const early = await log("pve2", upid);
      assert.ok(early.length >= 1 && !early.includes("TASK OK"));
      const locked = await api.call("POST", "/nodes/pve2/qemu/105/status/shutdown");
      assert.equal(locked.status, 500);
      assert.equal(locked.body!.message, "VM is locked (backup)\n");
      clock.advance(5_000);
      const middle = await log("pve2", upid);
      assert.ok(middle.length > early.length, "log grows over the task's life");
      clock.advance(5_000);
      assert.equal((await status("pve2", upid)).exitstatus, "OK");
      const full = await log("pve2", upid);
      assert.equal(full.at(-1), "TASK OK");
      const content = await api.data<{ volid: string; notes?: string }[]>(
        "/nodes/pve2/storage/nfs-backup/content",
        { vmid: 105 },
      );
      assert.equal(content.length, 1);
      assert.match(
        content[0].volid,
        /^nfs-backup:backup\/vzdump-qemu-105-\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d\.vma\.zst$/,
      );
      assert.equal(content[0].notes, "win-test manual");
      assert.equal(sim.state.guests.get(105)!.config.lock, undefined);
    },
  );

  await t.step("a failing task ends with TASK ERROR and changes nothing", async () => {
    const r = await api.call("POST", "/nodes/pve1/qemu/101/status/start");
    const upid = String(r.body!.data);
    clock.advance(10_000);
    const s = await status("pve1", upid);
    assert.equal(s.exitstatus, "VM 101 already running");
    assert.equal((await log("pve1", upid)).at(-1), "TASK ERROR: VM 101 already running");
    const failed = await api.data<{ upid: string; status: string }[]>("/nodes/pve1/tasks", {
      errors: 1,
      vmid: 101,
    });
    assert.equal(failed[0].upid, upid);
  });

  await t.step("the task list filters by source, type and vmid", async () => {
    const r = await api.call("POST", "/nodes/pve3/qemu/106/status/start");
    const upid = String(r.body!.data);
    const active = await api.data<{ upid: string }[]>("/nodes/pve3/tasks", { source: "active" });
    assert.deepEqual(active.map((x) => x.upid), [upid]);
    const archive = await api.data<{ upid: string }[]>("/nodes/pve3/tasks");
    assert.ok(!archive.some((x) => x.upid === upid));
    const typed = await api.data<{ type: string }[]>("/nodes/pve2/tasks", { typefilter: "vzdump" });
    assert.ok(typed.length >= 2 && typed.every((x) => x.type === "vzdump"));
    clock.advance(10_000);
  });

  await t.step("stopping a running task interrupts it and skips its effect", async () => {
    const r = await api.call("POST", "/nodes/pve3/lxc/203/status/start");
    const upid = String(r.body!.data);
    const del = await api.call("DELETE", `/nodes/pve3/tasks/${encodeURIComponent(upid)}`);
    assert.equal(del.status, 200, del.text);
    const s = await status("pve3", upid);
    assert.equal(s.status, "stopped");
    assert.equal(s.exitstatus, "interrupted by signal");
    assert.equal((await log("pve3", upid)).at(-1), "TASK ERROR: interrupted by signal");
    clock.advance(20_000);
    assert.equal(sim.state.guests.get(203)!.status, "stopped");
  });

  await t.step("last night's failed backup of 210 explains itself", async () => {
    const tasks = await api.data<{ upid: string; status: string }[]>("/nodes/pve2/tasks", {
      vmid: 210,
      typefilter: "vzdump",
    });
    assert.equal(tasks[0].status, "job errors");
    const lines = await log("pve2", tasks[0].upid);
    assert.ok(lines.some((l) => l.startsWith("ERROR: Backup of VM 210 failed")));
    assert.ok(lines.some((l) => l.includes("No space left on device")));
    assert.equal(lines.at(-1), "TASK ERROR: job errors");
  });
});

Deno.test("simulator mutations  are stateful and refuse what PVE refuses", async (t) => {
  await using sim = await startSimulator();
  using api = new SimApi(sim);

  await t.step("create a VM allocates disks, a MAC and shows in storage content", async () => {
    const r = await api.call("POST", "/nodes/pve3/qemu", {
      vmid: 300,
      name: "new-vm",
      memory: "2048",
      cores: 2,
      scsi0: "local-lvm:16,iothread=1",
      net0: "virtio,bridge=vmbr0",
      ostype: "l26",
      pool: "lab",
    });
    assert.equal(r.status, 200, r.text);
    const cfg = await api.data<Record<string, unknown>>("/nodes/pve3/qemu/300/config");
    assert.equal(cfg.scsi0, "local-lvm:vm-300-disk-0,iothread=1,size=16G");
    assert.match(String(cfg.net0), /^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0$/);
    assert.equal(cfg.memory, "2048");
    assert.equal(cfg.cores, 2);
    const content = await api.data<{ volid: string }[]>("/nodes/pve3/storage/local-lvm/content", {
      vmid: 300,
    });
    assert.deepEqual(content.map((c) => c.volid), ["local-lvm:vm-300-disk-0"]);
    const pool = await api.data<{ members: { vmid?: number }[] }>("/pools/lab");
    assert.ok(pool.members.some((m) => m.vmid === 300));
  });

  await t.step("create refuses a taken VMID, an unknown bridge and a wrong storage", async () => {
    const taken = await api.call("POST", "/nodes/pve1/qemu", { vmid: 102 });
    assert.equal(taken.status, 500);
    assert.equal(taken.body!.message, "VM 102 already exists on node 'pve2'\n");
    const bridge = await api.call("POST", "/nodes/pve1/qemu", {
      vmid: 301,
      net0: "virtio,bridge=vmbr7",
    });
    assert.equal(bridge.status, 500);
    assert.equal(bridge.body!.message, "bridge 'vmbr7' does not exist\n");
    const storage = await api.call("POST", "/nodes/pve1/qemu", {
      vmid: 301,
      scsi0: "nfs-backup:8",
    });
    assert.equal(storage.status, 500);
    assert.equal(storage.body!.message, "storage 'nfs-backup' does not support VM images\n");
    assert.ok(!sim.state.guests.has(301));
  });

  await t.step("create a container from a template; `local` cannot hold its rootfs", async () => {
    const bad = await api.call("POST", "/nodes/pve1/lxc", {
      vmid: 310,
      ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
    });
    assert.equal(bad.status, 500);
    assert.equal(bad.body!.message, "storage 'local' does not support container directories\n");
    const missing = await api.call("POST", "/nodes/pve2/lxc", {
      vmid: 310,
      ostemplate: "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
      storage: "local-lvm",
    });
    assert.equal(missing.status, 500);
    assert.match(missing.body!.message!, /does not exist/);
    const ok = await api.call("POST", "/nodes/pve1/lxc", {
      vmid: 310,
      hostname: "ct-new",
      ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
      rootfs: "local-lvm:8",
      memory: 2048,
      net0: "name=eth0,bridge=vmbr0,ip=dhcp",
      unprivileged: 1,
    });
    assert.equal(ok.status, 200, ok.text);
    const cfg = await api.data<Record<string, unknown>>("/nodes/pve1/lxc/310/config");
    assert.equal(cfg.rootfs, "local-lvm:vm-310-disk-0,size=8G");
    assert.equal(cfg.ostype, "debian");
    assert.equal(cfg.memory, 2048);
    assert.match(String(cfg.net0), /hwaddr=BC:24:11:/);
  });

  await t.step("snapshot create, list, rollback and delete", async () => {
    const create = await api.call("POST", "/nodes/pve1/qemu/101/snapshot", {
      snapname: "before-change",
      description: "test",
    });
    assert.equal(create.status, 200, create.text);
    const dup = await api.call("POST", "/nodes/pve1/qemu/101/snapshot", {
      snapname: "before-change",
    });
    assert.equal(dup.status, 500);
    assert.equal(dup.body!.message, "snapshot name 'before-change' already used\n");
    const list = await api.data<{ name: string; parent?: string }[]>(
      "/nodes/pve1/qemu/101/snapshot",
    );
    assert.deepEqual(list.map((s) => s.name), ["pre-upgrade", "before-change", "current"]);
    assert.equal(list.at(-1)!.parent, "before-change");
    assert.equal(list[1].parent, "pre-upgrade");
    await api.call("PUT", "/nodes/pve1/qemu/101/config", { memory: "8192" });
    const rb = await api.call("POST", "/nodes/pve1/qemu/101/snapshot/pre-upgrade/rollback");
    assert.equal(rb.status, 200, rb.text);
    const cfg = await api.data<Record<string, unknown>>("/nodes/pve1/qemu/101/config");
    assert.equal(cfg.memory, "2048");
    assert.equal(cfg.parent, "pre-upgrade");
    assert.equal(sim.state.guests.get(101)!.status, "stopped");
    const del = await api.call("DELETE", "/nodes/pve1/qemu/101/snapshot/before-change");
    assert.equal(del.status, 200, del.text);
    const after = await api.data<{ name: string }[]>("/nodes/pve1/qemu/101/snapshot");
    assert.deepEqual(after.map((s) => s.name), ["pre-upgrade", "current"]);
    const gone = await api.call("DELETE", "/nodes/pve1/qemu/101/snapshot/nope");
    assert.equal(gone.status, 500);
    assert.equal(gone.body!.message, "snapshot 'nope' does not exist\n");
  });

  await t.step("a running VM keeps non-hotplug changes pending until it restarts", async () => {
    const put = await api.call("PUT", "/nodes/pve1/qemu/100/config", {
      memory: "4096",
      name: "dns-01a",
    });
    assert.equal(put.status, 200, put.text);
    const pending = await api.data<{ key: string; value?: string; pending?: string }[]>(
      "/nodes/pve1/qemu/100/pending",
    );
    assert.deepEqual(pending.find((p) => p.key === "memory"), {
      key: "memory",
      value: "2048",
      pending: "4096",
    });
    const current = await api.data<Record<string, unknown>>("/nodes/pve1/qemu/100/config", {
      current: 1,
    });
    assert.equal(current.memory, "2048");
    assert.equal(current.name, "dns-01a");
    assert.equal(
      (await api.data<Record<string, unknown>>("/nodes/pve1/qemu/100/config")).memory,
      "4096",
    );
    await api.call("POST", "/nodes/pve1/qemu/100/status/reboot");
    assert.equal(sim.state.guests.get(100)!.config.memory, "4096");
  });

  await t.step("a stale digest is refused", async () => {
    const r = await api.call("PUT", "/nodes/pve1/qemu/100/config", {
      cores: 4,
      digest: "0000000000000000000000000000000000000000",
    });
    assert.equal(r.status, 500);
    assert.match(r.body!.message!, /detected modified configuration/);
  });

  await t.step("resize grows a disk and refuses to shrink", async () => {
    const r = await api.call("PUT", "/nodes/pve2/qemu/104/resize", { disk: "scsi0", size: "+20G" });
    assert.equal(r.status, 200, r.text);
    assert.match(sim.state.guests.get(104)!.config.scsi0, /size=120G$/);
    const shrink = await api.call("PUT", "/nodes/pve2/qemu/104/resize", {
      disk: "scsi0",
      size: "10G",
    });
    assert.equal(shrink.status, 500);
    assert.equal(shrink.body!.message, "shrinking disks is not supported\n");
  });

  await t.step("migrate moves the guest; running VMs need online", async () => {
    const offline = await api.call("POST", "/nodes/pve2/qemu/102/migrate", { target: "pve1" });
    assert.equal(offline.status, 500);
    assert.equal(offline.body!.message, "can't migrate running VM without --online\n");
    const r = await api.call("POST", "/nodes/pve2/qemu/102/migrate", {
      target: "pve1",
      online: 1,
      "with-local-disks": 1,
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(sim.state.guests.get(102)!.node, "pve1");
    assert.equal(
      (await api.data<{ status: string }>("/nodes/pve1/qemu/102/status/current")).status,
      "running",
    );
    assert.equal((await api.call("GET", "/nodes/pve2/qemu/102/config")).status, 500);
  });

  await t.step("clone a template into a linked clone", async () => {
    const r = await api.call("POST", "/nodes/pve1/qemu/9000/clone", {
      newid: 320,
      name: "from-tpl",
    });
    assert.equal(r.status, 200, r.text);
    const cfg = await api.data<Record<string, unknown>>("/nodes/pve1/qemu/320/config");
    assert.equal(cfg.name, "from-tpl");
    assert.equal(cfg.scsi0, "local-lvm:base-9000-disk-0/vm-320-disk-0,iothread=1,size=8G");
    assert.equal(cfg.template, undefined);
    const src = await api.data<Record<string, unknown>>("/nodes/pve1/qemu/9000/config");
    assert.notEqual(cfg.net0, src.net0);
  });

  await t.step("delete honours protection and refuses running guests", async () => {
    const prot = await api.call("DELETE", "/nodes/pve1/qemu/103");
    assert.equal(prot.status, 500);
    assert.equal(prot.body!.message, "can't remove VM 103 - protection mode enabled\n");
    const running = await api.call("DELETE", "/nodes/pve1/qemu/100");
    assert.equal(running.status, 500);
    assert.equal(running.body!.message, "VM 100 is running - destroy failed\n");
    const ok = await api.call("DELETE", "/nodes/pve3/qemu/106", {
      purge: 1,
      "destroy-unreferenced-disks": 1,
    });
    assert.equal(ok.status, 200, ok.text);
    assert.ok(!sim.state.guests.has(106));
    assert.equal((await api.call("GET", "/nodes/pve3/qemu/106/config")).status, 500);
  });

  await t.step("restore a backup into a new VMID", async () => {
    const volid = sim.state.volumes.find((v) => v.vmid === 103 && v.content === "backup")!.volid;
    const r = await api.call("POST", "/nodes/pve2/qemu", {
      vmid: 330,
      archive: volid,
      storage: "local-lvm",
    });
    assert.equal(r.status, 200, r.text);
    const cfg = await api.data<Record<string, unknown>>("/nodes/pve2/qemu/330/config");
    assert.equal(cfg.name, "db-01");
    assert.match(String(cfg.scsi0), /^local-lvm:vm-330-disk-0,/);
    assert.match(String(cfg.scsi1), /^local-lvm:vm-330-disk-1,/);
  });

  await t.step("container template, linked clone, and async config with disk removal", async () => {
    const tpl = await api.call("POST", "/nodes/pve3/lxc/203/template");
    assert.equal(tpl.status, 200, tpl.text);
    assert.equal(tpl.body!.data, null);
    const cfg203 = await api.data<Record<string, unknown>>("/nodes/pve3/lxc/203/config");
    assert.equal(cfg203.template, 1);
    assert.equal(cfg203.rootfs, "local-lvm:base-203-disk-0,size=16G");
    const clone = await api.call("POST", "/nodes/pve3/lxc/203/clone", {
      newid: 401,
      hostname: "sandbox-2",
    });
    assert.equal(clone.status, 200, clone.text);
    const cfg401 = await api.data<Record<string, unknown>>("/nodes/pve3/lxc/401/config");
    assert.equal(cfg401.rootfs, "local-lvm:base-203-disk-0/vm-401-disk-0,size=16G");
    assert.equal(cfg401.hostname, "sandbox-2");
    const post = await api.call("POST", "/nodes/pve1/qemu/103/config", {
      delete: "scsi1",
      tags: "db;prod;pg16",
    });
    assert.match(String(post.body!.data), /:qmconfig:103:/);
    const cfg103 = sim.state.guests.get(103)!.config;
    assert.equal(cfg103.scsi1, undefined);
    assert.equal(cfg103.unused0, "local-lvm:vm-103-disk-1");
    assert.equal(cfg103.tags, "db;prod;pg16");
  });

  await t.step("snapshot config reads and updates the description", async () => {
    const put = await api.call("PUT", "/nodes/pve1/qemu/103/snapshot/after-pg16/config", {
      description: "verified again",
    });
    assert.equal(put.status, 200, put.text);
    const snap = await api.data<Record<string, unknown>>(
      "/nodes/pve1/qemu/103/snapshot/after-pg16/config",
    );
    assert.equal(snap.description, "verified again");
    assert.equal(snap.parent, "before-pg16");
    assert.equal(typeof snap.snaptime, "number");
  });

  await t.step("suspend pauses a VM; a paused VM refuses shutdown until resumed", async () => {
    await api.call("POST", "/nodes/pve2/qemu/104/status/suspend");
    const cur = await api.data<Record<string, unknown>>("/nodes/pve2/qemu/104/status/current");
    assert.equal(cur.qmpstatus, "paused");
    const shut = await api.call("POST", "/nodes/pve2/qemu/104/status/shutdown");
    assert.equal(shut.status, 500);
    assert.equal(shut.body!.message, "VM is paused - cannot shutdown\n");
    await api.call("POST", "/nodes/pve2/qemu/104/status/resume");
    assert.equal(
      (await api.data<Record<string, unknown>>("/nodes/pve2/qemu/104/status/current")).qmpstatus,
      "running",
    );
    const reboot = await api.call("POST", "/nodes/pve3/lxc/203/status/reboot");
    assert.equal(reboot.status, 500);
    assert.equal(reboot.body!.message, "CT 203 not running\n");
  });

  await t.step("storage answers for volumes and disabled storage", async () => {
    const volid = sim.state.volumes.find((v) => v.vmid === 202 && v.content === "backup")!.volid;
    const path = `/nodes/pve2/storage/nfs-backup/content/${encodeURIComponent(volid)}`;
    assert.equal((await api.call("PUT", path, { notes: "keep", protected: 1 })).status, 200);
    const info = await api.data<Record<string, unknown>>(path);
    assert.equal(info.notes, "keep");
    assert.equal(info.protected, 1);
    assert.match(String(info.path), /^\/mnt\/pve\/nfs-backup\/dump\/vzdump-lxc-202-/);
    const disabled = await api.data<Record<string, unknown>>("/nodes/pve1/storage/ceph-old/status");
    assert.equal(disabled.enabled, 0);
    assert.equal((await api.call("GET", "/nodes/pve1/storage/ceph-old/content")).status, 500);
    const nope = await api.call("GET", "/nodes/pve1/storage/nope/status");
    assert.equal(nope.status, 400);
    assert.equal(nope.body!.errors!.storage, "No such storage.");
    const iso = await api.data<{ storage: string }[]>("/nodes/pve1/storage", { content: "iso" });
    assert.deepEqual(iso.map((s) => s.storage), ["local"]);
  });

  await t.step("download a template and an ISO; delete a backup volume", async () => {
    const apl = await api.call("POST", "/nodes/pve3/aplinfo", {
      storage: "local",
      template: "debian-13-standard_13.1-2_amd64.tar.zst",
    });
    assert.equal(apl.status, 200, apl.text);
    const iso = await api.call("POST", "/nodes/pve3/storage/local/download-url", {
      content: "iso",
      filename: "alpine-virt-3.20.3-x86_64.iso",
      url:
        "https://dl-cdn.alpinelinux.org/alpine/v3.20/releases/x86_64/alpine-virt-3.20.3-x86_64.iso",
    });
    assert.equal(iso.status, 200, iso.text);
    const content = await api.data<{ volid: string }[]>("/nodes/pve3/storage/local/content");
    const ids = content.map((c) => c.volid);
    assert.ok(ids.includes("local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst"));
    assert.ok(ids.includes("local:iso/alpine-virt-3.20.3-x86_64.iso"));
    const backup = sim.state.volumes.find((v) => v.vmid === 200 && v.content === "backup")!.volid;
    const del = await api.call(
      "DELETE",
      `/nodes/pve1/storage/nfs-backup/content/${encodeURIComponent(backup)}`,
    );
    assert.equal(del.status, 200, del.text);
    assert.ok(!sim.state.volumes.some((v) => v.volid === backup));
    const protectedVol = sim.state.volumes.find((v) => v.protected)!.volid;
    const refused = await api.call(
      "DELETE",
      `/nodes/pve1/storage/nfs-backup/content/${encodeURIComponent(protectedVol)}`,
    );
    assert.equal(refused.status, 500);
  });
});

Deno.test("simulator faults  inject latency, failures, node outages and count requests", async (t) => {
  await using sim = await startSimulator();
  using api = new SimApi(sim);

  await t.step("requests are counted", async () => {
    const before = sim.requests;
    await api.data("/version");
    await api.data("/nodes");
    assert.equal(sim.requests, before + 2);
  });

  await t.step("failNext answers the given status for matching requests only", async () => {
    sim.faults.failNext(2, { status: 503, pathPrefix: "/nodes", method: "GET" });
    assert.equal((await api.call("GET", "/version")).status, 200);
    const a = await api.call("GET", "/nodes");
    assert.equal(a.status, 503);
    assert.match(a.body!.message!, /injected/);
    assert.equal((await api.call("GET", "/nodes/pve1/status")).status, 503);
    assert.equal((await api.call("GET", "/nodes")).status, 200);
    sim.faults.failNext(1, { status: 596, message: "Broken pipe" });
    const b = await api.call("GET", "/version");
    assert.equal(b.status, 596);
    assert.equal(b.body!.message, "Broken pipe\n");
  });

  await t.step("latency delays every response", async () => {
    sim.faults.latencyMs = 60;
    const t0 = performance.now();
    await api.data("/version");
    assert.ok(performance.now() - t0 >= 55);
    sim.faults.latencyMs = 0;
  });

  await t.step("a node down shows offline and its proxied paths answer 595", async () => {
    sim.faults.nodeDown("pve3");
    const nodes = await api.data<{ node: string; status: string }[]>("/nodes");
    assert.equal(nodes.find((n) => n.node === "pve3")!.status, "offline");
    const cs = await api.data<{ name: string; online?: number }[]>("/cluster/status");
    assert.equal(cs.find((n) => n.name === "pve3")!.online, 0);
    const r = await api.call("GET", "/nodes/pve3/status");
    assert.equal(r.status, 595);
    assert.match(r.body!.message!, /Connection timed out/);
    const res = await api.data<{ id: string; status: string }[]>("/cluster/resources", {
      type: "vm",
    });
    assert.equal(res.find((x) => x.id === "lxc/201")!.status, "unknown");
    sim.faults.nodeUp("pve3");
    assert.equal((await api.call("GET", "/nodes/pve3/status")).status, 200);
    assert.throws(() => sim.faults.nodeDown("pve7"), /Unknown simulator node/);
  });

  await t.step("delayAuthFailureMs slows down failed logins", async () => {
    sim.faults.delayAuthFailureMs = 50;
    const t0 = performance.now();
    assert.equal((await login(api, "root@pam", "nope")).status, 401);
    assert.ok(performance.now() - t0 >= 45);
    sim.faults.reset();
  });
});

Deno.test("simulator large scenario  is deterministic and answers without a socket", async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 9, 0, 0));
  const core = new SimulatorCore({ scenario: "large", seed: 7, clock });
  const { admin } = core.credentials;
  const headers = { Authorization: `PVEAPIToken=${admin.tokenId}=${admin.tokenSecret}` };
  const get = async (path: string) => {
    const res = await handleApiRequest(
      core,
      new Request(`https://sim/api2/json${path}`, { headers }),
    );
    return { status: res.status, body: await res.json() };
  };

  await t.step("10,000 guests over 20 nodes", async () => {
    assert.equal(core.state.guests.size, 10_000);
    assert.equal(core.state.nodes.size, 20);
    const r = await get("/cluster/resources?type=vm");
    assert.equal(r.status, 200);
    assert.equal(r.body.data.length, 10_000);
  });

  await t.step("same seed, same cluster; other seed, other cluster", () => {
    const again = new SimulatorCore({ scenario: "large", seed: 7, clock });
    const other = new SimulatorCore({ scenario: "large", seed: 8, clock });
    assert.deepEqual(again.state.guests.get(4321)!.config, core.state.guests.get(4321)!.config);
    assert.equal(again.state.guests.get(4321)!.node, core.state.guests.get(4321)!.node);
    const sig = (c: SimulatorCore) =>
      [...c.state.guests.values()].slice(0, 50).map((g) => g.node).join();
    assert.notEqual(sig(other), sig(core));
  });

  await t.step("shapes hold on generated guests", async () => {
    const g = core.state.guests.get(5000)!;
    const r = await get(`/nodes/${g.node}/${g.type}/5000/config`);
    assert.equal(r.status, 200);
    assert.deepEqual(
      shapeProblems(r.body.data, returnsOf(`/nodes/{node}/${g.type}/{vmid}/config`)),
      [],
    );
  });
});
