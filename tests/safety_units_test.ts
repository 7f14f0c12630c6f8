import assert from "node:assert/strict";
import { loadConfig } from "../src/config/mod.ts";
import { canonicalJson } from "../src/safety/canonical.ts";
import type { Change, Target } from "../src/safety/change.ts";
import { argsHash, planHash } from "../src/safety/confirm.ts";
import { RateLimiter, RateLimitRefusal } from "../src/safety/rate_limit.ts";
import { redact, REDACTED } from "../src/safety/redact.ts";
import { parseVmidRange, Scope } from "../src/safety/scope.ts";
import { DEFAULT_SAFETY, safetySettings } from "../src/safety/settings.ts";
import { ConfirmationTokens } from "../src/safety/tokens.ts";
import { PolicyRefusal } from "../src/safety/pipeline.ts";
import { ManualClock } from "../src/util/clock.ts";

function target(extra: Partial<Target> = {}): Target {
  return {
    kind: "guest",
    role: "subject",
    via: "path vmid",
    node: "pve1",
    vmid: 150,
    type: "qemu",
    tags: [],
    protection: false,
    exists: true,
    ...extra,
  };
}

function change(extra: Partial<Change> = {}): Change {
  return {
    summary: "test change",
    targets: [target()],
    requests: [{ method: "POST", path: "/nodes/pve1/qemu/150/status/start", params: {} }],
    destructive: false,
    warnings: [],
    creates: 0,
    ...extra,
  };
}

Deno.test("ConfirmationTokens  accept only the exact tool, arguments and plan, once, in time", async (t) => {
  const clock = new ManualClock();
  const tokens = new ConfirmationTokens({ clock, ttlMs: 300_000 });
  const a = argsHash({ vmid: 150, action: "stop", wait: true });
  const p = planHash(change());
  const { token, expiresAt } = tokens.issue("guest_power", a, p, "s1");

  await t.step("a fresh token checks out and spends once", () => {
    assert.match(token, /^pmc1\.[\w-]+\.[\w-]+$/);
    assert.equal(expiresAt, clock.now() + 300_000);
    const c = tokens.check(token, "guest_power", a, p, "s1");
    assert.ok(c.ok);
    if (!c.ok) return;
    assert.equal(tokens.spend(c.nonce, c.expiresAt), true);
    assert.equal(tokens.spend(c.nonce, c.expiresAt), false);
    const again = tokens.check(token, "guest_power", a, p, "s1");
    assert.deepEqual(again.ok ? "ok" : again.problem, "used");
  });

  const fresh = tokens.issue("guest_power", a, p, "s1").token;
  const problem = (tok: string, tool: string, args: string, plan: string) => {
    const c = tokens.check(tok, tool, args, plan, "s1");
    return c.ok ? "ok" : c.problem;
  };

  await t.step("other tool, altered arguments, changed plan", () => {
    assert.equal(problem(fresh, "guest_delete", a, p), "other-tool");
    assert.equal(
      problem(fresh, "guest_power", argsHash({ vmid: 151, action: "stop", wait: true }), p),
      "altered-args",
    );
    assert.equal(
      problem(
        fresh,
        "guest_power",
        a,
        planHash(change({ summary: "x", targets: [target({ vmid: 151 })] })),
      ),
      "plan-changed",
    );
  });

  await t.step("forged and malformed tokens", () => {
    const [prefix, body, mac] = fresh.split(".");
    const payload = JSON.parse(atob(body.replace(/-/g, "+").replace(/_/g, "/")));
    payload.t = "guest_delete";
    const forgedBody = btoa(JSON.stringify(payload)).replace(/\+/g, "-").replace(/\//g, "_")
      .replace(/=+$/, "");
    assert.equal(problem(`${prefix}.${forgedBody}.${mac}`, "guest_delete", a, p), "forged");
    const other = new ConfirmationTokens({ clock, ttlMs: 300_000 });
    assert.equal(
      problem(other.issue("guest_power", a, p, "s1").token, "guest_power", a, p),
      "forged",
    );
    for (const bad of ["", "pmc1", "pmc1..", "abc.def.ghi", "pmc1.!!.??", fresh + "x"]) {
      assert.ok(["malformed", "forged"].includes(problem(bad, "guest_power", a, p)), bad);
    }
  });

  await t.step("expiry", () => {
    clock.advance(299_999);
    assert.equal(problem(fresh, "guest_power", a, p), "ok");
    clock.advance(1);
    assert.equal(problem(fresh, "guest_power", a, p), "expired");
  });
});

Deno.test("argsHash()  ignores control arguments and key order, not values", () => {
  const base = argsHash({ vmid: 150, purge: true, wait: true });
  assert.equal(argsHash({ wait: true, purge: true, vmid: 150 }), base);
  assert.equal(
    argsHash({ vmid: 150, purge: true, wait: true, dry_run: true, confirmation_token: "x" }),
    base,
  );
  assert.notEqual(argsHash({ vmid: 150, purge: false, wait: true }), base);
  assert.notEqual(argsHash({ vmid: 150, purge: true, wait: false }), base);
  assert.notEqual(
    argsHash({ vmid: 150, purge: true, wait: true, destroy_unreferenced_disks: true }),
    base,
  );
  assert.equal(
    canonicalJson({ b: [1, { d: 1, c: undefined, a: 2 }], a: null }),
    '{"a":null,"b":[1,{"a":2,"d":1}]}',
  );
});

Deno.test("Scope  allows, denies and protects", async (t) => {
  await t.step("VMID ranges parse with clear errors", () => {
    assert.deepEqual(parseVmidRange("100-199"), { from: 100, to: 199 });
    assert.deepEqual(parseVmidRange(9000), { from: 9000, to: 9000 });
    assert.throws(() => parseVmidRange("199-100"), /not a range/);
    assert.throws(() => parseVmidRange("abc"), /not a VMID or a range/);
    assert.throws(() => parseVmidRange("50"), /within 100-999999999/);
  });

  const scope = new Scope({
    allowedNodes: ["pve1", "pve2"],
    deniedNodes: ["pve2"],
    allowedVmids: [{ from: 100, to: 199 }, { from: 9000, to: 9000 }],
    deniedVmids: [{ from: 110, to: 119 }],
    allowedPools: ["lab"],
    deniedPools: ["prod"],
    allowedTags: ["lab", "test"],
    deniedTags: ["frozen"],
    protectedTags: ["Prod"],
  });
  const ok = target({ pool: "lab", tags: ["lab"] });

  await t.step("each rule refuses with its reason", () => {
    assert.equal(scope.problem(ok), undefined);
    assert.match(
      scope.problem({ ...ok, node: "pve3" })!,
      /node pve3 is not in allowed_nodes \(pve1, pve2\)/,
    );
    assert.match(scope.problem({ ...ok, node: "pve2" })!, /node pve2 is in denied_nodes/);
    assert.match(
      scope.problem({ ...ok, vmid: 250 })!,
      /VMID 250 is not in allowed_vmids \(100-199, 9000\)/,
    );
    assert.match(scope.problem({ ...ok, vmid: 115 })!, /VMID 115 is in denied_vmids \(110-119\)/);
    assert.match(scope.problem({ ...ok, pool: undefined })!, /no pool is not in allowed_pools/);
    assert.match(scope.problem({ ...ok, pool: "prod" })!, /pool prod is in denied_pools/);
    assert.match(
      scope.problem({ ...ok, tags: ["web"] })!,
      /include none of allowed_tags \(lab, test\)/,
    );
    assert.match(
      scope.problem({ ...ok, tags: ["lab", "FROZEN"] })!,
      /tag frozen is in denied_tags/,
    );
    assert.throws(
      () => scope.check({ ...ok, node: "pve3" }),
      (e: unknown) =>
        e instanceof PolicyRefusal && e.stage === "scope" &&
        /^Refused: qemu 150 on pve3 is outside this server's scope/.test(e.message),
    );
  });

  await t.step("free VMIDs are picked inside the allowed ranges, skipping denied ones", () => {
    assert.equal(
      scope.firstFreeVmid(new Set([100, 101, 102, 103, 104, 105, 106, 107, 108, 109])),
      120,
    );
    const used = new Set(Array.from({ length: 100 }, (_, i) => 100 + i));
    assert.equal(scope.firstFreeVmid(used), 9000);
    used.add(9000);
    assert.equal(scope.firstFreeVmid(used), undefined);
    assert.equal(new Scope().firstFreeVmid(new Set([100, 101])), 102);
    assert.equal(scope.vmidAllowed(150), true);
    assert.equal(scope.vmidAllowed(115), false);
    assert.equal(scope.vmidAllowed(500), false);
  });

  await t.step("protection flag refuses removals; protected tags ask for confirmation", () => {
    const open = new Scope({ protectedTags: ["prod"] });
    const guarded = target({ protection: true });
    assert.throws(
      () => open.checkChange(change({ targets: [guarded], removes: "guest" })),
      /protection flag set, so it can't be deleted/,
    );
    assert.throws(
      () => open.checkChange(change({ targets: [guarded], removes: "disks" })),
      /can't have disks removed/,
    );
    assert.deepEqual(open.checkChange(change({ targets: [guarded] })), []);
    const reasons = open.checkChange(change({ targets: [target({ tags: ["web", "PROD"] })] }));
    assert.deepEqual(reasons, ["qemu 150 on pve1 carries protected tag PROD"]);
    assert.equal(
      new Scope({ protectedTags: ["Prod"] }).protectedTagsOf(target({ tags: ["prod"] })).length,
      1,
    );
  });
});

Deno.test("RateLimiter  limits changes per minute and creations per window", async (t) => {
  const clock = new ManualClock();
  await t.step("mutations per minute, with the time to retry", () => {
    const rl = new RateLimiter({ mutationsPerMinute: 3, creations: 0, creationWindowMs: 1 }, clock);
    for (let i = 0; i < 3; i++) {
      rl.take(change());
      clock.advance(10_000);
    }
    assert.throws(
      () => rl.check(change()),
      (e: unknown) =>
        e instanceof RateLimitRefusal && e.retryAfterSeconds === 30 &&
        /3 changes were made in the last minute.*retry in 30 s/.test(e.message),
    );
    clock.advance(30_000);
    rl.take(change());
  });
  await t.step("creations per window count each created thing", () => {
    const rl = new RateLimiter(
      { mutationsPerMinute: 0, creations: 2, creationWindowMs: 3_600_000 },
      clock,
    );
    rl.take(change({ creates: 1 }));
    clock.advance(600_000);
    rl.take(change({ creates: 1 }));
    rl.take(change());
    assert.throws(
      () => rl.take(change({ creates: 1 })),
      (e: unknown) =>
        e instanceof RateLimitRefusal && e.retryAfterSeconds === 3000 &&
        /unusual creation pattern/.test(e.message) && /max_creations/.test(e.message),
    );
    clock.advance(3_000_000);
    rl.take(change({ creates: 1 }));
  });
  await t.step("0 disables a limit", () => {
    const rl = new RateLimiter({ mutationsPerMinute: 0, creations: 0, creationWindowMs: 1 }, clock);
    for (let i = 0; i < 100; i++) rl.take(change({ creates: 5 }));
  });
});

Deno.test("redact()  hides secrets in arguments and request parameters", () => {
  const out = redact({
    vmid: 100,
    password: "hunter22",
    ci_password: "x",
    cipassword: "x",
    ssh_keys: "ssh-ed25519 AAAA",
    "ssh-public-keys": "ssh-ed25519 AAAA",
    sshkeys: "ssh%20AAAA",
    confirmation_token: "pmc1.a.b",
    nested: { token_secret: "uuid", list: [{ password: "p" }] },
    url: "https://user:pa55@example.org/x.iso",
    description: "keep me",
  });
  assert.equal(out.vmid, 100);
  assert.equal(out.description, "keep me");
  for (
    const k of [
      "password",
      "cipassword",
      "sshkeys",
      "ssh-public-keys",
      "confirmation_token",
    ] as const
  ) {
    assert.equal(out[k], REDACTED, k);
  }
  assert.equal(out.ssh_keys, REDACTED);
  assert.equal(out.nested.token_secret, REDACTED);
  assert.equal(out.nested.list[0].password, REDACTED);
  assert.equal(out.url, `https://user:${REDACTED}@example.org/x.iso`);
  assert.ok(!JSON.stringify(out).includes("hunter22"));
});

Deno.test("safety settings  come from the configuration with safe defaults", async (t) => {
  await t.step("defaults", () => {
    const s = safetySettings();
    assert.deepEqual(s.scope.protectedTags, ["prod", "production"]);
    assert.deepEqual(s.limits, DEFAULT_SAFETY.limits);
    assert.equal(s.confirmTimeoutMs, 300_000);
    assert.equal(s.elicitation, true);
  });
  await t.step("config file and environment fields", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/config.json`;
      await Deno.writeTextFile(
        path,
        JSON.stringify({
          host: "pve1.example.lan",
          token_id: "mcp@pve!mcp",
          token_secret: "01234567-89ab-cdef-0123-456789abcdef",
          allowed_vmids: ["100-199", 9000],
          denied_nodes: ["pve3"],
          protected_tags: [],
          max_creations: 3,
          confirm_timeout: 120,
        }),
        { mode: 0o600 },
      );
      const env: Record<string, string> = {
        PROXMOX_ALLOWED_TAGS: "lab, test",
        PROXMOX_TASK_TIMEOUT: "60",
        PROXMOX_ELICITATION: "no",
      };
      const { config } = await loadConfig({ path, env: (n) => env[n] });
      const s = safetySettings(config);
      assert.deepEqual(s.scope.allowedVmids, [{ from: 100, to: 199 }, { from: 9000, to: 9000 }]);
      assert.deepEqual(s.scope.deniedNodes, ["pve3"]);
      assert.deepEqual(s.scope.allowedTags, ["lab", "test"]);
      assert.deepEqual(s.scope.protectedTags, []);
      assert.equal(s.limits.creations, 3);
      assert.equal(s.confirmTimeoutMs, 120_000);
      assert.equal(s.taskTimeoutMs, 60_000);
      assert.equal(s.elicitation, false);
      await Deno.writeTextFile(
        path,
        JSON.stringify({
          host: "pve1.example.lan",
          token_id: "mcp@pve!mcp",
          token_secret: "01234567-89ab-cdef-0123-456789abcdef",
          allowed_vmids: ["199-100", "abc"],
          max_mutations_per_minute: -1,
        }),
        { mode: 0o600 },
      );
      await assert.rejects(
        loadConfig({ path, env: () => undefined }),
        (e: Error) =>
          /allowed_vmids/.test(e.message) && /the range runs backwards/.test(e.message) &&
          /write a VMID \(105\) or a range \(100-199\)/.test(e.message) &&
          /max_mutations_per_minute/.test(e.message),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
