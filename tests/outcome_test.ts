import assert from "node:assert/strict";
import { ProxmoxConnectionError, ProxmoxEndpointsError } from "../src/proxmox/errors.ts";
import { classifySendFailure, expectedTaskType } from "../src/tools/outcome.ts";
import { ProxmoxClient } from "../src/proxmox/client.ts";
import { safetySettings } from "../src/safety/settings.ts";
import { memorySafety } from "../src/safety/stages.ts";
import { buildServer } from "../src/server/app.ts";
import { Client, InMemoryTransport } from "../src/server/sdk_client.ts";
import { startSimulator } from "../src/simulator/mod.ts";
import type { ProxmoxApi } from "../src/tools/context.ts";
import { systemClock } from "../src/util/clock.ts";
import { silentLogger } from "../src/util/log.ts";
import { startMutationStack, text } from "./helpers/mutations.ts";
import { textOf } from "./helpers/stack.ts";

const audited = (lines: readonly string[]) => lines.map((l) => JSON.parse(l));

Deno.test("lost answers  a write whose answer was lost is looked up, not reported as failed", async (t) => {
  await using s = await startMutationStack({ clientTimeoutMs: 1000 });
  const status = (vmid: number) => s.sim.state.guests.get(vmid)!.status;

  await t.step(
    "connection reset after the shutdown was carried out: its task is found",
    async () => {
      assert.equal(status(100), "running");
      s.sim.faults.loseAnswerNext(1, { method: "POST", pathPrefix: "/nodes/pve1/qemu/100/status" });
      const r = await s.call("guest_power", { vmid: 100, action: "shutdown" });
      assert.ok(!r.isError, text(r));
      assert.equal(r.structuredContent?.status, "done");
      assert.match(text(r), /answer to POST \/nodes\/pve1\/qemu\/100\/status\/shutdown was lost/);
      assert.match(String(r.structuredContent?.upid), /^UPID:pve1:.*:qmshutdown:100:/);
      assert.equal(status(100), "stopped");
      assert.equal(s.writes().length, 1, "sent once, never again");
      const last = audited(s.safety.audit.lines).at(-1);
      assert.equal(last.outcome, "done");
      assert.deepEqual(last.upids, [r.structuredContent?.upid]);
    },
  );

  await t.step("no answer within the client timeout: the started task is found", async () => {
    s.sim.faults.loseAnswerNext(1, {
      how: "hang",
      method: "POST",
      pathPrefix: "/nodes/pve1/qemu/100/status",
    });
    const r = await s.call("guest_power", { vmid: 100, action: "start" });
    assert.ok(!r.isError, text(r));
    assert.equal(r.structuredContent?.status, "done");
    assert.match(text(r), /was lost \(no answer within 1 s/);
    assert.equal(status(100), "running");
    assert.equal(s.writes().length, 2);
  });

  await t.step(
    "a lost answer without a task: outcome unknown, check and do not retry",
    async () => {
      s.sim.faults.loseAnswerNext(1, { method: "PUT", pathPrefix: "/nodes/pve2/qemu/104/config" });
      const r = await s.call("guest_update", { vmid: 104, description: "moved to rack 4" });
      assert.equal(r.isError, true, text(r) + JSON.stringify(s.writes().at(-1)));
      const msg = text(r);
      assert.match(msg, /^Outcome unknown: update/);
      assert.match(msg, /PUT \/nodes\/pve2\/qemu\/104\/config reached Proxmox \(or may have\)/);
      assert.match(msg, /No task for it appears in the task list of pve2/);
      assert.match(msg, /Do not retry/);
      assert.match(msg, /guest_status vmid=104/);
      assert.doesNotMatch(msg, /retrying may help|failed/i);
      // It did run: the simulator carried it out before losing the answer.
      assert.match(String(s.sim.state.guests.get(104)!.config.description), /rack 4/);
      const last = audited(s.safety.audit.lines).at(-1);
      assert.equal(last.event, "result");
      assert.equal(last.outcome, "unknown");
      assert.equal(last.decision, "unknown");
    },
  );

  await t.step(
    "the node goes away while the task is followed: unknown, with the task",
    async () => {
      s.sim.faults.failNext(20, { status: 596, method: "GET", pathPrefix: "/nodes/pve1/tasks/" });
      const r = await s.call("guest_power", { vmid: 100, action: "shutdown" });
      s.sim.faults.reset();
      assert.equal(r.isError, true);
      assert.match(
        text(r),
        /^Outcome unknown: shutdown .*: task UPID:pve1:.*qmshutdown:100:.* was started/,
      );
      assert.match(text(r), /Do not retry.*task_status upid=UPID:pve1:/s);
      assert.equal(audited(s.safety.audit.lines).at(-1).outcome, "unknown");
    },
  );

  await t.step("an error answer from Proxmox is a failure, recorded as such", async () => {
    s.sim.faults.failNext(1, { status: 500, method: "POST", pathPrefix: "/nodes/pve1/qemu/100" });
    const r = await s.call("guest_power", { vmid: 100, action: "start" });
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), /Proxmox API error 500/);
    assert.equal(audited(s.safety.audit.lines).at(-1).outcome, "failed");
  });
});

Deno.test("executeChange()  a failing read of the result after the change is reported, not dropped", async () => {
  await using s = await startMutationStack();
  s.recorder.onWrite = () =>
    s.sim.faults.failNext(10, {
      status: 500,
      method: "GET",
      pathPrefix: "/nodes/pve1/qemu/100/status/current",
    });
  const r = await s.call("guest_power", { vmid: 100, action: "shutdown" });
  assert.ok(!r.isError, text(r));
  assert.equal(r.structuredContent?.status, "done");
  assert.equal(s.sim.state.guests.get(100)!.status, "stopped");
  assert.match(text(r), /the change was made, but reading its result afterwards failed: .*500/);
  assert.equal(r.structuredContent?.state, undefined);
});

Deno.test("classifySendFailure()  tells never sent from unknown from failed", () => {
  const conn = (kind: ProxmoxConnectionError["kind"]) =>
    new ProxmoxConnectionError({
      kind,
      target: "pve1:8006",
      method: "POST",
      path: "/x",
      reason: kind,
      hint: "h",
    });
  assert.equal(classifySendFailure(conn("refused")), "not-sent");
  assert.equal(classifySendFailure(conn("dns")), "not-sent");
  assert.equal(classifySendFailure(conn("tls")), "not-sent");
  assert.equal(classifySendFailure(conn("reset")), "unknown");
  assert.equal(classifySendFailure(conn("timeout")), "unknown");
  const all = (kinds: ProxmoxConnectionError["kind"][]) =>
    new ProxmoxEndpointsError({
      method: "POST",
      path: "/x",
      failures: kinds.map((k) => ({ target: "t", reason: k, error: conn(k) })),
    });
  assert.equal(classifySendFailure(all(["refused", "dns"])), "not-sent");
  assert.equal(classifySendFailure(all(["refused", "reset"])), "unknown");
  assert.equal(classifySendFailure(new Error("x")), "failed");
  assert.equal(
    expectedTaskType({ method: "POST", path: "/nodes/pve1/lxc/200/status/stop", params: {} }),
    "vzstop",
  );
  assert.equal(
    expectedTaskType({ method: "DELETE", path: "/nodes/pve1/qemu/105", params: {} }),
    "qmdestroy",
  );
});

Deno.test("lost answers  a write that never reached Proxmox says nothing was changed", async () => {
  await using sim = await startSimulator();
  const { tokenId, tokenSecret } = sim.credentials.admin;
  const auth = { type: "token" as const, tokenId, secret: tokenSecret };
  const reads = new ProxmoxClient({ baseUrl: sim.url, auth, caCerts: [sim.caCert] });
  // Writes go to a port nobody listens on: the connection is refused before anything is sent.
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (free.addr as Deno.NetAddr).port;
  free.close();
  const writes = new ProxmoxClient({
    baseUrl: `https://127.0.0.1:${deadPort}`,
    auth,
    caCerts: [sim.caCert],
  });
  const api: ProxmoxApi = {
    get: (p, q, o) => reads.get(p, q, o),
    post: (p, q, o) => writes.post(p, q, o),
    put: (p, q, o) => writes.put(p, q, o),
    delete: (p, q, o) => writes.delete(p, q, o),
  };
  const safety = memorySafety(safetySettings(), systemClock);
  const server = buildServer({
    client: api,
    description: "test",
    readOnly: false,
    safety,
    [Symbol.asyncDispose]: () => Promise.resolve(),
  }, silentLogger);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  const client = new Client({ name: "t", version: "1" });
  await client.connect(a);
  try {
    const r = await client.callTool({
      name: "guest_power",
      arguments: { vmid: 100, action: "shutdown" },
    }) as Record<string, unknown>;
    assert.equal(r.isError, true);
    const msg = textOf(r);
    assert.match(msg, /^Not sent: shutdown qemu 100 .*: Proxmox could not be reached/);
    assert.match(msg, /connection refused/);
    assert.match(msg, /Nothing was changed/);
    assert.equal(sim.state.guests.get(100)!.status, "running");
    const last = JSON.parse(safety.audit.lines.at(-1)!);
    assert.equal(last.outcome, "not-sent");
    assert.equal(last.decision, "not-sent");
  } finally {
    await client.close();
    await server.close();
    reads.close();
    writes.close();
  }
});
