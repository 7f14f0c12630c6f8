import assert from "node:assert/strict";
import { INVENTORY_URI, RESOURCE_GUEST_LIMIT } from "../src/server/resources.ts";
import type { Client } from "../src/server/sdk_client.ts";
import { catalogue } from "../src/tools/catalogue.ts";
import { ManualClock } from "../src/util/clock.ts";
import { startMutationStack } from "./helpers/mutations.ts";

const byName = new Map(catalogue.map((t) => [t.name, t]));

/** The text of the one content item of a resource. */
async function read(client: Client, uri: string): Promise<string> {
  const r = await client.readResource({ uri });
  assert.equal(r.contents.length, 1, uri);
  const c = r.contents[0] as { uri: string; mimeType?: string; text?: string };
  assert.equal(c.uri, uri);
  assert.equal(c.mimeType, "text/plain");
  assert.equal(typeof c.text, "string");
  return c.text!;
}

/** The JSON-RPC error a request failed with. */
async function rpcError(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: number; message: string };
  }
  throw new Error("expected the request to fail");
}

/** The text of a prompt answer. */
async function prompt(client: Client, name: string, args: Record<string, string> = {}) {
  const r = await client.getPrompt({ name, arguments: args });
  assert.equal(r.messages.length, 1);
  assert.equal(r.messages[0].role, "user");
  return (r.messages[0].content as { type: string; text: string }).text;
}

/**
 * Checks every tool a prompt names: `tool(arg=value, ...)` calls and `tool` in backticks must be
 * tools in `offered`, every argument one the tool takes, every literal value one it accepts.
 * Returns the names found.
 */
function checkMentions(text: string, offered: ReadonlySet<string>): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\b([a-z][a-z0-9]*(?:_[a-z0-9]+)*)\(([^()]*)\)/g)) {
    const [call, name, inner] = m;
    found.push(name);
    assert.ok(offered.has(name), `${call}: ${name} is not a tool of this server`);
    const tool = byName.get(name)!;
    const values: Record<string, unknown> = {};
    for (const part of inner ? inner.split(/,\s*(?=[a-z_]+=)/) : []) {
      const eq = part.indexOf("=");
      assert.ok(eq > 0, `${call}: "${part}" is not arg=value`);
      const key = part.slice(0, eq).trim();
      const raw = part.slice(eq + 1).trim();
      assert.ok(key in tool.input.shape, `${call}: ${name} has no argument ${key}`);
      if (!raw.includes("<")) values[key] = JSON.parse(raw);
    }
    const checked = tool.input.partial().safeParse(values);
    assert.ok(checked.success, `${call}: ${checked.error?.issues[0]?.message}`);
  }
  for (const m of text.matchAll(/`([a-z_]+)`/g)) {
    found.push(m[1]);
    assert.ok(offered.has(m[1]), `\`${m[1]}\` is not a tool of this server`);
  }
  return found;
}

Deno.test("mcp features  resources, prompts and completions against the simulator", async (t) => {
  const clock = new ManualClock(Date.parse("2026-11-25T08:00:00Z"));
  await using s = await startMutationStack({ clock });
  const { client, sim } = s;
  const guests = [...sim.state.guests.values()].sort((a, b) => a.vmid - b.vmid);
  const nodes = [...sim.state.nodes.keys()].sort();
  const offered = new Set((await client.listTools()).tools.map((x) => x.name));

  await t.step("the server declares resources, prompts and completions", () => {
    const caps = client.getServerCapabilities()!;
    assert.ok(caps.resources, "resources");
    assert.ok(caps.prompts, "prompts");
    assert.ok(caps.completions, "completions");
    assert.ok(caps.tools && caps.logging, "tools and logging stay");
  });

  await t.step("resources/list: the inventory, every node and the guests", async () => {
    const { resources } = await client.listResources();
    const uris = resources.map((r) => r.uri);
    assert.equal(uris[0], INVENTORY_URI);
    for (const n of nodes) assert.ok(uris.includes(`proxmox://node/${n}`), n);
    const listed = uris.filter((u) => u.startsWith("proxmox://guest/"));
    assert.deepEqual(listed, guests.map((g) => `proxmox://guest/${g.vmid}`));
    const web = resources.find((r) => r.uri === `proxmox://guest/${guests[1].vmid}`)!;
    assert.equal(
      web.title,
      `${guests[1].vmid} ${guests[1].name} (${guests[1].type} on ${guests[1].node})`,
    );
    for (const r of resources) assert.equal(r.mimeType, "text/plain", r.uri);
  });

  await t.step("resources/templates/list: guest, node and task log", async () => {
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((x) => x.uriTemplate), [
      "proxmox://guest/{vmid}",
      "proxmox://node/{node}",
      "proxmox://task/{upid}/log",
    ]);
    for (const x of resourceTemplates) assert.ok(x.description && x.description.length < 100);
  });

  await t.step("the inventory shows every node with guest counts and every guest", async () => {
    const text = await read(client, INVENTORY_URI);
    const running = guests.filter((g) => g.status === "running").length;
    assert.match(
      text,
      new RegExp(`^${nodes.length} nodes, ${guests.length} guests \\(${running} running\\)`),
    );
    for (const n of nodes) {
      const on = guests.filter((g) => g.node === n);
      const up = on.filter((g) => g.status === "running").length;
      const line = text.split("\n").find((l) => l.startsWith(`${n}  `));
      assert.ok(line?.endsWith(`  ${on.length} (${up} running)`), `${n}: ${line}`);
    }
    for (const g of guests) {
      const row = `${g.vmid}  ${g.name || "-"}  ${g.type}  ${g.node}  ${g.status}  `;
      assert.ok(text.includes(`\n${row}`), `guest row ${row}`);
    }
    assert.match(text, new RegExp(`\n${guests.length} of ${guests.length}$`), "no more pages");
  });

  await t.step("a guest: status and configuration as the tools give them", async () => {
    const g = sim.state.guests.get(210)!;
    const text = await read(client, "proxmox://guest/210");
    assert.ok(text.startsWith(`guest: ${g.type} 210 ${g.name} on ${g.node}\nstatus: ${g.status}`));
    assert.ok(text.includes(`\nmemory: ${g.config.memory}\n`), "config memory");
    assert.ok(text.includes(`\nrootfs: ${g.config.rootfs}\n`), "config rootfs");
    const vm = guests.find((x) => x.type === "qemu" && x.status === "stopped")!;
    const vmText = await read(client, `proxmox://guest/${vm.vmid}`);
    assert.match(vmText, new RegExp(`^guest: qemu ${vm.vmid} .* on ${vm.node}\nstatus: stopped`));
    assert.ok(vmText.includes(`\ncores: ${vm.config.cores}`), "config cores");
  });

  await t.step("an unknown or malformed guest is a clear JSON-RPC error", async () => {
    const missing = await rpcError(client.readResource({ uri: "proxmox://guest/99999" }));
    assert.equal(missing.code, -32002);
    assert.match(missing.message, /Cannot resolve guest 99999: no such VMID in cluster/);
    assert.doesNotMatch(missing.message, /MCP error -32002: MCP error/, "one prefix only");
    const bad = await rpcError(client.readResource({ uri: "proxmox://guest/web" }));
    assert.equal(bad.code, -32602);
    assert.match(bad.message, /expected proxmox:\/\/guest\/<vmid>/);
    const low = await rpcError(client.readResource({ uri: "proxmox://guest/5" }));
    assert.equal(low.code, -32602);
    assert.match(low.message, /vmid must be from 100 to 999999999, got 5/);
  });

  await t.step("a node: its status and guest counts", async () => {
    const node = sim.state.nodes.get("pve2")!;
    const text = await read(client, "proxmox://node/pve2");
    assert.ok(text.startsWith("node: pve2\n"), text);
    assert.ok(text.includes(` of ${node.cpus} (${node.cpuModel})`), "cpu line");
    const on = guests.filter((g) => g.node === "pve2");
    const up = on.filter((g) => g.status === "running").length;
    assert.ok(
      text.endsWith(`guests: ${on.length} (${up} running); guest_list(node="pve2") lists them`),
    );
    const unknown = await rpcError(client.readResource({ uri: "proxmox://node/pve9" }));
    assert.equal(unknown.code, -32002);
    assert.match(unknown.message, /Unknown node "pve9": known nodes are pve1, pve2, pve3/);
  });

  await t.step("a task: status and the tail of its log, UPID plain or %-encoded", async () => {
    const task = [...sim.state.tasks.values()].find((x) => x.type === "vzdump" && x.id === "210")!;
    const text = await read(client, `proxmox://task/${task.upid}/log`);
    assert.ok(text.includes(`status: stopped: ${task.exitstatus}`), text.slice(0, 200));
    const last = task.lines.at(-1)!.text;
    assert.ok(text.endsWith(`\n${last}`), "ends with the last log line");
    assert.match(text, /No space left on device/);
    const encoded = `proxmox://task/${encodeURIComponent(task.upid)}/log`;
    assert.equal(await read(client, encoded), text);
    const gone = task.upid.replace(/:vzdump:/, ":qmstart:");
    const missing = await rpcError(client.readResource({ uri: `proxmox://task/${gone}/log` }));
    assert.equal(missing.code, -32002);
    assert.match(missing.message, /no such task/);
    const bad = await rpcError(client.readResource({ uri: "proxmox://task/nonsense/log" }));
    assert.equal(bad.code, -32602);
    assert.match(bad.message, /Invalid upid "nonsense": expected UPID:node:/);
  });

  await t.step("prompts/list: four workflows with their arguments", async () => {
    const { prompts } = await client.listPrompts();
    const args = Object.fromEntries(
      prompts.map((
        p,
      ) => [p.name, (p.arguments ?? []).map((a) => `${a.name}${a.required ? "!" : ""}`)]),
    );
    assert.deepEqual(args, {
      diagnose_guest: ["vmid!"],
      backup_failure: ["vmid"],
      capacity_report: ["memory_gib!", "cores", "disk_gib", "storage"],
      safe_change: ["change!", "vmid"],
    });
    for (const p of prompts) assert.ok(p.description && p.description.length < 100, p.name);
  });

  await t.step("prompts/get: each names real tools and arguments, and the guest", async () => {
    const g = sim.state.guests.get(210)!;
    const diagnose = await prompt(client, "diagnose_guest", { vmid: "210" });
    assert.ok(diagnose.includes(`Guest 210: lxc "${g.name}" on node ${g.node}, ${g.status}.`));
    assert.ok(diagnose.includes(`node_status(node="${g.node}")`));
    const seen = new Set(checkMentions(diagnose, offered));
    for (const name of ["guest_status", "guest_config", "task_list", "task_log"]) {
      assert.ok(seen.has(name), name);
    }
    const texts = [
      await prompt(client, "backup_failure"),
      await prompt(client, "backup_failure", { vmid: "210" }),
      await prompt(client, "capacity_report", {
        memory_gib: "8",
        cores: "4",
        disk_gib: "32",
        storage: "local-lvm",
      }),
      await prompt(client, "capacity_report", { memory_gib: "1.5" }),
      await prompt(client, "safe_change", { change: "give it 8 GiB memory", vmid: "101" }),
      await prompt(client, "safe_change", { change: "stop the test VMs" }),
    ];
    for (const text of texts) for (const name of checkMentions(text, offered)) seen.add(name);
    assert.ok(texts[1].includes('task_list(type="vzdump", status="error", vmid=210, limit=5)'));
    assert.ok(texts[2].includes('memory_mib=8192, cores=4, disk_gib=32, storage="local-lvm"'));
    assert.ok(texts[3].includes("memory_mib=1536, cores=1,"), texts[3]);
    assert.ok(texts[4].includes("dry_run=true") && texts[4].includes("confirmation_token"));
    for (const name of ["backup_list", "node_storage", "node_list", "vm_create", "guest_update"]) {
      assert.ok(seen.has(name), `some prompt names ${name}`);
    }
  });

  await t.step("prompts/get refuses unknown and malformed VMIDs", async () => {
    const missing = await rpcError(client.getPrompt({
      name: "diagnose_guest",
      arguments: { vmid: "99999" },
    }));
    assert.equal(missing.code, -32602);
    assert.match(missing.message, /Cannot resolve guest 99999: no such VMID in cluster/);
    const bad = await rpcError(client.getPrompt({
      name: "diagnose_guest",
      arguments: { vmid: "web" },
    }));
    assert.equal(bad.code, -32602);
    assert.match(bad.message, /vmid must be a VMID/);
  });

  await t.step("completion: VMIDs, node names and storage IDs by prefix", async () => {
    const vmids = (prefix: string) =>
      guests.map((g) => String(g.vmid)).filter((v) => v.startsWith(prefix));
    const prompted = await client.complete({
      ref: { type: "ref/prompt", name: "diagnose_guest" },
      argument: { name: "vmid", value: "10" },
    });
    assert.deepEqual(prompted.completion.values, vmids("10"));
    assert.equal(prompted.completion.hasMore, false);
    const templated = await client.complete({
      ref: { type: "ref/resource", uri: "proxmox://guest/{vmid}" },
      argument: { name: "vmid", value: "2" },
    });
    assert.deepEqual(templated.completion.values, vmids("2"));
    const node = await client.complete({
      ref: { type: "ref/resource", uri: "proxmox://node/{node}" },
      argument: { name: "node", value: "pve" },
    });
    assert.deepEqual(node.completion.values, nodes);
    const one = await client.complete({
      ref: { type: "ref/resource", uri: "proxmox://node/{node}" },
      argument: { name: "node", value: "PVE3" },
    });
    assert.deepEqual(one.completion.values, ["pve3"]);
    const storages = await client.complete({
      ref: { type: "ref/prompt", name: "capacity_report" },
      argument: { name: "storage", value: "lo" },
    });
    const expected = [...sim.state.storages.keys()].filter((x) => x.startsWith("lo")).sort();
    assert.ok(expected.length > 0);
    assert.deepEqual(storages.completion.values, expected);
    const none = await client.complete({
      ref: { type: "ref/prompt", name: "diagnose_guest" },
      argument: { name: "vmid", value: "8" },
    });
    assert.deepEqual(none.completion.values, []);
  });

  await t.step("reads are GETs and share the inventory's snapshot", () => {
    assert.deepEqual(s.writes(), [], "nothing was written");
    const snapshots = s.recorder.requests.filter((r) => r.path === "/cluster/resources");
    assert.equal(snapshots.length, 1, "one /cluster/resources reading served everything");
  });
});

Deno.test("mcp features  a read-only server offers no change workflow", async () => {
  await using s = await startMutationStack({ readOnly: true });
  const offered = new Set((await s.client.listTools()).tools.map((x) => x.name));
  assert.ok(!offered.has("vm_create"));
  const { prompts } = await s.client.listPrompts();
  assert.deepEqual(prompts.map((p) => p.name), [
    "diagnose_guest",
    "backup_failure",
    "capacity_report",
  ]);
  for (
    const [name, args] of [
      ["diagnose_guest", { vmid: "101" }],
      ["backup_failure", { vmid: "210" }],
      ["capacity_report", { memory_gib: "4", disk_gib: "20" }],
    ] as const
  ) {
    checkMentions(await prompt(s.client, name, args), offered);
  }
  const { resourceTemplates } = await s.client.listResourceTemplates();
  assert.equal(resourceTemplates.length, 3, "resources are reads: all offered");
});

Deno.test("mcp features  without the provision toolset, capacity_report says how to turn it on", async () => {
  await using s = await startMutationStack({ toolsets: ["default"] });
  const offered = new Set((await s.client.listTools()).tools.map((x) => x.name));
  assert.ok(!offered.has("vm_create") && offered.has("guest_update"), "everyday set, changes on");
  const text = await prompt(s.client, "capacity_report", { memory_gib: "4" });
  checkMentions(text, offered);
  assert.ok(
    text.includes("vm_create of the provision toolset") &&
      text.includes("--toolsets default,provision") &&
      text.includes("PROXMOX_TOOLSETS=default,provision"),
    text,
  );
});

Deno.test("mcp features  a large cluster: bounded inventory, paging on with guest_list", async () => {
  await using s = await startMutationStack({ simulator: { scenario: "large" } });
  const { client, sim } = s;
  const vmids = [...sim.state.guests.keys()].sort((a, b) => a - b);
  assert.ok(vmids.length > 1000);

  const text = await read(client, INVENTORY_URI);
  const lines = text.split("\n");
  const header = lines.findIndex((l) => l.startsWith("vmid  name  type"));
  const footer = lines.findIndex((l) => /^\d+ of \d+/.test(l));
  assert.equal(footer - header - 1, RESOURCE_GUEST_LIMIT, "guest rows are capped");
  assert.equal(lines[header + 1].split("  ")[0], String(vmids[0]));
  const m = /^(\d+) of (\d+); (\d+) more: next_cursor=(\S+)$/.exec(lines[footer]);
  assert.ok(m, lines[footer]);
  assert.equal(Number(m[2]), vmids.length);
  assert.ok(text.includes(`guest_list(cursor="${m[4]}")`), "says how to page on");
  assert.ok(text.length < 12_000, `inventory is ${text.length} chars`);
  const next = await s.call("guest_list", { cursor: m[4] });
  assert.ok(!next.isError, JSON.stringify(next.content));
  const items = next.structuredContent!.items as { vmid: number }[];
  assert.equal(items[0].vmid, vmids[RESOURCE_GUEST_LIMIT], "the cursor continues the list");

  const { resources } = await client.listResources();
  const listed = resources.filter((r) => r.uri.startsWith("proxmox://guest/"));
  assert.equal(listed.length, RESOURCE_GUEST_LIMIT);
  assert.equal(
    resources.filter((r) => r.uri.startsWith("proxmox://node/")).length,
    sim.state.nodes.size,
  );

  const all = await client.complete({
    ref: { type: "ref/resource", uri: "proxmox://guest/{vmid}" },
    argument: { name: "vmid", value: "" },
  });
  assert.equal(all.completion.values.length, 100);
  assert.equal(all.completion.total, vmids.length);
  assert.equal(all.completion.hasMore, true);
  const prefix = String(vmids[vmids.length - 1]).slice(0, 3);
  const some = await client.complete({
    ref: { type: "ref/prompt", name: "diagnose_guest" },
    argument: { name: "vmid", value: prefix },
  });
  const expected = vmids.map(String).filter((v) => v.startsWith(prefix));
  assert.deepEqual(some.completion.values, expected.slice(0, 100));
  assert.equal(some.completion.total, expected.length);
});
