import assert from "node:assert/strict";
import { catalogue } from "../src/tools/catalogue.ts";
import type { Tool } from "../src/tools/tool.ts";
import { type ElicitHandler, startMutationStack, text } from "./helpers/mutations.ts";

const audited = (lines: readonly string[]) => lines.map((l) => JSON.parse(l));
const ACCEPT = { action: "accept" as const, content: { confirm: true } };

Deno.test("elicitation  after the answer the call is planned and checked again", async (t) => {
  let onAsk: () => void = () => {};
  const answer: ElicitHandler = () => {
    onAsk();
    return ACCEPT;
  };
  await using s = await startMutationStack({
    elicit: answer,
    config: { denied_tags: ["frozen"], protected_tags: ["prod"] },
  });
  const g105 = s.sim.state.guests.get(105)!;

  await t.step("an unchanged plan runs after one question", async () => {
    onAsk = () => {};
    const r = await s.call("guest_power", { vmid: 107, action: "stop" });
    assert.equal(r.structuredContent?.status, "done", text(r));
    assert.equal(s.elicitations.length, 1);
  });

  await t.step("protection set while the question was open: refused, nothing sent", async () => {
    onAsk = () => {
      g105.config.protection = "1";
    };
    const writes = s.writes().length;
    const r = await s.call("guest_delete", { vmid: 105 });
    delete g105.config.protection;
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), /^Refused: qemu 105 \(win-test\) on pve2 has Proxmox's protection flag/);
    assert.equal(s.writes().length, writes);
    assert.ok(s.sim.state.guests.has(105));
    const last = audited(s.safety.audit.lines).at(-1);
    assert.equal(last.decision, "refused");
    assert.equal(last.stage, "scope");
  });

  await t.step(
    "a denied tag added while the question was open: refused, nothing sent",
    async () => {
      onAsk = () => {
        g105.config.tags = "lab;frozen";
      };
      const writes = s.writes().length;
      const r = await s.call("guest_delete", { vmid: 105 });
      assert.equal(r.isError, true, text(r));
      assert.match(text(r), /outside this server's scope: tag frozen is in denied_tags/);
      assert.equal(s.writes().length, writes);
      assert.ok(s.sim.state.guests.has(105));
      g105.config.tags = "lab";
    },
  );

  await t.step("a plan that changed but is allowed is asked again, then runs", async () => {
    const asked = s.elicitations.length;
    let first = true;
    onAsk = () => {
      if (first) g105.config.tags = "lab;prod";
      first = false;
    };
    const r = await s.call("guest_delete", { vmid: 105 });
    assert.equal(r.structuredContent?.status, "done", text(r));
    assert.equal(s.elicitations.length, asked + 2);
    const second = s.elicitations.at(-1)!;
    assert.match(second, /^The plan changed while the previous question was open/);
    assert.match(second, /carries protected tag prod/);
    assert.ok(!s.sim.state.guests.has(105));
  });

  await t.step("a plan that keeps changing is refused after three questions", async () => {
    const asked = s.elicitations.length;
    let n = 0;
    onAsk = () => {
      s.sim.state.guests.get(100)!.config.name = `dns-${n++}`;
    };
    const writes = s.writes().length;
    const r = await s.call("guest_power", { vmid: 100, action: "stop" });
    assert.equal(r.isError, true, text(r));
    assert.match(text(r), /changed each of the 3 times the user was asked/);
    assert.equal(s.elicitations.length, asked + 3);
    assert.equal(s.writes().length, writes);
  });
});

Deno.test("gate order  the token is spent and the audit written before the rate-limit slot is taken", async (t) => {
  await t.step("a refused replay of a token uses no slot", async () => {
    await using s = await startMutationStack({
      config: { max_mutations_per_minute: 2, protected_tags: [] },
    });
    const first = await s.call("guest_power", { vmid: 104, action: "stop" });
    const args = {
      vmid: 104,
      action: "stop",
      confirmation_token: first.structuredContent?.confirmation_token,
    };
    const both = await Promise.all([s.call("guest_power", args), s.call("guest_power", args)]);
    assert.equal(both.filter((r) => !r.isError).length, 1, both.map(text).join(" | "));
    assert.match(both.map(text).join(" | "), /already used/);
    const next = await s.call("guest_power", { vmid: 100, action: "shutdown" });
    assert.equal(next.structuredContent?.status, "done", text(next));
  });
  await t.step("a failed audit write uses no slot", async () => {
    const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-gate-" });
    try {
      const path = `${dir}/audit.jsonl`;
      await using s = await startMutationStack({
        auditPath: path,
        config: { max_mutations_per_minute: 1, protected_tags: [] },
      });
      const warm = await s.call("guest_power", { vmid: 100, action: "shutdown", dry_run: true });
      assert.equal(warm.structuredContent?.status, "dry_run", text(warm));
      await Deno.mkdir(`${path}.head.tmp`);
      const failed = await s.call("guest_power", { vmid: 100, action: "shutdown" });
      assert.match(text(failed), /audit log could not be written/);
      await Deno.remove(`${path}.head.tmp`);
      const ok = await s.call("guest_power", { vmid: 100, action: "shutdown" });
      assert.equal(ok.structuredContent?.status, "done", text(ok));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("plan stage  a request the official schema rejects is a typed refusal at stage plan", async () => {
  const power = catalogue.find((x) => x.name === "guest_power")!;
  // The real plan with one parameter pveproxy would reject ("timeout" has a minimum of 0).
  const broken: Tool = {
    ...power,
    plan: async (args, ctx) => {
      const plan = await power.plan!(args, ctx);
      return {
        ...plan,
        requests: plan.requests.map((r) => ({ ...r, params: { ...r.params, timeout: -4 } })),
      };
    },
  };
  await using s = await startMutationStack({ tools: [broken] });
  const r = await s.call("guest_power", { vmid: 100, action: "shutdown" });
  assert.equal(r.isError, true);
  assert.match(
    text(r),
    /^Refused: POST \/nodes\/pve1\/qemu\/100\/status\/shutdown is not a valid Proxmox request: the official API schema rejects it \(timeout: value must have a minimum value of 0\)\. Nothing was sent/,
  );
  assert.doesNotMatch(text(r), /Internal error/);
  assert.equal(s.writes().length, 0);
  assert.equal(s.sim.state.guests.get(100)!.status, "running");
  const last = audited(s.safety.audit.lines).at(-1);
  assert.equal(last.decision, "refused");
  assert.equal(last.stage, "plan");
});
