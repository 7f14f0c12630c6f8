import assert from "node:assert/strict";
import { ProxmoxApiError } from "../src/proxmox/errors.ts";
import { GuestNotFoundError } from "../src/proxmox/guests.ts";
import type { ApiParams, ApiRequestOptions, ProxmoxApi } from "../src/tools/context.ts";
import { Inventory } from "../src/tools/inventory.ts";
import { ManualClock } from "../src/util/clock.ts";

/** A fake cluster API whose answers the test edits; counts and can hold back requests. */
class FakeApi implements ProxmoxApi {
  resources: Record<string, unknown>[] = [
    { id: "node/pve1", type: "node", node: "pve1", status: "online" },
    { id: "node/pve2", type: "node", node: "pve2", status: "online" },
    { id: "qemu/100", type: "qemu", vmid: 100, node: "pve1", status: "running", name: "web" },
    { id: "lxc/101", type: "lxc", vmid: "101", node: "pve2", status: "stopped", name: "dns" },
    { id: "qemu/105", type: "qemu", vmid: 105, node: "pve1", status: "running", name: "db" },
  ];
  calls: string[] = [];
  /** When set, /cluster/resources waits for this before answering. */
  gate?: Promise<void>;
  /** Paths whose GET fails like a guest that is not on that node. */
  missing = new Set<string>();

  async get<T>(path: string, _params?: ApiParams, opts?: ApiRequestOptions): Promise<T> {
    this.calls.push(path);
    if (path === "/cluster/resources") {
      const answer = structuredClone(this.resources);
      if (this.gate) await held(this.gate, opts?.signal);
      return answer as T;
    }
    if (path === "/nodes") {
      if (this.gate) await held(this.gate, opts?.signal);
      return this.resources.filter((r) => r.type === "node")
        .map((r) => ({ node: r.node, status: "online" })) as T;
    }
    if (this.missing.has(path)) {
      throw new ProxmoxApiError({
        status: 500,
        method: "GET",
        path,
        apiMessage: "Configuration file 'nodes/pve1/qemu-server/105.conf' does not exist",
      });
    }
    return { path } as T;
  }
  post<T>(): Promise<T> {
    return Promise.reject(new Error("not used"));
  }
  put<T>(): Promise<T> {
    return Promise.reject(new Error("not used"));
  }
  delete<T>(): Promise<T> {
    return Promise.reject(new Error("not used"));
  }
  count(path: string): number {
    return this.calls.filter((c) => c === path).length;
  }
}

/** Waits for `gate` like a real request: a request whose signal aborts fails. */
function held(gate: Promise<void>, signal?: AbortSignal): Promise<void> {
  if (!signal) return gate;
  return Promise.race([
    gate,
    new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    }),
  ]);
}

/** Yields to pending promise callbacks until `done()` holds; at most `max` turns, no timers. */
async function settle(done: () => boolean, max = 1_000): Promise<void> {
  for (let i = 0; i < max && !done(); i++) await Promise.resolve();
  assert.ok(done(), `not settled after ${max} turns`);
}

const RES = "/cluster/resources";

Deno.test("Inventory.resources()  caches a snapshot bounded in age", async (t) => {
  const api = new FakeApi();
  const clock = new ManualClock(1_000_000);
  const inv = new Inventory(api, clock, { resources: 5_000 });

  await t.step(
    "the first call reads the cluster, the next ones within half the ttl do not",
    async () => {
      const a = await inv.resources();
      clock.advance(2_000);
      const b = await inv.resources();
      assert.equal(a, b);
      assert.equal(api.count(RES), 1);
      assert.equal(a.guestCount, 3);
    },
  );

  await t.step(
    "past half the ttl the old snapshot answers and a new one is read behind it",
    async () => {
      clock.advance(1_000); // age 3 s
      const before = await inv.resources();
      assert.equal(before.at, 1_000_000);
      assert.equal(api.count(RES), 2);
      await settle(() => inv.cached?.at === 1_003_000);
      const after = await inv.resources();
      assert.equal(after.at, 1_003_000);
      assert.equal(api.count(RES), 2);
    },
  );

  await t.step("past the ttl a caller waits for a new reading", async () => {
    clock.advance(5_001);
    api.resources.push({ id: "qemu/200", type: "qemu", vmid: 200, node: "pve2" });
    const s = await inv.resources();
    assert.equal(s.at, 1_008_001);
    assert.ok(s.guest(200));
    assert.equal(api.count(RES), 3);
  });

  await t.step("concurrent callers share one reading", async () => {
    inv.invalidate();
    const all = await Promise.all([inv.resources(), inv.resources(), inv.resources()]);
    assert.equal(new Set(all).size, 1);
    assert.equal(api.count(RES), 4);
  });
});

Deno.test("Inventory.invalidate()  drops cached data, including a reading in flight", async (t) => {
  const api = new FakeApi();
  const clock = new ManualClock(0);
  const inv = new Inventory(api, clock);

  await t.step("after invalidate() the next call reads again", async () => {
    await inv.resources();
    await inv.nodes();
    inv.invalidate();
    await inv.resources();
    await inv.nodes();
    assert.equal(api.count(RES), 2);
    assert.equal(api.count("/nodes"), 2);
  });

  await t.step("a reading that started before invalidate() is not kept", async () => {
    inv.invalidate();
    const gate = Promise.withResolvers<void>();
    api.gate = gate.promise;
    const stale = inv.resources(); // reads the old state
    api.resources = api.resources.filter((r) => r.vmid !== 105); // a mutation...
    inv.invalidate(); // ...and the hook the mutating tool calls
    api.gate = undefined;
    const fresh = inv.resources(); // must not join the reading in flight
    gate.resolve();
    assert.ok((await stale).guest(105), "the early caller gets what it asked for");
    assert.equal((await fresh).guest(105), undefined);
    assert.equal((await inv.resources()).guest(105), undefined, "the stale one was not cached");
  });
});

Deno.test("Inventory.guest()  locates guests from the snapshot", async (t) => {
  const api = new FakeApi();
  const clock = new ManualClock(0);
  const inv = new Inventory(api, clock);

  await t.step("VMID to node and type with one reading for many lookups", async () => {
    assert.deepEqual(await inv.guest(100, undefined), {
      vmid: 100,
      node: "pve1",
      type: "qemu",
      name: "web",
      status: "running",
    });
    const ct = await inv.guest(101, undefined);
    assert.equal(ct.type, "lxc");
    assert.equal(ct.node, "pve2");
    assert.equal(api.count(RES), 1);
  });

  await t.step("a given node is checked against the snapshot", async () => {
    assert.equal((await inv.guest(100, "pve1")).type, "qemu");
    assert.equal(api.count(RES), 1);
  });

  await t.step("an unknown VMID re-reads once, then names the nearby VMIDs", async () => {
    clock.advance(1_000);
    const err = await inv.guest(104, undefined).catch((e) => e);
    assert.ok(err instanceof GuestNotFoundError);
    assert.deepEqual(err.nearby, [100, 101, 105]);
    assert.equal(api.count(RES), 2);
  });

  await t.step("misses re-read at most once per missRetry", async () => {
    await inv.guest(104, undefined).catch(() => {});
    await inv.guest(103, undefined).catch(() => {});
    assert.equal(api.count(RES), 2);
  });

  await t.step("a guest created since the snapshot is found by the re-read", async () => {
    clock.advance(1_000);
    api.resources.push({ id: "qemu/300", type: "qemu", vmid: 300, node: "pve2" });
    assert.equal((await inv.guest(300, undefined)).node, "pve2");
    assert.equal(api.count(RES), 3);
  });

  await t.step("locations older than their ttl are read again", async () => {
    clock.advance(60_001);
    await inv.guest(100, undefined);
    assert.equal(api.count(RES), 4);
  });
});

Deno.test("Inventory.withGuest()  follows a guest that moved since the snapshot", async (t) => {
  const api = new FakeApi();
  const clock = new ManualClock(0);
  const inv = new Inventory(api, clock);
  await inv.resources();

  await t.step("a 'does not exist' answer on a fresh snapshot is the API's error", async () => {
    api.missing.add("/nodes/pve1/qemu/105/status/current");
    const err = await inv.withGuest(
      105,
      undefined,
      undefined,
      (g) => api.get(`/nodes/${g.node}/${g.type}/${g.vmid}/status/current`),
    ).catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError);
    assert.equal(api.count(RES), 1);
  });

  await t.step("on an older one it re-reads the location and retries there", async () => {
    clock.advance(2_000);
    api.missing.add("/nodes/pve1/qemu/105/status/current");
    api.resources = api.resources.map((r) => r.vmid === 105 ? { ...r, node: "pve2" } : r);
    const out = await inv.withGuest(
      105,
      undefined,
      undefined,
      (g) => api.get<{ path: string }>(`/nodes/${g.node}/${g.type}/${g.vmid}/status/current`),
    );
    assert.equal(out.path, "/nodes/pve2/qemu/105/status/current");
  });

  await t.step("when the location did not change, the error is the API's", async () => {
    clock.advance(2_000);
    api.missing.add("/nodes/pve2/qemu/105/status/current");
    const err = await inv.withGuest(
      105,
      undefined,
      undefined,
      (g) => api.get(`/nodes/${g.node}/${g.type}/${g.vmid}/status/current`),
    ).catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError);
  });

  await t.step("a guest gone from the cluster is reported as not found", async () => {
    clock.advance(2_000);
    api.resources = api.resources.filter((r) => r.vmid !== 105);
    const err = await inv.withGuest(
      105,
      undefined,
      undefined,
      (g) => api.get(`/nodes/${g.node}/${g.type}/${g.vmid}/status/current`),
    ).catch((e) => e);
    assert.ok(err instanceof GuestNotFoundError);
  });
});

Deno.test("Inventory  shares one cache per backend and honours cancellation", async (t) => {
  await t.step("Inventory.shared() gives one inventory per API and clock", () => {
    const api = new FakeApi();
    const clock = new ManualClock(0);
    assert.equal(Inventory.shared(api, clock), Inventory.shared(api, clock));
    assert.notEqual(Inventory.shared(api, clock), Inventory.shared(new FakeApi(), clock));
    assert.notEqual(Inventory.shared(api, clock), Inventory.shared(api, new ManualClock(0)));
  });

  await t.step(
    "an aborted caller stops waiting; the shared reading serves the others",
    async () => {
      const api = new FakeApi();
      const inv = new Inventory(api, new ManualClock(0));
      const gate = Promise.withResolvers<void>();
      api.gate = gate.promise;
      const controller = new AbortController();
      const aborted = inv.resources(controller.signal);
      const other = inv.resources();
      controller.abort(new Error("cancelled by the client"));
      await assert.rejects(aborted, /cancelled by the client/);
      gate.resolve();
      assert.equal((await other).guestCount, 3);
      assert.equal(api.count(RES), 1);
    },
  );

  await t.step(
    "the shared node list is not cancelled by the caller that started it",
    async () => {
      const api = new FakeApi();
      const inv = new Inventory(api, new ManualClock(0));
      const gate = Promise.withResolvers<void>();
      api.gate = gate.promise;
      const controller = new AbortController();
      const first = inv.nodes(controller.signal);
      const second = inv.nodes();
      const third = inv.requireNode("pve2");
      controller.abort(new Error("cancelled by the client"));
      await assert.rejects(first, /cancelled by the client/);
      gate.resolve();
      assert.deepEqual((await second).map((n) => n.node), ["pve1", "pve2"]);
      assert.equal((await third).node, "pve2");
      assert.equal(api.count("/nodes"), 1);
      assert.deepEqual((await inv.nodes()).map((n) => n.node), ["pve1", "pve2"]);
      assert.equal(api.count("/nodes"), 1, "the answer stays cached");
    },
  );
});
