import assert from "node:assert/strict";
import {
  expectConfirmed,
  expectOk,
  expectRefused,
  startMutationStack,
} from "./helpers/mutations.ts";

const CONFIG = { max_mutations_per_minute: 0 };

Deno.test("network_change stages interfaces, then applies them in a separate confirmed step", async (t) => {
  await using s = await startMutationStack({ config: CONFIG });
  const pve1 = s.sim.state.nodes.get("pve1")!;

  await t.step("create a VLAN-aware bridge on a VLAN of eno2: staged, not live", async () => {
    const r = await expectOk(s, "network_change", {
      node: "pve1",
      action: "create",
      iface: "vmbr2",
      type: "bridge",
      ports: ["eno2.30"],
      cidr: "10.30.0.2/24",
      vlan_aware: true,
    });
    assert.match(String(r.summary), /not live until network_change action apply/);
    assert.ok(pve1.networkPending?.some((i) => i.iface === "vmbr2"));
    assert.ok(!pve1.network.some((i) => i.iface === "vmbr2"));
  });

  await t.step("create a VLAN interface with id and parent", async () => {
    await expectOk(s, "network_change", {
      node: "pve1",
      action: "create",
      iface: "vlan40",
      type: "vlan",
      vlan_id: 40,
      vlan_device: "vmbr1",
    });
    const v = pve1.networkPending!.find((i) => i.iface === "vlan40")!;
    assert.equal(v["vlan-id"], 40);
  });

  await t.step("apply needs a confirmation, then the staged config is live", async () => {
    const { plan } = await expectConfirmed(s, "network_change", { node: "pve1", action: "apply" });
    assert.match(JSON.stringify(plan), /vmbr2 \(bridge\)/);
    assert.ok(pve1.network.some((i) => i.iface === "vmbr2" && i.active === 1));
    assert.equal(pve1.networkPending, undefined);
  });

  await t.step("update and revert", async () => {
    await expectOk(s, "network_change", {
      node: "pve1",
      action: "update",
      iface: "vmbr2",
      comments: "storage",
    });
    assert.ok(pve1.networkPending);
    await expectConfirmed(s, "network_change", { node: "pve1", action: "revert" });
    assert.equal(pve1.networkPending, undefined);
  });
});

Deno.test("network_change preflight keeps the node reachable and the config valid", async (t) => {
  await using s = await startMutationStack({ config: CONFIG });
  await t.step("removing the management interface is refused", async () => {
    await expectRefused(
      s,
      "network_change",
      { node: "pve2", action: "delete", iface: "vmbr0" },
      /cluster address 192\.168\.10\.12/,
    );
  });
  await t.step("removing the management bridge's port is refused", async () => {
    await expectRefused(s, "network_change", {
      node: "pve2",
      action: "update",
      iface: "vmbr0",
      ports: ["eno2"],
    }, /removing port eno1/);
    await expectRefused(
      s,
      "network_change",
      { node: "pve2", action: "delete", iface: "eno1" },
      /cut the node off/,
    );
  });
  await t.step("re-addressing the management interface is refused", async () => {
    await expectRefused(s, "network_change", {
      node: "pve2",
      action: "update",
      iface: "vmbr0",
      cidr: "192.168.10.99/24",
    }, /re-addressing/);
  });
  await t.step("ports must exist and be free", async () => {
    await expectRefused(s, "network_change", {
      node: "pve2",
      action: "create",
      iface: "vmbr5",
      type: "bridge",
      ports: ["eno7"],
    }, /Port eno7 does not exist/);
    await expectRefused(s, "network_change", {
      node: "pve2",
      action: "create",
      iface: "vmbr5",
      type: "bridge",
      ports: ["eno1"],
    }, /already used by vmbr0/);
  });
  await t.step("VLAN 1-4094 and CIDR/gateway validity", async () => {
    await expectRefused(s, "network_change", {
      node: "pve2",
      action: "create",
      iface: "vlan9",
      type: "vlan",
      vlan_id: 4095,
      vlan_device: "eno2",
    }, /vlan_id must be 1-4094/);
    await expectRefused(s, "network_change", {
      node: "pve2",
      action: "create",
      iface: "vmbr5",
      type: "bridge",
      cidr: "10.5.0.300/24",
    }, /not a valid IPv4/);
    await expectRefused(s, "network_change", {
      node: "pve2",
      action: "create",
      iface: "vmbr5",
      type: "bridge",
      cidr: "10.5.0.2/24",
      gateway: "10.6.0.1",
    }, /not in 10\.5\.0\.0\/24/);
    await expectRefused(s, "network_change", {
      node: "pve2",
      action: "create",
      iface: "vmbr5",
      type: "bridge",
      cidr: "10.5.0.2/24",
      gateway: "10.5.0.1",
    }, /already has the default gateway/);
  });
  await t.step("apply and revert are refused in read-only mode", async () => {
    await using ro = await startMutationStack({ readOnly: true });
    await expectRefused(
      ro,
      "network_change",
      { node: "pve1", action: "apply" },
      /read-only|Unknown tool|not found/i,
    );
  });
  await t.step("disable_destructive refuses revert but allows staging", async () => {
    await using nd = await startMutationStack({ disableDestructive: true, config: CONFIG });
    await expectOk(nd, "network_change", {
      node: "pve1",
      action: "create",
      iface: "vmbr7",
      type: "bridge",
    });
    await expectRefused(nd, "network_change", { node: "pve1", action: "revert" }, /destructive/);
  });
});
