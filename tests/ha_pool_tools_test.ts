import assert from "node:assert/strict";
import {
  expectConfirmed,
  expectOk,
  expectRefused,
  startMutationStack,
} from "./helpers/mutations.ts";

const CONFIG = { max_mutations_per_minute: 0, protected_tags: [] };

Deno.test("ha_change manages HA resources and PVE 9 rules", async (t) => {
  await using s = await startMutationStack({ config: CONFIG });
  const ha = s.sim.state.ha;
  await t.step("add a guest to HA without confirmation", async () => {
    await expectOk(s, "ha_change", { action: "add", vmid: 104, state: "started" });
    assert.equal(ha.resources.get("vm:104")?.state, "started");
    await expectRefused(s, "ha_change", { action: "add", vmid: 104 }, /already HA-managed/);
  });
  await t.step("stop through HA needs a confirmation", async () => {
    await expectConfirmed(s, "ha_change", { action: "set_state", vmid: 104, state: "stopped" });
    assert.equal(s.sim.state.guests.get(104)!.status, "stopped");
  });
  await t.step("migrate moves it", async () => {
    await expectOk(s, "ha_change", { action: "migrate", vmid: 104, target_node: "pve3" });
    assert.equal(s.sim.state.guests.get(104)!.node, "pve3");
  });
  await t.step("a resource in error state: start refused, disable first", async () => {
    await expectRefused(
      s,
      "ha_change",
      { action: "set_state", vmid: 102, state: "started" },
      /error state: set state disabled first/,
    );
    await expectRefused(
      s,
      "ha_change",
      { action: "migrate", vmid: 102, target_node: "pve3" },
      /error state/,
    );
    await expectConfirmed(s, "ha_change", { action: "set_state", vmid: 102, state: "disabled" });
    assert.equal(ha.resources.get("vm:102")?.status, "disabled");
  });
  await t.step("rules: add (confirmed) needs HA-managed members; remove", async () => {
    await expectRefused(s, "ha_change", {
      action: "rule_add",
      rule: "x",
      rule_type: "node-affinity",
      members: [100],
      nodes: ["pve1"],
    }, /not HA-managed/);
    await expectConfirmed(s, "ha_change", {
      action: "rule_add",
      rule: "mon-pve3",
      rule_type: "node-affinity",
      members: [104],
      nodes: ["pve3:2", "pve2:1"],
    });
    assert.deepEqual(ha.rules.get("mon-pve3")?.nodes, ["pve3:2", "pve2:1"]);
    await expectConfirmed(s, "ha_change", { action: "rule_remove", rule: "mon-pve3" });
    assert.ok(!ha.rules.has("mon-pve3"));
  });
  await t.step("remove from HA is confirmed", async () => {
    await expectConfirmed(s, "ha_change", { action: "remove", vmid: 104 });
    assert.ok(!ha.resources.has("vm:104"));
  });
});

Deno.test("pool_change creates pools, changes members and deletes only empty pools", async (t) => {
  await using s = await startMutationStack({ config: CONFIG });
  const { pools, guests } = s.sim.state;
  await t.step("create and add members", async () => {
    await expectOk(s, "pool_change", { action: "create", pool: "web", comment: "Web tier" });
    assert.equal(pools.get("web")?.comment, "Web tier");
    await expectOk(s, "pool_change", { action: "add", pool: "web", vmids: [100] });
    assert.equal(guests.get(100)!.pool, "web");
  });
  await t.step("a guest of another pool needs allow_move (and a confirmation)", async () => {
    await expectRefused(
      s,
      "pool_change",
      { action: "add", pool: "web", vmids: [101] },
      /allow_move/,
    );
    await expectConfirmed(s, "pool_change", {
      action: "add",
      pool: "web",
      vmids: [101],
      allow_move: true,
    });
    assert.equal(guests.get(101)!.pool, "web");
  });
  await t.step("a non-empty pool is not deleted", async () => {
    await expectRefused(
      s,
      "pool_change",
      { action: "delete", pool: "web" },
      /not empty: guests 100, 101/,
    );
  });
  await t.step("remove members (confirmed), then delete the empty pool (confirmed)", async () => {
    await expectConfirmed(s, "pool_change", { action: "remove", pool: "web", vmids: [100, 101] });
    assert.equal(guests.get(100)!.pool, undefined);
    await expectConfirmed(s, "pool_change", { action: "delete", pool: "web" });
    assert.ok(!pools.has("web"));
  });
  await t.step("read-only refuses", async () => {
    await using ro = await startMutationStack({ readOnly: true });
    await expectRefused(
      ro,
      "pool_change",
      { action: "create", pool: "x" },
      /read-only|Unknown tool|not found/i,
    );
  });
});
