import assert from "node:assert/strict";
import { classifyRequest, DANGER_TABLE, patternRegex } from "../src/safety/danger.ts";
import { CallToolResultSchema } from "../src/server/sdk.ts";
import { type CallResult, startMutationStack, stateSnapshot, text } from "./helpers/mutations.ts";

const DELETE_105 = { method: "DELETE", path: "/nodes/pve2/qemu/105" };

Deno.test("api_change refuses schema-invalid changes before sending anything", async (t) => {
  await using s = await startMutationStack();
  const refused = async (args: Record<string, unknown>, pattern: RegExp) => {
    const before = s.recorder.requests.length;
    const r = await s.call("api_change", args);
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), pattern);
    assert.equal(s.recorder.requests.length, before, "no request at all was sent");
  };
  await t.step("a misspelt path answers with the closest valid paths", async () => {
    await refused(
      { method: "POST", path: "/nodes/pve1/qemu/100/snapshots", params: { snapname: "x" } },
      /^No API path matches \/nodes\/pve1\/qemu\/100\/snapshots for POST\. Closest valid paths: \/nodes\/\{node\}\/qemu\/\{vmid\}\/snapshot/,
    );
  });
  await t.step("a method the path does not take", async () => {
    await refused(
      { method: "PUT", path: "/nodes/pve1/qemu/100/status/stop" },
      /^PUT is not a method of \/nodes\/pve1\/qemu\/100\/status\/stop: it takes POST; use api_change \(method POST\)/,
    );
  });
  await t.step("a bad and a missing parameter say what is allowed", async () => {
    await refused(
      { method: "POST", path: "/nodes/pve1/qemu/100/snapshot", params: { snapname: "1bad" } },
      /snapname: .*; allowed: string, .*format pve-configid/,
    );
    await refused(
      { method: "POST", path: "/nodes/pve1/qemu/100/snapshot" },
      /snapname: property is missing and it is not optional; allowed: string/,
    );
  });
  await t.step("GET is not a change", async () => {
    await refused(
      { method: "GET", path: "/nodes" },
      /method must be one of POST, PUT, DELETE, got "GET"/,
    );
  });
});

Deno.test("api_change DELETE of a guest goes through the whole pipeline", async (t) => {
  await using s = await startMutationStack({
    config: { max_mutations_per_minute: 0 },
    simulator: { taskDurationMs: 200 },
    tasks: { pollMs: 20 },
  });
  const before = stateSnapshot(s.sim);

  await t.step("dry run: the plan is the exact request; nothing is sent", async () => {
    const r = await s.call("api_change", { ...DELETE_105, params: { purge: true }, dry_run: true });
    assert.ok(!r.isError, text(r));
    const out = r.structuredContent as {
      status: string;
      plan: { requests: unknown[]; destructive: boolean; confirm: string[] };
    };
    assert.equal(out.status, "dry_run");
    assert.deepEqual(out.plan.requests, [
      { method: "DELETE", path: "/nodes/pve2/qemu/105", params: { purge: true } },
    ]);
    assert.equal(out.plan.destructive, true);
    assert.match(out.plan.confirm.join("; "), /DELETE removes it for good; purge removes it/);
    assert.equal(s.writes().length, 0);
    assert.equal(stateSnapshot(s.sim), before);
  });

  let token = "";
  await t.step("without confirmation: a plan and a token; nothing is sent", async () => {
    const r = await s.call("api_change", DELETE_105);
    assert.ok(!r.isError, text(r));
    assert.equal(r.structuredContent?.status, "confirmation_required");
    token = String(r.structuredContent?.confirmation_token);
    assert.match(
      text(r),
      /^Confirmation required; nothing was changed\.\nDELETE \/nodes\/pve2\/qemu\/105/,
    );
    assert.equal(s.writes().length, 0);
    assert.equal(stateSnapshot(s.sim), before);
  });

  await t.step("confirmed: sent once, its task waited for with progress", async () => {
    const seen: unknown[] = [];
    const r = await s.client.callTool(
      { name: "api_change", arguments: { ...DELETE_105, confirmation_token: token } },
      CallToolResultSchema,
      { onprogress: (p) => seen.push(p) },
    ) as CallResult;
    assert.ok(!r.isError, text(r));
    assert.equal(r.structuredContent?.status, "done");
    assert.match(String(r.structuredContent?.upid), /^UPID:pve2:.*:qmdestroy:105:/);
    assert.deepEqual(s.writes().map((w) => `${w.method} ${w.path}`), [
      "DELETE /nodes/pve2/qemu/105",
    ]);
    assert.ok(!s.sim.state.guests.has(105));
    assert.ok(seen.length >= 1, "progress was reported");
  });

  await t.step("the audit has the request, decision and task", () => {
    const last = s.safety.audit.lines.map((l) => JSON.parse(l)).filter((e) =>
      e.tool === "api_change"
    ).at(-1);
    assert.equal(last.decision, "confirmed");
    assert.match(JSON.stringify(last), /qmdestroy/);
  });
});

Deno.test("api_change refuses without sending a write", async (t) => {
  const noWrite = async (
    opts: Parameters<typeof startMutationStack>[0],
    args: Record<string, unknown>,
    pattern: RegExp,
  ) => {
    await using s = await startMutationStack(opts);
    const before = stateSnapshot(s.sim);
    const r = await s.call("api_change", args);
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), pattern);
    assert.equal(s.writes().length, 0);
    assert.equal(stateSnapshot(s.sim), before);
  };

  await t.step("out of scope (allowed_vmids)", async () => {
    await noWrite(
      { config: { allowed_vmids: ["100-104"] } },
      { ...DELETE_105, confirmation_token: undefined },
      /outside this server's scope: VMID 105 is not in allowed_vmids \(100-104\)/,
    );
  });
  await t.step("out of scope (denied_nodes), even as a dry run", async () => {
    await noWrite(
      { config: { denied_nodes: ["pve1"] } },
      {
        method: "POST",
        path: "/nodes/pve1/qemu/100/snapshot",
        params: { snapname: "pre" },
        dry_run: true,
      },
      /node pve1 is in denied_nodes/,
    );
  });
  for (
    const [label, args] of [
      ["datacenter options", {
        method: "PUT",
        path: "/cluster/options",
        params: { keyboard: "de" },
      }],
      ["a user", { method: "POST", path: "/access/users", params: { userid: "eve@pve" } }],
      ["node network", {
        method: "POST",
        path: "/nodes/pve1/network",
        params: { iface: "vmbr9", type: "bridge" },
      }],
      ["node reboot", {
        method: "POST",
        path: "/nodes/pve1/status",
        params: { command: "reboot" },
      }],
      ["node firewall", {
        method: "PUT",
        path: "/nodes/pve1/firewall/options",
        params: { enable: true },
      }],
      ["a storage definition", { method: "DELETE", path: "/storage/local" }],
    ] as const
  ) {
    await t.step(`cluster-wide without allow_cluster_changes: ${label}`, async () => {
      await noWrite(
        {},
        args,
        /^Refused api_change: .* is cluster-wide \(.*\), so this server's scope cannot bound it\. Nothing was sent\. .*"allow_cluster_changes": true/,
      );
    });
  }
  await t.step("read-only: hidden and refused", async () => {
    await using s = await startMutationStack({ readOnly: true });
    const names = (await s.client.listTools()).tools.map((x) => x.name);
    assert.ok(!names.includes("api_change"));
    assert.ok(names.includes("api_read") && names.includes("api_search"));
    const r = await s.call("api_change", DELETE_105);
    assert.equal(r.isError, true);
    assert.equal(s.writes().length, 0);
  });
  await t.step("disable_destructive: listed, but a destructive request is refused", async () => {
    await noWrite(
      { disableDestructive: true },
      DELETE_105,
      /^Refused api_change: DELETE \/nodes\/pve2\/qemu\/105 is destructive \(DELETE removes it for good\), and destructive changes are disabled on this server \(disable_destructive\)\. Nothing was sent/,
    );
    await noWrite(
      { disableDestructive: true },
      { method: "PUT", path: "/nodes/pve1/qemu/100/config", params: { delete: "net0" } },
      /is destructive \(delete removes options, disks or entries\)/,
    );
  });
  await t.step("rate limit", async () => {
    await using s = await startMutationStack({ config: { max_mutations_per_minute: 1 } });
    const snap = (name: string) => ({
      method: "POST",
      path: "/nodes/pve1/qemu/100/snapshot",
      params: { snapname: name },
    });
    const first = await s.call("api_change", snap("one"));
    assert.ok(!first.isError, text(first));
    assert.equal(first.structuredContent?.status, "done");
    const writes = s.writes().length;
    const second = await s.call("api_change", snap("two"));
    assert.equal(second.isError, true);
    assert.match(text(second), /rate|limit/i);
    assert.equal(s.writes().length, writes);
  });
});

Deno.test("api_change under disable_destructive still makes safe changes", async () => {
  await using s = await startMutationStack({ disableDestructive: true });
  const names = (await s.client.listTools()).tools.map((x) => x.name);
  assert.ok(names.includes("api_change"));
  const r = await s.call("api_change", {
    method: "POST",
    path: "/nodes/pve1/qemu/100/snapshot",
    params: { snapname: "before-upgrade" },
  });
  assert.ok(!r.isError, text(r));
  assert.equal(r.structuredContent?.status, "done");
  assert.ok(s.sim.state.guests.get(100)!.snapshots.some((x) => x.name === "before-upgrade"));
});

Deno.test("api_change adds a VM firewall rule once confirmed", async () => {
  await using s = await startMutationStack();
  const r = await s.call("api_change", {
    method: "POST",
    path: "/nodes/pve1/qemu/100/firewall/rules",
    params: { type: "in", action: "ACCEPT", enable: 1, macro: "HTTP" },
    confirmation_token: undefined,
  });
  assert.ok(!r.isError, text(r));
  assert.equal(
    r.structuredContent?.status,
    "confirmation_required",
    "firewall rules are confirmed",
  );
  const done = await s.call("api_change", {
    method: "POST",
    path: "/nodes/pve1/qemu/100/firewall/rules",
    params: { type: "in", action: "ACCEPT", enable: 1, macro: "HTTP" },
    confirmation_token: r.structuredContent?.confirmation_token,
  });
  assert.ok(!done.isError, text(done));
  assert.equal(done.structuredContent?.status, "done");
  const rules = await s.call("api_read", { path: "/nodes/pve1/qemu/100/firewall/rules" });
  assert.match(JSON.stringify(rules.structuredContent?.data), /"macro":"HTTP"/);
});

Deno.test("api_change with allow_cluster_changes still asks for confirmation", async () => {
  await using s = await startMutationStack({ config: { allow_cluster_changes: true } });
  const r = await s.call("api_change", {
    method: "POST",
    path: "/nodes/pve1/status",
    params: { command: "reboot" },
  });
  assert.ok(!r.isError, text(r));
  assert.equal(r.structuredContent?.status, "confirmation_required");
  assert.match(text(r), /cluster-wide: acts on the node itself/);
  assert.match(text(r), /shuts down or reboots the node/);
  assert.equal(s.writes().length, 0);
});

Deno.test("the danger table classifies the listed kinds of request", async (t) => {
  const c = (method: "POST" | "PUT" | "DELETE", template: string, params = {}) =>
    classifyRequest(method, template, params);
  const cases: [string, ReturnType<typeof c>, keyof ReturnType<typeof c>][] = [
    ["power off", c("POST", "/nodes/{node}/qemu/{vmid}/status/stop"), "destructive"],
    ["reset", c("POST", "/nodes/{node}/qemu/{vmid}/status/reset"), "destructive"],
    ["rollback", c("POST", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback"), "destructive"],
    ["migrate", c("POST", "/nodes/{node}/qemu/{vmid}/migrate"), "confirm"],
    ["node shutdown", c("POST", "/nodes/{node}/status"), "destructive"],
    ["services", c("POST", "/nodes/{node}/services/{service}/restart"), "destructive"],
    ["firewall rules", c("POST", "/nodes/{node}/qemu/{vmid}/firewall/rules"), "confirm"],
    ["firewall policy", c("PUT", "/cluster/firewall/options"), "destructive"],
    ["network apply", c("PUT", "/nodes/{node}/network"), "destructive"],
    ["network change", c("POST", "/nodes/{node}/network"), "confirm"],
    ["ACL", c("PUT", "/access/acl"), "confirm"],
    ["token", c("POST", "/access/users/{userid}/token/{tokenid}"), "confirm"],
    ["role", c("PUT", "/access/roles/{roleid}"), "confirm"],
    ["storage removal", c("DELETE", "/storage/{storage}"), "destructive"],
    ["HA", c("POST", "/cluster/ha/resources"), "confirm"],
    ["Ceph", c("POST", "/nodes/{node}/ceph/osd"), "confirm"],
    [
      "config delete",
      c("PUT", "/nodes/{node}/qemu/{vmid}/config", { delete: "net1" }),
      "destructive",
    ],
    ["purge", c("DELETE", "/nodes/{node}/lxc/{vmid}", { purge: 1 }), "destructive"],
    ["cluster path", c("PUT", "/cluster/options"), "cluster"],
    ["node DNS", c("PUT", "/nodes/{node}/dns"), "cluster"],
    ["vzdump all", c("POST", "/nodes/{node}/vzdump", { all: 1 }), "cluster"],
  ];
  for (const [label, result, effect] of cases) {
    await t.step(`${label} is ${effect}`, () => {
      assert.ok(result[effect].length > 0, `${label}: ${JSON.stringify(result)}`);
    });
  }
  await t.step("guest-bounded changes are not cluster-wide and plain ones need nothing", () => {
    const snap = c("POST", "/nodes/{node}/qemu/{vmid}/snapshot");
    assert.deepEqual(snap, { confirm: [], destructive: [], cluster: [] });
    assert.deepEqual(c("POST", "/nodes/{node}/vzdump", { vmid: "100" }).cluster, []);
    assert.deepEqual(c("PUT", "/nodes/{node}/qemu/{vmid}/config", { delete: "" }).destructive, []);
  });
  await t.step("patterns: * one segment, ** any, {a,b} and !{a,b}", () => {
    assert.ok(patternRegex("/nodes/*/status").test("/nodes/{node}/status"));
    assert.ok(!patternRegex("/nodes/*/status").test("/nodes/{node}/qemu/{vmid}/status"));
    assert.ok(patternRegex("/**/firewall/**").test("/cluster/firewall"));
    assert.ok(patternRegex("/nodes/*/!{qemu,lxc}/**").test("/nodes/{node}/dns"));
    assert.ok(!patternRegex("/nodes/*/!{qemu,lxc}/**").test("/nodes/{node}/qemu/{vmid}"));
    assert.ok(!patternRegex("/nodes/*/!{qemu,lxc}/**").test("/nodes/{node}/qemuX".slice(0, -1)));
    assert.ok(DANGER_TABLE.every((r) => !r.methods.includes("GET" as never)));
  });
});
