import assert from "node:assert/strict";
import { catalogue } from "../src/tools/catalogue.ts";
import { startStack, textOf } from "./helpers/stack.ts";

type Structured = Record<string, unknown>;
type Item = Record<string, unknown>;

Deno.test("server over stdio answers every read-only tool from the simulator", async (t) => {
  await using stack = await startStack();
  const { client, sim } = stack;
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = await client.callTool({ name, arguments: args });
    assert.ok(!r.isError, `${name} ${JSON.stringify(args)} failed: ${textOf(r)}`);
    assert.ok(textOf(r).length > 0, "text content is present");
    return r.structuredContent as Structured;
  };
  const fail = async (name: string, args: Record<string, unknown>, pattern: RegExp) => {
    const r = await client.callTool({ name, arguments: args });
    assert.equal(r.isError, true, `${name} ${JSON.stringify(args)} should fail`);
    assert.match(textOf(r), pattern);
  };
  const guests = [...sim.state.guests.values()];
  const nodeNames = [...sim.state.nodes.keys()].sort();

  await t.step("tools/list offers the catalogue with schemas and annotations", async () => {
    const { tools } = await client.listTools();
    const readers = catalogue.filter((x) => x.annotations.readOnlyHint).map((x) => x.name);
    assert.deepEqual(tools.map((x) => x.name).sort(), readers.sort(), "read-only by default");
    for (const tool of tools) {
      assert.equal(tool.inputSchema.type, "object", tool.name);
      assert.equal(tool.outputSchema?.type, "object", `${tool.name} has an output schema`);
      assert.equal(tool.annotations?.readOnlyHint, true, `${tool.name} readOnlyHint`);
      assert.ok(tool.description && tool.description.length < 300, `${tool.name} description`);
    }
  });

  await t.step("cluster_status reports the cluster and its nodes", async () => {
    const s = await call("cluster_status");
    assert.equal(s.cluster, sim.state.clusterName);
    assert.equal(s.quorate, true);
    assert.match(String(s.version), /^\d+\.\d+/);
    assert.deepEqual((s.nodes as Item[]).map((n) => n.name), nodeNames);
  });

  await t.step("node_list, node_status, node_network and node_storage", async () => {
    const list = await call("node_list");
    assert.deepEqual((list.nodes as Item[]).map((n) => n.node), nodeNames);
    const node = sim.state.nodes.get(nodeNames[0])!;
    const status = await call("node_status", { node: node.name });
    assert.equal(status.cpus, node.cpus);
    assert.equal((status.memory as Item).total, node.memory);
    const net = await call("node_network", { node: node.name, type: "bridge" });
    const bridges = (net.interfaces as Item[]).map((i) => i.iface);
    assert.ok(bridges.includes("vmbr0") && bridges.includes("vmbr1"), String(bridges));
    const storage = await call("node_storage", { node: node.name, content: "backup" });
    const items = storage.storages as Item[];
    assert.ok(items.length > 0);
    for (const s of items) assert.ok((s.content as string[]).includes("backup"));
  });

  await t.step("guest_list lists every guest, sorted and paged", async () => {
    const all = await call("guest_list", { limit: 500 });
    assert.equal(all.total, guests.length);
    assert.equal((all.items as Item[]).length, guests.length);
    assert.equal(all.more, 0);
    assert.equal(all.next_cursor, undefined);
    const onNode = guests.filter((g) => g.node === nodeNames[0]);
    const byMem = await call("guest_list", { node: nodeNames[0], sort: "mem", order: "desc" });
    assert.equal(byMem.total, onNode.length);
    const mems = (byMem.items as Item[]).map((g) => g.mem as number);
    assert.deepEqual(mems, [...mems].sort((a, b) => b - a));
    const lxc = await call("guest_list", { type: "lxc", fields: ["vmid", "type"] });
    assert.equal(lxc.total, guests.filter((g) => g.type === "lxc").length);
    for (const g of lxc.items as Item[]) assert.deepEqual(Object.keys(g).sort(), ["type", "vmid"]);
    const seen: unknown[] = [];
    let cursor: string | undefined;
    do {
      const page = await call("guest_list", { limit: 4, ...(cursor ? { cursor } : {}) });
      seen.push(...(page.items as Item[]).map((g) => g.vmid));
      cursor = page.next_cursor as string | undefined;
    } while (cursor);
    assert.deepEqual(seen, guests.map((g) => g.vmid).sort((a, b) => a - b));
  });

  await t.step("cluster_resources filters by type, status and name", async () => {
    const nodes = await call("cluster_resources", { type: "node" });
    assert.equal(nodes.total, nodeNames.length);
    const running = await call("cluster_resources", { type: "vm", status: "running", limit: 500 });
    assert.equal(running.total, guests.filter((g) => g.status === "running").length);
    const storages = await call("cluster_resources", {
      type: "storage",
      name: "local",
      limit: 500,
    });
    for (const s of storages.items as Item[]) assert.match(String(s.id), /local/);
  });

  const vm = guests.find((g) => g.type === "qemu" && g.status === "running" && !g.template)!;
  const ct = guests.find((g) => g.type === "lxc")!;

  await t.step("guest_status and guest_config find the node by VMID", async () => {
    const s = await call("guest_status", { vmid: vm.vmid });
    assert.equal(s.node, vm.node);
    assert.equal(s.type, "qemu");
    assert.equal(s.status, "running");
    const c = await call("guest_status", { vmid: ct.vmid });
    assert.equal(c.type, "lxc");
    const config = await call("guest_config", { vmid: vm.vmid, keys: ["memory", "net0"] });
    assert.deepEqual(Object.keys(config.config as Item).sort(), ["memory", "net0"]);
    assert.match(String((config.config as Item).net0), /bridge=vmbr/);
  });

  await t.step("storage_content lists ISOs, templates and backups", async () => {
    const node = nodeNames[0];
    const isos = await call("storage_content", { node, storage: "local", content: "iso" });
    assert.ok((isos.items as Item[]).every((v) => String(v.volid).startsWith("local:iso/")));
    assert.ok((isos.total as number) > 0);
    const tmpl = await call("storage_content", { node, storage: "local", content: "vztmpl" });
    assert.ok((tmpl.total as number) > 0);
  });

  await t.step("task_list, task_status and task_log explain a failed task", async () => {
    const failed = await call("task_list", { status: "error" });
    const items = failed.items as Item[];
    assert.ok(items.length > 0, "the scenario has a failed task");
    const upid = String(items[0].upid);
    const status = await call("task_status", { upid });
    assert.equal(status.running, false);
    assert.equal(status.ok, false);
    const log = await call("task_log", { upid, tail: 5 });
    const lines = log.lines as string[];
    assert.ok(lines.length > 0 && lines.length <= 5);
    assert.match(lines.at(-1)!, /TASK ERROR/);
  });

  await t.step("next_vmid and my_permissions", async () => {
    const next = await call("next_vmid");
    assert.equal(next.free, true);
    assert.ok(!sim.state.guests.has(next.vmid as number));
    const taken = await call("next_vmid", { vmid: vm.vmid });
    assert.equal(taken.free, false);
    const perms = await call("my_permissions");
    const root = (perms.paths as Item[]).find((p) => p.path === "/");
    assert.ok((root?.privileges as string[]).includes("VM.Audit"));
  });

  await t.step("bad arguments get errors that say what is allowed", async () => {
    await fail("guest_status", { vmid: 42 }, /vmid must be from 100 to 999999999, got 42/);
    await fail("guest_status", { vmid: "abc" }, /vmid must be an integer/);
    await fail("guest_status", { vmid: 99999 }, /Cannot resolve guest 99999: no such VMID/);
    await fail(
      "node_status",
      { node: "pve9" },
      new RegExp(`Unknown node "pve9": known nodes are ${nodeNames.join(", ")}`),
    );
    await fail("guest_list", { colour: "red" }, /Unknown argument "colour": this tool accepts/);
    await fail("guest_list", { sort: "size" }, /sort must be one of vmid, name/);
    await fail("guest_list", { limit: 0 }, /limit must be from 1 to 500/);
    await fail("guest_list", { cursor: "garbage!" }, /Invalid cursor/);
    await fail("task_log", { upid: "not-a-upid" }, /Invalid upid/);
    await fail("storage_content", { node: nodeNames[0], storage: "nope" }, /nope/);
    const unknown = await client.callTool({ name: "delete_everything", arguments: {} });
    assert.equal(unknown.isError, true);
    assert.match(textOf(unknown), /delete_everything/);
  });

  await t.step("the server is still serving after all that", async () => {
    const s = await call("cluster_status");
    assert.equal(s.cluster, sim.state.clusterName);
  });
});
