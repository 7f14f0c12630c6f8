import assert from "node:assert/strict";
import { namedPrivileges } from "../src/server/privilege_filter.ts";
import { ToolListChangedNotificationSchema } from "../src/server/sdk.ts";
import { startMutationStack, text } from "./helpers/mutations.ts";

const names = async (s: { client: { listTools(): Promise<{ tools: { name: string }[] }> } }) =>
  new Set((await s.client.listTools()).tools.map((t) => t.name));

Deno.test("privilege-aware listing hides rows the identity lacks the privilege for", async (t) => {
  await using s = await startMutationStack({ identity: "auditor", privilegeFilter: true });
  let changed = 0;
  s.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    changed++;
  });

  await t.step("the privileges are read once, by the first tools/list at the latest", async () => {
    const reads = () =>
      s.recorder.requests.filter((r) => `${r.method} ${r.path}` === "GET /access/permissions")
        .length;
    const listed = await names(s);
    for (const hidden of ["guest_power", "guest_delete", "snapshot", "backup_run"]) {
      assert.ok(!listed.has(hidden), `${hidden} is hidden`);
    }
    for (const shown of ["guest_list", "guest_status", "api_read", "api_search", "task_list"]) {
      assert.ok(listed.has(shown), `${shown} is listed`);
    }
    assert.equal(reads(), 1, "read as the server started, before the list was answered");
    await names(s);
    assert.equal(reads(), 1, "read once, not per list");
  });
  await t.step("a hidden tool called anyway is refused with the reason", async () => {
    const r = await s.call("guest_power", { vmid: 100, action: "stop" });
    assert.equal(r.isError, true);
    assert.match(
      text(r),
      /^Refused guest_power: it is hidden because the identity this server uses has none of VM\.PowerMgmt on any path/,
    );
    assert.equal(s.writes().length, 0);
  });
  await t.step("a 403 re-reads the privileges; a change sends tools/list_changed", async () => {
    const auditor = s.sim.state.users.get("auditor@pve")!;
    assert.ok(auditor.privileges !== "all");
    auditor.privileges.add("VM.PowerMgmt");
    const r = await s.call("api_read", { path: "/nodes/pve1/syslog" });
    assert.equal(r.isError, true);
    assert.match(text(r), /403/);
    for (let i = 0; i < 200 && changed === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(changed, 1, "tools/list_changed was sent");
    assert.ok((await names(s)).has("guest_power"));
  });
});

Deno.test("privilege_filter: false lists every row whatever the privileges", async () => {
  await using s = await startMutationStack({ identity: "auditor", privilegeFilter: false });
  const listed = await names(s);
  assert.ok(listed.has("guest_power") && listed.has("guest_delete"));
  assert.ok(!s.recorder.requests.some((r) => r.path === "/access/permissions"));
});

Deno.test("the instructions say which tools were hidden and why, in one line", async () => {
  await using first = await startMutationStack({ identity: "auditor", privilegeFilter: true });
  const line = first.client.getInstructions()!.split(/(?<=\.) /).find((l) => /privilege/.test(l));
  assert.match(line!, /^Tools whose Proxmox privilege this identity lacks are left out/);
  await names(first);
});

Deno.test("namedPrivileges() reads a row's privilege text", () => {
  assert.deepEqual(namedPrivileges("VM.PowerMgmt on /vms/{vmid}"), ["VM.PowerMgmt"]);
  assert.deepEqual(
    namedPrivileges("VM.Snapshot (rollback: VM.Snapshot.Rollback) on /vms/{vmid}"),
    ["VM.Snapshot", "VM.Snapshot.Rollback"],
  );
  assert.deepEqual(namedPrivileges("VM.Config.* on /vms/{vmid}"), ["VM.Config.*"]);
  assert.deepEqual(namedPrivileges("none (own permissions)"), []);
  assert.deepEqual(namedPrivileges("Sys.Audit on /nodes/{node}, or the task's own user"), []);
});
