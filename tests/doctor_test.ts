import assert from "node:assert/strict";
import { diagnose, type DoctorReport } from "../src/cli/doctor.ts";
import { main } from "../src/main.ts";
import { otherCaCert, startSimulator } from "../src/simulator/mod.ts";

const noEnv = () => undefined;

Deno.test("doctor  reports facts and one actionable line per problem", async (t) => {
  await using sim = await startSimulator();
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-doctor-" });
  await Deno.writeTextFile(`${dir}/ca.pem`, sim.caCert);
  await Deno.writeTextFile(`${dir}/other-ca.pem`, otherCaCert);
  const url = new URL(sim.url);
  const base = {
    host: url.hostname,
    port: Number(url.port),
    token_id: sim.credentials.admin.tokenId,
    token_secret: sim.credentials.admin.tokenSecret,
    ca_file: "ca.pem",
  };
  const run = async (fields: Record<string, unknown>): Promise<DoctorReport> => {
    const path = `${dir}/config.json`;
    await Deno.writeTextFile(path, JSON.stringify({ ...base, ...fields }), { mode: 0o600 });
    return await diagnose({ configPath: path, env: noEnv });
  };
  const one = (report: DoctorReport, pattern: RegExp) => {
    assert.equal(report.problems.length, 1, report.problems.join("\n"));
    assert.match(report.problems[0], pattern);
  };

  try {
    await t.step("a healthy setup: version, cluster, nodes, privileges, certificate", async () => {
      const r = await run({ node: "pve1" });
      assert.deepEqual(r.problems, []);
      const text = r.facts.join("\n");
      assert.match(text, /version: Proxmox VE \d+\.\d+/);
      assert.match(text, /cluster: sim-cluster/);
      assert.match(text, /nodes: pve1, pve2, pve3/);
      assert.match(text, /privileges of token root@pam!mcp on \/: .*VM\.Audit/);
      assert.match(text, new RegExp(`certificate: SHA-256 ${sim.fingerprint}; issuer CN=proxmox`));
      assert.equal(r.certificate?.fingerprint256, sim.fingerprint);
    });

    await t.step("a badly formed token id", async () => {
      const r = await run({ token_id: "root!mcp" });
      one(r, /^config token_id: .*the realm is missing/);
    });

    await t.step("a token in the wrong realm", async () => {
      const r = await run({ token_id: "root@pve!mcp" });
      one(r, /^auth: token root@pve!mcp was refused: check the realm \(pve: .*@pam/);
    });

    await t.step("a node that is not in the cluster", async () => {
      const r = await run({ node: "pve9" });
      one(r, /^node: "pve9" is not a node of this cluster: set node to one of pve1, pve2, pve3/);
    });

    await t.step("scope lists naming no node or pool of the cluster", async () => {
      const r = await run({
        allowed_nodes: ["pve1", "PVE2"],
        denied_nodes: ["PVE3", "pve7"],
        allowed_pools: ["lab"],
        denied_pools: ["Prod"],
      });
      assert.deepEqual(r.problems.map((p) => p.replace(/ \(.*?\): /, ": ")), [
        'scope: allowed_nodes entry "PVE2" names no node of this cluster: it allows nothing (allow entries match exactly, as Proxmox compares names): write "pve2"',
        'scope: denied_nodes entry "PVE3" names no node of this cluster: it still denies pve3 (deny entries match any case), but write "pve3"',
        'scope: denied_nodes entry "pve7" names no node of this cluster: it denies nothing; remove it or fix the name',
        'scope: denied_pools entry "Prod" names no pool of this cluster: it still denies prod (deny entries match any case), but write "prod"',
      ]);
      assert.match(r.problems[0], /\(nodes are pve1, pve2, pve3\)/);
      assert.match(r.problems[3], /\(pools are prod, lab\)|\(pools are lab, prod\)/);
      const fine = await run({ allowed_nodes: ["pve1"], denied_pools: ["prod"] });
      assert.deepEqual(fine.problems, []);
    });

    await t.step("a CA file that did not sign the node certificate", async () => {
      const r = await run({ ca_file: "other-ca.pem" });
      one(r, /^ca_file: CA mismatch: .*issued by "CN=proxmox-mcp simulator test CA/);
      assert.match(r.problems[0], new RegExp(`fingerprint ${sim.fingerprint}`));
    });

    await t.step("no line says ok for something that then fails", async () => {
      const r = await run({ ca_file: "other-ca.pem" });
      const problemAt = r.lines.findIndex((l) => l.level === "problem");
      assert.ok(problemAt >= 0);
      for (const line of r.lines) assert.doesNotMatch(line.text, /^tls: /, "no tls claim");
      assert.doesNotMatch(r.facts.join("\n"), /verified|other-ca\.pem/);
      const ok = await run({});
      assert.ok(ok.facts.includes(`tls: certificate verified against ${dir}/ca.pem`));
    });

    await t.step("the mode and the audit log's state are shown", async () => {
      const ro = await run({});
      assert.ok(ro.facts.some((f) => f.startsWith("mode: read-only")), ro.facts.join("\n"));
      const rw = await run({ read_only: false, audit_log: "audit.jsonl" });
      assert.ok(rw.facts.includes("mode: changes allowed (read_only is false)"));
      assert.ok(rw.facts.includes(`audit log: ${dir}/audit.jsonl (writable)`), rw.facts.join("\n"));
      await assert.rejects(Deno.stat(`${dir}/audit.jsonl`), Deno.errors.NotFound, "not created");
      const none = await run({ read_only: false });
      assert.match(none.warnings.join("\n"), /^audit log: not set: changes are recorded in memory/);
      const missing = await run({ read_only: false, audit_log: "nope/audit.jsonl" });
      one(
        missing,
        /^audit log .*nope\/audit\.jsonl cannot be written: its folder .* does not exist/,
      );
    });

    await t.step("a certificate that expires within 30 days gets a warning", async () => {
      const healthy = await run({});
      const validTo = Date.parse(healthy.certificate!.validTo);
      assert.deepEqual(healthy.warnings, []);
      const path = `${dir}/config.json`;
      const soon = await diagnose({
        configPath: path,
        env: noEnv,
        now: () => validTo - 10 * 86_400_000,
      });
      assert.deepEqual(soon.problems, []);
      assert.match(
        soon.warnings.join("\n"),
        /^certificate: expires in 10 day\(s\), on .*: renew it/,
      );
      const late = await diagnose({
        configPath: path,
        env: noEnv,
        now: () => validTo + 86_400_000,
      });
      assert.match(late.problems.join("\n"), /^certificate: expired on /);
    });

    await t.step("a pinned fingerprint that does not match", async () => {
      const r = await run({ ca_file: undefined, fingerprint: "AB".repeat(32) });
      one(r, new RegExp(`^fingerprint: the node presents ${sim.fingerprint}`));
    });

    await t.step("a pinned fingerprint that matches needs no CA file", async () => {
      const r = await run({ ca_file: undefined, fingerprint: sim.fingerprint });
      assert.deepEqual(r.problems, []);
    });

    await t.step("a host name DNS does not know", async () => {
      const r = await run({ host: "no-such-node.invalid" });
      one(r, /^dns: cannot resolve no-such-node\.invalid: check host/);
    });

    await t.step("an API that does not answer in time", async () => {
      sim.faults.latencyMs = 1500;
      try {
        const r = await run({ timeout: 0.3 });
        one(r, /^timeout: the API did not answer within 0\.3 s/);
      } finally {
        sim.faults.latencyMs = 0;
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("doctor --simulator  prints ok lines and exits 0", async () => {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => lines.push(args.join(" "));
  let code: number;
  try {
    code = await main(["doctor", "--simulator"]);
  } finally {
    console.log = original;
  }
  assert.equal(code, 0, lines.join("\n"));
  assert.ok(lines.some((l) => /^ok: certificate: SHA-256 /.test(l)));
  assert.equal(lines.at(-1), "no problems found");
});
