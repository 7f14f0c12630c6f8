import assert from "node:assert/strict";
import {
  expectConfirmed,
  expectOk,
  expectRefused,
  startMutationStack,
  text,
} from "./helpers/mutations.ts";

const ADMIN = { admin_sources: ["192.168.10.50"], max_mutations_per_minute: 0 };

Deno.test("firewall_rule adds, moves, updates and deletes rules with before/after lists", async (t) => {
  await using s = await startMutationStack({ config: ADMIN });
  const cluster = () => s.sim.state.firewall.cluster.rules;

  await t.step(
    "guest level: add at the top without confirmation; plan lists before/after",
    async () => {
      const r = await expectOk(s, "firewall_rule", {
        level: "guest",
        vmid: 100,
        action: "add",
        rule: { action: "ACCEPT", proto: "tcp", dport: "9100", source: "192.168.10.0/24" },
      });
      assert.equal(r.status, "done");
      assert.deepEqual(r.rules_before, ["(no rules)"]);
      assert.match((r.rules_after as string[])[0], /^0: in ACCEPT tcp dport 9100/);
      const rules = s.sim.state.firewall.guests.get(100)!.rules;
      assert.equal(rules[0].dport, "9100");
      assert.equal(rules[0].enable, 1);
    },
  );

  await t.step("cluster level: add needs a confirmation and shows both lists", async () => {
    const { plan, done } = await expectConfirmed(s, "firewall_rule", {
      level: "cluster",
      action: "add",
      pos: 1,
      rule: { action: "ACCEPT", macro: "HTTPS", source: "dc/admin_net", comment: "UI proxy" },
    });
    assert.deepEqual(plan.rules_before, [
      "0: in ACCEPT SSH from +management # SSH from the management network",
      "1: in ACCEPT icmp # Ping",
      "2: in DROP from +blocklist # Known bad hosts",
    ]);
    assert.match((plan.rules_after as string[])[1], /^1: in ACCEPT HTTPS from dc\/admin_net/);
    assert.equal(done.status, "done");
    assert.equal(cluster()[1].macro, "HTTPS");
  });

  await t.step("move and update at cluster level", async () => {
    await expectConfirmed(s, "firewall_rule", {
      level: "cluster",
      action: "move",
      pos: 1,
      moveto: 4,
    });
    assert.equal(cluster()[3].macro, "HTTPS");
    await expectConfirmed(s, "firewall_rule", {
      level: "cluster",
      action: "update",
      pos: 3,
      rule: { comment: "Reverse proxy" },
    });
    assert.equal(cluster()[3].comment, "Reverse proxy");
  });

  await t.step("delete is destructive: confirmation with what is lost", async () => {
    const { plan } = await expectConfirmed(s, "firewall_rule", {
      level: "cluster",
      action: "delete",
      pos: 3,
    });
    assert.match(JSON.stringify(plan.plan), /firewall rule 3: in ACCEPT HTTPS/);
    assert.ok(!cluster().some((r) => r.macro === "HTTPS"));
  });

  await t.step("a wrong position is refused with the valid range", async () => {
    await expectRefused(s, "firewall_rule", { level: "cluster", action: "delete", pos: 9 }, /0-2/);
  });
});

Deno.test("firewall preflight refuses changes that cut the management path", async (t) => {
  await using s = await startMutationStack({ config: ADMIN });

  await t.step("a DROP rule for 8006 above the management rules is refused", async () => {
    const msg = await expectRefused(s, "firewall_rule", {
      level: "cluster",
      action: "add",
      rule: { action: "DROP", proto: "tcp", dport: "8006" },
    }, /cut the management path/);
    assert.match(msg, /TCP 8006 from 192\.168\.10\.50 to pve1 \(192\.168\.10\.11\)/);
  });

  await t.step("a node-level REJECT of SSH from everywhere is refused", async () => {
    await expectRefused(s, "firewall_rule", {
      level: "node",
      node: "pve2",
      action: "add",
      rule: { action: "REJECT", macro: "SSH" },
    }, /TCP 22 from 192\.168\.10\.50 to pve2/);
  });

  await t.step("emptying the management IP set is refused", async () => {
    await expectRefused(s, "firewall_set", {
      level: "cluster",
      kind: "ipset",
      action: "remove",
      name: "management",
      cidr: "192.168.10.0/24",
    }, /cut the management path/);
  });

  await t.step("a DROP for 8006 from another network is fine", async () => {
    await expectConfirmed(s, "firewall_rule", {
      level: "cluster",
      action: "add",
      rule: { action: "DROP", proto: "tcp", dport: "8006", source: "10.99.0.0/16" },
    });
  });

  await t.step("accept_lockout_risk turns the refusal into a confirmation", async () => {
    const first = await s.call("firewall_rule", {
      level: "cluster",
      action: "add",
      rule: { action: "DROP", proto: "tcp", dport: "8006" },
      accept_lockout_risk: true,
    });
    assert.equal(first.structuredContent?.status, "confirmation_required", text(first));
    assert.match(text(first), /lock this server/);
  });

  await t.step(
    "enabling a node's firewall when the server is outside the management set",
    async () => {
      await using s2 = await startMutationStack({
        config: { admin_sources: ["10.20.0.5"], max_mutations_per_minute: 0 },
      });
      s2.sim.state.firewall.cluster.options.enable = 0;
      await expectRefused(
        s2,
        "firewall_options",
        { level: "cluster", enable: true },
        /TCP 8006 from 10\.20\.0\.5/,
      );
    },
  );

  await t.step(
    "guest firewall options need no confirmation; node policies are refused",
    async () => {
      await expectOk(s, "firewall_options", {
        level: "guest",
        vmid: 100,
        enable: true,
        policy_in: "DROP",
      });
      assert.equal(s.sim.state.firewall.guests.get(100)!.options.policy_in, "DROP");
      await expectRefused(
        s,
        "firewall_options",
        { level: "node", node: "pve1", policy_in: "DROP" },
        /no policies/,
      );
    },
  );
});

Deno.test("firewall_set manages aliases and IP sets", async (t) => {
  await using s = await startMutationStack({ config: ADMIN });
  const cluster = s.sim.state.firewall.cluster;
  await t.step("alias add and update", async () => {
    await expectOk(s, "firewall_set", {
      level: "cluster",
      kind: "alias",
      action: "add",
      name: "jump",
      cidr: "192.168.10.9",
    });
    await expectOk(s, "firewall_set", {
      level: "cluster",
      kind: "alias",
      action: "update",
      name: "jump",
      cidr: "192.168.10.10",
    });
    assert.equal(cluster.aliases.get("jump")?.cidr, "192.168.10.10");
  });
  await t.step("deleting an alias a rule uses is refused", async () => {
    await expectRefused(s, "firewall_set", {
      level: "cluster",
      kind: "alias",
      action: "delete",
      name: "admin_net",
    }, /used by rules/);
  });
  await t.step("ipset create, add, remove (confirmed), delete (confirmed)", async () => {
    await expectOk(s, "firewall_set", {
      level: "cluster",
      kind: "ipset",
      action: "create",
      name: "office",
    });
    await expectOk(s, "firewall_set", {
      level: "cluster",
      kind: "ipset",
      action: "add",
      name: "office",
      cidr: "10.1.0.0/16",
    });
    assert.deepEqual(cluster.ipsets.get("office")?.entries.map((e) => e.cidr), ["10.1.0.0/16"]);
    await expectConfirmed(s, "firewall_set", {
      level: "cluster",
      kind: "ipset",
      action: "remove",
      name: "office",
      cidr: "10.1.0.0/16",
    });
    await expectConfirmed(s, "firewall_set", {
      level: "cluster",
      kind: "ipset",
      action: "delete",
      name: "office",
    });
    assert.ok(!cluster.ipsets.has("office"));
  });
});

Deno.test("firewall changes are refused in read-only and disable_destructive modes", async (t) => {
  await t.step("read-only", async () => {
    await using s = await startMutationStack({ readOnly: true, config: ADMIN });
    await expectRefused(s, "firewall_rule", {
      level: "guest",
      vmid: 101,
      action: "add",
      rule: { action: "ACCEPT", macro: "SSH" },
    }, /read-only|not found|Unknown tool/i);
  });
  await t.step("disable_destructive refuses a delete but allows an add", async () => {
    await using s = await startMutationStack({ disableDestructive: true, config: ADMIN });
    await expectRefused(
      s,
      "firewall_rule",
      { level: "guest", vmid: 101, action: "delete", pos: 0 },
      /destructive/,
    );
    await expectOk(s, "firewall_rule", {
      level: "guest",
      vmid: 100,
      action: "add",
      rule: { action: "ACCEPT", macro: "SSH" },
    });
  });
});
