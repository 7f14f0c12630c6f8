import assert from "node:assert/strict";
import { startMutationStack, text } from "./helpers/mutations.ts";

Deno.test("api_search finds firewall, HA, Ceph and replication methods", async (t) => {
  await using s = await startMutationStack();
  const search = async (args: Record<string, unknown>) => {
    const r = await s.call("api_search", args);
    assert.ok(!r.isError, text(r));
    return r.structuredContent as {
      items: {
        method: string;
        path: string;
        changes: boolean;
        required: Record<string, string>;
        optional: Record<string, string> | string[];
      }[];
      total: number;
      next_cursor?: string;
    };
  };
  const paths = (r: { items: { method: string; path: string }[] }) =>
    r.items.map((i) => `${i.method} ${i.path}`);

  await t.step("firewall rules of a VM, with their parameters", async () => {
    const r = await search({ query: "firewall rules vm", limit: 3 });
    assert.deepEqual(paths(r).slice(0, 2), [
      "GET /nodes/{node}/qemu/{vmid}/firewall/rules",
      "POST /nodes/{node}/qemu/{vmid}/firewall/rules",
    ]);
    const post = r.items[1];
    assert.equal(post.changes, true);
    assert.equal(r.items[0].changes, false);
    assert.match(post.required.type, /one of in\|out/);
    assert.match(post.required.vmid, /integer, 100-999999999/);
    assert.ok(!Array.isArray(post.optional) && post.optional.dport, "full detail on a short page");
  });
  await t.step("HA resources", async () => {
    const r = await search({ query: "ha resources", limit: 5 });
    assert.ok(paths(r).includes("GET /cluster/ha/resources"), paths(r).join("\n"));
  });
  await t.step("Ceph OSDs", async () => {
    const r = await search({ query: "ceph osd", limit: 5 });
    assert.ok(paths(r).includes("GET /nodes/{node}/ceph/osd"), paths(r).join("\n"));
  });
  await t.step("replication jobs", async () => {
    const r = await search({ query: "replication", limit: 5 });
    assert.ok(paths(r).includes("GET /cluster/replication"), paths(r).join("\n"));
  });
  await t.step("a path prefix with concrete segments, filtered by method", async () => {
    const r = await search({ query: "/nodes/pve1/qemu/100/snapshot", method: "DELETE" });
    assert.deepEqual(paths(r), ["DELETE /nodes/{node}/qemu/{vmid}/snapshot/{snapname}"]);
  });
  await t.step("paged with a cursor; a long page lists optional parameter names only", async () => {
    const first = await search({ query: "/cluster/sdn", limit: 5 });
    assert.equal(first.items.length, 5);
    assert.ok(first.total > 5 && first.next_cursor);
    assert.ok(first.items.every((i) => Array.isArray(i.optional)));
    const second = await search({ query: "/cluster/sdn", limit: 5, cursor: first.next_cursor });
    assert.notDeepEqual(paths(second), paths(first));
  });
  await t.step("nothing found says what to try", async () => {
    const r = await s.call("api_search", { query: "xyzzy plugh" });
    assert.ok(!r.isError);
    assert.match(text(r), /^No API method matches "xyzzy plugh": try other words/);
  });
});

Deno.test("api_read reads several areas, bounded and paged", async (t) => {
  await using s = await startMutationStack();
  const read = async (args: Record<string, unknown>) => {
    const r = await s.call("api_read", args);
    assert.ok(!r.isError, text(r));
    return r.structuredContent as {
      path: string;
      data: unknown;
      total?: number;
      more?: number;
      next_cursor?: string;
      hint?: string;
      omitted_keys?: string[];
    };
  };

  await t.step("a VM's config (object)", async () => {
    const r = await read({ path: "/nodes/pve1/qemu/100/config" });
    assert.equal(r.path, "/nodes/pve1/qemu/100/config");
    assert.equal((r.data as { name: string }).name, "dns-01");
  });
  await t.step("cluster resources with params, fields and paging", async () => {
    const first = await read({
      path: "/cluster/resources",
      params: { type: "vm" },
      fields: ["vmid", "name"],
      limit: 4,
    });
    const items = first.data as Record<string, unknown>[];
    assert.equal(items.length, 4);
    assert.deepEqual(Object.keys(items[0]).sort(), ["name", "vmid"]);
    assert.equal(first.total, s.sim.state.guests.size);
    const next = await read({
      path: "/cluster/resources",
      params: { type: "vm" },
      fields: ["vmid", "name"],
      limit: 4,
      cursor: first.next_cursor,
    });
    const vmids = [...items, ...(next.data as Record<string, unknown>[])].map((x) => x.vmid);
    assert.equal(new Set(vmids).size, 8, "the second page continues the first");
  });
  await t.step("a cursor of another query is refused", async () => {
    const first = await read({ path: "/cluster/resources", limit: 2 });
    const r = await s.call("api_read", { path: "/nodes", cursor: first.next_cursor });
    assert.equal(r.isError, true);
    assert.match(text(r), /^Invalid cursor: it belongs to a query with other filters/);
  });
  await t.step("storage, tasks, node status and version", async () => {
    const storage = await read({ path: "/nodes/pve1/storage" });
    assert.ok(Array.isArray(storage.data) && storage.data.length > 0);
    const tasks = await read({ path: "/nodes/pve1/tasks", params: { limit: 5 } });
    assert.ok(Array.isArray(tasks.data));
    const status = await read({ path: "/api2/json/nodes/pve1/status" });
    assert.equal(status.path, "/nodes/pve1/status");
    assert.ok((status.data as { memory?: unknown }).memory);
    const version = await read({ path: "version" });
    assert.ok((version.data as { version?: string }).version);
  });
  await t.step("a big answer is cut under the cap and says how to narrow", async () => {
    await using big = await startMutationStack({
      simulator: { scenario: { nodes: 3, guests: 400 } },
    });
    const r = await big.call("api_read", { path: "/cluster/resources", limit: 500 });
    assert.ok(!r.isError, text(r));
    const out = r.structuredContent as { data: unknown[]; hint?: string; next_cursor?: string };
    assert.ok(out.data.length < 500);
    assert.ok(new TextEncoder().encode(JSON.stringify(out.data)).length <= 12_000);
    assert.match(out.hint ?? "", /^Cut to \d+ items to stay under 12000 bytes: pass next_cursor/);
    assert.ok(out.next_cursor);
  });
  await t.step("a path the simulator does not serve answers PVE's 501", async () => {
    const writes = s.recorder.requests.length;
    const r = await s.call("api_read", { path: "/cluster/acme/plugins" });
    assert.equal(r.isError, true);
    assert.match(
      text(r),
      /501 on GET \/cluster\/acme\/plugins: .*not implemented by the simulator/,
    );
    assert.equal(s.recorder.requests.length, writes + 1, "the valid request was sent");
  });
});

Deno.test("api_read refuses schema-invalid reads before sending anything", async (t) => {
  await using s = await startMutationStack();
  const refused = async (args: Record<string, unknown>, pattern: RegExp) => {
    const before = s.recorder.requests.length;
    const r = await s.call("api_read", args);
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), pattern);
    assert.equal(s.recorder.requests.length, before, "no request was sent");
  };
  await t.step("a misspelt path answers with the closest valid paths", async () => {
    await refused(
      { path: "/nodes/pve1/qemu/100/firewal/rules" },
      /^No API path matches \/nodes\/pve1\/qemu\/100\/firewal\/rules for GET\. Closest valid paths: \/nodes\/\{node\}\/qemu\/\{vmid\}\/firewall\/rules,/,
    );
  });
  await t.step("a path without GET names its methods and the tool to use", async () => {
    await refused(
      { path: "/nodes/pve1/qemu/100/status/stop" },
      /^GET is not a method of \/nodes\/pve1\/qemu\/100\/status\/stop: it takes POST; use api_change \(method POST\)/,
    );
  });
  await t.step("a bad parameter value says what is allowed", async () => {
    await refused(
      { path: "/cluster/resources", params: { type: "vms" } },
      /the parameters: type: value 'vms' does not have a value in the enumeration 'vm, storage, node, sdn'; allowed: one of vm\|storage\|node\|sdn/,
    );
  });
  await t.step("an unknown parameter lists the known ones", async () => {
    await refused(
      { path: "/cluster/resources", params: { kind: "vm" } },
      /unknown parameter "kind" \(this method takes type\)/,
    );
  });
  await t.step("a bad path segment says what is allowed", async () => {
    await refused(
      { path: "/nodes/pve1/qemu/12/config" },
      /vmid \(from the path\): value must have a minimum value of 100; allowed: integer, 100-999999999/,
    );
  });
  await t.step("query strings and dot segments are refused", async () => {
    await refused({ path: "/cluster/resources?type=vm" }, /put query parameters in params/);
    await refused({ path: "/nodes/pve1/../../access/users" }, /"\." and "\.\." segments/);
  });
});
