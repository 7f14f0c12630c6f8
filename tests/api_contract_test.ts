import assert from "node:assert/strict";
import { validateRequest } from "../src/proxmox/api_schema/validate.ts";
import { ProxmoxClient } from "../src/proxmox/client.ts";
import { buildServer } from "../src/server/app.ts";
import { Client, InMemoryTransport } from "../src/server/sdk.ts";
import type { ClusterState } from "../src/simulator/state.ts";
import { startSimulator } from "../src/simulator/mod.ts";
import { catalogue } from "../src/tools/catalogue.ts";
import { silentLogger } from "../src/util/log.ts";
import { RecordingApi } from "./helpers/recording_api.ts";

/** Argument sets that exercise each tool's request paths; every catalogue row needs one. */
function exercises(state: ClusterState): Record<string, Record<string, unknown>[]> {
  const guests = [...state.guests.values()];
  const vm = guests.find((g) => g.type === "qemu")!;
  const ct = guests.find((g) => g.type === "lxc")!;
  const node = [...state.nodes.keys()][0];
  const task = [...state.tasks.values()][0];
  return {
    cluster_status: [{}],
    cluster_resources: [
      {},
      { type: "vm" },
      { type: "node" },
      { type: "storage" },
      { type: "pool" },
      {
        type: "lxc",
        node,
        tag: "prod",
        pool: "prod",
        name: "a",
        status: "running",
      },
    ],
    next_vmid: [{}, { vmid: vm.vmid }, { vmid: 999999999 }],
    node_list: [{}],
    node_status: [{ node }],
    node_network: [{ node }, { node, type: "bridge" }, { node, type: "any_bridge" }, {
      node,
      type: "vlan",
    }],
    node_storage: [{ node }, { node, content: "iso" }, { node, storage: "local" }],
    guest_list: [{}, { node, type: "qemu", status: "stopped", template: true, sort: "mem" }],
    guest_status: [{ vmid: vm.vmid }, { vmid: ct.vmid }, { vmid: vm.vmid, node: vm.node }],
    guest_config: [{ vmid: vm.vmid, pending: true }, { vmid: ct.vmid, pending: true }],
    storage_content: [{ node, storage: "local" }, {
      node,
      storage: "local",
      content: "backup",
      vmid: vm.vmid,
    }],
    task_list: [{}, { node, vmid: vm.vmid, type: "vzdump", user: "root@pam", since: 1 }, {
      node,
      status: "error",
    }],
    task_status: [{ upid: task.upid }],
    task_log: [{ upid: task.upid }, { upid: task.upid, start: 1, limit: 2 }],
    my_permissions: [{}, { path: "/vms" }],
  };
}

Deno.test("every request the tools send is valid against the official API schema", async () => {
  await using sim = await startSimulator();
  const { tokenId, tokenSecret } = sim.credentials.admin;
  const real = new ProxmoxClient({
    baseUrl: sim.url,
    auth: { type: "token", tokenId, secret: tokenSecret },
    caCerts: [sim.caCert],
  });
  const recorder = new RecordingApi(real);
  const server = buildServer({
    client: recorder,
    description: "recording",
    readOnly: true,
    [Symbol.asyncDispose]: () => Promise.resolve(),
  }, silentLogger);
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(b);
  const client = new Client({ name: "contract", version: "1" });
  await client.connect(a);
  try {
    const plan = exercises(sim.state);
    const readOnlyTools = catalogue.filter((t) => t.annotations.readOnlyHint);
    for (const tool of readOnlyTools) {
      const sets = plan[tool.name];
      assert.ok(sets?.length, `tests/api_contract_test.ts exercises ${tool.name}`);
      for (const args of sets) {
        const r = await client.callTool({ name: tool.name, arguments: args });
        assert.ok(!r.isError, `${tool.name} ${JSON.stringify(args)}: ${JSON.stringify(r.content)}`);
      }
    }
    assert.ok(recorder.requests.length > 30);
    for (const req of recorder.requests) {
      const params = Object.fromEntries(
        Object.entries(req.params).filter(([, v]) => v !== undefined),
      ) as Record<string, string | number | boolean | string[]>;
      const check = validateRequest(req.method, req.path, params);
      assert.ok(
        check.ok,
        `${req.method} ${req.path} ${JSON.stringify(params)}: ${JSON.stringify(check)}`,
      );
    }
  } finally {
    await client.close();
    real.close();
  }
});
