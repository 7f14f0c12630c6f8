import assert from "node:assert/strict";
import {
  type ClusterResource,
  parseResource,
  parseResources,
  ResourceSnapshot,
} from "../src/proxmox/resources.ts";
import { ToolInputError } from "../src/tools/context.ts";
import { paginate, queryKey } from "../src/tools/paginate.ts";
import { type ResourceFilter, selectResources } from "../src/tools/resource_query.ts";

/** A deterministic mixed inventory: nodes, storages, pools and guests in shuffled order. */
function inventory(guests: number): ClusterResource[] {
  return parseResources(rawInventory(guests));
}

/** {@link inventory} as the API sends it (VMIDs and numbers partly as strings), shuffled. */
function rawInventory(guests: number): unknown[] {
  const out: unknown[] = [];
  const nodes = ["pve1", "pve2", "pve3", "pve10"];
  for (const n of nodes) out.push({ id: `node/${n}`, type: "node", node: n, status: "online" });
  for (const n of nodes) {
    out.push({ id: `storage/${n}/local`, type: "storage", node: n, storage: "local" });
  }
  out.push({ id: "/pool/prod", type: "pool", pool: "prod" });
  const tags = ["prod;web", "DB;prod", "lab", "", "web, Lab"];
  const statuses = ["running", "stopped", "paused"];
  for (let i = 0; i < guests; i++) {
    const vmid = 100 + ((i * 7919) % (guests * 3));
    out.push({
      id: `${i % 3 ? "qemu" : "lxc"}/${vmid}`,
      type: i % 3 ? "qemu" : "lxc",
      vmid: i % 5 ? vmid : String(vmid),
      node: nodes[i % 4],
      status: statuses[i % 3],
      name: `guest-${i % 17}`,
      mem: (i * 37) % 1000,
      cpu: String((i % 10) / 10),
      tags: tags[i % tags.length] || undefined,
      pool: i % 4 === 0 ? "prod" : undefined,
      template: i % 11 === 0 ? 1 : "",
    });
  }
  return out.reverse();
}

/** Natural order written for the oracle: digit runs compare as numbers, other text by code. */
function naturalCompare(a: string, b: string): number {
  const chunks = (s: string) => s.toLowerCase().match(/\d+|\D+/g) ?? [];
  const [x, y] = [chunks(a), chunks(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const [p, q] = [x[i], y[i]];
    const bothDigits = /^\d/.test(p) && /^\d/.test(q);
    const d = bothDigits ? Number(p) - Number(q) : p < q ? -1 : p > q ? 1 : 0;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * The obvious O(n) implementation the indexed one must agree with, sharing no code with it:
 * filter, order by VMID then id, then order by `key` (values missing last in either direction,
 * ties kept in that order).
 */
function naive(all: ClusterResource[], f: ResourceFilter, key: string, order: "asc" | "desc") {
  const tagsOf = (r: ClusterResource) =>
    (r.tags ?? "").split(/[;,\s]+/).filter(Boolean).map((t) => t.toLowerCase());
  const found = all.filter((r) => {
    if (f.type === "vm" && r.type !== "qemu" && r.type !== "lxc") return false;
    if (f.type && f.type !== "vm" && r.type !== f.type) return false;
    if (f.node && r.node !== f.node) return false;
    if (f.status && r.status !== f.status) return false;
    if (f.pool && r.pool !== f.pool && !(r.type === "pool" && r.id === `/pool/${f.pool}`)) {
      return false;
    }
    if (f.tag && !tagsOf(r).includes(f.tag.toLowerCase())) return false;
    if (f.template !== undefined && Boolean(r.template) !== f.template) return false;
    if (f.name && !(r.name ?? r.storage ?? r.id).toLowerCase().includes(f.name.toLowerCase())) {
      return false;
    }
    return true;
  }).sort((a, b) => (a.vmid ?? Infinity) - (b.vmid ?? Infinity) || (a.id < b.id ? -1 : 1));
  const dir = order === "asc" ? 1 : -1;
  const ranked = found.map((r, i) => ({ r, i, v: (r as unknown as Record<string, unknown>)[key] }));
  ranked.sort((a, b) => {
    if (a.v === undefined || b.v === undefined) {
      return a.v === b.v ? a.i - b.i : a.v === undefined ? 1 : -1;
    }
    const d = typeof a.v === "number" && typeof b.v === "number"
      ? a.v - b.v
      : naturalCompare(String(a.v), String(b.v));
    return d * dir || a.i - b.i;
  });
  return ranked.map((x) => x.r.id);
}

Deno.test("selectResources()  agrees with a plain filter and sort", async (t) => {
  const all = inventory(600);
  const filters: ResourceFilter[] = [
    {},
    { type: "vm" },
    { type: "lxc" },
    { type: "node" },
    { type: "storage", node: "pve2" },
    { type: "vm", node: "pve2", status: "running" },
    { type: "vm", tag: "prod" },
    { type: "vm", tag: "LAB" },
    { tag: "db", status: "stopped" },
    { pool: "prod" },
    { type: "vm", name: "GUEST-1" },
    { type: "vm", template: true },
    { type: "vm", template: false, node: "pve10" },
    { node: "nosuchnode" },
    { type: "vm", tag: "nosuchtag" },
  ];
  const sorts: [string, "asc" | "desc"][] = [
    ["vmid", "asc"],
    ["vmid", "desc"],
    ["id", "asc"],
    ["mem", "desc"],
    ["cpu", "asc"],
    ["name", "asc"],
    ["node", "desc"],
  ];
  for (const f of filters) {
    await t.step(`filter ${JSON.stringify(f)}`, () => {
      for (const [key, order] of sorts) {
        const snapshot = new ResourceSnapshot(all, 0);
        const got = selectResources(snapshot, f, { key, order }).map((r) => r.id);
        assert.deepEqual(got, naive(all, f, key, order), `sort ${key} ${order}`);
      }
    });
  }
});

Deno.test("ResourceSnapshot  indexes once and memoises bounded query results", async (t) => {
  const snapshot = new ResourceSnapshot(inventory(90), 42);

  await t.step("lookups by VMID, attribute and tag", () => {
    assert.equal(snapshot.at, 42);
    assert.equal(snapshot.guestCount, 90);
    const any = snapshot.lookup("type", "vm")[0];
    assert.equal(snapshot.guest(any.vmid!), any);
    assert.ok(snapshot.lookup("node", "pve3").every((r) => r.node === "pve3"));
    assert.ok(snapshot.lookup("tag", "lab").length > 0);
    assert.equal(snapshot.lookup("tag", "Lab").length, 0, "tag keys are lower-case");
    assert.deepEqual(snapshot.lookup("status", "nope"), []);
  });

  await t.step("the same query returns the memoised result", () => {
    const a = selectResources(snapshot, { type: "vm", node: "pve1" });
    const b = selectResources(snapshot, { type: "vm", node: "pve1" });
    assert.equal(a, b);
    const c = selectResources(snapshot, { type: "vm", node: "pve1" }, { key: "mem", order: "asc" });
    assert.notEqual(a, c);
  });

  await t.step("the memo keeps at most MEMO_LIMIT results", () => {
    let built = 0;
    for (let i = 0; i < ResourceSnapshot.MEMO_LIMIT + 10; i++) {
      snapshot.memo(`k${i}`, () => ++built);
    }
    assert.equal(snapshot.memo("k0", () => -1), -1, "the oldest was dropped");
    assert.equal(snapshot.memo(`k${ResourceSnapshot.MEMO_LIMIT + 9}`, () => -1), built);
  });

  await t.step("nearby VMIDs for not-found messages", () => {
    const s = new ResourceSnapshot(
      parseResources([
        { id: "qemu/100", type: "qemu", vmid: 100, node: "a" },
        { id: "qemu/110", type: "qemu", vmid: 110, node: "a" },
        { id: "lxc/120", type: "lxc", vmid: 120, node: "a" },
        { id: "lxc/300", type: "lxc", vmid: 300, node: "a" },
      ]),
      0,
    );
    assert.deepEqual(s.nearby(112, 3), [100, 110, 120]);
  });
});

Deno.test("ResourceSnapshot.fromAnswer()  builds the snapshot that parsing then indexing builds", async (t) => {
  const same = (a: ResourceSnapshot, b: ResourceSnapshot) => {
    assert.deepEqual(a.all, b.all);
    assert.equal(a.guestCount, b.guestCount);
    for (
      const [attribute, value] of [
        ["type", "vm"],
        ["type", "storage"],
        ["node", "pve10"],
        ["status", "running"],
        ["tag", "lab"],
        ["pool", "prod"],
      ] as const
    ) {
      assert.deepEqual(a.lookup(attribute, value), b.lookup(attribute, value), value);
    }
    for (const r of b.all) {
      assert.deepEqual(a.tags(r), b.tags(r));
      assert.deepEqual(a.lowerTags(r), b.lowerTags(r));
      if (r.vmid !== undefined) assert.deepEqual(a.guest(r.vmid), r);
    }
  };
  const raw = rawInventory(300);

  await t.step("from an answer in any order, malformed entries dropped", () => {
    const messy = [null, 7, { type: "qemu" }, ...raw, { id: 5, type: "lxc" }];
    same(ResourceSnapshot.fromAnswer(messy, 1), new ResourceSnapshot(parseResources(messy), 1));
    assert.equal(ResourceSnapshot.fromAnswer(messy, 1).all.length, raw.length);
  });

  await t.step("from an answer already in snapshot order", () => {
    const ordered = new ResourceSnapshot(parseResources(raw), 0).all;
    same(ResourceSnapshot.fromAnswer(ordered, 0), new ResourceSnapshot(ordered, 0));
  });

  await t.step("an answer that is not a list is an empty snapshot", () => {
    for (const data of [null, {}, "x"]) {
      const s = ResourceSnapshot.fromAnswer(data, 3);
      assert.equal(s.all.length, 0);
      assert.equal(s.at, 3);
    }
  });
});

Deno.test("parseResource()  is tolerant of what real clusters send", async (t) => {
  await t.step("numbers as strings, flags as 0/1/''", () => {
    const r = parseResource({
      id: "qemu/100",
      type: "qemu",
      vmid: "100",
      mem: "1024",
      cpu: 0.5,
      template: "",
      shared: 1,
      extra: "ignored",
    });
    assert.equal(r?.vmid, 100);
    assert.equal(r?.mem, 1024);
    assert.equal(r?.cpu, 0.5);
    assert.equal(r?.template, false);
    assert.equal(r?.shared, true);
    assert.ok(r && !("extra" in r));
  });

  await t.step("malformed fields are left out, malformed entries dropped", () => {
    assert.equal(parseResource({ id: "qemu/1", type: "qemu", mem: "lots" })?.mem, undefined);
    assert.equal(parseResource({ id: "qemu/1", type: "qemu", name: 5 })?.name, undefined);
    assert.equal(parseResource({ type: "qemu" }), undefined);
    assert.equal(parseResource("qemu/1"), undefined);
    assert.deepEqual(parseResources({ data: [] }), []);
    assert.equal(parseResources([null, 1, { id: "node/a", type: "node" }]).length, 1);
  });
});

Deno.test("paginate()  pages with short cursors bound to the query", async (t) => {
  const items = Array.from({ length: 23 }, (_, i) => i);
  const query = queryKey({ node: "pve1", sort: "vmid", limit: 10, fields: ["vmid"] });

  await t.step("pages cover every item once and say how many are left", () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    const mores: number[] = [];
    do {
      const p = paginate(items, { limit: 10, cursor, query });
      seen.push(...p.items);
      mores.push(p.more);
      assert.equal(p.total, 23);
      cursor = p.next_cursor;
      if (cursor) assert.ok(cursor.length <= 16, `cursor ${cursor} is short`);
    } while (cursor);
    assert.deepEqual(seen, items);
    assert.deepEqual(mores, [13, 3, 0]);
  });

  await t.step("page size and field selection may change between pages", () => {
    const first = paginate(items, { limit: 10, query });
    const other = queryKey({ node: "pve1", sort: "vmid", limit: 5, fields: ["name"] });
    assert.deepEqual(paginate(items, { limit: 5, cursor: first.next_cursor, query: other }).items, [
      10,
      11,
      12,
      13,
      14,
    ]);
  });

  await t.step("a cursor of another query or garbage is refused", () => {
    const first = paginate(items, { limit: 10, query });
    const other = queryKey({ node: "pve2", sort: "vmid" });
    assert.throws(
      () => paginate(items, { limit: 10, cursor: first.next_cursor, query: other }),
      (e) => e instanceof ToolInputError && /other filters/.test(e.message),
    );
    assert.throws(
      () => paginate(items, { limit: 10, cursor: "garbage!", query }),
      (e) => e instanceof ToolInputError && /Invalid cursor/.test(e.message),
    );
  });
});
