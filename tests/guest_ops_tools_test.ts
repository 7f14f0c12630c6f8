import assert from "node:assert/strict";
import {
  expectConfirmed,
  expectOk,
  expectRefused,
  startMutationStack,
  text,
} from "./helpers/mutations.ts";

const EXEC = {
  max_mutations_per_minute: 0,
  exec_allowlist: [
    { pattern: "hostname", read_only: true },
    { pattern: "systemctl is-active *", read_only: true },
    "echo",
    "seq",
    "sleep",
  ],
  exec_max_output: 1024,
  exec_timeout: 5,
};

Deno.test("guest_exec runs allowlisted commands through the guest agent", async (t) => {
  await using s = await startMutationStack({ config: EXEC });

  await t.step("a read-only allowlisted command runs without confirmation", async () => {
    const r = await expectOk(s, "guest_exec", { vmid: 100, command: ["hostname"] });
    assert.equal(r.status, "done");
    assert.equal(r.exit_code, 0);
    assert.equal(r.stdout, "dns-01\n");
    assert.equal(r.timed_out, false);
  });

  await t.step("pattern match and a non-zero exit code", async () => {
    const r = await expectOk(s, "guest_exec", {
      vmid: 100,
      command: ["systemctl", "is-active", "apache2"],
    });
    assert.equal(r.exit_code, 3);
    assert.equal(r.stdout, "inactive\n");
  });

  await t.step(
    "a command not marked read-only needs a confirmation and shows its output",
    async () => {
      const { done, text: out } = await expectConfirmed(s, "guest_exec", {
        vmid: 100,
        command: ["echo", "hi"],
      });
      assert.equal(done.stdout, "hi\n");
      assert.match(out, /exit code 0/);
    },
  );

  await t.step("output is capped at exec_max_output and flagged", async () => {
    const { done } = await expectConfirmed(s, "guest_exec", {
      vmid: 100,
      command: ["seq", "2000"],
    });
    assert.equal(new TextEncoder().encode(String(done.stdout)).length, 1024);
    assert.equal(done.stdout_truncated, true);
  });

  await t.step("a command outside the allowlist is refused before anything is sent", async () => {
    const msg = await expectRefused(
      s,
      "guest_exec",
      { vmid: 100, command: ["rm", "-rf", "/"] },
      /not in exec_allowlist/,
    );
    assert.match(msg, /allowed: hostname/);
  });

  await t.step("containers: no exec endpoint, no SSH fallback", async () => {
    await expectRefused(
      s,
      "guest_exec",
      { vmid: 200, command: ["hostname"] },
      /no exec endpoint for containers.*SSH/,
    );
  });

  await t.step("a stopped VM is refused", async () => {
    await expectRefused(
      s,
      "guest_exec",
      { vmid: 105, command: ["hostname"] },
      /stopped: start it first/,
    );
  });

  await t.step("every command is in the audit log", () => {
    const audit = s.safety.audit.lines.join("\n");
    assert.match(audit, /"hostname"/);
    assert.match(audit, /"rm"/);
  });
});

Deno.test("guest_exec with an empty allowlist allows nothing; read-only mode hides it", async (t) => {
  await t.step("empty allowlist", async () => {
    await using s = await startMutationStack({ config: { max_mutations_per_minute: 0 } });
    await expectRefused(s, "guest_exec", { vmid: 100, command: ["hostname"] }, /list is empty/);
  });
  await t.step("read-only", async () => {
    await using s = await startMutationStack({ readOnly: true, config: EXEC });
    await expectRefused(
      s,
      "guest_exec",
      { vmid: 100, command: ["hostname"] },
      /read-only|Unknown tool|not found/i,
    );
  });
  await t.step("disable_destructive allows read-only commands only", async () => {
    await using s = await startMutationStack({ disableDestructive: true, config: EXEC });
    await expectOk(s, "guest_exec", { vmid: 100, command: ["hostname"] });
    await expectRefused(s, "guest_exec", { vmid: 100, command: ["echo", "x"] }, /destructive/);
  });
});

Deno.test("guest_unlock shows the lock's reason and needs a confirmation", async (t) => {
  await using s = await startMutationStack({ config: { max_mutations_per_minute: 0 } });
  const g = s.sim.state.guests.get(105)!;
  await t.step("not locked", async () => {
    await expectRefused(s, "guest_unlock", { vmid: 105 }, /is not locked/);
  });
  await t.step("a stale backup lock: confirmation first, then removed", async () => {
    g.config.lock = "backup";
    const first = await s.call("guest_unlock", { vmid: 105 });
    assert.equal(first.structuredContent?.status, "confirmation_required", text(first));
    assert.match(text(first), /backup lock .*a backup was running/);
    assert.equal(g.config.lock, "backup");
    await expectConfirmed(s, "guest_unlock", { vmid: 105 });
    assert.equal(g.config.lock, undefined);
  });
  await t.step("an unconfirmed call with a made-up token is refused", async () => {
    g.config.lock = "migrate";
    await expectRefused(
      s,
      "guest_unlock",
      { vmid: 105, confirmation_token: "bogus" },
      /confirmation_token/,
    );
    assert.equal(g.config.lock, "migrate");
  });
});

Deno.test("bulk_power starts a set in order and reports a failure in the middle", async (t) => {
  await using s = await startMutationStack({ config: { max_mutations_per_minute: 0 } });
  await t.step("one plan and one confirmation for the set", async () => {
    const first = await s.call("bulk_power", {
      action: "start",
      tag: ["lab"],
      concurrency: 1,
    });
    assert.equal(first.structuredContent?.status, "confirmation_required", text(first));
    assert.deepEqual(first.structuredContent?.order, [105, 106, 203]);
    assert.match(text(first), /skipped, already not stopped: 107/);
    s.sim.faults.failNext(1, {
      method: "POST",
      pathPrefix: "/nodes/pve3/qemu/106/status/start",
      message: "start failed: storage 'local-lvm' is offline",
    });
    const r = await s.call("bulk_power", {
      action: "start",
      tag: ["lab"],
      concurrency: 1,
      confirmation_token: first.structuredContent?.confirmation_token,
    });
    assert.ok(!r.isError, text(r));
    const sc = r.structuredContent!;
    assert.equal(sc.total, 3);
    assert.equal(sc.succeeded, 2);
    assert.equal(sc.failed, 1);
    const guests = sc.guests as { vmid: number; result: string; error?: string }[];
    assert.deepEqual(guests.map((g) => [g.vmid, g.result]), [[105, "ok"], [106, "failed"], [
      203,
      "ok",
    ]]);
    assert.match(guests[1].error ?? "", /storage 'local-lvm' is offline/);
    assert.match(text(r), /1 of 3 guest\(s\) did not start/);
    assert.equal(s.sim.state.guests.get(105)!.status, "running");
    assert.equal(s.sim.state.guests.get(106)!.status, "stopped");
    assert.equal(s.sim.state.guests.get(203)!.status, "running");
  });
  await t.step("shutdown by pool in reverse order", async () => {
    const { done } = await expectConfirmed(s, "bulk_power", {
      action: "shutdown",
      pool: "lab",
    });
    assert.deepEqual(done.order, [203, 107, 105]);
    assert.equal(done.failed, 0);
    assert.equal(s.sim.state.guests.get(107)!.status, "stopped");
  });
  await t.step("disable_destructive refuses a bulk shutdown", async () => {
    await using s2 = await startMutationStack({ disableDestructive: true });
    await expectRefused(s2, "bulk_power", { action: "shutdown", pool: "lab" }, /destructive/);
  });
});
