import assert from "node:assert/strict";
import { startStack, toolCalls } from "./helpers/stack.ts";

type Item = Record<string, unknown>;

Deno.test("ha_status, firewall_rules, access_list and pool_list answer from the simulator", async (t) => {
  await using stack = await startStack();
  const { client, sim } = stack;
  const { call, fail } = toolCalls(client);

  await t.step("ha_status: the resource in error, PVE 9 rules and the legacy group", async () => {
    const { s, text } = await call("ha_status");
    assert.equal(s.quorate, true);
    assert.equal(s.placement, "rules");
    const resources = s.resources as Item[];
    assert.deepEqual(
      resources.map((r) => r.sid).sort(),
      [...sim.state.ha.resources.keys()].sort(),
    );
    const broken = resources.find((r) => r.state === "error")!;
    assert.equal(broken.sid, "vm:102");
    assert.deepEqual(broken.rules, ["web-apart"]);
    assert.ok((s.problems as string[]).some((p) => /vm:102 .* error/.test(p)));
    assert.deepEqual((s.rules as Item[]).map((r) => r.rule).sort(), [
      "db-on-big-nodes",
      "web-apart",
    ]);
    assert.equal((s.lrms as Item[]).length, 3);
    assert.match(text, /web-apart \(resource-affinity\): vm:101,vm:102 apart/);
  });

  await t.step("ha_status on PVE 8 (no /cluster/ha/rules): groups carry placement", async () => {
    sim.faults.failNext(1, { status: 501, pathPrefix: "/cluster/ha/rules" });
    const { s } = await call("ha_status");
    assert.equal(s.placement, "groups");
    assert.equal(s.rules, undefined);
    assert.deepEqual((s.groups as Item[]).map((g) => g.group), ["prefer-pve2"]);
  });

  await t.step("ha_status without HA says so", async () => {
    const saved = sim.state.ha;
    sim.state.ha = { resources: new Map(), rules: new Map(), groups: new Map() };
    const { s, text } = await call("ha_status");
    assert.equal(s.configured, false);
    assert.match(text, /HA is not configured/);
    sim.state.ha = saved;
  });

  await t.step("firewall_rules at cluster and node level", async () => {
    const dc = await call("firewall_rules");
    assert.equal(dc.s.level, "cluster");
    assert.equal(dc.s.enabled, true);
    assert.equal(dc.s.policy_in, "DROP");
    assert.equal((dc.s.rules as Item[]).length, sim.state.firewall.cluster.rules.length);
    const mgmt = (dc.s.ipsets as Item[]).find((x) => x.ref === "management")!;
    assert.deepEqual(mgmt.entries, ["192.168.10.0/24"]);
    const node = await call("firewall_rules", { node: "pve1" });
    assert.equal(node.s.level, "node");
    assert.deepEqual(node.s.aliases, [{ ref: "dc/admin_net", cidr: "192.168.10.0/24" }]);
  });

  await t.step("firewall_rules effective view of a guest expands its security group", async () => {
    const { s, text } = await call("firewall_rules", { vmid: 101 });
    assert.equal(s.level, "guest");
    assert.deepEqual((s.groups as Item[]).map((g) => g.group), ["webserver"]);
    const eff = s.effective as Item;
    assert.equal(eff.active, true);
    assert.deepEqual((eff.in as Item[]).map((r) => r.macro), ["HTTPS", "HTTP", "SSH"]);
    assert.equal(eff.in_policy, "DROP");
    assert.match(text, /otherwise DROP/);
    const off = await call("firewall_rules", { vmid: 100 });
    assert.equal((off.s.effective as Item).active, false);
    assert.ok(
      ((off.s.effective as Item).reasons as string[]).some((r) => /guest firewall is off/.test(r)),
    );
    await fail("firewall_rules", { vmid: 4242 }, /4242/);
    await fail("firewall_rules", { node: "nope" }, /known nodes are pve1, pve2, pve3/);
  });

  await t.step("access_list kinds: users with TFA, groups, roles, ACLs, tokens", async () => {
    const users = await call("access_list");
    const list = users.s.users as Item[];
    assert.deepEqual(list.map((u) => u.userid), [...sim.state.users.keys()].sort());
    assert.deepEqual(list.find((u) => u.userid === "root@pam")!.tfa, ["totp", "recovery"]);
    assert.equal(list.find((u) => u.userid === "contractor@pve")!.enabled, false);
    const groups = await call("access_list", { kind: "groups" });
    assert.deepEqual(
      (groups.s.groups as Item[]).find((g) => g.groupid === "admins")!.members,
      ["ops@pve"],
    );
    const role = await call("access_list", { kind: "roles", role: "PVEVMUser" });
    const privs = (role.s.roles as Item[])[0].privileges as string[];
    assert.deepEqual(privs, [...sim.state.access.roles.get("PVEVMUser")!.privs].sort());
    const acl = await call("access_list", { kind: "acl" });
    assert.equal((acl.s.acl as Item[]).length, sim.state.access.acl.length);
    const tokens = await call("access_list", { kind: "tokens" });
    assert.ok(
      (tokens.s.tokens as Item[]).some((x) => x.tokenid === "ops@pve!automation" && x.privsep),
    );
  });

  await t.step("access_list who_can follows propagation, pools and token separation", async () => {
    const { s } = await call("access_list", {
      kind: "who_can",
      privilege: "VM.PowerMgmt",
      path: "/vms/105",
    });
    const who = (s.who_can as Item).subjects as Item[];
    const ids = who.map((x) => x.subject).sort();
    assert.deepEqual(ids, [
      "dev@pve",
      "ops@pve",
      "ops@pve!automation",
      "root@pam",
      "root@pam!mcp",
    ]);
    assert.equal((s.who_can as Item).pool, "lab");
    assert.ok(!ids.includes("auditor@pve"), "PVEAuditor has no VM.PowerMgmt");
    const outside = await call("access_list", {
      kind: "who_can",
      privilege: "VM.PowerMgmt",
      path: "/vms/101",
    });
    const outsideIds = ((outside.s.who_can as Item).subjects as Item[]).map((x) => x.subject);
    assert.ok(!outsideIds.includes("dev@pve"), "101 is not in the lab pool");
    await fail("access_list", { kind: "who_can", path: "/vms/1" }, /needs privilege and path/);
    await fail(
      "access_list",
      { kind: "who_can", privilege: "VM.Fly", path: "/" },
      /Unknown privilege/,
    );
    await fail("access_list", { kind: "roles", role: "Nope" }, /Unknown role "Nope": roles are/);
    await fail("access_list", { kind: "everything" }, /kind must be one of users, groups/);
  });

  await t.step("pool_list lists members; an unknown pool lists the pools", async () => {
    const { s } = await call("pool_list", { poolid: "prod" });
    const prod = (s.pools as Item[])[0];
    const expected = [...sim.state.guests.values()].filter((g) => g.pool === "prod")
      .map((g) => g.vmid).sort((a, b) => a - b);
    assert.deepEqual((prod.guests as Item[]).map((g) => g.vmid), expected);
    assert.deepEqual(prod.storages, ["nfs-backup"]);
    await fail("pool_list", { poolid: "nope" }, /Unknown pool "nope": pools are lab, prod/);
  });
});
