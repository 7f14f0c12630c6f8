import assert from "node:assert/strict";
import { main } from "../src/main.ts";
import { CallToolResultSchema, LoggingMessageNotificationSchema } from "../src/server/sdk.ts";
import { Pipeline } from "../src/safety/pipeline.ts";
import { planStage } from "../src/safety/plan.ts";
import { safetySettings } from "../src/safety/settings.ts";
import { memorySafety } from "../src/safety/stages.ts";
import { catalogue } from "../src/tools/catalogue.ts";
import { Inventory } from "../src/tools/inventory.ts";
import { ManualClock, systemClock } from "../src/util/clock.ts";
import { silentLogger } from "../src/util/log.ts";
import { type CallResult, startMutationStack, stateSnapshot, text } from "./helpers/mutations.ts";

const audited = (lines: readonly string[]) => lines.map((l) => JSON.parse(l));

Deno.test("elicitation  asks the user with the plan; accepted runs, declined changes nothing", async (t) => {
  let answer: { action: "accept" | "decline" | "cancel"; content?: Record<string, unknown> } = {
    action: "accept",
    content: { confirm: true },
  };
  await using s = await startMutationStack({ elicit: () => answer });

  await t.step("accepted: the stop runs, confirmed by the user", async () => {
    const r = await s.call("guest_power", { vmid: 100, action: "stop" });
    assert.ok(!r.isError, text(r));
    assert.equal(r.structuredContent?.status, "done");
    assert.equal(s.sim.state.guests.get(100)!.status, "stopped");
    assert.equal(s.elicitations.length, 1);
    assert.match(s.elicitations[0], /^Confirm guest_power: stop qemu 100 \(dns-01\) on pve1/);
    assert.match(s.elicitations[0], /loses power at once/);
    assert.match(s.elicitations[0], /POST \/nodes\/pve1\/qemu\/100\/status\/stop/);
    const last = audited(s.safety.audit.lines).at(-1);
    assert.equal(last.decision, "confirmed");
    assert.equal(s.safety.audit.lines.map((l) => JSON.parse(l)).at(-2).confirmed_by, "elicitation");
  });

  for (
    const [label, a] of [
      ["declined", { action: "decline" as const }],
      ["cancelled", { action: "cancel" as const }],
      ["accepted without the tick", { action: "accept" as const, content: { confirm: false } }],
    ] as const
  ) {
    await t.step(`${label}: refused, nothing sent`, async () => {
      answer = a;
      const before = stateSnapshot(s.sim);
      const writes = s.writes().length;
      const r = await s.call("guest_delete", { vmid: 105 });
      assert.equal(r.isError, true);
      assert.match(
        text(r),
        /^Refused: the user (chose (decline|cancel)|did not tick confirm) when asked to confirm delete qemu 105/,
      );
      assert.equal(stateSnapshot(s.sim), before);
      assert.equal(s.writes().length, writes);
    });
  }

  await t.step("a confirmation token does not replace asking the user", async () => {
    answer = { action: "decline" };
    const asked = s.elicitations.length;
    const r = await s.call("guest_delete", { vmid: 105, confirmation_token: "pmc1.x.y" });
    assert.equal(r.isError, true);
    assert.equal(s.elicitations.length, asked + 1);
    assert.ok(s.sim.state.guests.has(105));
  });

  await t.step("non-destructive changes are not asked; protected tags are", async () => {
    answer = { action: "accept", content: { confirm: true } };
    const asked = s.elicitations.length;
    await s.call("guest_power", { vmid: 100, action: "start" });
    assert.equal(s.elicitations.length, asked);
    const r = await s.call("snapshot", { vmid: 202, action: "create", name: "before_patch" });
    assert.ok(!r.isError, text(r));
    assert.equal(s.elicitations.length, asked + 1);
    assert.match(s.elicitations.at(-1)!, /carries protected tag prod/);
  });
});

Deno.test("confirmation tokens  through a client without elicitation", async (t) => {
  const clock = new ManualClock(Date.now());
  await using s = await startMutationStack({ clock });
  const first = await s.call("guest_delete", { vmid: 105, purge: true });
  const token = String(first.structuredContent?.confirmation_token);

  await t.step("the first call returns the plan and a token, and changes nothing", () => {
    assert.equal(first.structuredContent?.status, "confirmation_required");
    const plan = first.structuredContent?.plan as Record<string, unknown>;
    assert.equal(plan.destructive, true);
    assert.match(String(plan.loses), /permanently: qemu 105 \(win-test\)/);
    assert.deepEqual(plan.requests, [{
      method: "DELETE",
      path: "/nodes/pve2/qemu/105",
      params: { purge: true },
    }]);
    assert.match(
      text(first),
      /call guest_delete again with exactly the same arguments plus confirmation_token=/,
    );
    assert.ok(s.sim.state.guests.has(105));
    assert.equal(s.writes().length, 0);
  });

  await t.step("the same call with the token executes; the token then is spent", async () => {
    const r = await s.call("guest_delete", { vmid: 105, purge: true, confirmation_token: token });
    assert.ok(!r.isError, text(r));
    assert.equal(s.sim.state.guests.has(105), false);
    assert.equal(s.writes().length, 1);
    const again = await s.call("guest_power", {
      vmid: 104,
      action: "stop",
      confirmation_token: token,
    });
    assert.match(text(again), /it was issued for guest_delete, not guest_power/);
  });

  await t.step("a token stops working after confirm_timeout", async () => {
    const r = await s.call("guest_power", { vmid: 104, action: "stop" });
    clock.advance(300_001);
    const late = await s.call("guest_power", {
      vmid: 104,
      action: "stop",
      confirmation_token: r.structuredContent?.confirmation_token,
    });
    assert.equal(late.isError, true);
    assert.match(text(late), /it expired 0 s ago/);
    assert.equal(s.sim.state.guests.get(104)!.status, "running");
  });

  await t.step("dry_run shows the plan of a destructive call without a token", async () => {
    const r = await s.call("guest_power", { vmid: 104, action: "stop", dry_run: true });
    assert.equal(r.structuredContent?.status, "dry_run");
    assert.equal(r.structuredContent?.confirmation_token, undefined);
    assert.match(text(r), /Running it needs a confirmation: destructive/);
  });
});

Deno.test("concurrent calls  spend a token once", async () => {
  await using s = await startMutationStack();
  const first = await s.call("guest_power", { vmid: 104, action: "stop" });
  const args = {
    vmid: 104,
    action: "stop",
    confirmation_token: first.structuredContent?.confirmation_token,
  };
  const results = await Promise.all([s.call("guest_power", args), s.call("guest_power", args)]);
  assert.equal(results.filter((r) => !r.isError).length, 1, results.map(text).join(" | "));
  assert.equal(s.writes().length, 1);
});

Deno.test("read-only mode  hides and refuses every changing tool", async () => {
  await using s = await startMutationStack({ readOnly: true });
  const { tools } = await s.client.listTools();
  const names = tools.map((x) => x.name);
  for (const tool of catalogue) {
    assert.equal(names.includes(tool.name), tool.annotations.readOnlyHint, tool.name);
  }
  const r = await s.call("guest_power", { vmid: 100, action: "stop" });
  assert.equal(r.isError, true);
  assert.match(text(r), /Tool guest_power not found|read-only/);
});

Deno.test("read-only pipeline  refuses writers even when called directly", async () => {
  const clock = systemClock;
  const safety = memorySafety(safetySettings(), clock);
  const { safetyPipeline } = await import("../src/safety/stages.ts");
  const pipeline = safetyPipeline({ ...safety, readOnly: true });
  const sent: string[] = [];
  const api = {
    get: () => Promise.resolve([] as never),
    post: (p: string) => (sent.push(p), Promise.resolve(null as never)),
    put: (p: string) => (sent.push(p), Promise.resolve(null as never)),
    delete: (p: string) => (sent.push(p), Promise.resolve(null as never)),
  };
  const ctx = {
    api,
    inventory: new Inventory(api, clock),
    signal: new AbortController().signal,
    logger: silentLogger,
  };
  for (const tool of catalogue.filter((x) => !x.annotations.readOnlyHint)) {
    assert.equal(pipeline.visible(tool), false);
    await assert.rejects(
      pipeline.run({ tool, args: { vmid: 100, confirmation_token: "pmc1.a.b" }, ctx }),
      /this server is read-only/,
    );
  }
  assert.deepEqual(sent, []);
  assert.equal(
    audited(safety.audit.lines).every((l) => l.decision === "refused" && l.stage === "mode"),
    true,
  );
});

Deno.test("executor  fails closed when a safety stage is missing", async () => {
  const clock = systemClock;
  await using s = await startMutationStack();
  const tool = catalogue.find((x) => x.name === "guest_power")!;
  const pipeline = new Pipeline([planStage()]);
  const ctx = {
    api: s.recorder,
    inventory: new Inventory(s.recorder, clock),
    signal: new AbortController().signal,
    logger: silentLogger,
  };
  await assert.rejects(
    pipeline.run({ tool, args: { vmid: 100, action: "shutdown", wait: true }, ctx }),
    /did not pass the safety checks \(audit, scope, dry-run, rate-limit, confirmation\); nothing was sent/,
  );
  await assert.rejects(tool.handler({ vmid: 100 }, ctx), /runs only through the safety pipeline/);
  assert.equal(s.writes().length, 0);
});

Deno.test("plan stage  refuses a plan the official API schema rejects; nothing is sent", async () => {
  const clock = systemClock;
  await using s = await startMutationStack();
  const safety = memorySafety(safetySettings(), clock);
  const { safetyPipeline } = await import("../src/safety/stages.ts");
  const pipeline = safetyPipeline({ ...safety, readOnly: false });
  const power = catalogue.find((x) => x.name === "guest_power")!;
  // The real plan with one parameter pveproxy would reject ("timeout" has a minimum of 0).
  const tool = {
    ...power,
    plan: async (
      args: Record<string, unknown>,
      ctx: Parameters<NonNullable<typeof power.plan>>[1],
    ) => {
      const change = await power.plan!(args, ctx);
      return {
        ...change,
        requests: change.requests.map((r) => ({ ...r, params: { ...r.params, timeout: -4 } })),
      };
    },
  };
  const ctx = {
    api: s.recorder,
    inventory: new Inventory(s.recorder, clock),
    signal: new AbortController().signal,
    logger: silentLogger,
  };
  await assert.rejects(
    pipeline.run({ tool, args: { vmid: 100, action: "shutdown" }, ctx }),
    /timeout: value must have a minimum value of 0/,
  );
  assert.equal(s.writes().length, 0);
  assert.equal(s.sim.state.guests.get(100)!.status, "running");
  const last = audited(safety.audit.lines).at(-1);
  assert.equal(last.decision, "refused");
});

Deno.test("scope  limits which guests change and which VMIDs new guests get", async (t) => {
  await using s = await startMutationStack({
    config: {
      allowed_vmids: ["100-110", "9000", "500-599"],
      denied_vmids: ["104"],
      denied_nodes: ["pve3"],
      denied_tags: ["db"],
      protected_tags: [],
    },
  });
  await t.step("out-of-scope guests are refused before anything is planned or sent", async () => {
    for (
      const [args, why] of [
        [{ vmid: 104, action: "shutdown" }, /VMID 104 is in denied_vmids \(104\)/],
        [{ vmid: 201, action: "shutdown" }, /node pve3 is in denied_nodes/],
        [
          { vmid: 200, action: "shutdown" },
          /VMID 200 is not in allowed_vmids \(100-110, 9000, 500-599\)/,
        ],
        [{ vmid: 103, action: "shutdown" }, /tag db is in denied_tags/],
      ] as const
    ) {
      const r = await s.call("guest_power", args);
      assert.equal(r.isError, true);
      assert.match(text(r), /^Refused: .* is outside this server's scope: /);
      assert.match(text(r), why);
    }
    const mig = await s.call("guest_migrate", { vmid: 100, target_node: "pve3" });
    assert.match(
      text(mig),
      /^Refused: node pve3 is outside this server's scope: node pve3 is in denied_nodes/,
    );
    assert.equal(s.writes().length, 0);
  });
  await t.step("new guests get a free VMID inside the allowed ranges", async () => {
    const r = await s.call("vm_create", { name: "scoped", node: "pve1", disk_gib: 1 });
    assert.ok(!r.isError, text(r));
    assert.equal(r.structuredContent?.vmid, 108);
    const next = await s.call("vm_create", {
      name: "scoped2",
      node: "pve1",
      disk_gib: 1,
      dry_run: true,
    });
    assert.equal(next.structuredContent?.vmid, 109);
    const bad = await s.call("vm_create", { name: "scoped", vmid: 300, dry_run: true });
    assert.match(
      text(bad),
      /^Refused: new qemu 300 on pve\d is outside this server's scope: VMID 300 is not in allowed_vmids/,
    );
    for (const id of [109, 110]) {
      const made = await s.call("vm_create", { name: `fill${id}`, node: "pve1", disk_gib: 1 });
      assert.equal(made.structuredContent?.vmid, id, text(made));
    }
    const after = await s.call("vm_create", {
      name: "later",
      node: "pve1",
      disk_gib: 1,
      dry_run: true,
    });
    assert.equal(after.structuredContent?.vmid, 500, "9000 is taken, so the 500-599 range is next");
    const denied = await s.call("vm_create", { name: "x", node: "pve3", dry_run: true });
    assert.match(text(denied), /node pve3 is in denied_nodes/);
  });
  await t.step("next_vmid answers within the allowed ranges and flags VMIDs outside", async () => {
    const next = await s.call("next_vmid", {});
    assert.deepEqual(next.structuredContent, { vmid: 500, free: true, in_scope: true });
    const outside = await s.call("next_vmid", { vmid: 300 });
    assert.deepEqual(outside.structuredContent, { vmid: 300, free: true, in_scope: false });
    assert.match(text(outside), /outside the VMIDs this server may use/);
    const taken = await s.call("next_vmid", { vmid: 101 });
    assert.deepEqual(taken.structuredContent, { vmid: 101, free: false, in_scope: true });
  });
});

Deno.test("rate limit  refuses bursts with the time to retry", async (t) => {
  const clock = new ManualClock(Date.now());
  await using s = await startMutationStack({
    clock,
    config: { max_mutations_per_minute: 2, max_creations: 1, creation_window: 600 },
  });
  await t.step("changes per minute", async () => {
    assert.ok(!(await s.call("guest_power", { vmid: 100, action: "shutdown" })).isError);
    clock.advance(20_000);
    assert.ok(!(await s.call("guest_power", { vmid: 100, action: "start" })).isError);
    const writes = s.writes().length;
    const r = await s.call("guest_power", { vmid: 100, action: "reboot" });
    assert.equal(r.isError, true);
    assert.match(
      text(r),
      /^Refused by the rate limit: 2 changes were made in the last minute \(max_mutations_per_minute\)\. Nothing was changed; retry in 40 s/,
    );
    const stop = await s.call("guest_power", { vmid: 100, action: "stop" });
    assert.match(text(stop), /rate limit/, "refused before a confirmation is asked");
    assert.equal(s.writes().length, writes);
    const dry = await s.call("guest_power", { vmid: 100, action: "reboot", dry_run: true });
    assert.equal(dry.structuredContent?.status, "dry_run", "dry runs are not limited");
    clock.advance(40_000);
    assert.ok(!(await s.call("guest_power", { vmid: 100, action: "reboot" })).isError);
  });
  await t.step("creations per window", async () => {
    clock.advance(120_000);
    assert.ok(!(await s.call("vm_create", { name: "one", node: "pve1", disk_gib: 1 })).isError);
    clock.advance(60_000);
    const r = await s.call("vm_create", { name: "two", node: "pve1", disk_gib: 1 });
    assert.equal(r.isError, true);
    assert.match(
      text(r),
      /1 guests or volumes were created in the last 10 min and the limit is 1 .*unusual creation pattern.*retry in 540 s/,
    );
    assert.equal([...s.sim.state.guests.values()].filter((g) => g.name === "two").length, 0);
  });
});

Deno.test("audit log  records every decision with secrets redacted; the chain verifies", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/audit.jsonl`;
  try {
    {
      await using s = await startMutationStack({ auditPath: path });
      await s.call("guest_power", { vmid: 100, action: "shutdown" });
      await s.call("guest_power", { vmid: 100, action: "start", dry_run: true });
      const plan = await s.call("guest_delete", { vmid: 105 });
      await s.call("guest_delete", {
        vmid: 105,
        confirmation_token: plan.structuredContent?.confirmation_token,
      });
      await s.call("guest_delete", { vmid: 106, confirmation_token: "pmc1.bogus.token" });
      await s.call("ct_create", {
        hostname: "secretive",
        ostemplate: "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
        node: "pve1",
        password: "Sup3r-Secret-PW",
        ssh_public_keys: "ssh-ed25519 AAAAKEYMATERIAL",
      });
      s.sim.state.storages.get("nfs-backup")!.baseUsed =
        s.sim.state.storages.get("nfs-backup")!.total;
      await s.call("backup_run", { vmid: 104, storage: "nfs-backup" });
    }
    const text = await Deno.readTextFile(path);
    assert.ok(!text.includes("Sup3r-Secret-PW"));
    assert.ok(!text.includes("AAAAKEYMATERIAL"));
    assert.ok(!text.includes("pmc1.bogus.token"));
    const lines = audited(text.trimEnd().split("\n"));
    const decisions = lines.map((l) => `${l.tool}:${l.event}:${l.decision}`);
    assert.deepEqual(decisions, [
      "guest_power:execute:allowed",
      "guest_power:result:allowed",
      "guest_power:decision:dry-run",
      "guest_delete:decision:confirmation-required",
      "guest_delete:execute:confirmed",
      "guest_delete:result:confirmed",
      "guest_delete:decision:refused",
      "ct_create:execute:allowed",
      "ct_create:result:allowed",
      "backup_run:execute:allowed",
      "backup_run:result:failed",
    ]);
    const del = lines[5];
    assert.deepEqual(del.targets, [{ vmid: 105, node: "pve2", type: "qemu", name: "win-test" }]);
    assert.deepEqual(del.requests, [{
      method: "DELETE",
      path: "/nodes/pve2/qemu/105",
      params: {},
    }]);
    assert.match(del.upids[0], /^UPID:pve2:.*:qmdestroy:105:/);
    assert.equal(del.outcome, "done");
    assert.equal(lines[6].stage, "confirmation");
    assert.equal(lines[7].args.password, "[redacted]");
    assert.equal(lines[10].outcome, "failed");
    assert.match(lines[10].error, /ended with "job errors"/);
    assert.ok(lines.every((l) => typeof l.time === "string" && /^[0-9a-f]{64}$/.test(l.mac)));
    assert.deepEqual(lines.map((l) => l.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.equal(await main(["audit", "verify", path]), 0);
    const tampered = text.replace('"decision":"refused"', '"decision":"allowed"');
    await Deno.writeTextFile(path, tampered);
    assert.equal(await main(["audit", "verify", path]), 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("long tasks  send progress in order, honour cancellation and time out", async (t) => {
  // Wall time, plus jumps: tasks run in real time while waited for, and end when told to.
  let shift = 0;
  const simClock = { now: () => Date.now() + shift };
  await using s = await startMutationStack({
    simulator: { taskDurationMs: 400, clock: simClock },
    tasks: { pollMs: 20 },
    config: { protected_tags: [] },
  });

  await t.step(
    "progress notifications while waiting, in order, with the latest log line",
    async () => {
      const seen: { progress: number; message?: string }[] = [];
      const r = await s.client.callTool(
        { name: "guest_power", arguments: { vmid: 100, action: "shutdown" } },
        CallToolResultSchema,
        { onprogress: (p) => seen.push(p) },
      ) as CallResult;
      assert.ok(!r.isError, text(r));
      assert.equal(r.structuredContent?.status, "done");
      assert.ok(seen.length >= 3, `got ${seen.length} notifications`);
      assert.deepEqual(seen.map((p) => p.progress), seen.map((_, i) => i + 1));
      assert.match(seen.at(-1)!.message!, /^qmshutdown 100 running: requesting shutdown of VM 100/);
    },
  );

  await t.step("cancelling stops waiting; backup_run also stops the Proxmox task", async () => {
    const ac = new AbortController();
    const call = s.client.callTool(
      { name: "backup_run", arguments: { vmid: 106, storage: "nfs-backup" } },
      CallToolResultSchema,
      { onprogress: () => ac.abort(), signal: ac.signal },
    );
    await assert.rejects(call, /abort/i);
    // The server stops the task, then records the cancelled outcome.
    const last = await s.audited((r) => r.tool === "backup_run" && r.event === "result");
    assert.equal(last.outcome, "cancelled");
    assert.match(String(last.error), /stopped waiting and stopped task/);
    const task = [...s.sim.state.tasks.values()].find((x) =>
      x.type === "vzdump" && x.id === "106"
    )!;
    assert.equal(task.exitstatus, "interrupted by signal");
    assert.ok(
      s.writes().some((w) =>
        w.method === "DELETE" && decodeURIComponent(w.path).includes(task.upid)
      ),
      "the task was stopped",
    );
  });

  await t.step("cancelling a power action stops waiting but leaves the task running", async () => {
    const writes = s.writes().length;
    const ac = new AbortController();
    const call = s.client.callTool(
      { name: "guest_power", arguments: { vmid: 100, action: "start" } },
      CallToolResultSchema,
      { onprogress: () => ac.abort(), signal: ac.signal },
    );
    await assert.rejects(call, /abort/i);
    const last = await s.audited((r) => r.tool === "guest_power" && r.outcome === "cancelled");
    assert.match(String(last.error), /stopped waiting; task .* is still running/);
    const task = [...s.sim.state.tasks.values()].findLast((x) => x.type === "qmstart")!;
    assert.equal(task.status, "running");
    assert.ok(
      !s.writes().slice(writes).some((w) => w.method === "DELETE"),
      "the task was not stopped",
    );
    shift += 1000; // past the task's end
    const status = await s.call("task_status", { upid: task.upid });
    assert.equal(status.structuredContent?.exitstatus, "OK", "not stopped by the cancellation");
  });
});

Deno.test("long tasks  a bounded wait answers 'still running' with how to follow it", async () => {
  await using s = await startMutationStack({
    simulator: { taskDurationMs: 5_000 },
    tasks: { pollMs: 10, timeoutMs: 60 },
  });
  const r = await s.call("backup_run", { vmid: 106, storage: "nfs-backup" });
  assert.ok(!r.isError, text(r));
  assert.equal(r.structuredContent?.status, "running");
  assert.match(text(r), /^Still running after \d+ s: back up qemu 106/);
  assert.match(text(r), /follow it with task_status or task_log/);
  const upid = String(r.structuredContent?.upid);
  assert.equal(s.sim.state.tasks.get(upid)!.status, "running");
});

Deno.test("logging  operations go to MCP logging notifications once the client set a level", async () => {
  await using s = await startMutationStack();
  const got: { level: string; data: unknown }[] = [];
  s.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    got.push(n.params as { level: string; data: unknown });
  });
  await s.call("guest_power", { vmid: 100, action: "shutdown" });
  // A round trip after the calls: notifications sent before it have arrived (one ordered stream).
  await s.client.ping();
  assert.equal(got.length, 0, "nothing before logging/setLevel");
  await s.client.setLoggingLevel("info");
  await s.call("guest_power", { vmid: 100, action: "start" });
  await s.call("guest_delete", { vmid: 100 });
  await s.client.ping();
  const messages = got.map((g) => (g.data as { message: string }).message);
  assert.ok(messages.includes("guest_power: allowed"), messages.join(" | "));
  const refused = got.find((g) =>
    (g.data as { message: string }).message === "guest_delete: refused"
  )!;
  assert.equal(refused.level, "warning");
  assert.match(JSON.stringify(refused.data), /is running: stop it first/);
});
