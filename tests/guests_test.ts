import assert from "node:assert/strict";
import { ProxmoxClient } from "../src/proxmox/client.ts";
import { ProxmoxApiError } from "../src/proxmox/errors.ts";
import { GuestNotFoundError, guestPath, resolveGuest } from "../src/proxmox/guests.ts";
import { startSimulator } from "../src/simulator/mod.ts";

/** Older clusters send VMIDs as strings and `template` as "" or 0/1. */
const RESOURCES = [
  { id: "node/pve1", type: "node", node: "pve1" },
  {
    id: "qemu/100",
    type: "qemu",
    vmid: "100",
    node: "pve1",
    name: "web",
    status: "running",
    template: "",
  },
  { id: "lxc/105", type: "lxc", vmid: 105, node: "pve2", name: "dns", status: "stopped" },
  { id: "qemu/9000", type: "qemu", vmid: "9000", node: "pve2", name: "tmpl", template: 1 },
  { id: "storage/pve1/local", type: "storage", node: "pve1" },
];

/** Per-node configs for direct lookups: node → vmid → type. */
const ON_NODE: Record<string, Record<number, "qemu" | "lxc">> = {
  pve1: { 100: "qemu" },
  pve2: { 105: "lxc", 9000: "qemu" },
};

function fakeCluster() {
  const paths: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const path = url.pathname.replace("/api2/json", "");
    paths.push(path + url.search);
    if (path === "/cluster/resources") {
      const type = url.searchParams.get("type");
      const data = RESOURCES.filter((r) => type !== "vm" || r.type === "qemu" || r.type === "lxc");
      return Response.json({ data });
    }
    if (path.startsWith("/nodes/offline/")) {
      return new Response(null, { status: 595, statusText: "no such cluster node 'offline'" });
    }
    const m = /^\/nodes\/([^/]+)\/(qemu|lxc)\/(\d+)\/status\/current$/.exec(path);
    if (m) {
      const [, node, type, vmid] = m;
      if (ON_NODE[node]?.[Number(vmid)] === type) {
        const entry = RESOURCES.find((r) => r.id === `${type}/${vmid}`)!;
        return Response.json({ data: { ...entry, vmid: Number(vmid) } });
      }
      const dir = type === "qemu" ? "qemu-server" : "lxc";
      return Response.json(
        {
          data: null,
          message: `Configuration file 'nodes/${node}/${dir}/${vmid}.conf' does not exist`,
        },
        { status: 500 },
      );
    }
    return Response.json({ data: null }, { status: 501 });
  });
  const client = new ProxmoxClient({
    baseUrl: `http://127.0.0.1:${server.addr.port}`,
    auth: { type: "token", tokenId: "mcp@pve!mcp", secret: "5f0c2b7e-9a41-4c6d-8e3f-1b2a3c4d5e6f" },
    retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
  });
  return {
    client,
    paths,
    async [Symbol.asyncDispose]() {
      client.close();
      await server.shutdown();
    },
  };
}

Deno.test("resolveGuest()  finds node and type from the cluster resources", async (t) => {
  await using cluster = fakeCluster();

  await t.step("resolves a VM whose vmid arrives as a string", async () => {
    const ref = await resolveGuest(cluster.client, 100);
    assert.deepEqual(ref, {
      vmid: 100,
      node: "pve1",
      type: "qemu",
      name: "web",
      status: "running",
      template: false,
    });
    assert.equal(cluster.paths.at(-1), "/cluster/resources?type=vm");
  });

  await t.step("resolves a container", async () => {
    const ref = await resolveGuest(cluster.client, 105);
    assert.equal(ref.type, "lxc");
    assert.equal(ref.node, "pve2");
    assert.equal(ref.template, undefined);
  });

  await t.step("reads template flags sent as 1", async () => {
    const ref = await resolveGuest(cluster.client, 9000);
    assert.equal(ref.template, true);
  });

  await t.step("a missing VMID names the nearby ones", async () => {
    const err = await resolveGuest(cluster.client, 104).catch((e) => e);
    assert.ok(err instanceof GuestNotFoundError);
    assert.equal(err.vmid, 104);
    assert.equal(
      err.message,
      "Cannot resolve guest 104: no such VMID in cluster (nearby VMIDs: 100, 105, 9000)",
    );
  });

  await t.step("rejects VMIDs that are not positive integers", async () => {
    await assert.rejects(resolveGuest(cluster.client, 0), RangeError);
    await assert.rejects(resolveGuest(cluster.client, 1.5), RangeError);
  });
});

Deno.test("resolveGuest()  with an explicit node asks that node only", async (t) => {
  await using cluster = fakeCluster();

  await t.step("finds a VM on the first try", async () => {
    const ref = await resolveGuest(cluster.client, 100, { node: "pve1" });
    assert.equal(ref.type, "qemu");
    assert.equal(ref.node, "pve1");
    assert.equal(ref.name, "web");
    assert.deepEqual(cluster.paths, ["/nodes/pve1/qemu/100/status/current"]);
  });

  await t.step("falls back to lxc when the qemu config does not exist", async () => {
    cluster.paths.length = 0;
    const ref = await resolveGuest(cluster.client, 105, { node: "pve2" });
    assert.equal(ref.type, "lxc");
    assert.deepEqual(cluster.paths, [
      "/nodes/pve2/qemu/105/status/current",
      "/nodes/pve2/lxc/105/status/current",
    ]);
  });

  await t.step("a guest on another node is not found on this one", async () => {
    const err = await resolveGuest(cluster.client, 105, { node: "pve1" }).catch((e) => e);
    assert.ok(err instanceof GuestNotFoundError);
    assert.equal(err.node, "pve1");
    assert.equal(err.message, "Cannot resolve guest 105: no such VMID on node pve1");
  });

  await t.step("other API errors propagate unchanged", async () => {
    const err = await resolveGuest(cluster.client, 100, { node: "offline" }).catch((e) => e);
    assert.ok(err instanceof ProxmoxApiError && !(err instanceof GuestNotFoundError));
    assert.equal(err.status, 595);
  });
});

Deno.test("guestPath()  builds encoded API paths", () => {
  const ref = { node: "pve1", type: "qemu" as const, vmid: 100 };
  assert.equal(guestPath(ref, "/status/current"), "/nodes/pve1/qemu/100/status/current");
  assert.equal(guestPath(ref, "snapshot"), "/nodes/pve1/qemu/100/snapshot");
  assert.equal(guestPath({ ...ref, type: "lxc" }), "/nodes/pve1/lxc/100");
  assert.equal(guestPath({ ...ref, node: "a/b" }), "/nodes/a%2Fb/qemu/100");
});

Deno.test("resolveGuest()  against the simulator", async (t) => {
  await using sim = await startSimulator();
  const { admin } = sim.credentials;
  await using api = new ProxmoxClient({
    baseUrl: sim.url,
    caCerts: [sim.caCert],
    auth: { type: "token", tokenId: admin.tokenId, secret: admin.tokenSecret },
  });
  const guests = [...sim.state.guests.values()];

  await t.step("every guest resolves to its node and type", async () => {
    for (const g of guests) {
      const ref = await resolveGuest(api, g.vmid);
      assert.deepEqual([ref.node, ref.type], [g.node, g.type], `guest ${g.vmid}`);
    }
  });

  await t.step("with the node given, containers resolve after the qemu miss", async () => {
    const ct = guests.find((g) => g.type === "lxc")!;
    const ref = await resolveGuest(api, ct.vmid, { node: ct.node });
    assert.equal(ref.type, "lxc");
    const other = guests.find((g) => g.node !== ct.node)!.node;
    await assert.rejects(resolveGuest(api, ct.vmid, { node: other }), GuestNotFoundError);
  });

  await t.step("an unknown VMID", async () => {
    const err = await resolveGuest(api, 4242).catch((e) => e);
    assert.ok(err instanceof GuestNotFoundError);
    assert.match(err.message, /^Cannot resolve guest 4242: no such VMID in cluster \(nearby/);
  });
});
