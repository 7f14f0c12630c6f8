import assert from "node:assert/strict";
import { readPendingRequests } from "../src/safety/approval_folder.ts";
import { argsHash } from "../src/safety/confirm.ts";
import { openStateDir } from "../src/safety/state_dir.ts";
import { type CallResult, startMutationStack, stateSnapshot, text } from "./helpers/mutations.ts";

const audited = (lines: readonly string[]) => lines.map((l) => JSON.parse(l));
const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

/** A private state folder for one test, removed on dispose. */
async function stateFolder() {
  const path = await Deno.makeTempDir({ prefix: "proxmox-mcp-state-" });
  await Deno.chmod(path, 0o700);
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

/**
 * Starts a tool call that waits for approval; resolves `waiting` with the request id from the
 * first progress notification ("waiting for approval at …").
 */
function callWaiting(
  s: Awaited<ReturnType<typeof startMutationStack>>,
  name: string,
  args: Record<string, unknown>,
  signal?: AbortSignal,
) {
  const waiting = Promise.withResolvers<{ id: string; message: string }>();
  const result = s.client.callTool({ name, arguments: args }, undefined, {
    signal,
    timeout: 60_000,
    resetTimeoutOnProgress: true,
    onprogress: (p) => {
      const id = /request ([0-9a-f-]{36})/.exec(p.message ?? "")?.[1];
      if (id) waiting.resolve({ id, message: p.message! });
    },
  }) as Promise<CallResult>;
  result.then(
    () => waiting.reject(new Error("the call ended without waiting for approval")),
    (e) => waiting.reject(e),
  );
  return { waiting: waiting.promise, result };
}

/** Runs the real CLI in a child process with the server's permission flags. */
async function cli(args: string[], stateDir: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--no-prompt",
      MAIN,
      ...args,
    ],
    env: { PROXMOX_STATE_DIR: stateDir, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("approval: human  a destructive call waits for a person in the terminal", async (t) => {
  await using dir = await stateFolder();
  await using s = await startMutationStack({ config: { approval: "human", state_dir: dir.path } });

  await t.step("approved through proxmox-mcp approvals: the call completes", async () => {
    const call = callWaiting(s, "guest_delete", { vmid: 105 });
    const { id, message } = await call.waiting;
    assert.match(message, /waiting for approval at terminal: proxmox-mcp approvals approve/);
    assert.equal(s.writes().length, 0, "nothing is sent while waiting");
    const listed = await cli(["approvals"], dir.path);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${id}  guest_delete: delete qemu 105`));
    assert.match(listed.stdout, /DELETE \/nodes\/pve\d\/qemu\/105/);
    assert.match(listed.stdout, /lost: /);
    const approved = await cli(["approvals", "approve", id.slice(0, 8), "--by", "alice"], dir.path);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /Approved .* as alice/);
    const r = await call.result;
    assert.ok(!r.isError, text(r));
    assert.equal(r.structuredContent?.status, "done");
    assert.ok(!s.sim.state.guests.has(105));
    const exec = audited(s.safety.audit.lines).find((l) => l.event === "execute");
    assert.equal(exec.confirmed_by, "human");
    assert.equal(exec.approved_by, "alice");
    assert.equal(exec.approval_channel, "terminal");
    const files = [...Deno.readDirSync(`${dir.path}/approvals`)].map((e) => e.name);
    assert.deepEqual(files, [], "answered requests leave no files behind");
  });

  await t.step("rejected: refused, nothing changed, the rejection is recorded", async () => {
    const before = stateSnapshot(s.sim);
    const call = callWaiting(s, "guest_power", { vmid: 100, action: "stop" });
    const { id } = await call.waiting;
    const rejected = await cli(["approvals", "reject", id, "not", "now", "--by", "bob"], dir.path);
    assert.equal(rejected.code, 0, rejected.stderr);
    const r = await call.result;
    assert.equal(r.isError, true);
    assert.match(text(r), /^Refused: bob rejected stop qemu 100 .*\(via terminal: not now\)/);
    assert.equal(stateSnapshot(s.sim), before);
    const last = audited(s.safety.audit.lines).at(-1);
    assert.equal(last.decision, "refused");
    assert.equal(last.stage, "approval");
  });

  await t.step("the model replaying the call with any token cannot complete it", async () => {
    const before = stateSnapshot(s.sim);
    const forged = await s.call("guest_delete", { vmid: 106, confirmation_token: "pmc1.x.y" });
    assert.equal(forged.isError, true);
    assert.match(text(forged), /needs a person's approval outside this conversation/);
    // A token the server itself issued for exactly this call and plan is refused too.
    const plan = await s.call("guest_delete", { vmid: 106, dry_run: true });
    assert.ok(!plan.isError, text(plan));
    const issued = s.safety.tokens.issue(
      "guest_delete",
      argsHash({ vmid: 106, wait: true }),
      "any-plan",
      "",
    );
    const replay = await s.call("guest_delete", { vmid: 106, confirmation_token: issued.token });
    assert.equal(replay.isError, true);
    assert.match(text(replay), /cannot stand in for it/);
    assert.equal(stateSnapshot(s.sim), before);
    assert.equal(s.safety.approvals.pending().length, 0);
  });

  await t.step("cancelling the call withdraws the request", async () => {
    const abort = new AbortController();
    const call = callWaiting(s, "guest_delete", { vmid: 106 }, abort.signal);
    const { id } = await call.waiting;
    const folder = await openStateDir(dir.path);
    assert.ok((await readPendingRequests(folder, Date.now())).some((r) => r.id === id));
    abort.abort();
    await assert.rejects(call.result);
    // The server learns of the cancellation asynchronously; wait for the withdrawal (bounded).
    for (let i = 0; i < 200 && s.safety.approvals.pending().length; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(s.safety.approvals.pending().length, 0);
    assert.deepEqual(await readPendingRequests(folder, Date.now()), []);
    assert.ok(s.sim.state.guests.has(106));
  });

  await t.step("a plan that changed while waiting must be approved again", async () => {
    const call = callWaiting(s, "guest_delete", { vmid: 106 });
    const { id } = await call.waiting;
    s.sim.state.guests.get(106)!.config.name = "renamed-meanwhile";
    const approved = await cli(["approvals", "approve", id, "--by", "alice"], dir.path);
    assert.equal(approved.code, 0, approved.stderr);
    const r = await call.result;
    assert.equal(r.isError, true);
    assert.match(text(r), /the cluster changed while .* waited for approval/);
    assert.ok(s.sim.state.guests.has(106));
  });

  await t.step("non-destructive changes are not held", async () => {
    const r = await s.call("guest_power", { vmid: 100, action: "reboot", dry_run: true });
    assert.ok(!r.isError, text(r));
  });
});

Deno.test("approval: human  an unanswered request expires", async () => {
  await using dir = await stateFolder();
  await using s = await startMutationStack({
    config: { approval: "human", state_dir: dir.path },
    settings: { confirmTimeoutMs: 300 },
  });
  const r = await s.call("guest_delete", { vmid: 105 });
  assert.equal(r.isError, true);
  assert.match(text(r), /^Refused: nobody approved delete qemu 105 .* the request expired/);
  assert.ok(s.sim.state.guests.has(105));
  assert.equal(s.safety.approvals.pending().length, 0);
});

Deno.test("approval defaults  auto asks a person only when there is a channel", async (t) => {
  await t.step("no state folder: today's token flow", async () => {
    await using s = await startMutationStack();
    const r = await s.call("guest_delete", { vmid: 105 });
    assert.equal(r.structuredContent?.status, "confirmation_required");
  });
  await t.step("with a state folder: the destructive call waits for a person", async () => {
    await using dir = await stateFolder();
    await using s = await startMutationStack({ config: { state_dir: dir.path } });
    const call = callWaiting(s, "guest_delete", { vmid: 105 });
    const { id } = await call.waiting;
    assert.equal(
      s.safety.approvals.decide(id, "wrong", {
        decision: "approved",
        by: "x",
        channel: "test",
      }),
      "fingerprint",
    );
    const req = s.safety.approvals.pending()[0];
    s.safety.approvals.decide(id, req.fingerprint, {
      decision: "rejected",
      by: "carol",
      channel: "test",
    });
    assert.match(text(await call.result), /carol rejected/);
    // Protected (non-destructive) changes keep the token flow by default.
    const snap = await s.call("snapshot", { vmid: 202, action: "create", name: "x1" });
    assert.equal(snap.structuredContent?.status, "confirmation_required");
  });
});

Deno.test("freeze  stops every change at once, reads continue, unfreeze lifts it", async (t) => {
  await using dir = await stateFolder();
  await using s = await startMutationStack({ config: { state_dir: dir.path } });

  await t.step("proxmox-mcp freeze: changes refused with who and when", async () => {
    const out = await cli(["freeze", "incident", "42", "--by", "dave"], dir.path);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^Frozen: changes are frozen by dave since \d{4}-/);
    const info = await Deno.stat(`${dir.path}/freeze`);
    assert.equal(info.mode! & 0o777, 0o600);
    const before = stateSnapshot(s.sim);
    const r = await s.call("guest_update", { vmid: 100, description: "x" });
    assert.equal(r.isError, true);
    assert.match(
      text(r),
      /^Refused: changes are frozen by dave since \d{4}-\d\d-\d\dT.* \(terminal\): incident 42; an operator lifts it with proxmox-mcp unfreeze/,
    );
    assert.equal(stateSnapshot(s.sim), before);
    assert.equal(s.writes().length, 0);
  });

  await t.step("reads continue", async () => {
    const r = await s.call("guest_list", {});
    assert.ok(!r.isError, text(r));
  });

  await t.step("running Proxmox tasks are listed with a task_stop hint", async () => {
    s.sim.core.tasks.durationMs = 60_000;
    const { SimApi } = await import("./helpers/sim_client.ts");
    using api = new SimApi(s.sim);
    const started = await api.call("POST", "/nodes/pve1/qemu/101/snapshot", { snapname: "slow" });
    assert.equal(started.status, 200, started.text);
    const upid = started.body!.data as string;
    const r = await s.call("guest_update", { vmid: 100, description: "x" });
    assert.match(text(r), /Tasks still running in Proxmox/);
    assert.ok(text(r).includes(`stop with task_stop upid="${upid}"`));
    // task_stop stays allowed during a freeze.
    const stop = await s.call("task_stop", { upid, dry_run: true });
    assert.ok(!stop.isError, text(stop));
    s.sim.core.tasks.durationMs = 0;
  });

  await t.step("a plain file named freeze freezes too", async () => {
    await Deno.writeTextFile(`${dir.path}/freeze`, "maintenance window\n");
    const r = await s.call("guest_update", { vmid: 100, description: "x" });
    assert.match(text(r), /frozen by whoever created the freeze file since .*: maintenance window/);
  });

  await t.step("unfreeze: changes allowed again", async () => {
    const out = await cli(["unfreeze"], dir.path);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^Unfrozen/);
    const r = await s.call("guest_update", { vmid: 100, description: "after" });
    assert.ok(!r.isError, text(r));
  });
});

Deno.test("freeze  during a burst of changes lets none through after it", async () => {
  await using dir = await stateFolder();
  await using s = await startMutationStack({
    config: { state_dir: dir.path, max_mutations_per_minute: 0 },
  });
  const writesBeforeFreeze = 3;
  let frozenAt = -1;
  s.recorder.onWrite = () => {
    const writes = s.writes().length;
    if (writes === writesBeforeFreeze && frozenAt < 0) {
      frozenAt = writes;
      Deno.writeTextFileSync(`${dir.path}/freeze`, JSON.stringify({ by: "eve" }));
    }
  };
  const burst = Array.from(
    { length: 20 },
    (_, i) => s.call("guest_update", { vmid: [100, 104, 107][i % 3], description: `burst ${i}` }),
  );
  const results = await Promise.all(burst);
  assert.equal(frozenAt, writesBeforeFreeze);
  assert.equal(s.writes().length, writesBeforeFreeze, "no write after the freeze");
  const refused = results.filter((r) => r.isError);
  assert.equal(refused.length, 20 - writesBeforeFreeze);
  for (const r of refused) assert.match(text(r), /^Refused: changes are frozen by eve/);
});
