import assert from "node:assert/strict";
import { type CallResult, startMutationStack, text } from "./helpers/mutations.ts";

/** Estimated tokens of a text: UTF-8 bytes / 4 (the benchmark's method). */
function tokens(s: string): number {
  return new TextEncoder().encode(s).length / 4;
}

function items(r: CallResult): Record<string, unknown>[] {
  assert.ok(!r.isError, text(r));
  return r.structuredContent!.items as Record<string, unknown>[];
}

Deno.test("guest tools on 10,000 guests  answer from the index in compact, paged form", async (t) => {
  await using s = await startMutationStack({ simulator: { scenario: "large" } });
  const guests = [...s.sim.state.guests.values()];
  const gets = () => s.recorder.requests.filter((r) => r.method === "GET");

  await t.step("the default page: compact text, a page size, how many more", async () => {
    const r = await s.call("guest_list", {});
    const list = items(r);
    assert.equal(list.length, 50);
    assert.equal(r.structuredContent!.total, guests.length);
    assert.equal(r.structuredContent!.more, guests.length - 50);
    const body = text(r);
    const lines = body.split("\n");
    assert.match(lines.at(-1)!, /^50 of 10000; 9950 more: next_cursor=\S{1,16}$/);
    const perGuest = tokens(body) / list.length;
    assert.ok(perGuest <= 25, `${perGuest.toFixed(1)} tokens per guest in the text`);
  });

  await t.step("a repeated filtered list sends no request and matches the cluster", async () => {
    const args = { node: "pve3", status: "running", tag: "web" };
    const first = await s.call("guest_list", { ...args, limit: 500 });
    const before = gets().length;
    const again = await s.call("guest_list", { ...args, limit: 500 });
    assert.equal(gets().length, before, "answered from the cached snapshot");
    assert.deepEqual(again.structuredContent, first.structuredContent);
    const expected = guests.filter((g) =>
      g.node === "pve3" && g.status === "running" &&
      String(g.config.tags ?? "").split(/[;,\s]+/).includes("web")
    ).map((g) => g.vmid).sort((a, b) => a - b);
    assert.ok(expected.length > 0);
    assert.deepEqual(items(first).map((g) => g.vmid), expected);
  });

  await t.step("following next_cursor visits every match once", async () => {
    const args = { node: "pve7", sort: "mem", order: "desc", limit: 40 };
    const seen: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const r = await s.call("guest_list", { ...args, ...(cursor ? { cursor } : {}) });
      seen.push(...items(r).map((g) => g.vmid as number));
      cursor = r.structuredContent!.next_cursor as string | undefined;
      pages++;
    } while (cursor);
    const expected = guests.filter((g) => g.node === "pve7").map((g) => g.vmid).sort((a, b) =>
      a - b
    );
    assert.deepEqual([...seen].sort((a, b) => a - b), expected);
    assert.equal(pages, Math.ceil(expected.length / 40));
  });

  await t.step("fields selects exactly the fields, in text and structuredContent", async () => {
    const r = await s.call("guest_list", { fields: ["vmid", "status"], limit: 3 });
    for (const g of items(r)) assert.deepEqual(Object.keys(g).sort(), ["status", "vmid"]);
    assert.equal(text(r).split("\n")[0], "vmid  status");
    const c = await s.call("cluster_resources", { type: "node", fields: ["id", "status"] });
    for (const n of items(c)) assert.deepEqual(Object.keys(n).sort(), ["id", "status"]);
  });

  await t.step("guest_status costs one API request once the location is known", async () => {
    await s.call("guest_status", { vmid: guests[0].vmid });
    const before = gets().length;
    for (const g of guests.slice(100, 110)) {
      const r = await s.call("guest_status", { vmid: g.vmid });
      assert.ok(!r.isError, text(r));
      assert.equal(r.structuredContent!.node, g.node);
    }
    const sent = gets().slice(before);
    assert.equal(sent.length, 10);
    assert.ok(sent.every((r) => r.path.endsWith("/status/current")));
  });

  await t.step("a mutation invalidates the cache: the next list shows it", async () => {
    const g = guests.find((x) =>
      x.status === "running" && x.type === "lxc" && !String(x.config.tags).includes("prod")
    )!;
    const before = await s.call("guest_list", { name: g.name, status: "running" });
    assert.ok(items(before).some((x) => x.vmid === g.vmid));
    const done = await s.call("guest_power", { vmid: g.vmid, action: "shutdown" });
    assert.ok(!done.isError, text(done));
    assert.equal(done.structuredContent!.status, "done", text(done));
    const after = await s.call("guest_list", { name: g.name, status: "running" });
    assert.ok(!items(after).some((x) => x.vmid === g.vmid), "no stale running entry");
  });

  await t.step("long config values are cut short, and keys gets them in full", async () => {
    const g = guests[5];
    g.config = { ...g.config, description: "note ".repeat(400) };
    const r = await s.call("guest_config", { vmid: g.vmid });
    assert.ok(!r.isError, text(r));
    const cfg = r.structuredContent!.config as Record<string, string>;
    assert.ok(cfg.description.length < 300);
    assert.deepEqual(r.structuredContent!.truncated, ["description"]);
    assert.match(text(r), /cut short: description; pass keys=\["description"\]/);
    const full = await s.call("guest_config", { vmid: g.vmid, keys: ["description"] });
    const fullCfg = full.structuredContent!.config as Record<string, string>;
    assert.equal(fullCfg.description, "note ".repeat(400));
    assert.equal(full.structuredContent!.truncated, undefined);
  });
});
