import assert from "node:assert/strict";
import { ProxmoxApiError } from "../src/proxmox/errors.ts";
import type { ApiParams, ApiRequestOptions, ProxmoxApi } from "../src/tools/context.ts";
import { startMutationStack, text } from "./helpers/mutations.ts";

/** An API whose inventory hides some guests, and whose `/cluster/nextid` can fail on demand. */
class ShadyApi implements ProxmoxApi {
  hidden = new Set<number>();
  nextidError?: ProxmoxApiError;
  constructor(readonly inner: ProxmoxApi) {}
  async get<T>(path: string, params?: ApiParams, opts?: ApiRequestOptions): Promise<T> {
    if (path === "/cluster/nextid" && this.nextidError) throw this.nextidError;
    const data = await this.inner.get<T>(path, params, opts);
    if (path !== "/cluster/resources" || !Array.isArray(data)) return data;
    return data.filter((r) => !this.hidden.has(Number(r.vmid))) as T;
  }
  post<T>(path: string, params?: ApiParams, opts?: ApiRequestOptions): Promise<T> {
    return this.inner.post<T>(path, params, opts);
  }
  put<T>(path: string, params?: ApiParams, opts?: ApiRequestOptions): Promise<T> {
    return this.inner.put<T>(path, params, opts);
  }
  delete<T>(path: string, params?: ApiParams, opts?: ApiRequestOptions): Promise<T> {
    return this.inner.delete<T>(path, params, opts);
  }
}

Deno.test("next_vmid  never answers a VMID outside the scope, and only 'already exists' means taken", async (t) => {
  let api: ShadyApi | undefined;
  await using s = await startMutationStack({
    config: { allowed_vmids: ["150-152"], protected_tags: [] },
    wrapApi: (inner) => api = new ShadyApi(inner),
  });
  await t.step("the scope's VMIDs, skipping those Proxmox reports taken", async () => {
    for (const id of [150, 151]) {
      const made = await s.call("vm_create", { name: `v${id}`, node: "pve1", disk_gib: 1 });
      assert.equal(made.structuredContent?.vmid, id, text(made));
    }
    api!.hidden = new Set([150, 151]);
    const next = await s.call("next_vmid", {});
    assert.deepEqual(next.structuredContent, { vmid: 152, free: true, in_scope: true });
    const dry = await s.call("vm_create", { name: "v3", node: "pve1", disk_gib: 1, dry_run: true });
    assert.equal(dry.structuredContent?.vmid, 152, text(dry));
  });
  await t.step("when every VMID of the scope is taken, it says so", async () => {
    const made = await s.call("vm_create", { name: "v152", node: "pve1", disk_gib: 1 });
    assert.equal(made.structuredContent?.vmid, 152, text(made));
    api!.hidden = new Set([150, 151, 152]);
    const next = await s.call("next_vmid", {});
    assert.equal(next.isError, true, JSON.stringify(next.structuredContent));
    assert.match(text(next), /No free VMID is left in the VMID ranges this server may use/);
    const create = await s.call("vm_create", { name: "v4", node: "pve1", dry_run: true });
    assert.match(text(create), /No free VMID is left/);
  });
  await t.step("another parameter error is reported, not read as 'taken'", async () => {
    api!.nextidError = new ProxmoxApiError({
      status: 400,
      method: "GET",
      path: "/cluster/nextid",
      apiMessage: "Parameter verification failed.",
      errors: { vmid: "value must have a maximum value of 999999999" },
    });
    const r = await s.call("next_vmid", { vmid: 160 });
    assert.equal(r.isError, true, JSON.stringify(r.structuredContent));
    assert.match(text(r), /Proxmox API error 400 on GET \/cluster\/nextid/);
    api!.nextidError = undefined;
    const taken = await s.call("next_vmid", { vmid: 150 });
    assert.deepEqual(taken.structuredContent, { vmid: 150, free: false, in_scope: true });
  });
});

Deno.test("next_vmid  without VMID ranges asks Proxmox for its next free VMID", async () => {
  await using s = await startMutationStack();
  const next = await s.call("next_vmid", {});
  assert.deepEqual(next.structuredContent, { vmid: 108, free: true });
  const made = await s.call("vm_create", { name: "unscoped", node: "pve1", disk_gib: 1 });
  assert.equal(made.structuredContent?.vmid, 108, text(made));
});
