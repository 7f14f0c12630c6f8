import assert from "node:assert/strict";
import { ResourceUpdatedNotificationSchema } from "../src/server/sdk.ts";
import { ManualClock } from "../src/util/clock.ts";
import { type MutationStack, startMutationStack, text } from "./helpers/mutations.ts";

/** Collects `notifications/resources/updated` and lets a test wait for one, bounded. */
function updates(s: MutationStack) {
  const seen: string[] = [];
  const waiters = new Set<{ uri: string; resolve: () => void }>();
  s.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
    seen.push(n.params.uri);
    for (const w of [...waiters]) {
      if (w.uri === n.params.uri) {
        waiters.delete(w);
        w.resolve();
      }
    }
  });
  return {
    seen,
    /** Resolves when `uri` is (or was, after `from`) notified; rejects after 10 s. */
    next(uri: string, from = seen.length): Promise<void> {
      if (seen.slice(from).includes(uri)) return Promise.resolve();
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      const timer = setTimeout(() => reject(new Error(`no update of ${uri} within 10 s`)), 10_000);
      waiters.add({ uri, resolve: () => (clearTimeout(timer), resolve()) });
      return promise;
    },
  };
}

Deno.test("resource subscriptions  tell a client when a guest, node, inventory or task changes", async (t) => {
  const clock = new ManualClock(Date.now());
  await using s = await startMutationStack({
    clock,
    subscriptionPollMs: 20,
    simulator: { taskDurationMs: 150 },
    config: { protected_tags: [] },
  });
  const u = updates(s);

  await t.step("the server declares subscriptions", () => {
    assert.equal(s.client.getServerCapabilities()?.resources?.subscribe, true);
  });

  await t.step("a change through this server notifies the resources it touched only", async () => {
    await s.client.subscribeResource({ uri: "proxmox://guest/105" });
    await s.client.subscribeResource({ uri: "proxmox://guest/100" });
    await s.client.subscribeResource({ uri: "proxmox://node/pve1" });
    const from = u.seen.length;
    const r = await s.call("guest_power", { vmid: 100, action: "shutdown" });
    assert.ok(!r.isError, text(r));
    await u.next("proxmox://guest/100", from);
    await u.next("proxmox://node/pve1", from);
    // guest/105 was compared first in the same check and did not change.
    assert.deepEqual(u.seen.slice(from).filter((x) => x === "proxmox://guest/105"), []);
  });

  await t.step("a change made elsewhere is noticed by the timer", async () => {
    const from = u.seen.length;
    const g = s.sim.state.guests.get(105)!;
    g.config.name = "renamed-in-the-web-ui";
    clock.advance(6_000); // past the inventory's cache age
    await u.next("proxmox://guest/105", from);
  });

  await t.step("a task subscription is told when the task ends", async () => {
    const r = await s.call("guest_power", { vmid: 100, action: "start", wait: false });
    assert.equal(r.structuredContent?.status, "started", text(r));
    const upid = String(r.structuredContent?.upid);
    const uri = `proxmox://task/${encodeURIComponent(upid)}/log`;
    const from = u.seen.length;
    await s.client.subscribeResource({ uri });
    await u.next(uri, from);
    const status = await s.call("task_status", { upid });
    assert.equal(status.structuredContent?.running, false, text(status));
  });

  await t.step("after unsubscribing nothing more is sent for that resource", async () => {
    await s.client.unsubscribeResource({ uri: "proxmox://guest/100" });
    clock.advance(6_000); // the inventory's cached snapshot is older than the start's end
    await s.client.subscribeResource({ uri: "proxmox://cluster/inventory" });
    const from = u.seen.length;
    const r = await s.call("guest_power", { vmid: 100, action: "shutdown" });
    assert.ok(!r.isError, text(r));
    await u.next("proxmox://cluster/inventory", from);
    assert.deepEqual(u.seen.slice(from).filter((x) => x === "proxmox://guest/100"), []);
  });

  await t.step("unknown resources cannot be subscribed to", async () => {
    await assert.rejects(
      s.client.subscribeResource({ uri: "test://watched-resource" }),
      /Cannot subscribe to test:\/\/watched-resource: not a resource of this server/,
    );
    await assert.rejects(
      s.client.subscribeResource({ uri: "proxmox://task/UPID%3Apve1%3Anope/log" }),
      /not a resource of this server/,
    );
  });
});
