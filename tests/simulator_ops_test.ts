import assert from "node:assert/strict";
import { startSimulator } from "../src/simulator/mod.ts";
import { ManualClock } from "../src/util/clock.ts";
import { SimApi } from "./helpers/sim_client.ts";
import { returnsOf, shapeProblems } from "./helpers/sim_shape.ts";

/** Every monitoring endpoint the curated tools read, with a concrete path. */
const READS: [template: string, path: string, params?: Record<string, string | number>][] = [
  ["/nodes/{node}/rrddata", "/nodes/pve2/rrddata", { timeframe: "day" }],
  ["/nodes/{node}/qemu/{vmid}/rrddata", "/nodes/pve2/qemu/107/rrddata", {
    timeframe: "day",
    cf: "MAX",
  }],
  ["/nodes/{node}/lxc/{vmid}/rrddata", "/nodes/pve1/lxc/200/rrddata", { timeframe: "hour" }],
  [
    "/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces",
    "/nodes/pve1/qemu/100/agent/network-get-interfaces",
  ],
  ["/nodes/{node}/qemu/{vmid}/agent/get-osinfo", "/nodes/pve1/qemu/100/agent/get-osinfo"],
  ["/nodes/{node}/qemu/{vmid}/agent/get-host-name", "/nodes/pve1/qemu/100/agent/get-host-name"],
  ["/nodes/{node}/qemu/{vmid}/agent/get-fsinfo", "/nodes/pve1/qemu/103/agent/get-fsinfo"],
  ["/nodes/{node}/lxc/{vmid}/interfaces", "/nodes/pve3/lxc/201/interfaces"],
  ["/cluster/ceph/status", "/cluster/ceph/status"],
  ["/nodes/{node}/ceph/osd", "/nodes/pve1/ceph/osd"],
  ["/nodes/{node}/ceph/pool", "/nodes/pve1/ceph/pool"],
  ["/nodes/{node}/ceph/mon", "/nodes/pve1/ceph/mon"],
  ["/cluster/log", "/cluster/log", { max: 5 }],
  ["/nodes/{node}/journal", "/nodes/pve3/journal", { lastentries: 10 }],
  ["/nodes/{node}/syslog", "/nodes/pve3/syslog", { service: "smartd" }],
  ["/cluster/backup", "/cluster/backup"],
  ["/cluster/backup-info/not-backed-up", "/cluster/backup-info/not-backed-up"],
  ["/cluster/replication", "/cluster/replication"],
  ["/nodes/{node}/replication", "/nodes/pve2/replication"],
  ["/nodes/{node}/replication/{id}/log", "/nodes/pve2/replication/102-0/log"],
  ["/nodes/{node}/apt/update", "/nodes/pve1/apt/update"],
  ["/nodes/{node}/apt/repositories", "/nodes/pve3/apt/repositories"],
  ["/nodes/{node}/disks/list", "/nodes/pve3/disks/list"],
  ["/nodes/{node}/disks/smart", "/nodes/pve3/disks/smart", { disk: "/dev/sdb" }],
  ["/nodes/{node}/disks/zfs", "/nodes/pve3/disks/zfs"],
  ["/nodes/{node}/disks/zfs/{name}", "/nodes/pve3/disks/zfs/tank"],
  ["/nodes/{node}/disks/lvmthin", "/nodes/pve1/disks/lvmthin"],
  ["/nodes/{node}/services", "/nodes/pve3/services"],
  ["/nodes/{node}/certificates/info", "/nodes/pve1/certificates/info"],
  ["/cluster/sdn/zones", "/cluster/sdn/zones"],
  ["/cluster/sdn/vnets", "/cluster/sdn/vnets"],
  ["/cluster/sdn/vnets/{vnet}/subnets", "/cluster/sdn/vnets/labnet/subnets"],
  ["/access/tfa", "/access/tfa"],
];

Deno.test("simulator  serves the monitoring and node-health endpoints in the schema's shapes", async (t) => {
  await using sim = await startSimulator();
  using api = new SimApi(sim);
  for (const [template, path, params] of READS) {
    await t.step(path, async () => {
      const data = await api.data(path, params);
      assert.deepEqual(shapeProblems(data, returnsOf(template)), []);
    });
  }
});

Deno.test("simulator  guest agent and Ceph answer with PVE's errors", async (t) => {
  await using sim = await startSimulator();
  using api = new SimApi(sim);
  const agent = (node: string, vmid: number) =>
    api.call("GET", `/nodes/${node}/qemu/${vmid}/agent/get-osinfo`);

  await t.step("a VM without an agent configured", async () => {
    const r = await agent("pve2", 102);
    assert.equal(r.status, 500);
    assert.match(r.body!.message!, /No QEMU guest agent configured/);
  });
  await t.step("a VM whose agent does not answer", async () => {
    const r = await agent("pve2", 107);
    assert.equal(r.status, 500);
    assert.match(r.body!.message!, /QEMU guest agent is not running/);
  });
  await t.step("a stopped VM", async () => {
    const r = await agent("pve2", 105);
    assert.match(r.body!.message!, /VM 105 is not running/);
  });
  await t.step("Ceph not configured", async () => {
    sim.state.ops.ceph = undefined;
    const r = await api.call("GET", "/cluster/ceph/status");
    assert.equal(r.status, 500);
    assert.match(r.body!.message!, /not initialized/);
  });
});

Deno.test("simulator  RRD series have a daily shape and last night's spike", async () => {
  await using sim = await startSimulator();
  using api = new SimApi(sim);
  const rows = await api.data<Record<string, number>[]>("/nodes/pve2/qemu/107/rrddata", {
    timeframe: "day",
    cf: "MAX",
  });
  assert.equal(rows.length, 70);
  const spike = sim.state.ops.spikes[0];
  const peak = rows.reduce((a, b) => ((b.cpu ?? 0) > (a.cpu ?? 0) ? b : a));
  assert.equal(peak.cpu, spike.cpu);
  assert.ok(
    peak.time * 1000 >= spike.at - 1800_000 && peak.time * 1000 < spike.at + spike.lengthMs,
  );
  const stopped = await api.data<Record<string, number>[]>("/nodes/pve2/qemu/105/rrddata", {
    timeframe: "hour",
  });
  assert.ok(stopped.every((r) => r.cpu === undefined));
});

Deno.test("simulator  last night is over at any time of day", async (t) => {
  for (const time of ["00:30", "01:30", "02:10", "04:59", "06:00", "12:00", "23:59"]) {
    await t.step(`at ${time} UTC`, async () => {
      const now = Date.parse(`2026-12-02T${time}:00Z`);
      await using sim = await startSimulator({ clock: new ManualClock(now) });
      using api = new SimApi(sim);
      const spike = sim.state.ops.spikes[0];
      assert.ok(spike.at + spike.lengthMs <= now, "the CPU spike is over");
      const rows = await api.data<Record<string, number>[]>("/nodes/pve2/qemu/107/rrddata", {
        timeframe: "day",
        cf: "MAX",
      });
      assert.equal(Math.max(...rows.map((r) => r.cpu ?? 0)), spike.cpu);
      const tasks = await api.data<{ status?: string; starttime: number }[]>("/nodes/pve2/tasks", {
        vmid: 210,
        typefilter: "vzdump",
      });
      assert.equal(tasks[0].status, "job errors");
      assert.ok(tasks.every((task) => task.starttime * 1000 <= now));
    });
  }
});
