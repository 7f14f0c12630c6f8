import assert from "node:assert/strict";
import type { HttpMethod } from "../src/proxmox/api_schema/schema.ts";
import { ManualClock } from "../src/util/clock.ts";
import { startSimulator } from "../src/simulator/mod.ts";
import { SimApi } from "./helpers/sim_client.ts";
import { returnsOf, shapeProblems } from "./helpers/sim_shape.ts";

Deno.test("simulator administrative reads answer in the shapes the schema declares", async (t) => {
  await using sim = await startSimulator();
  using api = new SimApi(sim);
  const cases: [string, string, Record<string, string | number>?][] = [
    ["/cluster/firewall/rules", "/cluster/firewall/rules"],
    ["/cluster/firewall/rules/0", "/cluster/firewall/rules/{pos}"],
    ["/cluster/firewall/options", "/cluster/firewall/options"],
    ["/cluster/firewall/aliases", "/cluster/firewall/aliases"],
    ["/cluster/firewall/ipset", "/cluster/firewall/ipset"],
    ["/cluster/firewall/ipset/management", "/cluster/firewall/ipset/{name}"],
    ["/cluster/firewall/groups", "/cluster/firewall/groups"],
    ["/cluster/firewall/groups/webserver", "/cluster/firewall/groups/{group}"],
    ["/cluster/firewall/refs", "/cluster/firewall/refs"],
    ["/cluster/firewall/macros", "/cluster/firewall/macros"],
    ["/nodes/pve1/firewall/rules", "/nodes/{node}/firewall/rules"],
    ["/nodes/pve1/firewall/options", "/nodes/{node}/firewall/options"],
    ["/nodes/pve2/firewall/options", "/nodes/{node}/firewall/options"],
    ["/nodes/pve1/qemu/101/firewall/rules", "/nodes/{node}/qemu/{vmid}/firewall/rules"],
    ["/nodes/pve1/qemu/101/firewall/options", "/nodes/{node}/qemu/{vmid}/firewall/options"],
    ["/nodes/pve1/qemu/101/firewall/ipset", "/nodes/{node}/qemu/{vmid}/firewall/ipset"],
    ["/nodes/pve1/qemu/101/firewall/refs", "/nodes/{node}/qemu/{vmid}/firewall/refs"],
    ["/nodes/pve1/lxc/200/firewall/rules", "/nodes/{node}/lxc/{vmid}/firewall/rules"],
    ["/nodes/pve1/network", "/nodes/{node}/network"],
    ["/nodes/pve1/network/vmbr0", "/nodes/{node}/network/{iface}"],
    ["/access/users", "/access/users", { full: 1 }],
    ["/access/users/ops@pve", "/access/users/{userid}"],
    ["/access/users/ops@pve/token", "/access/users/{userid}/token"],
    ["/access/users/ops@pve/token/automation", "/access/users/{userid}/token/{tokenid}"],
    ["/access/groups", "/access/groups"],
    ["/access/groups/admins", "/access/groups/{groupid}"],
    ["/access/roles", "/access/roles"],
    ["/access/roles/PVEAuditor", "/access/roles/{roleid}"],
    ["/access/acl", "/access/acl"],
    ["/cluster/ha/resources", "/cluster/ha/resources"],
    ["/cluster/ha/resources/vm:103", "/cluster/ha/resources/{sid}"],
    ["/cluster/ha/rules", "/cluster/ha/rules"],
    ["/cluster/ha/rules/web-apart", "/cluster/ha/rules/{rule}"],
    ["/cluster/ha/groups", "/cluster/ha/groups"],
    ["/cluster/ha/status/current", "/cluster/ha/status/current"],
    ["/pools/prod", "/pools/{poolid}"],
  ];
  for (const [path, template, params] of cases) {
    await t.step(path, async () => {
      const data = await api.data(path, params ?? {});
      assert.deepEqual(shapeProblems(data, returnsOf(template)), []);
    });
  }
  await t.step("one HA resource is in error state", async () => {
    const status = await api.data<{ sid?: string; state?: string }[]>(
      "/cluster/ha/status/current",
    );
    assert.equal(status.find((s) => s.sid === "vm:102")?.state, "error");
  });
});

async function ok(api: SimApi, method: HttpMethod, path: string, params = {}) {
  const r = await api.call(method, path, params);
  assert.equal(r.status, 200, `${method} ${path}: ${r.status} ${r.text}`);
  return r.body?.data;
}

async function fails(api: SimApi, method: HttpMethod, path: string, params: object, re: RegExp) {
  const r = await api.call(method, path, params as Record<string, string>);
  assert.notEqual(r.status, 200, `${method} ${path} should fail`);
  assert.match(`${r.body?.message ?? ""} ${JSON.stringify(r.body?.errors ?? {})}`, re);
}

Deno.test("simulator firewall writes behave like pve-firewall", async (t) => {
  await using sim = await startSimulator();
  using api = new SimApi(sim);
  await t.step("a new rule goes to the top, can be moved, updated and deleted", async () => {
    await ok(api, "POST", "/cluster/firewall/rules", {
      type: "in",
      action: "ACCEPT",
      proto: "tcp",
      dport: "8006",
      source: "dc/admin_net",
      enable: 1,
    });
    let rules = sim.state.firewall.cluster.rules;
    assert.equal(rules[0].dport, "8006");
    await ok(api, "PUT", "/cluster/firewall/rules/0", { moveto: 3 });
    rules = sim.state.firewall.cluster.rules;
    assert.equal(rules[2].dport, "8006");
    await ok(api, "PUT", "/cluster/firewall/rules/2", { comment: "API", delete: "source" });
    assert.equal(rules[2].comment, "API");
    assert.equal(rules[2].source, undefined);
    await ok(api, "DELETE", "/cluster/firewall/rules/2");
    assert.ok(!sim.state.firewall.cluster.rules.some((r) => r.dport === "8006"));
  });
  await t.step("unknown aliases, ipsets, macros and groups are refused", async () => {
    await fails(api, "POST", "/cluster/firewall/rules", {
      type: "in",
      action: "ACCEPT",
      source: "+nosuch",
    }, /no such ipset 'nosuch'/);
    await fails(api, "POST", "/cluster/firewall/rules", {
      type: "in",
      action: "ACCEPT",
      macro: "Nope",
    }, /unknown macro/);
    await fails(api, "POST", "/cluster/firewall/rules", {
      type: "group",
      action: "nogroup",
    }, /no such security group/);
    await fails(api, "POST", "/cluster/firewall/rules", {
      type: "in",
      action: "ACCEPT",
      dport: "22",
    }, /port is only allowed with protocol/);
  });
  await t.step("a stale digest is refused", async () => {
    await fails(api, "DELETE", "/cluster/firewall/rules/0", { digest: "0".repeat(40) }, /modified/);
  });
  await t.step("aliases and ipsets: add, change, delete", async () => {
    await ok(api, "POST", "/cluster/firewall/aliases", { name: "jump", cidr: "10.0.0.5" });
    await ok(api, "PUT", "/cluster/firewall/aliases/jump", {
      cidr: "10.0.0.6",
      rename: "jumphost",
    });
    assert.equal(sim.state.firewall.cluster.aliases.get("jumphost")?.cidr, "10.0.0.6");
    await ok(api, "POST", "/cluster/firewall/ipset", { name: "office" });
    await ok(api, "POST", "/cluster/firewall/ipset/office", { cidr: "10.1.0.0/16" });
    await fails(api, "DELETE", "/cluster/firewall/ipset/office", {}, /not empty/);
    await ok(api, "DELETE", "/cluster/firewall/ipset/office/10.1.0.0%2F16");
    await ok(api, "DELETE", "/cluster/firewall/ipset/office");
    assert.ok(!sim.state.firewall.cluster.ipsets.has("office"));
  });
  await t.step("node and guest options are stored per level", async () => {
    await ok(api, "PUT", "/nodes/pve2/firewall/options", { enable: 0 });
    assert.equal(sim.state.firewall.nodes.get("pve2")?.options.enable, 0);
    await ok(api, "PUT", "/nodes/pve2/qemu/102/firewall/options", { policy_in: "DROP" });
    assert.equal(sim.state.firewall.guests.get(102)?.options.policy_in, "DROP");
  });
});

Deno.test("simulator network changes are staged, then applied in a task or reverted", async (t) => {
  await using sim = await startSimulator();
  using api = new SimApi(sim);
  await t.step("create a VLAN-aware bridge; the running config is unchanged", async () => {
    await ok(api, "POST", "/nodes/pve1/network", {
      iface: "vmbr2",
      type: "bridge",
      bridge_ports: "eno2.30",
      cidr: "10.30.0.2/24",
    });
    const n = sim.state.nodes.get("pve1")!;
    assert.ok(!n.network.some((i) => i.iface === "vmbr2"));
    const r = await api.call("GET", "/nodes/pve1/network");
    assert.match(String((r.body as { changes?: string }).changes), /\+iface iface=vmbr2/);
  });
  await t.step("PVE's checks: ports, duplicates, gateway", async () => {
    await fails(api, "POST", "/nodes/pve1/network", {
      iface: "vmbr3",
      type: "bridge",
      bridge_ports: "eno9",
    }, /interface 'eno9' does not exist/);
    await fails(api, "POST", "/nodes/pve1/network", {
      iface: "vmbr3",
      type: "bridge",
      bridge_ports: "eno1",
    }, /already used on interface 'vmbr0'/);
    await fails(api, "POST", "/nodes/pve1/network", {
      iface: "vmbr3",
      type: "bridge",
      cidr: "10.9.0.1/24",
      gateway: "10.9.0.254",
    }, /Default ipv4 gateway already exists/);
  });
  await t.step("apply runs a task and makes the staged config live", async () => {
    const upid = await ok(api, "PUT", "/nodes/pve1/network");
    assert.match(String(upid), /^UPID:pve1:.*:srvreload:networking:/);
    const n = sim.state.nodes.get("pve1")!;
    assert.ok(n.network.some((i) => i.iface === "vmbr2" && i.active === 1));
    assert.equal(n.networkPending, undefined);
  });
  await t.step("revert drops staged changes", async () => {
    await ok(api, "DELETE", "/nodes/pve1/network/vmbr2");
    await ok(api, "DELETE", "/nodes/pve1/network");
    assert.ok(sim.state.nodes.get("pve1")!.network.some((i) => i.iface === "vmbr2"));
  });
});

Deno.test("simulator access: users, groups, tokens and ACLs", async (t) => {
  await using sim = await startSimulator();
  using api = new SimApi(sim);
  await t.step("create a user in a group, then a token whose secret comes back once", async () => {
    await ok(api, "POST", "/access/users", { userid: "alice@pve", groups: "developers" });
    assert.ok(sim.state.access.groups.get("developers")!.members.has("alice@pve"));
    const t1 = await ok(api, "POST", "/access/users/alice@pve/token/ci", { privsep: 1 }) as {
      value: string;
      "full-tokenid": string;
    };
    assert.equal(t1["full-tokenid"], "alice@pve!ci");
    assert.match(t1.value, /^[0-9a-f-]{36}$/);
    const listed = await ok(api, "GET", "/access/users/alice@pve/token");
    assert.ok(!JSON.stringify(listed).includes(t1.value));
  });
  await t.step("ACL grant and revoke", async () => {
    await ok(api, "PUT", "/access/acl", {
      path: "/vms/101",
      roles: "PVEVMUser",
      users: "alice@pve",
    });
    assert.ok(sim.state.access.acl.some((e) => e.ugid === "alice@pve" && e.path === "/vms/101"));
    await ok(api, "PUT", "/access/acl", {
      path: "/vms/101",
      roles: "PVEVMUser",
      users: "alice@pve",
      delete: 1,
    });
    assert.ok(!sim.state.access.acl.some((e) => e.ugid === "alice@pve"));
    await fails(
      api,
      "PUT",
      "/access/acl",
      { path: "/", roles: "Nope", users: "alice@pve" },
      /role/,
    );
  });
  await t.step("a disabled user cannot log in", async () => {
    await ok(api, "PUT", "/access/users/alice@pve", { enable: 0 });
    assert.equal(sim.state.users.get("alice@pve")!.enable, false);
    api.auth = { kind: "none" };
    const r = await api.call("POST", "/access/ticket", {
      username: "contractor@pve",
      password: "sim-contractor-password",
    });
    assert.equal(r.status, 401);
  });
});

Deno.test("simulator HA, pools, disk moves and agent exec", async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 0, 10, 12));
  await using sim = await startSimulator({ clock });
  using api = new SimApi(sim);
  await t.step("HA: add, stop, migrate; an error resource refuses migration", async () => {
    await ok(api, "POST", "/cluster/ha/resources", { sid: "vm:104", state: "started" });
    await ok(api, "PUT", "/cluster/ha/resources/vm:104", { state: "stopped" });
    assert.equal(sim.state.guests.get(104)!.status, "stopped");
    const moved = await ok(api, "POST", "/cluster/ha/resources/vm:104/migrate", { node: "pve3" });
    assert.deepEqual(moved, { sid: "vm:104", "requested-node": "pve3" });
    assert.equal(sim.state.guests.get(104)!.node, "pve3");
    await fails(
      api,
      "POST",
      "/cluster/ha/resources/vm:102/migrate",
      { node: "pve3" },
      /error state/,
    );
    await ok(api, "POST", "/cluster/ha/rules", {
      rule: "mon-pve3",
      type: "node-affinity",
      resources: "vm:104",
      nodes: "pve3",
    });
    await ok(api, "DELETE", "/cluster/ha/resources/vm:104");
    assert.ok(!sim.state.ha.rules.has("mon-pve3"));
  });
  await t.step("pools: create, add members, refuse deleting a non-empty pool", async () => {
    await ok(api, "POST", "/pools", { poolid: "web" });
    await fails(api, "PUT", "/pools/web", { vms: "101" }, /allow-move/);
    await ok(api, "PUT", "/pools/web", { vms: "100" });
    assert.equal(sim.state.guests.get(100)!.pool, "web");
    await fails(api, "DELETE", "/pools/web", {}, /not empty/);
    await ok(api, "PUT", "/pools/web", { vms: "100", delete: 1 });
    await ok(api, "DELETE", "/pools/web");
  });
  await t.step("move_disk runs a task and keeps the source as unused unless delete", async () => {
    sim.state.storages.get("local")!.content.push("images");
    const before = sim.state.guests.get(105)!.config.scsi0 ??
      sim.state.guests.get(105)!.config.sata0;
    const key = sim.state.guests.get(105)!.config.scsi0 ? "scsi0" : "sata0";
    const upid = await ok(api, "POST", "/nodes/pve2/qemu/105/move_disk", {
      disk: key,
      storage: "local",
    });
    assert.match(String(upid), /:qmmove:105:/);
    const cfg = sim.state.guests.get(105)!.config;
    assert.match(cfg[key], /^local:vm-105-disk-/);
    assert.equal(cfg.unused0, before.split(",")[0]);
  });
  await t.step("agent exec: pid, running until done, then output once", async () => {
    const { pid } = await ok(api, "POST", "/nodes/pve1/qemu/100/agent/exec", {
      command: ["sleep", "5"],
    }) as { pid: number };
    const path = "/nodes/pve1/qemu/100/agent/exec-status";
    assert.deepEqual(await ok(api, "GET", path, { pid }), { exited: 0 });
    clock.advance(6000);
    const done = await ok(api, "GET", path, { pid });
    assert.equal((done as { exited: number }).exited, 1);
    assert.deepEqual(
      shapeProblems(done, returnsOf("/nodes/{node}/qemu/{vmid}/agent/exec-status")),
      [],
    );
    await fails(api, "GET", path, { pid }, /Invalid parameter 'pid'/);
    const r = await ok(api, "POST", "/nodes/pve1/qemu/100/agent/exec", {
      command: ["hostname"],
    }) as { pid: number };
    assert.deepEqual(await ok(api, "GET", path, { pid: r.pid }), {
      exited: 1,
      exitcode: 0,
      "out-data": "dns-01\n",
    });
    await fails(
      api,
      "POST",
      "/nodes/pve1/qemu/100/agent/exec",
      { command: ["nosuch"] },
      /Failed to execute/,
    );
    await fails(
      api,
      "POST",
      "/nodes/pve2/qemu/105/agent/exec",
      { command: ["hostname"] },
      /not running/,
    );
  });
});
