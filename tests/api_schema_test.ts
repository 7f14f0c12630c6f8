import assert from "node:assert/strict";
import { apiSchema } from "../src/proxmox/api_schema/schema.ts";
import {
  compilePattern,
  matchRoute,
  parsePropertyString,
  validateRequest,
} from "../src/proxmox/api_schema/validate.ts";

Deno.test("apiSchema holds the official PVE 9.1 paths and methods", () => {
  const paths = Object.keys(apiSchema.paths);
  assert.equal(paths.length, 431);
  const methods = Object.values(apiSchema.paths).reduce((n, m) => n + Object.keys(m).length, 0);
  assert.equal(methods, 649);
  assert.match(apiSchema.origin.source, /pve-docs/);
  const create = apiSchema.paths["/nodes/{node}/qemu"].POST!;
  assert.equal(Object.keys(create.parameters.properties).length, 93);
  assert.ok(!JSON.stringify(apiSchema).includes("The (unique) ID of the VM"), "prose is stripped");
});

Deno.test("matchRoute() resolves concrete paths to templates", async (t) => {
  await t.step("literal segments win over parameters", () => {
    const m = matchRoute("GET", "/nodes/pve1/qemu/100/status/current");
    assert.ok(!("error" in m));
    assert.equal(m.template, "/nodes/{node}/qemu/{vmid}/status/current");
    assert.deepEqual(m.pathParams, { node: "pve1", vmid: "100" });
  });
  await t.step("encoded UPIDs are decoded", () => {
    const upid = "UPID:pve1:00001234:00ABCDEF:6743A1B2:qmstart:100:root@pam:";
    const m = matchRoute("GET", `/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`);
    assert.ok(!("error" in m));
    assert.equal(m.pathParams.upid, upid);
  });
  await t.step("unknown paths and methods are not implemented", () => {
    assert.deepEqual(matchRoute("GET", "/nodes/pve1/nothing"), {
      error: "not_found",
      message: "Method 'GET /nodes/pve1/nothing' not implemented",
    });
    const r = matchRoute("PUT", "/version");
    assert.ok("error" in r && r.error === "method_not_allowed");
  });
});

Deno.test("validateRequest() checks parameters the way pveproxy does", async (t) => {
  await t.step("accepts a valid request and coerces values", () => {
    const r = validateRequest("GET", "/nodes/pve1/tasks", { limit: "10", errors: "1" });
    assert.ok(r.ok);
    assert.deepEqual(r.values, { node: "pve1", limit: 10, errors: 1 });
  });
  await t.step("reports a VMID out of range", () => {
    const r = validateRequest("GET", "/nodes/pve1/qemu/99/config", {});
    assert.ok(!r.ok);
    assert.equal(r.status, 400);
    assert.equal(r.message, "Parameter verification failed.");
    assert.deepEqual(r.errors, { vmid: "value must have a minimum value of 100" });
  });
  await t.step("reports unknown parameters and bad enum values", () => {
    const r = validateRequest("GET", "/cluster/resources", { type: "vms", color: "red" });
    assert.ok(!r.ok);
    assert.equal(
      r.errors?.type,
      "value 'vms' does not have a value in the enumeration 'vm, storage, node, sdn'",
    );
    assert.match(r.errors?.color ?? "", /not defined in schema/);
  });
  await t.step("reports missing required parameters", () => {
    const r = validateRequest("POST", "/nodes/pve1/lxc", { vmid: 200 });
    assert.ok(!r.ok);
    assert.equal(r.errors?.ostemplate, "property is missing and it is not optional");
  });
  await t.step("checks types", () => {
    const r = validateRequest("POST", "/nodes/pve1/qemu", {
      vmid: 200,
      cores: "two",
      onboot: "maybe",
    });
    assert.ok(!r.ok);
    assert.equal(r.errors?.cores, "type check ('integer') failed - got 'two'");
    assert.equal(r.errors?.onboot, "type check ('boolean') failed - got 'maybe'");
  });
  await t.step("expands indexed parameters", () => {
    const ok = validateRequest("POST", "/nodes/pve1/qemu", {
      vmid: 200,
      net0: "virtio,bridge=vmbr0,tag=10",
      net3: "e1000=BC:24:11:00:00:01,bridge=vmbr1",
      scsi0: "local-lvm:32",
    });
    assert.ok(ok.ok, JSON.stringify(ok));
    const bad = validateRequest("POST", "/nodes/pve1/qemu", {
      vmid: 200,
      net0: "virtio,bridge=vmbr0,tag=5000",
    });
    assert.ok(!bad.ok);
    assert.match(bad.errors?.net0 ?? "", /tag: value must have a maximum value of 4094/);
  });
  await t.step("checks property strings for unknown keys", () => {
    const r = validateRequest("POST", "/nodes/pve1/qemu", {
      vmid: 200,
      net0: "virtio,bridge=vmbr0,colour=red",
    });
    assert.ok(!r.ok);
    assert.equal(r.errors?.net0, "invalid format - unknown key 'colour'");
  });
  await t.step("checks named formats", () => {
    const r = validateRequest("GET", "/nodes/pve_1/status", {});
    assert.ok(!r.ok);
    assert.match(r.errors?.node ?? "", /valid node name/);
  });
  await t.step("answers 501 for paths outside the API", () => {
    const r = validateRequest("GET", "/nodes/pve1/teapot", {});
    assert.ok(!r.ok);
    assert.equal(r.status, 501);
  });
});

Deno.test("parsePropertyString() resolves default keys and key aliases", () => {
  const format = apiSchema.paths["/nodes/{node}/qemu"].POST!.parameters.properties["net[n]"]
    .format as Record<string, never>;
  const { values, error } = parsePropertyString(
    format,
    "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1",
  );
  assert.equal(error, undefined);
  assert.deepEqual(values, {
    model: "virtio",
    macaddr: "BC:24:11:AA:BB:CC",
    bridge: "vmbr0",
    firewall: "1",
  });
});

Deno.test("compilePattern() compiles every Perl pattern of the schema", () => {
  const patterns = new Set<string>();
  const walk = (v: unknown) => {
    if (v && typeof v === "object") {
      const r = v as Record<string, unknown>;
      if (typeof r.pattern === "string") patterns.add(r.pattern);
      Object.values(r).forEach(walk);
    }
  };
  walk(apiSchema.paths);
  assert.ok(patterns.size > 50);
  for (const p of patterns) assert.ok(compilePattern(p), `pattern compiles: ${p}`);
  const userid = apiSchema.paths["/access/permissions"].GET!.parameters.properties.userid.pattern!;
  assert.equal(compilePattern(userid)!.test("mcp@pve!ro"), true);
  assert.equal(compilePattern(userid)!.test("no-realm"), false);
});
