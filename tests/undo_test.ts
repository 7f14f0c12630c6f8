import assert from "node:assert/strict";
import { type MutationStack, startMutationStack, text } from "./helpers/mutations.ts";

/** Undo points of `vmid`, oldest first, as snapshot_list shows them. */
async function undoPoints(s: MutationStack, vmid: number): Promise<string[]> {
  const r = await s.call("snapshot_list", { vmid });
  assert.ok(!r.isError, text(r));
  const snaps = (r.structuredContent as { snapshots: { name: string }[] }).snapshots;
  return snaps.map((x) => x.name).filter((n) => n.startsWith("mcp-undo-"));
}

/** Calls a tool that needs a confirmation: first call for the token, second with it. */
async function confirmed(s: MutationStack, name: string, args: Record<string, unknown>) {
  const first = await s.call(name, args);
  assert.equal(first.structuredContent?.status, "confirmation_required", text(first));
  return {
    plan: first,
    result: await s.call(name, {
      ...args,
      confirmation_token: first.structuredContent!.confirmation_token,
    }),
  };
}

Deno.test("undo points  created, listed, rolled back with guest_undo, pruned", async (t) => {
  await using s = await startMutationStack({ config: { undo_keep: 3 } });

  await t.step(
    "a guest with a protected tag gets an undo point before a config update",
    async () => {
      const before = s.sim.state.guests.get(101)!.config.memory;
      const { plan, result } = await confirmed(s, "guest_update", { vmid: 101, memory_mib: 6144 });
      const view = plan.structuredContent!.plan as { undo?: string };
      assert.match(view.undo ?? "", /^undo point: snapshot mcp-undo-\d{8}-\d{6} is taken first/);
      assert.match(text(plan), /Undo point: snapshot mcp-undo-/);
      assert.ok(!result.isError, text(result));
      const name = result.structuredContent!.undo_point as string;
      assert.match(name, /^mcp-undo-\d{8}-\d{6}(-\d+)?$/);
      assert.match(text(result), new RegExp(`Undo point: snapshot ${name} was taken first`));
      assert.deepEqual(await undoPoints(s, 101), [name]);
      const g = s.sim.state.guests.get(101)!;
      assert.equal(String(g.snapshots.find((x) => x.name === name)!.config.memory), String(before));
      assert.equal(String(g.pending.memory ?? g.config.memory), "6144");
    },
  );

  await t.step("guests without protected tags get none by default", async () => {
    const r = await s.call("guest_update", { vmid: 100, description: "no undo here" });
    assert.ok(!r.isError, text(r));
    assert.equal(r.structuredContent?.undo_point, undefined);
    assert.deepEqual(await undoPoints(s, 100), []);
  });

  await t.step("older undo points beyond undo_keep are removed", async () => {
    for (const mib of [7168, 8192, 9216]) {
      const { result } = await confirmed(s, "guest_update", { vmid: 101, memory_mib: mib });
      assert.ok(!result.isError, text(result));
    }
    const points = await undoPoints(s, 101);
    assert.equal(points.length, 3);
    const last = await s.call("snapshot_list", { vmid: 101 });
    assert.ok(!last.isError);
  });

  await t.step("the plan names the undo points it removes", async () => {
    const oldest = (await undoPoints(s, 101))[0];
    const { plan, result } = await confirmed(s, "guest_update", {
      vmid: 101,
      description: "one more",
    });
    assert.match(text(plan), new RegExp(`older undo points are removed \\(${oldest}\\)`));
    assert.deepEqual(result.structuredContent?.undo_removed, [oldest]);
    assert.ok(!(await undoPoints(s, 101)).includes(oldest));
  });

  await t.step("guest_undo asks, then rolls back to the latest undo point", async () => {
    const latest = (await undoPoints(s, 101)).at(-1)!;
    const memoryThen = s.sim.state.guests.get(101)!.snapshots.find((x) => x.name === latest)!
      .config.memory;
    const { plan, result } = await confirmed(s, "guest_undo", { vmid: 101 });
    assert.match(text(plan), new RegExp(`roll back qemu 101 .* to undo point ${latest}`));
    assert.ok(!result.isError, text(result));
    assert.equal(result.structuredContent?.name, latest);
    assert.equal(String(s.sim.state.guests.get(101)!.config.memory), String(memoryThen));
    const none = await s.call("guest_undo", { vmid: 100 });
    assert.equal(none.isError, true);
    assert.match(text(none), /Guest 100 has no undo points/);
  });
});

Deno.test("undo points  skipped with the reason where snapshots are impossible", async (t) => {
  await using s = await startMutationStack({ config: { undo_snapshots: true } });

  await t.step("a template", async () => {
    const r = await s.call("guest_update", { vmid: 9000, description: "golden image" });
    assert.ok(!r.isError, text(r));
    assert.match(String(r.structuredContent?.undo_skipped), /it is a template/);
    assert.match(text(r), /No undo point: it is a template/);
  });

  await t.step("a disk on storage without snapshots", async () => {
    const g = s.sim.state.guests.get(105)!;
    const key = Object.keys(g.config).find((k) => /^(scsi|virtio|sata)\d+$/.test(k))!;
    g.config[key] = g.config[key].replace(/^[^,]+/, `local:105/vm-105-disk-0.raw`);
    const dry = await s.call("guest_update", { vmid: 105, description: "x", dry_run: true });
    const view = dry.structuredContent!.plan as { undo?: string };
    assert.match(view.undo ?? "", /storage local \(dir, not qcow2\), which cannot take snapshots/);
    const r = await s.call("guest_update", { vmid: 105, description: "x" });
    assert.ok(!r.isError, text(r));
    assert.equal(r.structuredContent?.undo_point, undefined);
  });

  await t.step("every guest gets one with undo_snapshots: true", async () => {
    const r = await s.call("guest_update", { vmid: 100, description: "now with undo" });
    assert.ok(!r.isError, text(r));
    assert.match(String(r.structuredContent?.undo_point), /^mcp-undo-/);
  });

  await t.step("a disk resize takes one too", async () => {
    const r = await s.call("disk_resize", { vmid: 100, disk: "scsi0", size_gib: 64 });
    assert.ok(!r.isError, text(r));
    assert.match(String(r.structuredContent?.undo_point), /^mcp-undo-/);
  });
});
