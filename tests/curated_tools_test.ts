import assert from "node:assert/strict";
import { startStack, toolCalls } from "./helpers/stack.ts";

type Item = Record<string, unknown>;

Deno.test("curated read-only tools answer the admin's questions from the simulator", async (t) => {
  await using stack = await startStack();
  const { client, sim } = stack;
  const { call, fail } = toolCalls(client);
  const ops = sim.state.ops;

  await t.step(
    "guest_metrics ranks last night's CPU eater first, with units and peak time",
    async () => {
      const { s, text } = await call("guest_metrics", { timeframe: "day", cf: "MAX", top: 5 });
      const ranking = s.ranking as Item[];
      assert.equal(ranking.length, 5);
      const spike = ops.spikes[0];
      assert.equal(`qemu/${ranking[0].vmid}`, spike.id);
      const stats = ranking[0].stats as Item;
      assert.equal(stats.unit, "%");
      assert.equal(stats.max, spike.cpu * 100);
      const peak = Date.parse(`${stats.peak_time}Z`);
      assert.ok(peak >= spike.at - 30 * 60_000 && peak < spike.at + spike.lengthMs, String(peak));
      const running = [...sim.state.guests.values()].filter((g) => g.status === "running");
      assert.equal(s.scanned, running.length);
      assert.match(text, /k8s-node-1/);
    },
  );

  await t.step("guest_metrics summarises one guest; raw points only on request", async () => {
    const { s } = await call("guest_metrics", { vmid: 103, timeframe: "hour" });
    const series = s.series as Item[];
    assert.deepEqual(series.map((x) => x.series), [
      "cpu",
      "mem",
      "netin",
      "netout",
      "diskread",
      "diskwrite",
    ]);
    const mem = series.find((x) => x.series === "mem")!;
    assert.equal(mem.unit, "bytes");
    assert.ok((mem.max as number) <= 16384 * 2 ** 20);
    assert.equal(series.find((x) => x.series === "netin")!.unit, "bytes/s");
    assert.equal(s.points, undefined);
    const withPoints = await call("guest_metrics", { vmid: 103, series: ["cpu"], points: true });
    const points = withPoints.s.points as Item[];
    assert.ok(points.length > 0 && points.length <= 100);
    assert.deepEqual(Object.keys(points[0]).sort(), ["cpu", "time"]);
    const stopped = await call("guest_metrics", { vmid: 105 });
    assert.match(stopped.text, /did not run/);
  });

  await t.step("node_metrics covers every online node", async () => {
    const { s } = await call("node_metrics", { timeframe: "hour" });
    const nodes = s.nodes as Item[];
    assert.deepEqual(nodes.map((n) => n.node), [...sim.state.nodes.keys()].sort());
    const pve1 = (nodes[0].series as Item[]).find((x) => x.series === "cpu")!;
    assert.ok((pve1.samples as number) > 50);
  });

  await t.step("metrics refuse bad arguments with what is allowed", async () => {
    await fail("guest_metrics", { timeframe: "decade" }, /timeframe must be one of hour, day/);
    await fail("guest_metrics", { vmid: 100, since: "yesterday" }, /Invalid since "yesterday"/);
    await fail(
      "guest_metrics",
      { vmid: 100, since: "1h", until: "2h" },
      /since must be before until/,
    );
    await fail("node_metrics", { node: "pve9" }, /known nodes are pve1, pve2, pve3/);
    await fail("guest_metrics", { vmid: 4242 }, /4242/);
  });

  await t.step("guest_agent_info: IPs of a VM with a running agent", async () => {
    const { s, text } = await call("guest_agent_info", { vmid: 100 });
    const agent = ops.agents.get(100)!;
    assert.equal(s.agent, "running");
    assert.equal(s.hostname, agent.hostname);
    const ifaces = s.interfaces as Item[];
    assert.deepEqual(ifaces.map((i) => i.name), ["ens18", "ens19"]);
    assert.deepEqual(ifaces[0].ipv4, ["192.168.10.21/24"]);
    assert.equal(ifaces[1].mac, agent.interfaces[2].mac);
    assert.match(String((s.os as Item).name), /Debian/);
    assert.ok((s.filesystems as Item[]).some((f) => f.mountpoint === "/"));
    assert.match(text, /10\.20\.0\.21\/24/);
  });

  await t.step("guest_agent_info explains an agent not configured vs not running", async () => {
    const off = await call("guest_agent_info", { vmid: 102 });
    assert.equal(off.s.agent, "not_configured");
    assert.match(String(off.s.fix), /agent=1/);
    assert.ok((off.s.config_nics as Item[])[0].mac);
    const silent = await call("guest_agent_info", { vmid: 107 });
    assert.equal(silent.s.agent, "not_running");
    assert.match(String(silent.s.fix), /qemu-guest-agent/);
    const stopped = await call("guest_agent_info", { vmid: 105 });
    assert.equal(stopped.s.agent, "guest_stopped");
  });

  await t.step("guest_agent_info answers containers from their interfaces", async () => {
    const { s } = await call("guest_agent_info", { vmid: 201 });
    assert.equal(s.agent, "container");
    assert.deepEqual((s.interfaces as Item[])[0].ipv4, ["192.168.10.53/24"]);
  });

  await t.step("guest_console_url holds no ticket or secret", async () => {
    const { s } = await call("guest_console_url", { vmid: 200 });
    const url = new URL(String(s.url));
    assert.equal(url.origin, sim.url);
    assert.equal(url.searchParams.get("console"), "lxc");
    assert.equal(url.searchParams.get("xtermjs"), "1");
    assert.ok(!/ticket|PVEAuth|token|secret|password/i.test(String(s.url)));
  });

  await t.step("ceph_status names the down OSD and explains each check", async () => {
    const { s, text } = await call("ceph_status");
    assert.equal(s.configured, true);
    assert.equal(s.health, "HEALTH_WARN");
    const osds = s.osds as Item;
    assert.equal(osds.total, 6);
    assert.equal(osds.up, 5);
    assert.deepEqual(osds.down, [{ name: "osd.4", host: "pve3" }]);
    const checks = s.checks as Item[];
    assert.deepEqual(checks.map((c) => c.code).sort(), ["OSD_DOWN", "PG_DEGRADED"]);
    assert.ok(checks.every((c) => typeof c.explanation === "string"));
    assert.ok((s.pools as Item[]).some((p) => p.name === "vm-pool" && p.percent_used === 21.14));
    assert.match(text, /osd\.4@pve3/);
  });

  await t.step("ceph_status reads the Nautilus layout (nested osdmap) the same way", async () => {
    ops.ceph!.release = "nautilus";
    const { s } = await call("ceph_status");
    assert.equal((s.osds as Item).up, 5);
    assert.equal((s.osds as Item).total, 6);
    ops.ceph!.release = "squid";
  });

  await t.step("cluster_log filters by severity and time, newest last", async () => {
    const { s } = await call("cluster_log", { severity: "err" });
    const entries = s.entries as Item[];
    const expected = ops.clusterLog.filter((e) => e.pri <= 3);
    assert.equal(entries.length, expected.length);
    assert.deepEqual(entries.map((e) => e.msg), expected.map((e) => e.msg));
    const recent = await call("cluster_log", { since: "1h", limit: 2 });
    const times = (recent.s.entries as Item[]).map((e) => String(e.time));
    assert.deepEqual(times, [...times].sort());
    await fail("cluster_log", { grep: "(" }, /Invalid grep pattern/);
    await fail("cluster_log", { severity: "bad" }, /severity must be one of emerg/);
  });

  await t.step("node_log reads a service's lines or the journal, bounded", async () => {
    const { s } = await call("node_log", { node: "pve3", service: "smartd" });
    assert.equal(s.source, "syslog");
    assert.match(String((s.lines as Item[])[0].msg), /FAILED SMART/);
    const tail = await call("node_log", { node: "pve1", limit: 3 });
    assert.equal(tail.s.source, "journal");
    assert.equal((tail.s.lines as Item[]).length, 3);
    const grep = await call("node_log", { node: "pve3", since: "1d", grep: "zed|smartd" });
    assert.equal((grep.s.lines as Item[]).length, 2);
    await fail("node_log", { node: "pve3", service: "a b" }, /systemd unit name/);
  });

  await t.step(
    "backup_jobs and backup_coverage: the guest in no job and stale backups",
    async () => {
      const { s } = await call("backup_jobs");
      const jobs = s.jobs as Item[];
      assert.deepEqual(jobs.map((j) => j.id), ops.backupJobs.map((j) => j.id));
      assert.deepEqual(jobs[0].guests, ops.backupJobs[0].vmid);
      assert.ok(jobs.every((j) => typeof j.next_run === "string"));
      const cov = await call("backup_coverage");
      assert.deepEqual(cov.s.not_in_any_job, [{ vmid: 211, name: "mail-relay" }]);
      const flagged = new Map((cov.s.guests as Item[]).map((g) => [g.vmid, g.flags as string[]]));
      assert.deepEqual(flagged.get(211), ["no_job", "no_backup"]);
      assert.deepEqual(flagged.get(210), ["too_old", "last_failed"]);
      assert.ok(!flagged.has(101), "web-01 was backed up last night");
    },
  );

  await t.step("backup_coverage reads failed multi-guest job runs from their logs", async () => {
    sim.core.tasks.start({
      node: "pve2",
      type: "vzdump",
      id: "",
      user: "root@pam",
      durationMs: 0,
      outcome: "job errors",
      lines: [
        "INFO: starting new backup job: vzdump 102 202 --mode snapshot --storage nfs-backup",
        "INFO: Starting Backup of VM 202 (lxc)",
        "ERROR: Backup of VM 202 failed - unable to open file '/mnt/pve/nfs-backup/dump/x.tmp' - Stale file handle",
        "INFO: Backup job finished with errors",
      ],
    });
    const { s } = await call("backup_coverage");
    const redis = (s.guests as Item[]).find((g) => g.vmid === 202)!;
    assert.deepEqual(redis.flags, ["last_failed"]);
    assert.match(String(redis.last_result), /failed in a job run: .*Stale file handle/);
  });

  await t.step("replication_status shows the failing job's error", async () => {
    const { s } = await call("replication_status");
    const jobs = s.jobs as Item[];
    const failing = jobs.find((j) => j.id === "102-0")!;
    assert.equal(failing.state, "failing");
    assert.equal(failing.fail_count, 4);
    assert.match(String(failing.error), /exit code 255/);
    assert.ok((failing.log_tail as string[]).some((l) => /No route to host/.test(l)));
    assert.equal(jobs.find((j) => j.id === "103-0")!.state, "ok");
    const one = await call("replication_status", { guest: 103 });
    assert.equal((one.s.jobs as Item[]).length, 1);
  });

  await t.step("node_updates marks the security fixes; node_disks the failing disk", async () => {
    const { s } = await call("node_updates", { node: "pve1" });
    const n = (s.nodes as Item[])[0];
    assert.equal((n.updates as Item[]).length, ops.nodes.get("pve1")!.updates.length);
    assert.equal(n.security_count, 2);
    assert.equal((n.standard as Item)["no-subscription"], true);
    const disks = await call("node_disks");
    const problems = disks.s.problems as string[];
    assert.ok(problems.some((p) => /pve3 \/dev\/sdb .*SMART FAILED/.test(p)), String(problems));
    assert.ok(problems.some((p) => /ZFS pool tank DEGRADED/.test(p)));
  });

  await t.step("node_services and node_certificates flag what needs attention", async () => {
    const svc = await call("node_services");
    assert.deepEqual(svc.s.problems, ["pve3 postfix: failed (failed)"]);
    const certs = await call("node_certificates");
    const problems = certs.s.problems as string[];
    assert.equal(problems.length, 2);
    assert.ok(problems.some((p) => /pve1 pveproxy-ssl\.pem: expires in 1[12] days/.test(p)));
  });

  await t.step("sdn_list groups vnets and subnets under their zones", async () => {
    const { s } = await call("sdn_list");
    const zones = s.zones as Item[];
    assert.deepEqual(zones.map((z) => z.zone), ops.sdn.zones.map((z) => z.zone));
    const lab = zones.find((z) => z.zone === "lab")!;
    const subnet = ((lab.vnets as Item[])[0].subnets as Item[])[0];
    assert.equal(subnet.cidr, "10.50.0.0/24");
    assert.deepEqual(subnet.dhcp_ranges, ["10.50.0.100-10.50.0.200"]);
  });

  await t.step("areas not configured answer plainly", async () => {
    const saved = ops.ceph;
    ops.ceph = undefined;
    const { s, text } = await call("ceph_status");
    assert.equal(s.configured, false);
    assert.match(text, /Ceph is not configured/);
    ops.ceph = saved;
    const savedSdn = ops.sdn;
    ops.sdn = { zones: [], vnets: [], subnets: [] };
    assert.match((await call("sdn_list")).text, /no zones/);
    ops.sdn = savedSdn;
    const savedRep = ops.replication;
    ops.replication = [];
    assert.match((await call("replication_status")).text, /no replication jobs/);
    ops.replication = savedRep;
  });
});
