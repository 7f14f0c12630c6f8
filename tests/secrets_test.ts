import assert from "node:assert/strict";
import { main } from "../src/main.ts";
import { redactText } from "../src/safety/redact.ts";
import { LoggingMessageNotificationSchema } from "../src/server/sdk.ts";
import { startSimulator } from "../src/simulator/mod.ts";
import { startStack, textOf, writeSimConfig } from "./helpers/stack.ts";

/** A password with an `@` in it, a token and a signature in the query. */
const PASSWORD = "ce-Pass-33@x";
const URL_WITH_SECRETS =
  `https://rt:${PASSWORD}@cdimage.example.org/a.iso?token=tok-SECRET-1&X-Amz-Signature=sigSECRET2&arch=amd64`;
const SECRETS = ["ce-Pass-33", "tok-SECRET-1", "sigSECRET2"];

function assertClean(channel: string, text: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${channel} shows ${s}:\n${text}`);
}

Deno.test("URL secrets  are hidden in stderr, audit, log notifications, answers and plans", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-secrets-" });
  const audit = `${dir}/audit.jsonl`;
  try {
    await using s = await startStack({
      config: { audit_log: audit, read_only: false },
      flags: ["--allow-write"],
    });
    const notes: string[] = [];
    s.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      notes.push(JSON.stringify(n.params));
    });
    await s.client.setLoggingLevel("debug");
    const args = {
      storage: "local",
      node: "pve3",
      url: URL_WITH_SECRETS,
      filename: "a.iso",
      checksum: "b".repeat(64),
    };
    const plan = await s.client.callTool({
      name: "storage_download",
      arguments: { ...args, dry_run: true },
    });
    assert.ok(!plan.isError, textOf(plan));
    const done = await s.client.callTool({ name: "storage_download", arguments: args });
    assert.ok(!done.isError, textOf(done));
    assert.equal((done.structuredContent as { status: string }).status, "done");
    const answers = [plan, done].map((r) => textOf(r) + JSON.stringify(r.structuredContent));
    // The user name stays, the password goes; harmless query parameters stay.
    assert.match(
      answers[0],
      /https:\/\/rt:\[redacted\]@cdimage\.example\.org\/a\.iso\?token=\[redacted\]/,
    );
    assert.match(answers[0], /arch=amd64/);
    for (const a of answers) assertClean("answer", a);
    const lines = (await Deno.readTextFile(audit)).trimEnd().split("\n");
    assert.ok(lines.some((l) => l.includes('"event":"execute"')), "the write was audited");
    assertClean("audit log", lines.join("\n"));
    assert.ok(notes.some((n) => n.includes("storage_download")), "log notifications were sent");
    assertClean("log notifications", notes.join("\n"));
    assert.match(s.stderr(), /storage_download/);
    assertClean("stderr", s.stderr());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs `main(argv)` capturing what it prints to stdout and stderr. */
async function capture(argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const log = console.log, error = console.error;
  const write = Deno.stderr.writeSync;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => out.push(a.join(" "));
  Deno.stderr.writeSync = (p: Uint8Array) => {
    out.push(new TextDecoder().decode(p));
    return p.length;
  };
  try {
    const code = await main(argv);
    return { code, out: out.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
    Deno.stderr.writeSync = write;
  }
}

Deno.test("config values  a token secret pasted into token_id or host is never echoed", async (t) => {
  await using sim = await startSimulator();
  const secret = sim.credentials.admin.tokenSecret;
  assert.match(secret, /^[0-9a-f-]{36}$/);

  await t.step("in token_id: the config error masks it", async () => {
    const { dir, path } = await writeSimConfig(sim, { token_id: secret });
    try {
      // The stdio server still starts (it answers every call with the problem) and ends with stdin.
      const r = await capture(["serve", "--config", path]);
      assert.equal(r.code, 0);
      assert.match(r.out, /token_id: expected an API token id/);
      assert.match(r.out, /looks like a token secret/);
      assert.ok(!r.out.includes(secret), r.out);
      const d = await capture(["doctor", "--config", path]);
      assert.match(d.out, /token_id/);
      assert.ok(!d.out.includes(secret), d.out);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("in host: doctor, the startup line and connection errors mask it", async () => {
    const { dir, path } = await writeSimConfig(sim, { host: secret, timeout: 2 });
    try {
      const d = await capture(["doctor", "--config", path]);
      assert.match(d.out, /problem: dns/);
      assert.ok(!d.out.includes(secret), d.out);
      await using stack = await startStack({ config: { host: secret, timeout: 2 } });
      const r = await stack.client.callTool({ name: "node_list", arguments: {} });
      assert.ok(r.isError);
      assert.match(
        stack.stderr(),
        /serving MCP on stdio; backend \[redacted: looks like a token secret\]/,
      );
      for (const text of [stack.stderr(), textOf(r)]) assert.ok(!text.includes(secret), text);
      const c = await capture(["call", "node_list", "--config", path]);
      assert.match(c.out, /looks like a token secret/);
      assert.ok(!c.out.includes(secret), c.out);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("redactText()  hides URL user info and secret query values anywhere in text", () => {
  const cases: [string, string][] = [
    ["get https://u:p@ss@h.example/x now", "get https://u:[redacted]@h.example/x now"],
    ["https://ghp_TOKEN@github.com/o/r.git", "https://[redacted]@github.com/o/r.git"],
    ["https://h.example/pkg@1.0/a:b", "https://h.example/pkg@1.0/a:b"],
    [
      '"url":"http://h/a?access_token=T1&api-key=T2&sig=T3&page=2#top"',
      '"url":"http://h/a?access_token=[redacted]&api-key=[redacted]&sig=[redacted]&page=2#top"',
    ],
    ["ftp://h/a?email=a@b.example", "ftp://h/a?email=a@b.example"],
    ["no url here: token=abc", "no url here: token=abc"],
  ];
  for (const [input, want] of cases) assert.equal(redactText(input), want);
});
