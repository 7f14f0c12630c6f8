import assert from "node:assert/strict";
import {
  expectConfirmed,
  expectOk,
  expectRefused,
  startMutationStack,
} from "./helpers/mutations.ts";

const CONFIG = { max_mutations_per_minute: 0, protected_tags: [] };

Deno.test("guest_hardware changes disks, CD-ROM, boot, CPU and cloud-init", async (t) => {
  await using s = await startMutationStack({ config: CONFIG });
  const vm = s.sim.state.guests.get(100)!;
  await t.step("disk_add picks the next free slot", async () => {
    const r = await expectOk(s, "guest_hardware", {
      vmid: 100,
      action: "disk_add",
      storage: "local-lvm",
      size_gib: 8,
    });
    const key = String(r.disk);
    assert.match(vm.config[key], /^local-lvm:vm-100-disk-\d+,size=8G/);
  });
  await t.step("disk_detach is confirmed and keeps the volume as unused", async () => {
    const key = Object.keys(vm.config).find((k) => /^scsi[1-9]$/.test(k))!;
    const vol = vm.config[key].split(",")[0];
    await expectConfirmed(s, "guest_hardware", { vmid: 100, action: "disk_detach", disk: key });
    assert.equal(vm.config[key], undefined);
    assert.ok(Object.entries(vm.config).some(([k, v]) => k.startsWith("unused") && v === vol));
  });
  await t.step("disk_move keeps the source unless delete_source (confirmed)", async () => {
    s.sim.state.storages.get("local")!.content.push("images");
    const g = s.sim.state.guests.get(105)!;
    const src = g.config.scsi0.split(",")[0];
    const r = await expectOk(s, "guest_hardware", {
      vmid: 105,
      action: "disk_move",
      disk: "scsi0",
      storage: "local",
    });
    assert.equal(r.status, "done");
    assert.match(g.config.scsi0, /^local:vm-105-disk-/);
    assert.ok(Object.values(g.config).includes(src), "source kept as unused");
    const { plan } = await expectConfirmed(s, "guest_hardware", {
      vmid: 105,
      action: "disk_move",
      disk: "scsi0",
      storage: "local-lvm",
      delete_source: true,
    });
    assert.match(JSON.stringify(plan), /the source volume local:vm-105-disk/);
  });
  await t.step("cdrom: the ISO must exist; none ejects", async () => {
    await expectRefused(s, "guest_hardware", {
      vmid: 100,
      action: "cdrom",
      iso: "local:iso/nope.iso",
    }, /nope\.iso/);
    await expectOk(s, "guest_hardware", {
      vmid: 100,
      action: "cdrom",
      iso: "local:iso/debian-12.7.0-amd64-netinst.iso",
    });
    assert.match(vm.config.ide2, /^local:iso\/debian-12\.7\.0-amd64-netinst\.iso,media=cdrom/);
    await expectOk(s, "guest_hardware", { vmid: 100, action: "cdrom", iso: "none" });
    assert.match(vm.config.ide2, /^none,media=cdrom/);
  });
  await t.step("boot order, onboot and CPU type", async () => {
    await expectOk(s, "guest_hardware", {
      vmid: 105,
      action: "boot_order",
      order: ["ide2", "scsi0"],
    });
    assert.equal(s.sim.state.guests.get(105)!.config.boot, "order=ide2;scsi0");
    await expectRefused(
      s,
      "guest_hardware",
      { vmid: 105, action: "boot_order", order: ["sata5"] },
      /Not devices of 105: sata5/,
    );
    await expectOk(s, "guest_hardware", { vmid: 105, action: "onboot", enabled: true });
    assert.equal(s.sim.state.guests.get(105)!.config.onboot, "1");
    await expectOk(s, "guest_hardware", { vmid: 105, action: "cpu_type", cpu: "x86-64-v2-AES" });
    assert.equal(s.sim.state.guests.get(105)!.config.cpu, "x86-64-v2-AES");
  });
  await t.step("cloud-init settings and regeneration", async () => {
    await expectRefused(
      s,
      "guest_hardware",
      { vmid: 105, action: "cloudinit", ciuser: "ops" },
      /no cloud-init drive/,
    );
    const g = s.sim.state.guests.get(106)!;
    g.config.ide0 = "local-lvm:vm-106-cloudinit,media=cdrom";
    await expectOk(s, "guest_hardware", {
      vmid: 106,
      action: "cloudinit",
      ciuser: "ops",
      ipconfig0: "ip=dhcp",
    });
    assert.equal(g.config.ciuser, "ops");
    assert.equal(g.cloudinit, undefined, "regenerated: nothing pending");
    await expectOk(s, "guest_hardware", {
      vmid: 106,
      action: "cloudinit",
      ciuser: "admin",
      regenerate: false,
    });
    const generated = s.sim.state.guests.get(106)!.cloudinit;
    assert.equal(generated?.ciuser, "ops", "the drive still holds the old value");
  });
  await t.step("disable_destructive refuses a detach", async () => {
    await using nd = await startMutationStack({ disableDestructive: true, config: CONFIG });
    await expectRefused(
      nd,
      "guest_hardware",
      { vmid: 100, action: "disk_detach", disk: "scsi0" },
      /destructive/,
    );
  });
});
