import assert from "node:assert/strict";
import { main } from "../src/main.ts";
import { startMutationStack, text } from "./helpers/mutations.ts";
import { startStack, textOf } from "./helpers/stack.ts";

/** Runs `proxmox-mcp audit verify …`, capturing what it prints. */
async function verify(...args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  try {
    return { code: await main(["audit", "verify", ...args]), out: out.join("\n") };
  } finally {
    console.log = log;
  }
}

/** Writes an audit log of `n` decisions through a real MCP client; returns its path. */
async function writeLog(dir: string, n: number): Promise<string> {
  const path = `${dir}/audit.jsonl`;
  await using s = await startMutationStack({ auditPath: path });
  for (let i = 0; i < n; i++) {
    const r = await s.call("guest_power", { vmid: 100, action: "shutdown", dry_run: true });
    assert.equal(r.structuredContent?.status, "dry_run", text(r));
  }
  return path;
}

/** Copies the log at `path` (log, head, key) into a fresh folder; returns the new log path. */
async function copyLog(path: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-audit-copy-" });
  for (const suffix of ["", ".head", ".key"]) {
    await Deno.copyFile(`${path}${suffix}`, `${dir}/audit.jsonl${suffix}`);
  }
  return `${dir}/audit.jsonl`;
}

const lines = async (path: string) => (await Deno.readTextFile(path)).trimEnd().split("\n");
const write = (path: string, ls: string[]) =>
  Deno.writeTextFile(path, ls.length ? ls.join("\n") + "\n" : "");

/** A line sealed the way the log does, but with a key the attacker made up. */
async function forge(record: Record<string, unknown>): Promise<string> {
  const { sealLine } = await import("../src/safety/audit_chain.ts");
  const key = crypto.getRandomValues(new Uint8Array(32));
  const { seq, prev, ...rest } = record;
  return sealLine(key, rest, Number(seq), String(prev)).line;
}

Deno.test("audit verify  detects truncation, replacement, re-chaining and forged lines", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-audit-" });
  const other = await Deno.makeTempDir({ prefix: "proxmox-mcp-audit-other-" });
  try {
    const path = await writeLog(dir, 8);
    const original = await lines(path);
    assert.equal(original.length, 8);
    assert.equal((await Deno.stat(`${path}.key`)).mode! & 0o077, 0, "key created with mode 0600");
    assert.equal((await Deno.stat(path)).mode! & 0o077, 0, "log created with mode 0600");

    await t.step("an intact log verifies", async () => {
      const r = await verify(path);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /8 lines, MAC chain intact and matching its head/);
    });

    const broken = async (tamper: (copy: string) => Promise<void>, reason: RegExp) => {
      const copy = await copyLog(path);
      try {
        await tamper(copy);
        const r = await verify(copy);
        assert.equal(r.code, 1, r.out);
        assert.match(r.out, reason);
      } finally {
        await Deno.remove(copy.replace(/\/audit\.jsonl$/, ""), { recursive: true });
      }
    };

    await t.step(
      "the last line deleted",
      () => broken((c) => write(c, original.slice(0, -1)), /head counts 8 lines but the log has 7/),
    );
    await t.step(
      "the last 5 lines deleted",
      () => broken((c) => write(c, original.slice(0, -5)), /5 lines were removed at the end/),
    );
    await t.step(
      "an emptied file",
      () => broken((c) => write(c, []), /head counts 8 lines but the log has 0/),
    );
    await t.step("a fresh 1-line chain replacing the file (with or without its head)", async () => {
      const fresh = await writeLog(other, 1);
      const line = await lines(fresh);
      await broken((c) => write(c, line), /line 1: its MAC does not match/);
      await broken(async (c) => {
        await write(c, line);
        await Deno.copyFile(`${fresh}.head`, `${c}.head`);
      }, /line 1: its MAC does not match/);
    });
    await t.step("an edit with every following MAC recomputed", () =>
      broken(async (c) => {
        const edited = [...original];
        let prev = JSON.parse(edited[2]).prev;
        for (let i = 2; i < edited.length; i++) {
          const rec = JSON.parse(edited[i]);
          delete rec.mac;
          if (i === 2) rec.decision = "refused";
          rec.prev = prev;
          edited[i] = await forge(rec);
          prev = JSON.parse(edited[i]).mac;
        }
        await write(c, edited);
      }, /line 3: its MAC does not match/));
    await t.step("a forged line appended to the last MAC", () =>
      broken(async (c) => {
        const last = JSON.parse(original.at(-1)!);
        const extra = await forge({ ...last, decision: "allowed", seq: 9, prev: last.mac });
        await write(c, [...original, extra]);
      }, /line 9: its MAC does not match/));
    await t.step("the head deleted, or replaced by an older one", async () => {
      await broken((c) => Deno.remove(`${c}.head`), /head file is missing/);
      const older = await copyLog(path);
      await broken(async (c) => {
        await write(c, original.slice(0, -1));
        // A head edited to match the truncated log: its signature no longer holds.
        const head = JSON.parse(await Deno.readTextFile(`${c}.head`));
        head.lines = 7;
        head.last = JSON.parse(original[6]).mac;
        await Deno.writeTextFile(`${c}.head`, JSON.stringify(head));
      }, /not signed with this key/);
      await Deno.remove(older.replace(/\/audit\.jsonl$/, ""), { recursive: true });
    });
    await t.step(
      "without the key nothing can be verified",
      () => broken((c) => Deno.remove(`${c}.key`), /key file .* is missing/),
    );
    await t.step("an edited line, a removed or reordered line in the middle", async () => {
      await broken(
        (c) => write(c, original.map((l, i) => i === 3 ? l.replace("shutdown", "stop") : l)),
        /line 4: its MAC does not match/,
      );
      await broken(
        (c) => write(c, [...original.slice(0, 3), ...original.slice(4)]),
        /line 4: it does not follow the previous line/,
      );
      await broken(
        (c) => write(c, [original[1], original[0], ...original.slice(2)]),
        /line 1: the first line does not start the chain/,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(other, { recursive: true });
  }
});

Deno.test("audit log  a server restarted on a truncated log refuses changes; reads go on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-audit-restart-" });
  const path = `${dir}/audit.jsonl`;
  const config = { audit_log: path, read_only: false };
  try {
    {
      await using s = await startStack({ config, flags: ["--allow-write"] });
      for (let i = 0; i < 5; i++) {
        const r = await s.client.callTool({
          name: "guest_power",
          arguments: { vmid: 100, action: "shutdown", dry_run: true },
        });
        assert.ok(!r.isError, textOf(r));
      }
    }
    await write(path, (await lines(path)).slice(0, -3));
    await using s = await startStack({ config, flags: ["--allow-write"] });
    const change = await s.client.callTool({
      name: "guest_power",
      arguments: { vmid: 100, action: "shutdown" },
    });
    assert.equal(change.isError, true, textOf(change));
    assert.match(textOf(change), /changes are off because the audit log .* failed its check/);
    assert.match(textOf(change), /3 lines were removed at the end/);
    const read = await s.client.callTool({ name: "guest_status", arguments: { vmid: 100 } });
    assert.ok(!read.isError, textOf(read));
    assert.equal((read.structuredContent as { status: string }).status, "running");
    assert.match(s.stderr(), /error: Changes are refused: the audit log .* failed its check/);
    assert.equal((await lines(path)).length, 2, "the truncated log was not continued");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("audit log  two server processes on one log keep one chain", async () => {
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-audit-shared-" });
  const path = `${dir}/audit.jsonl`;
  const config = { audit_log: path, read_only: false };
  try {
    await using a = await startStack({ config, flags: ["--allow-write"] });
    await using b = await startStack({ config, flags: ["--allow-write"] });
    const dryRun = (s: typeof a, vmid: number) =>
      s.client.callTool({
        name: "guest_power",
        arguments: { vmid, action: "shutdown", dry_run: true },
      });
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => dryRun(i % 2 ? a : b, 100 + (i % 3))),
    );
    for (const r of results) assert.ok(!r.isError, textOf(r));
    const logged = (await lines(path)).map((l) => JSON.parse(l));
    assert.deepEqual(logged.map((l) => l.seq), Array.from({ length: 12 }, (_, i) => i + 1));
    const r = await verify(path);
    assert.equal(r.code, 0, r.out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("audit log  a write that fails refuses the change and leaves no partial line", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-audit-fail-" });
  const path = `${dir}/audit.jsonl`;
  try {
    await using s = await startMutationStack({ auditPath: path });
    const ok = await s.call("guest_power", { vmid: 100, action: "shutdown", dry_run: true });
    assert.equal(ok.structuredContent?.status, "dry_run", text(ok));

    await t.step("the head cannot be replaced: the change is refused, nothing sent", async () => {
      // A folder where the new head is written makes the write fail after the line was.
      await Deno.mkdir(`${path}.head.tmp`);
      const r = await s.call("guest_power", { vmid: 100, action: "shutdown" });
      assert.equal(r.isError, true, text(r));
      assert.match(text(r), /audit log could not be written/);
      assert.deepEqual(s.writes(), []);
      await Deno.remove(`${path}.head.tmp`);
      assert.equal((await lines(path)).length, 1, "the failed line was rolled back");
      const v = await verify(path);
      assert.equal(v.code, 0, v.out);
    });

    await t.step("once it can be written again, changes go through", async () => {
      const r = await s.call("guest_power", { vmid: 100, action: "shutdown" });
      assert.equal(r.structuredContent?.status, "done", text(r));
      assert.equal(s.writes().length, 1);
    });

    await t.step("a log truncated under a running server stops its changes", async () => {
      await write(path, (await lines(path)).slice(0, 1));
      const r = await s.call("guest_power", { vmid: 100, action: "start" });
      assert.equal(r.isError, true, text(r));
      assert.match(text(r), /changed outside this server/);
      assert.equal(s.writes().length, 1, "nothing more was sent");
      const again = await s.call("guest_power", { vmid: 100, action: "start" });
      assert.match(text(again), /changes are off because the audit log .* changed outside/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("AuditLog  a log larger than one read is checked in pieces on open", async () => {
  const { AuditLog } = await import("../src/safety/audit.ts");
  const { systemClock } = await import("../src/util/clock.ts");
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-audit-large-" });
  const path = `${dir}/audit.jsonl`;
  try {
    const log = await AuditLog.open(path, systemClock);
    // 300 lines of ~5 KB with multi-byte characters: they straddle the 1 MiB read boundaries.
    for (let i = 0; i < 300; i++) await log.append({ n: i, note: "ü€".repeat(1000) });
    log.close();
    assert.ok((await Deno.stat(path)).size > 1.2 * 1024 * 1024);
    const again = await AuditLog.open(path, systemClock);
    assert.equal(again.problem, undefined);
    await again.append({ n: 300 });
    again.close();
    const r = await verify(path);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /301 lines/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
