import assert from "node:assert/strict";
import { ResourceListChangedNotificationSchema } from "../src/server/sdk.ts";
import {
  type CallResult,
  type MutationStack,
  startMutationStack,
  stateSnapshot,
  text,
} from "./helpers/mutations.ts";

type Args = Record<string, unknown>;

/** Calls a tool and asserts it succeeded; returns the structured result. */
async function ok(s: MutationStack, name: string, args: Args): Promise<Record<string, unknown>> {
  const r = await s.call(name, args);
  assert.ok(!r.isError, `${name} ${JSON.stringify(args)} failed: ${text(r)}`);
  return r.structuredContent ?? {};
}

/** Calls a tool and asserts it failed with a message matching `pattern`, changing nothing. */
async function fails(s: MutationStack, name: string, args: Args, pattern: RegExp): Promise<void> {
  const before = stateSnapshot(s.sim);
  const writes = s.writes().length;
  const r = await s.call(name, args);
  assert.equal(r.isError, true, `${name} ${JSON.stringify(args)} should fail: ${text(r)}`);
  assert.match(text(r), pattern);
  assert.equal(stateSnapshot(s.sim), before, `${name} changed the cluster`);
  assert.equal(s.writes().length, writes, `${name} sent a write`);
}

/**
 * Runs a destructive call the token way: the first call must return a plan and a token and
 * change nothing; the repeated call with the token executes.
 */
async function confirmed(s: MutationStack, name: string, args: Args): Promise<CallResult> {
  const before = stateSnapshot(s.sim);
  const writes = s.writes().length;
  const first = await s.call(name, args);
  assert.ok(!first.isError, `${name} plan failed: ${text(first)}`);
  const plan = first.structuredContent!;
  assert.equal(plan.status, "confirmation_required", `${name} needs a confirmation`);
  assert.equal(stateSnapshot(s.sim), before);
  assert.equal(s.writes().length, writes);
  const second = await s.call(name, { ...args, confirmation_token: plan.confirmation_token });
  assert.ok(!second.isError, `${name} confirmed call failed: ${text(second)}`);
  assert.equal(second.structuredContent?.status, "done", text(second));
  return second;
}

Deno.test("mutating tools  change the simulated cluster as planned", async (t) => {
  const logged: string[] = [];
  await using s = await startMutationStack({
    config: { protected_tags: ["prod"], max_mutations_per_minute: 0, max_creations: 0 },
    logger: { log: (level, message) => logged.push(`${level}: ${message}`) },
  });
  const guests = s.sim.state.guests;
  const volumes = s.sim.state.volumes;

  await t.step("guest_power: shutdown, start, reboot, stop (confirmed)", async () => {
    const r = await ok(s, "guest_power", { vmid: 100, action: "shutdown", timeout_s: 30 });
    assert.equal(r.status, "done");
    assert.equal(r.state, "stopped");
    assert.match(String(r.upid), /^UPID:pve1:.*:qmshutdown:100:/);
    assert.equal(guests.get(100)!.status, "stopped");
    await ok(s, "guest_power", { vmid: 100, action: "start" });
    assert.equal(guests.get(100)!.status, "running");
    // Booted a day ago: a real reboot runs a qmreboot task and starts the uptime again.
    guests.get(100)!.startedAt = Date.now() - 86_400_000;
    const before = await ok(s, "guest_status", { vmid: 100 });
    assert.ok(Number(before.uptime) >= 86_400, `uptime before the reboot: ${before.uptime}`);
    const reboot = await ok(s, "guest_power", { vmid: 100, action: "reboot" });
    assert.equal(reboot.status, "done");
    assert.match(String(reboot.upid), /^UPID:pve1:.*:qmreboot:100:/);
    const task = s.sim.state.tasks.get(String(reboot.upid));
    assert.ok(task, "the reboot task exists in the cluster");
    assert.equal(task.exitstatus, "OK");
    assert.ok(
      s.writes().some((w) =>
        w.method === "POST" && w.path === "/nodes/pve1/qemu/100/status/reboot"
      ),
      "the reboot request was sent",
    );
    assert.equal(guests.get(100)!.status, "running");
    const after = await ok(s, "guest_status", { vmid: 100 });
    assert.ok(Number(after.uptime ?? 0) < 86_400, `uptime after the reboot: ${after.uptime}`);
    await confirmed(s, "guest_power", { vmid: 100, action: "stop" });
    assert.equal(guests.get(100)!.status, "stopped");
    await ok(s, "guest_power", { vmid: 100, action: "start" });
  });

  await t.step("guest_power: suspend, resume, reset of a VM", async () => {
    await ok(s, "guest_power", { vmid: 107, action: "suspend" });
    assert.equal(guests.get(107)!.paused, true);
    const r = await ok(s, "guest_power", { vmid: 107, action: "resume" });
    assert.equal(r.state, "running");
    assert.equal(guests.get(107)!.paused, false);
    await confirmed(s, "guest_power", { vmid: 107, action: "reset" });
  });

  await t.step("guest_power preflight failures", async () => {
    await fails(
      s,
      "guest_power",
      { vmid: 201, action: "reset" },
      /reset is for VMs; 201 is a container/,
    );
    await fails(
      s,
      "guest_power",
      { vmid: 100, action: "start" },
      /Cannot start VM 100: it is running/,
    );
    await fails(
      s,
      "guest_power",
      { vmid: 105, action: "shutdown" },
      /it is stopped; shutdown needs it running/,
    );
    await fails(s, "guest_power", { vmid: 9000, action: "start" }, /is a template/);
    await fails(
      s,
      "guest_power",
      { vmid: 104, action: "stop", force_stop: true },
      /force_stop applies only/,
    );
    await fails(
      s,
      "guest_power",
      { vmid: 4242, action: "start" },
      /Cannot resolve guest 4242: no such VMID/,
    );
    await fails(s, "guest_power", { vmid: 100, action: "explode" }, /action must be one of start/);
  });

  await t.step("vm_create on a chosen node, storage, bridge and VLAN with an ISO", async () => {
    const r = await ok(s, "vm_create", {
      name: "app-01",
      node: "pve2",
      vmid: 300,
      memory_mib: 1024,
      cores: 2,
      disk_gib: 10,
      storage: "local-lvm",
      bridge: "vmbr1",
      vlan: 42,
      iso: "local:iso/debian-12.7.0-amd64-netinst.iso",
      user: "ops",
      ssh_public_keys: "ssh-ed25519 AAAAC3Nza ops@example",
      ip: "192.168.42.10/24",
      gw: "192.168.42.1",
      tags: ["lab", "app"],
    });
    assert.deepEqual([r.vmid, r.node, r.storage, r.status], [300, "pve2", "local-lvm", "done"]);
    const g = guests.get(300)!;
    assert.equal(g.node, "pve2");
    assert.equal(g.type, "qemu");
    assert.equal(g.status, "stopped");
    assert.equal(g.config.memory, "1024");
    assert.match(g.config.net0, /bridge=vmbr1/);
    assert.match(g.config.net0, /tag=42/);
    assert.match(g.config.scsi0, /^local-lvm:vm-300-disk-\d/);
    assert.match(g.config.ide2, /debian-12.7.0-amd64-netinst.iso,media=cdrom/);
    assert.equal(g.config.ipconfig0, "ip=192.168.42.10/24,gw=192.168.42.1");
    assert.equal(g.config.tags, "lab;app");
  });

  await t.step("vm_create picks node, VMID and storage; start=true starts it", async () => {
    const r = await ok(s, "vm_create", {
      name: "auto-01",
      memory_mib: 512,
      disk_gib: 4,
      start: true,
    });
    const g = guests.get(r.vmid as number)!;
    assert.equal(g.node, "pve1", "the node with the most free memory");
    assert.equal(g.status, "running");
    assert.ok(!guests.has((r.vmid as number) + 1000));
  });

  await t.step("vm_create preflight failures name what would be valid", async () => {
    await fails(
      s,
      "vm_create",
      { name: "x", vmid: 100 },
      /VMID 100 is taken by qemu 100 \(dns-01\) on pve1; the next free VMID is \d+/,
    );
    await fails(
      s,
      "vm_create",
      { name: "x", node: "pve3", memory_mib: 65536 },
      /^Not enough memory: node pve3 has [\d.]+ GiB free, asked for 64 GiB; pve1 has [\d.]+ GiB free/,
    );
    await fails(
      s,
      "vm_create",
      { name: "x", node: "pve3", cores: 8 },
      /Not enough CPUs: node pve3 has 4 CPUs, asked for 8 cores; pve1 has/,
    );
    await fails(
      s,
      "vm_create",
      { name: "x", node: "pve1", storage: "nope" },
      /Storage nope is not available on node pve1; storages on pve1 for images: local-lvm/,
    );
    await fails(
      s,
      "vm_create",
      { name: "x", node: "pve1", storage: "local" },
      /Storage local does not hold images \(it holds iso,vztmpl,backup\)/,
    );
    await fails(
      s,
      "vm_create",
      { name: "x", node: "pve1", storage: "ceph-old" },
      /Storage ceph-old is (disabled|not available|not active)/,
    );
    await fails(
      s,
      "vm_create",
      { name: "x", node: "pve3", disk_gib: 100000, storage: "local-lvm" },
      /Not enough space: storage local-lvm on pve3 has [\d.]+ GiB free, asked for 100000 GiB; no storage on pve3 holds images/,
    );
    await fails(
      s,
      "vm_create",
      { name: "x", node: "pve2", bridge: "vmbr9" },
      /Bridge vmbr9 does not exist on node pve2: bridges there are vmbr0, vmbr1/,
    );
    await fails(s, "vm_create", { name: "x", vlan: 5000 }, /vlan must be from 1 to 4094/);
    await fails(s, "vm_create", { name: "x", vlan: 0 }, /vlan must be from 1 to 4094/);
    await fails(s, "vm_create", { name: "x", vmid: 99 }, /vmid must be from 100 to 999999999/);
    await fails(
      s,
      "vm_create",
      { name: "x", node: "pve2", iso: "local:iso/nope.iso" },
      /ISO local:iso\/nope.iso does not exist on node pve2: iso volumes on local are/,
    );
    await fails(
      s,
      "vm_create",
      { name: "x", node: "pve9" },
      /Unknown node "pve9": nodes are pve1, pve2, pve3/,
    );
    await fails(s, "vm_create", { name: "bad name!" }, /name must be a DNS name/);
    await fails(
      s,
      "vm_create",
      { name: "x", pool: "nopool" },
      /Pool nopool does not exist: pools are/,
    );
    s.sim.faults.nodeDown("pve3");
    try {
      await fails(
        s,
        "vm_create",
        { name: "x", node: "pve3" },
        /Node pve3 is offline: online nodes are pve1, pve2/,
      );
    } finally {
      s.sim.faults.nodeUp("pve3");
    }
  });

  await t.step(
    "ct_create: unprivileged by default; privileged only when asked, with a warning",
    async () => {
      const r = await ok(s, "ct_create", {
        hostname: "ct-a",
        ostemplate: "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
        node: "pve3",
        vmid: 301,
        memory_mib: 256,
        disk_gib: 2,
        vlan: 30,
        bridge: "vmbr1",
        ssh_public_keys: "ssh-ed25519 AAAAC3Nza ops@example",
        nesting: true,
      });
      assert.equal(r.node, "pve3");
      const g = guests.get(301)!;
      assert.equal(g.type, "lxc");
      assert.equal(g.config.unprivileged, "1");
      assert.equal(g.config.hostname, "ct-a");
      assert.match(g.config.net0, /bridge=vmbr1/);
      assert.match(g.config.net0, /tag=30/);
      assert.equal(g.config.features, "nesting=1");
      const p = await ok(s, "ct_create", {
        hostname: "ct-priv",
        ostemplate: "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
        node: "pve3",
        unprivileged: false,
        password: "s3cret-pw",
      });
      assert.match(JSON.stringify(p.warnings), /privileged container \(asked for explicitly\)/);
      assert.ok(logged.some((l) => /^warning: Privileged container requested: ct-priv/.test(l)));
      assert.equal(guests.get(p.vmid as number)!.config.unprivileged, "0");
    },
  );

  await t.step("ct_create preflight failures", async () => {
    await fails(
      s,
      "ct_create",
      { hostname: "x", ostemplate: "local:vztmpl/nope.tar.zst", node: "pve1" },
      /Template local:vztmpl\/nope.tar.zst does not exist on node pve1: vztmpl volumes on local are/,
    );
    await fails(
      s,
      "ct_create",
      { hostname: "x", ostemplate: "debian.tar.zst" },
      /ostemplate must be a volume ID/,
    );
    await fails(s, "ct_create", {
      hostname: "x",
      ostemplate: "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
      node: "pve3",
      memory_mib: 65536,
    }, /Not enough memory: node pve3/);
  });

  await t.step("guest_clone: linked from a template, full from a VM", async () => {
    const linked = await ok(s, "guest_clone", { vmid: 9000, newid: 302, name: "from-tpl" });
    assert.equal(linked.newid, 302);
    const g = guests.get(302)!;
    assert.equal(g.config.name, "from-tpl");
    assert.match(g.config.scsi0, /base-9000-disk-0\/vm-302-disk-0/);
    const full = await ok(s, "guest_clone", { vmid: 105, name: "win-copy", storage: "local-lvm" });
    const copy = guests.get(full.newid as number)!;
    assert.equal(copy.node, "pve2");
    assert.match(copy.config.scsi0, new RegExp(`vm-${full.newid}-disk-0`));
  });

  await t.step("guest_clone preflight failures", async () => {
    await fails(
      s,
      "guest_clone",
      { vmid: 105, full: false },
      /A linked clone needs a template source; 105 is not a template/,
    );
    await fails(s, "guest_clone", { vmid: 9000, newid: 105 }, /VMID 105 is taken/);
    await fails(
      s,
      "guest_clone",
      { vmid: 103, snapshot: "nope" },
      /Snapshot nope does not exist on 103: snapshots are before-pg16, after-pg16/,
    );
    await fails(
      s,
      "guest_clone",
      { vmid: 105, target_node: "pve3" },
      /Cannot clone 105 to node pve3: disks efidisk0, scsi0, tpmstate0 are on local storage of pve2/,
    );
  });

  await t.step("guest_template converts a stopped guest (confirmed: irreversible)", async () => {
    await confirmed(s, "guest_template", { vmid: 302 });
    assert.equal(guests.get(302)!.template, true);
    await fails(s, "guest_template", { vmid: 100 }, /is running: shut it down/);
    await fails(s, "guest_template", { vmid: 302 }, /already a template/);
  });

  await t.step("guest_update: memory, cores, tags, description and a new NIC", async () => {
    const r = await ok(s, "guest_update", {
      vmid: 105,
      memory_mib: 4096,
      cores: 2,
      tags: ["lab", "windows"],
      description: "updated by test",
      net: { index: 1, bridge: "vmbr1", vlan: 10 },
    });
    assert.equal(r.status, "done");
    const g = guests.get(105)!;
    assert.equal(g.config.memory, "4096");
    assert.equal(g.config.cores, "2");
    assert.equal(g.config.tags, "lab;windows");
    assert.equal(g.config.description, "updated by test");
    assert.match(g.config.net1, /bridge=vmbr1/);
    assert.match(g.config.net1, /tag=10/);
    const mac = /virtio=([0-9A-F:]+)/.exec(g.config.net0)![1];
    await ok(s, "guest_update", { vmid: 105, net: { index: 0, vlan: 7, firewall: false } });
    assert.match(g.config.net0, new RegExp(`virtio=${mac}`), "the MAC address is kept");
    assert.match(g.config.net0, /tag=7/);
    await ok(s, "guest_update", { vmid: 105, delete: ["net1"] });
    assert.equal(g.config.net1, undefined);
  });

  await t.step(
    "guest_update: removing a disk needs confirmation; protection refuses it",
    async () => {
      await ok(s, "vm_create", { name: "disks", vmid: 310, node: "pve1", disk_gib: 2 });
      await ok(s, "guest_update", { vmid: 310, net: { index: 2, bridge: "vmbr0" } });
      const g = guests.get(310)!;
      g.config.scsi1 = "local-lvm:vm-310-disk-9,size=1G";
      const detach = await confirmed(s, "guest_update", { vmid: 310, delete: ["scsi1"] });
      assert.match(text(detach), /Done/);
      assert.equal(g.config.scsi1, undefined);
      const unused = Object.keys(g.config).find((k) => k.startsWith("unused"))!;
      assert.ok(unused, "the detached disk is kept as unused");
      await confirmed(s, "guest_update", { vmid: 310, delete: [unused] });
      assert.equal(g.config[unused], undefined);
      await fails(
        s,
        "guest_update",
        { vmid: 103, delete: ["scsi1"] },
        /has Proxmox's protection flag set, so it can't have disks removed/,
      );
    },
  );

  await t.step("guest_update preflight failures", async () => {
    await fails(s, "guest_update", { vmid: 105 }, /Nothing to change/);
    await fails(
      s,
      "guest_update",
      { vmid: 105, delete: ["protection"] },
      /can't be deleted with this tool/,
    );
    await fails(
      s,
      "guest_update",
      { vmid: 203, delete: ["rootfs"] },
      /rootfs can't be deleted: it is the container's root disk/,
    );
    await fails(
      s,
      "guest_update",
      { vmid: 105, delete: ["net7"] },
      /Config key net7 is not set on 105/,
    );
    await fails(s, "guest_update", { vmid: 206, cores: 1 }, /Cannot resolve guest 206/);
    await fails(
      s,
      "guest_update",
      { vmid: 106, cores: 64 },
      /Not enough CPUs: node pve3 has 4 CPUs, asked for 64 cores/,
    );
    await fails(s, "guest_update", { vmid: 203, sockets: 2 }, /sockets applies only to VMs/);
    await fails(
      s,
      "guest_update",
      { vmid: 105, net: { index: 3, bridge: "nobr" } },
      /Bridge nobr does not exist on node pve2/,
    );
    await fails(
      s,
      "guest_update",
      { vmid: 105, net: { index: 3 } },
      /net3 does not exist yet: give net.bridge/,
    );
    await fails(
      s,
      "guest_update",
      { vmid: 105, net: { index: 0, vlan: 4095 } },
      /vlan must be from 1 to 4094/,
    );
  });

  await t.step("disk_resize grows only", async () => {
    const r = await ok(s, "disk_resize", { vmid: 105, disk: "scsi0", size_gib: 100 });
    assert.equal(r.size_gib, 100);
    assert.match(guests.get(105)!.config.scsi0, /size=100G/);
    await ok(s, "disk_resize", { vmid: 203, disk: "rootfs", size_gib: 20 });
    assert.match(guests.get(203)!.config.rootfs, /size=20G/);
    await fails(
      s,
      "disk_resize",
      { vmid: 105, disk: "scsi0", size_gib: 50 },
      /Grow only: scsi0 is 100 GiB now, asked for 50 GiB; shrinking is not supported/,
    );
    await fails(
      s,
      "disk_resize",
      { vmid: 105, disk: "scsi9", size_gib: 50 },
      /105 has no disk scsi9: disks are efidisk0, scsi0, tpmstate0/,
    );
    await fails(
      s,
      "disk_resize",
      { vmid: 106, disk: "scsi0", size_gib: 100000 },
      /Not enough space: storage local-lvm on pve3/,
    );
    await fails(
      s,
      "disk_resize",
      { vmid: 105, disk: "hdd0", size_gib: 50 },
      /disk must be a disk key/,
    );
  });

  await t.step(
    "guest_migrate: stopped VM, running VM online, running container restart",
    async () => {
      await fails(
        s,
        "guest_migrate",
        { vmid: 105, target_node: "pve1" },
        /ide2 has a local ISO \(local:iso\/ubuntu-24.04.1-live-server-amd64.iso\): remove it first/,
      );
      await ok(s, "guest_update", { vmid: 105, delete: ["ide2"] });
      const a = await confirmed(s, "guest_migrate", { vmid: 105, target_node: "pve1" });
      assert.equal(a.structuredContent?.node, "pve1");
      assert.equal(guests.get(105)!.node, "pve1");
      const vm = await s.call("guest_migrate", { vmid: 107, target_node: "pve1", dry_run: true });
      assert.equal(vm.structuredContent?.status, "dry_run");
      const req = JSON.stringify(vm.structuredContent?.plan);
      assert.match(req, /"online":true/);
      assert.match(req, /"with-local-disks":true/);
      await confirmed(s, "guest_migrate", { vmid: 107, target_node: "pve1" });
      assert.equal(guests.get(107)!.node, "pve1");
      assert.equal(guests.get(107)!.status, "running");
      const ct = await confirmed(s, "guest_migrate", { vmid: 201, target_node: "pve2" });
      assert.match(text(ct), /restart mode/);
      assert.equal(guests.get(201)!.node, "pve2");
    },
  );

  await t.step("guest_migrate preflight failures", async () => {
    await fails(s, "guest_migrate", { vmid: 105, target_node: "pve1" }, /already on pve1/);
    await fails(s, "guest_migrate", { vmid: 105, target_node: "pve7" }, /Unknown node "pve7"/);
    await fails(
      s,
      "guest_migrate",
      { vmid: 103, target_node: "pve3" },
      /Not enough memory: node pve3 has [\d.]+ GiB free, asked for 16 GiB/,
    );
  });

  await t.step(
    "guest_delete removes a stopped guest; running and protected ones are refused",
    async () => {
      const r = await confirmed(s, "guest_delete", { vmid: 300, purge: true });
      assert.match(text(r), /Done: delete qemu 300 \(app-01\)/);
      assert.equal(guests.has(300), false);
      await fails(s, "guest_delete", { vmid: 100 }, /Guest 100 is running: stop it first/);
      guests.get(101)!.status = "stopped";
      try {
        await fails(
          s,
          "guest_delete",
          { vmid: 101 },
          /qemu 101 \(web-01\) on pve1 has Proxmox's protection flag set, so it can't be deleted/,
        );
      } finally {
        guests.get(101)!.status = "running";
      }
    },
  );

  await t.step("snapshot create, list, rollback and delete", async () => {
    const r = await ok(s, "snapshot", {
      vmid: 203,
      action: "create",
      name: "pre_test",
      description: "before",
    });
    assert.equal(r.name, "pre_test");
    assert.ok(guests.get(203)!.snapshots.some((x) => x.name === "pre_test"));
    const list = await ok(s, "snapshot_list", { vmid: 203 });
    assert.deepEqual((list.snapshots as { name: string }[]).map((x) => x.name), ["pre_test"]);
    guests.get(203)!.config.memory = "2048";
    await confirmed(s, "snapshot", { vmid: 203, action: "rollback", name: "pre_test" });
    assert.equal(guests.get(203)!.config.memory, "1024");
    await confirmed(s, "snapshot", { vmid: 203, action: "delete", name: "pre_test" });
    assert.equal(guests.get(203)!.snapshots.length, 0);
    const db = await ok(s, "snapshot_list", { vmid: 103 });
    assert.deepEqual((db.snapshots as { name: string }[]).map((x) => x.name), [
      "before-pg16",
      "after-pg16",
    ]);
  });

  await t.step("snapshot preflight failures", async () => {
    await fails(
      s,
      "snapshot",
      { vmid: 103, action: "create", name: "before-pg16" },
      /Snapshot before-pg16 already exists on 103/,
    );
    await fails(
      s,
      "snapshot",
      { vmid: 103, action: "create", name: "1st" },
      /name must start with a letter/,
    );
    await fails(
      s,
      "snapshot",
      { vmid: 103, action: "create", name: "a b" },
      /name must start with a letter/,
    );
    await fails(
      s,
      "snapshot",
      { vmid: 103, action: "create", name: "x" },
      /then at least one more letter/,
    );
    await fails(
      s,
      "snapshot",
      { vmid: 106, action: "create", name: "ram", vmstate: true },
      /vmstate needs a running VM; 106 is stopped/,
    );
    await fails(
      s,
      "snapshot",
      { vmid: 203, action: "rollback", name: "nope" },
      /Snapshot nope does not exist on 203: snapshots are none/,
    );
    await fails(
      s,
      "snapshot",
      { vmid: 103, action: "delete", name: "nope" },
      /snapshots are before-pg16, after-pg16/,
    );
    await fails(
      s,
      "snapshot",
      { vmid: 203, action: "delete", name: "xy", start: true },
      /Not for delete: start is for rollback/,
    );
    await fails(s, "snapshot", { vmid: 9000, action: "create", name: "tt" }, /is a template/);
  });

  let backup = "";
  await t.step("backup_run and backup_list", async () => {
    const before = volumes.length;
    const r = await ok(s, "backup_run", {
      vmid: 106,
      storage: "nfs-backup",
      notes: "{{guestname}} test",
    });
    assert.equal(r.status, "done");
    assert.equal(volumes.length, before + 1);
    const made = volumes.at(-1)!;
    assert.equal(made.vmid, 106);
    assert.equal(made.notes, "build-runner test");
    const list = await ok(s, "backup_list", { vmid: 106 });
    const items = list.backups as { volid: string }[];
    assert.equal(items[0].volid, made.volid);
    backup = made.volid;
    await fails(
      s,
      "backup_run",
      { vmid: 106, storage: "local-lvm" },
      /Storage local-lvm does not hold backup \(it holds images,rootdir\); storages on pve3 for backup: /,
    );
    await fails(
      s,
      "backup_run",
      { vmid: 106, storage: "nfs-backup", mode: "hot" },
      /mode must be one of snapshot, suspend, stop/,
    );
  });

  await t.step("backup_restore as a new guest and over an existing one", async () => {
    const r = await ok(s, "backup_restore", { archive: backup, vmid: 320, node: "pve3" });
    assert.equal(r.overwritten, false);
    assert.equal(guests.get(320)!.type, "qemu");
    assert.equal(guests.get(320)!.node, "pve3");
    guests.get(106)!.config.memory = "9999";
    const over = await confirmed(s, "backup_restore", { archive: backup, vmid: 106, force: true });
    assert.equal(over.structuredContent?.overwritten, true);
    assert.equal(guests.get(106)!.config.memory, "4096");
  });

  await t.step("backup_restore preflight failures", async () => {
    await fails(
      s,
      "backup_restore",
      { archive: backup, vmid: 106 },
      /VMID 106 exists .* set force=true to overwrite it/,
    );
    await fails(
      s,
      "backup_restore",
      { archive: backup, vmid: 330, force: true },
      /force=true overwrites an existing guest, but 330 does not exist/,
    );
    await fails(s, "backup_restore", {
      archive: "nfs-backup:backup/vzdump-qemu-999-2020_01_01-00_00_00.vma.zst",
      node: "pve1",
    }, /does not exist on node pve1/);
    await fails(
      s,
      "backup_restore",
      { archive: backup, vmid: 100, force: true },
      /VMID 100 exists|is a qemu backup|is running/,
    );
    await fails(
      s,
      "backup_restore",
      { archive: "nfs-backup:backup/weird.bin" },
      /Cannot tell the guest type/,
    );
  });

  await t.step(
    "backup_delete removes an unprotected backup; protected ones are refused",
    async () => {
      await confirmed(s, "backup_delete", { archive: backup });
      assert.ok(!volumes.some((v) => v.volid === backup));
      const prot = volumes.find((v) => v.protected)!;
      await fails(s, "backup_delete", { archive: prot.volid }, /is protected: it can't be deleted/);
      await fails(s, "backup_delete", { archive: backup }, /does not exist/);
    },
  );

  await t.step(
    "appliance_list and storage_download (URL with checksum, catalogue template)",
    async () => {
      const apl = await ok(s, "appliance_list", { query: "debian" });
      const names = (apl.templates as { template: string }[]).map((x) => x.template);
      assert.ok(names.includes("debian-13-standard_13.1-2_amd64.tar.zst"), String(names));
      const iso = await ok(s, "storage_download", {
        storage: "local",
        node: "pve3",
        url: "https://cdimage.example.org/alpine-3.21.iso",
        filename: "alpine-3.21.iso",
        checksum: "a".repeat(64),
      });
      assert.equal(iso.volid, "local:iso/alpine-3.21.iso");
      assert.ok(volumes.some((v) => v.volid === "local:iso/alpine-3.21.iso" && v.node === "pve3"));
      const tpl = await ok(s, "storage_download", {
        storage: "local",
        node: "pve3",
        content: "vztmpl",
        template: "debian-13-standard_13.1-2_amd64.tar.zst",
      });
      assert.equal(tpl.volid, "local:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst");
      assert.ok(volumes.some((v) => v.volid === tpl.volid));
    },
  );

  await t.step("storage_download preflight failures", async () => {
    await fails(s, "storage_download", {
      storage: "local",
      node: "pve3",
      url: "https://x.example/alpine-3.21.iso",
      filename: "alpine-3.21.iso",
    }, /local:iso\/alpine-3.21.iso already exists on pve3/);
    await fails(s, "storage_download", {
      storage: "local",
      node: "pve3",
      url: "https://x.example/a.exe",
      filename: "a.exe",
    }, /filename for iso must end in .iso or .img/);
    await fails(s, "storage_download", {
      storage: "local-lvm",
      node: "pve3",
      url: "https://x.example/b.iso",
      filename: "b.iso",
    }, /Storage local-lvm does not hold iso/);
    await fails(s, "storage_download", {
      storage: "local",
      url: "ftp://x.example/b.iso",
      filename: "b.iso",
    }, /url must be an http\(s\) URL/);
    await fails(s, "storage_download", {
      storage: "local",
      node: "pve3",
      url: "https://x.example/b.iso",
      filename: "b.iso",
      checksum: "ab".repeat(25),
    }, /checksum length matches no algorithm/);
    await fails(s, "storage_download", {
      storage: "local",
      node: "pve3",
      content: "vztmpl",
      template: "debian-99.tar.zst",
    }, /Template debian-99.tar.zst is not in the catalogue/);
  });
});

Deno.test("task_stop  interrupts a running backup; wait=false returns the UPID at once", async () => {
  await using s = await startMutationStack({ simulator: { taskDurationMs: 60_000 } });
  const started = await s.call("backup_run", { vmid: 106, storage: "nfs-backup", wait: false });
  assert.equal(started.structuredContent?.status, "started", text(started));
  const upid = String(started.structuredContent?.upid);
  assert.match(text(started), /follow it with task_status/);
  assert.equal(s.sim.state.tasks.get(upid)!.status, "running");
  const stop = await s.call("task_stop", { upid });
  assert.ok(!stop.isError, text(stop));
  assert.equal(stop.structuredContent?.status, "done");
  const task = s.sim.state.tasks.get(upid)!;
  assert.equal(task.status, "stopped");
  assert.equal(task.exitstatus, "interrupted by signal");
  const again = await s.call("task_stop", { upid });
  assert.equal(again.isError, true);
  assert.match(text(again), /is not running/);
});

Deno.test("failed tasks  return the exit status and the tail of the task log", async () => {
  await using s = await startMutationStack();
  const storage = s.sim.state.storages.get("nfs-backup")!;
  storage.baseUsed = storage.total - 1024;
  const r = await s.call("backup_run", { vmid: 104, storage: "nfs-backup" });
  assert.equal(r.isError, true, text(r));
  assert.match(
    text(r),
    /^Failed: back up qemu 104 .*task UPID:pve2:.*vzdump.* ended with "job errors"/,
  );
  assert.match(text(r), /No space left on device/);
  const lines = s.safety.audit.lines.map((l) => JSON.parse(l));
  const last = lines.at(-1)!;
  assert.equal(last.decision, "failed");
  assert.equal(last.outcome, "failed");
  assert.equal(last.upids.length, 1);
});

Deno.test("backups on local storage  are found on the node that holds them", async () => {
  await using s = await startMutationStack({ config: { protected_tags: [] } });
  const local = s.sim.state.volumes.find((v) => v.storage === "local" && v.content === "backup")!;
  local.node = "pve3";
  const r = await s.call("backup_restore", { archive: local.volid, dry_run: true });
  assert.ok(!r.isError, text(r));
  assert.equal(r.structuredContent?.node, "pve3", "not pve1, which has the most free memory");
  const d = await s.call("backup_delete", { archive: local.volid, dry_run: true });
  assert.match(
    JSON.stringify(d.structuredContent?.plan),
    /\/nodes\/pve3\/storage\/local\/content\//,
  );
});

Deno.test("resources/list_changed  is sent after a change, not after a dry run", async () => {
  await using s = await startMutationStack();
  let changed = 0;
  s.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
    changed++;
  });
  const dry = await s.call("guest_power", { vmid: 211, action: "start", dry_run: true });
  assert.ok(!dry.isError);
  const started = await s.call("guest_power", { vmid: 211, action: "start" });
  assert.ok(!started.isError, JSON.stringify(started.content));
  await s.client.ping();
  assert.equal(changed, 1);
  assert.equal(s.sim.state.guests.get(211)?.status, "running");
});
