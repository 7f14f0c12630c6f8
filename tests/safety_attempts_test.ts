/**
 * Hundreds of attempts to get a destructive call executed without a valid confirmation:
 * missing, malformed, forged, altered, replayed, expired and other tools' tokens; misspelled
 * and mistyped flags; out-of-scope and protected guests; read-only mode. None may change the
 * simulated cluster or reach the API as a write.
 */
import assert from "node:assert/strict";
import { catalogue } from "../src/tools/catalogue.ts";
import { ManualClock } from "../src/util/clock.ts";
import {
  type CallResult,
  type MutationStack,
  startMutationStack,
  stateSnapshot,
  text,
} from "./helpers/mutations.ts";

type Args = Record<string, unknown>;
interface Base {
  tool: string;
  args: Args;
}

/** Counts attempts per category and checks that none of them changed anything. */
class Attempts {
  counts = new Map<string, number>();
  constructor(readonly s: MutationStack) {}

  async try(category: string, tool: string, args: Args, expect?: RegExp): Promise<CallResult> {
    const before = stateSnapshot(this.s.sim);
    const writes = this.s.writes().length;
    const r = await this.s.call(tool, args);
    const label = `${category}: ${tool} ${JSON.stringify(args).slice(0, 200)}`;
    const status = r.structuredContent?.status;
    assert.ok(
      r.isError || status === "confirmation_required" || status === "dry_run",
      `${label} was executed: ${text(r)}`,
    );
    if (expect) assert.match(text(r), expect, `${label}: ${text(r)}`);
    assert.equal(this.s.writes().length, writes, `${label} sent a write request`);
    assert.equal(stateSnapshot(this.s.sim), before, `${label} changed the cluster`);
    this.counts.set(category, (this.counts.get(category) ?? 0) + 1);
    return r;
  }

  get total(): number {
    return [...this.counts.values()].reduce((a, b) => a + b, 0);
  }
}

function flip(token: string, at: number): string {
  const c = token[at];
  const next = c === "A" ? "B" : "A";
  return token.slice(0, at) + next + token.slice(at + 1);
}

Deno.test("no destructive call runs without a valid confirmation (programmatic attempts)", async () => {
  const clock = new ManualClock(Date.now());
  await using s = await startMutationStack({
    clock,
    config: { denied_vmids: ["211"], protected_tags: ["prod"], max_mutations_per_minute: 0 },
  });
  const st = s.sim.state;
  st.volumes.push({
    volid: "nfs-backup:backup/vzdump-qemu-105-2026_01_01-00_00_00.vma.zst",
    storage: "nfs-backup",
    node: null,
    content: "backup",
    format: "vma.zst",
    size: 2 ** 30,
    ctime: Math.floor(Date.now() / 1000) - 86400,
    vmid: 105,
    subtype: "qemu",
  });
  st.guests.get(101)!.status = "stopped";
  const oldBackup = st.volumes.find((v) => v.vmid === 101 && !v.protected)!.volid;

  const bases: Base[] = [
    { tool: "guest_delete", args: { vmid: 105 } },
    { tool: "guest_delete", args: { vmid: 203, purge: true } },
    { tool: "guest_power", args: { vmid: 100, action: "stop" } },
    { tool: "guest_power", args: { vmid: 107, action: "reset" } },
    { tool: "snapshot", args: { vmid: 103, action: "rollback", name: "before-pg16" } },
    { tool: "snapshot", args: { vmid: 200, action: "delete", name: "clean-install" } },
    { tool: "backup_delete", args: { archive: oldBackup } },
    {
      tool: "backup_restore",
      args: {
        archive: "nfs-backup:backup/vzdump-qemu-105-2026_01_01-00_00_00.vma.zst",
        vmid: 105,
        force: true,
      },
    },
    { tool: "guest_migrate", args: { vmid: 106, target_node: "pve1" } },
    { tool: "guest_update", args: { vmid: 106, delete: ["scsi0"] } },
    { tool: "guest_template", args: { vmid: 105 } },
    { tool: "guest_power", args: { vmid: 202, action: "shutdown" } },
  ];
  const a = new Attempts(s);

  const tokens: string[] = [];
  for (const b of bases) {
    const r = await a.try("missing token", b.tool, b.args);
    assert.equal(r.structuredContent?.status, "confirmation_required", `${b.tool} ${text(r)}`);
    tokens.push(String(r.structuredContent?.confirmation_token));
  }

  for (const [i, b] of bases.entries()) {
    const t = tokens[i];
    const other = bases.findIndex((x) => x.tool !== b.tool);
    const sameTool = bases.findIndex((x, j) => j !== i && x.tool === b.tool);
    const garbage = [
      "x",
      "pmc1",
      "pmc1.a.b",
      "pmc1..",
      "pmc2" + t.slice(4),
      "Bearer " + t,
      t.toUpperCase(),
    ];
    for (const g of garbage) {
      await a.try(
        "malformed token",
        b.tool,
        { ...b.args, confirmation_token: g },
        /^Refused: confirmation_token is not valid/,
      );
    }
    const dot = t.lastIndexOf(".");
    for (const at of [6, 20, dot - 3, dot + 2, t.length - 2]) {
      await a.try(
        "tampered token",
        b.tool,
        { ...b.args, confirmation_token: flip(t, at) },
        /not valid for this call/,
      );
    }
    for (const cut of [t.slice(0, -1), t.slice(0, dot), t + "A"]) {
      await a.try(
        "truncated/extended token",
        b.tool,
        { ...b.args, confirmation_token: cut },
        /not valid/,
      );
    }
    await a.try(
      "other tool's token",
      b.tool,
      { ...b.args, confirmation_token: tokens[other] },
      /it was issued for \w+, not /,
    );
    if (sameTool >= 0) {
      await a.try("token of another call", b.tool, {
        ...b.args,
        confirmation_token: tokens[sameTool],
      }, /issued for different arguments|plan is different/);
    }
    await a.try(
      "altered arguments",
      b.tool,
      { ...b.args, wait: false, confirmation_token: t },
      /issued for different arguments/,
    );
    for (
      const key of [
        "confirmation_tokn",
        "confirmationToken",
        "confirm_token",
        "token",
        "confirmation-token",
      ]
    ) {
      await a.try(
        "misspelled flag",
        b.tool,
        { ...b.args, [key]: t },
        /Unknown argument|Invalid arguments|Unrecognized key/,
      );
    }
    for (const bad of [123, true, [t], { token: t }, null]) {
      await a.try(
        "mistyped token",
        b.tool,
        { ...b.args, confirmation_token: bad },
        /Invalid arguments|expected/,
      );
    }
    await a.try(
      "mistyped dry_run",
      b.tool,
      { ...b.args, dry_run: "no", confirmation_token: t },
      /Invalid arguments|expected/,
    );
    await a.try(
      "misspelled dry_run",
      b.tool,
      { ...b.args, dryrun: false, confirmation_token: t },
      /Unknown argument|Invalid arguments/,
    );
    const dry = await a.try("dry run with a valid token", b.tool, {
      ...b.args,
      dry_run: true,
      confirmation_token: t,
    });
    assert.equal(dry.structuredContent?.status, "dry_run");
  }

  const updateIdx = bases.findIndex((b) => b.tool === "guest_update");
  const g106 = st.guests.get(106)!;
  const name = g106.config.name;
  g106.config.name = "renamed-meanwhile";
  await a.try("plan changed since the token", "guest_update", {
    ...bases[updateIdx].args,
    confirmation_token: tokens[updateIdx],
  }, /the cluster changed since it was issued/);
  g106.config.name = name;

  const outOfScope: Base[] = [
    { tool: "guest_delete", args: { vmid: 211 } },
    { tool: "guest_power", args: { vmid: 211, action: "start" } },
    { tool: "snapshot", args: { vmid: 211, action: "create", name: "snap_x" } },
    { tool: "guest_update", args: { vmid: 211, cores: 2 } },
  ];
  for (const b of outOfScope) {
    for (const t of [undefined, ...tokens.slice(0, 4)]) {
      await a.try(
        "out of scope",
        b.tool,
        { ...b.args, ...(t ? { confirmation_token: t } : {}) },
        /outside this server's scope: VMID 211 is in denied_vmids/,
      );
    }
  }
  for (const t of [undefined, ...tokens]) {
    await a.try("protected guest", "guest_delete", {
      vmid: 101,
      ...(t ? { confirmation_token: t } : {}),
    }, /protection flag set, so it can't be deleted/);
  }
  for (const t of [undefined, tokens[updateIdx]]) {
    await a.try("protected guest", "guest_update", {
      vmid: 103,
      delete: ["scsi1"],
      ...(t ? { confirmation_token: t } : {}),
    }, /protection flag set, so it can't have disks removed/);
    await a.try("protected guest", "backup_restore", {
      archive: st.volumes.find((v) => v.vmid === 103)!.volid,
      vmid: 103,
      force: true,
      ...(t ? { confirmation_token: t } : {}),
    }, /is running|protection flag/);
  }

  // Replay: a token that was used once is refused when the same plan comes round again.
  const stopIdx = bases.findIndex((b) => b.tool === "guest_power" && b.args.action === "stop");
  const used = await s.call("guest_power", {
    ...bases[stopIdx].args,
    confirmation_token: tokens[stopIdx],
  });
  assert.ok(!used.isError, text(used));
  assert.equal(st.guests.get(100)!.status, "stopped");
  assert.ok(!(await s.call("guest_power", { vmid: 100, action: "start" })).isError);
  for (let i = 0; i < 5; i++) {
    await a.try("replayed token", "guest_power", {
      ...bases[stopIdx].args,
      confirmation_token: tokens[stopIdx],
    }, /already used/);
  }

  clock.advance(300_001);
  for (const [i, b] of bases.entries()) {
    if (i === stopIdx) continue;
    await a.try(
      "expired token",
      b.tool,
      { ...b.args, confirmation_token: tokens[i] },
      /it expired/,
    );
  }

  const audit = s.safety.audit.lines.map((l) => JSON.parse(l));
  const executed = audit.filter((l) => l.event === "execute");
  assert.equal(executed.length, 2, "only the legitimate stop and start were executed");
  console.log(`attempts: ${a.total}`, Object.fromEntries(a.counts));
  assert.ok(a.total >= 200, `only ${a.total} attempts`);
});

Deno.test("read-only mode refuses every changing tool, with or without tokens", async () => {
  await using s = await startMutationStack({ readOnly: true });
  const a = new Attempts(s);
  const writers = catalogue.filter((t) => !t.annotations.readOnlyHint);
  const argSets: Args[] = [
    { vmid: 100 },
    { vmid: 100, action: "stop" },
    { vmid: 100, confirmation_token: "pmc1.a.b" },
    { vmid: 105, dry_run: true },
  ];
  for (const tool of writers) {
    for (const args of argSets) {
      await a.try("read-only", tool.name, args, /read-only|not found|Invalid arguments|Unknown/);
    }
  }
  assert.ok(a.total >= writers.length * argSets.length);
});
