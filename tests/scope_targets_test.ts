import assert from "node:assert/strict";
import type { PlannedRequest } from "../src/safety/change.ts";
import { targetsOf, volumeOwners } from "../src/safety/targets.ts";
import { GuestNotFoundError } from "../src/proxmox/guests.ts";
import type { SafetyConfig } from "../src/safety/settings.ts";
import { catalogue } from "../src/tools/catalogue.ts";
import { Inventory } from "../src/tools/inventory.ts";
import { systemClock } from "../src/util/clock.ts";
import { silentLogger } from "../src/util/log.ts";
import {
  type MutationStack,
  startMutationStack,
  stateSnapshot,
  text,
} from "./helpers/mutations.ts";

type Args = Record<string, unknown>;

const refs = (...requests: PlannedRequest[]) =>
  targetsOf(requests).map((r) => {
    const { via: _via, ...rest } = r;
    return rest;
  });

Deno.test("targetsOf() derives every target from the requests a plan sends", async (t) => {
  await t.step("node and guest in the path", () => {
    assert.deepEqual(
      refs({ method: "POST", path: "/nodes/pve1/qemu/101/status/stop", params: {} }),
      [
        { kind: "guest", vmid: 101, role: "subject", node: "pve1" },
        { kind: "node", node: "pve1", role: "subject" },
      ],
    );
  });
  await t.step("a storage content volume names its storage and the guest it belongs to", () => {
    const got = refs({
      method: "DELETE",
      path:
        "/nodes/pve2/storage/nfs-backup/content/nfs-backup%3Abackup%2Fvzdump-qemu-101-2026_01_01-00_00_00.vma.zst",
      params: {},
    });
    assert.ok(got.some((r) => r.kind === "node" && r.node === "pve2"));
    assert.ok(got.some((r) => r.kind === "guest" && r.vmid === 101 && r.role === "source"));
    assert.ok(got.some((r) => r.kind === "storage" && r.storage === "nfs-backup"));
  });
  await t.step("a create names the new VMID, its pool and tags, and the archive's owner", () => {
    const got = refs({
      method: "POST",
      path: "/nodes/pve1/qemu",
      params: {
        vmid: 120,
        archive: "nfs-backup:backup/vzdump-qemu-105-2026_01_01-00_00_00.vma.zst",
        pool: "lab",
        tags: "a;b",
        scsi0: "local-lvm:vm-104-disk-0,size=4G",
      },
    });
    assert.deepEqual(
      got.find((r) => r.kind === "guest" && r.vmid === 120),
      {
        kind: "guest",
        vmid: 120,
        role: "new",
        node: "pve1",
        pool: "lab",
        tags: ["a", "b"],
        type: "qemu",
      },
    );
    assert.ok(got.some((r) => r.kind === "pool" && r.pool === "lab"));
    for (const owner of [105, 104]) {
      assert.ok(
        got.some((r) => r.kind === "guest" && r.vmid === owner && r.role === "source"),
        `owner ${owner} of a volume the request reads`,
      );
    }
  });
  await t.step("clone and migrate name the target node and the new VMID", () => {
    const clone = refs({
      method: "POST",
      path: "/nodes/pve1/qemu/9000/clone",
      params: { newid: 130, target: "pve2", pool: "prod" },
    });
    assert.deepEqual(clone.find((r) => r.kind === "guest" && r.vmid === 130), {
      kind: "guest",
      vmid: 130,
      role: "new",
      node: "pve2",
      pool: "prod",
      copiesFrom: 9000,
    });
    assert.ok(clone.some((r) => r.kind === "node" && r.node === "pve2"));
    const mig = refs({
      method: "POST",
      path: "/nodes/pve1/qemu/100/migrate",
      params: { target: "pve3", targetstorage: "local-lvm:ceph" },
    });
    assert.ok(mig.some((r) => r.kind === "node" && r.node === "pve3" && r.role === "destination"));
    assert.ok(mig.some((r) => r.kind === "storage" && r.storage === "ceph"));
  });
  await t.step("vzdump names each listed guest, or every guest of the node (all, pool)", () => {
    const list = refs({
      method: "POST",
      path: "/nodes/pve1/vzdump",
      params: { vmid: "100,101", storage: "nfs-backup" },
    });
    assert.deepEqual(
      list.filter((r) => r.kind === "guest").map((r) => (r as { vmid: number }).vmid),
      [100, 101],
    );
    const all = refs({ method: "POST", path: "/nodes/pve1/vzdump", params: { all: true } });
    assert.ok(all.some((r) => r.kind === "guests" && r.node === "pve1"));
  });
  await t.step("a task's UPID names its node and guest", () => {
    const upid = "UPID:pve3:0001A2B3:00C4D5E6:6757A1B2:vzdump:201:root@pam:";
    const got = refs({
      method: "DELETE",
      path: `/nodes/pve3/tasks/${encodeURIComponent(upid)}`,
      params: {},
    });
    assert.ok(got.some((r) => r.kind === "guest" && r.vmid === 201));
    assert.ok(got.some((r) => r.kind === "node" && r.node === "pve3"));
  });
  await t.step("a request the schema does not know is refused (fail closed)", () => {
    assert.throws(
      () => targetsOf([{ method: "POST", path: "/nodes/pve1/nonsense", params: {} }]),
      /Cannot tell what POST \/nodes\/pve1\/nonsense changes/,
    );
  });
  await t.step("volume names carry their owners", () => {
    assert.deepEqual(volumeOwners("local-lvm:base-9000-disk-0/vm-120-disk-0"), [9000, 120]);
    assert.deepEqual(volumeOwners("pbs:backup/ct/201/2026-01-01T00:00:00Z"), [201]);
    assert.deepEqual(volumeOwners("local:iso/debian-12.iso"), []);
  });
});

/** One refused attempt per mutating tool, each through a different kind of target. */
interface Case {
  label: string;
  tool: string;
  args: Args;
  why: RegExp;
}

const SCOPE: SafetyConfig = {
  allowed_nodes: ["pve1", "pve2"],
  denied_vmids: ["211", "201"],
  denied_pools: ["lab"],
  protected_tags: [],
};

function backupOf(s: MutationStack, vmid: number): string {
  const v = s.sim.state.volumes.find((x) => x.vmid === vmid && x.content === "backup");
  assert.ok(v, `the scenario has a backup of ${vmid}`);
  return v.volid;
}

function cases(s: MutationStack): Case[] {
  const deb = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst";
  return [
    {
      label: "guest in the path",
      tool: "guest_power",
      args: { vmid: 211, action: "start" },
      why: /VMID 211 is in denied_vmids/,
    },
    {
      label: "guest on a node outside",
      tool: "guest_update",
      args: { vmid: 106, cores: 2 },
      why: /node pve3 is not in allowed_nodes/,
    },
    {
      label: "disk of a denied guest",
      tool: "disk_resize",
      args: { vmid: 211, disk: "rootfs", size_gib: 20 },
      why: /VMID 211 is in denied_vmids/,
    },
    {
      label: "target node",
      tool: "guest_migrate",
      args: { vmid: 100, target_node: "pve3" },
      why: /node pve3 is not in allowed_nodes/,
    },
    {
      label: "guest deleted",
      tool: "guest_delete",
      args: { vmid: 211 },
      why: /VMID 211 is in denied_vmids/,
    },
    {
      label: "pool of a new VM",
      tool: "vm_create",
      args: { name: "t1", node: "pve1", pool: "lab", disk_gib: 1 },
      why: /pool lab is in denied_pools/,
    },
    {
      label: "node of a new VM",
      tool: "vm_create",
      args: { name: "t2", node: "pve3", disk_gib: 1 },
      why: /node pve3 is not in allowed_nodes/,
    },
    {
      label: "new VMID",
      tool: "vm_create",
      args: { name: "t3", node: "pve1", vmid: 201 + 0, disk_gib: 1 },
      why: /VMID 201 is in denied_vmids|taken/,
    },
    {
      label: "node of a new container",
      tool: "ct_create",
      args: { hostname: "c1", ostemplate: deb, node: "pve3", disk_gib: 1 },
      why: /node pve3 is not in allowed_nodes/,
    },
    {
      label: "clone source",
      tool: "guest_clone",
      args: { vmid: 105, newid: 150 },
      why: /pool lab is in denied_pools/,
    },
    {
      label: "clone pool",
      tool: "guest_clone",
      args: { vmid: 9000, newid: 151, pool: "lab" },
      why: /pool lab is in denied_pools/,
    },
    {
      label: "template of a denied guest",
      tool: "guest_template",
      args: { vmid: 211 },
      why: /VMID 211 is in denied_vmids/,
    },
    {
      label: "snapshot of a denied guest",
      tool: "snapshot",
      args: { vmid: 211, action: "create", name: "snap_a" },
      why: /VMID 211 is in denied_vmids/,
    },
    {
      label: "backup of a denied guest",
      tool: "backup_run",
      args: { vmid: 211, storage: "nfs-backup" },
      why: /VMID 211 is in denied_vmids/,
    },
    {
      label: "restore source (a denied guest's backup)",
      tool: "backup_restore",
      args: { archive: backupOf(s, 201), node: "pve1" },
      why: /^Refused: lxc 201 \(pihole\) on pve3 \(parameter ostemplate: .*: node pve3 is not/,
    },
    {
      label: "restore node",
      tool: "backup_restore",
      args: { archive: backupOf(s, 102), node: "pve3" },
      why: /node pve3 is not in allowed_nodes/,
    },
    {
      label: "backup_delete node",
      tool: "backup_delete",
      args: { archive: backupOf(s, 102), node: "pve3" },
      why: /node pve3 is not in allowed_nodes/,
    },
    {
      label: "backup_delete owner",
      tool: "backup_delete",
      args: { archive: backupOf(s, 201), node: "pve1" },
      why: /^Refused: lxc 201 \(pihole\) on pve3 \(path volume: .*: node pve3 is not/,
    },
    {
      label: "download node",
      tool: "storage_download",
      args: {
        storage: "local",
        node: "pve3",
        url: "https://example.invalid/a.iso",
        filename: "a.iso",
      },
      why: /node pve3 is not in allowed_nodes/,
    },
  ];
}

Deno.test("scope  every target of every request is checked, by the scope stage, for every mutating tool", async (t) => {
  await using open = await startMutationStack({ config: { protected_tags: [] } });
  await using scoped = await startMutationStack({ config: SCOPE });
  const list = cases(scoped).filter((c) => c.label !== "new VMID");
  const tools = new Set(list.map((c) => c.tool));
  for (const name of ["guest_power", "backup_delete", "backup_restore", "storage_download"]) {
    assert.ok(tools.has(name));
  }
  for (const c of list) {
    await t.step(`${c.tool}: ${c.label}`, async () => {
      const plain = await open.call(c.tool, { ...c.args, dry_run: true });
      assert.equal(plain.structuredContent?.status, "dry_run", `without a scope: ${text(plain)}`);
      const before = stateSnapshot(scoped.sim);
      const writes = scoped.writes().length;
      const lines = scoped.safety.audit.lines.length;
      const r = await scoped.call(c.tool, c.args);
      assert.equal(r.isError, true, text(r));
      assert.match(text(r), /^Refused: .* is outside this server's scope: /);
      assert.match(text(r), c.why);
      const record = JSON.parse(scoped.safety.audit.lines.at(-1)!);
      assert.equal(scoped.safety.audit.lines.length, lines + 1);
      assert.equal(record.decision, "refused");
      assert.equal(record.stage, "scope");
      assert.equal(scoped.writes().length, writes);
      assert.equal(stateSnapshot(scoped.sim), before);
    });
  }
  await t.step("task_stop: the task of a guest on a node outside", async () => {
    const task = scoped.sim.core.tasks.start({
      node: "pve3",
      type: "vzdump",
      id: "201",
      user: "root@pam",
      durationMs: 3_600_000,
    });
    const r = await scoped.call("task_stop", { upid: task.upid });
    assert.equal(r.isError, true);
    assert.match(text(r), /outside this server's scope: node pve3 is not in allowed_nodes/);
    assert.equal(scoped.writes().length, 0);
  });
  await t.step("new VMIDs outside the scope are refused by the scope stage", async () => {
    await using ranged = await startMutationStack({ config: { allowed_vmids: ["100-299"] } });
    const r = await ranged.call("vm_create", {
      name: "far",
      node: "pve1",
      vmid: 5000,
      disk_gib: 1,
    });
    assert.match(
      text(r),
      /^Refused: new qemu 5000 on pve1 is outside this server's scope: VMID 5000 is not in allowed_vmids/,
    );
    const clone = await ranged.call("guest_clone", { vmid: 100, newid: 4000 });
    assert.match(text(clone), /VMID 4000 is not in allowed_vmids/);
    assert.equal(ranged.writes().length, 0);
  });
});

Deno.test("scope  node and pool lists compare like Proxmox; deny entries in another case still deny", async (t) => {
  await t.step("denied_nodes and denied_pools in upper case deny pve3 and lab", async () => {
    await using s = await startMutationStack({
      config: { denied_nodes: ["PVE3"], denied_pools: ["LAB"], protected_tags: [] },
    });
    const start = await s.call("guest_power", { vmid: 201, action: "shutdown" });
    assert.match(text(start), /node pve3 is in denied_nodes \(as PVE3\)/);
    const mig = await s.call("guest_migrate", { vmid: 100, target_node: "pve3" });
    assert.match(text(mig), /node pve3 is in denied_nodes/);
    const dl = await s.call("storage_download", {
      storage: "local",
      node: "pve3",
      url: "https://example.invalid/a.iso",
      filename: "a.iso",
    });
    assert.match(text(dl), /node pve3 is in denied_nodes/);
    const lab = await s.call("guest_power", { vmid: 107, action: "shutdown" });
    assert.match(text(lab), /pool lab is in denied_pools \(as LAB\)/);
    assert.equal(s.writes().length, 0);
  });
  await t.step("allow lists match exactly, and say when only the case differs", async () => {
    await using s = await startMutationStack({
      config: { allowed_nodes: ["PVE1"], protected_tags: [] },
    });
    const r = await s.call("guest_power", { vmid: 100, action: "shutdown" });
    assert.match(
      text(r),
      /node pve1 is not in allowed_nodes \(PVE1\); "PVE1" differs only in case, and Proxmox names are case-sensitive/,
    );
    assert.equal(s.writes().length, 0);
  });
});

Deno.test("scope  a denied guest's data can't reach an in-scope guest through restore or clone", async () => {
  await using s = await startMutationStack({ config: { denied_tags: ["db"], protected_tags: [] } });
  const archive = backupOf(s, 103);
  const restore = await s.call("backup_restore", { archive, node: "pve1", dry_run: true });
  assert.match(
    text(restore),
    /^Refused: qemu 103 \(db-01\) on pve1 \(parameter archive: volume .*\) is outside this server's scope: tag db is in denied_tags/,
  );
  const clone = await s.call("guest_clone", { vmid: 103, newid: 160, dry_run: true });
  assert.match(text(clone), /tag db is in denied_tags/);
  assert.equal(s.writes().length, 0);
});

Deno.test("plans  keep typed errors: a missing guest is a GuestNotFoundError, not a text match", async () => {
  await using s = await startMutationStack();
  const power = catalogue.find((x) => x.name === "guest_power")!;
  const ctx = {
    api: s.recorder,
    inventory: new Inventory(s.recorder, systemClock),
    signal: new AbortController().signal,
    logger: silentLogger,
  };
  await assert.rejects(
    power.plan!({ vmid: 999, action: "stop", wait: true }, ctx),
    (e: unknown) => e instanceof GuestNotFoundError && e.vmid === 999,
  );
  const missing = await s.call("guest_power", { vmid: 999, action: "stop" });
  assert.equal(missing.isError, true);
  assert.match(text(missing), /^Cannot resolve guest 999: no such VMID in cluster/);
  const restore = await s.call("backup_restore", {
    archive: backupOf(s, 102),
    vmid: 777,
    node: "pve1",
    dry_run: true,
  });
  assert.equal(restore.structuredContent?.status, "dry_run", text(restore));
  assert.equal(restore.structuredContent?.vmid, 777);
  assert.equal(s.writes().length, 0);
});

Deno.test("scope  a source guest on a node that is down is checked by the inventory's facts", async () => {
  await using s = await startMutationStack({ config: { denied_tags: ["db"], protected_tags: [] } });
  s.sim.faults.nodeDown("pve3");
  const r = await s.call("backup_delete", { archive: backupOf(s, 201), node: "pve1" });
  assert.equal(r.structuredContent?.status, "confirmation_required", text(r));
  const plan = r.structuredContent?.plan as { targets: { vmid?: number; role: string }[] };
  assert.ok(plan.targets.some((x) => x.vmid === 201 && x.role === "source"));
  assert.equal(s.writes().length, 0);
});
