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

/** What a call that did not execute came back as. */
type Outcome = "refused" | "invalid" | "confirmation_required" | "dry_run";

/** The SDK's answer to arguments the tool's input schema rejects. */
const INVALID = /Input validation error|Invalid arguments for tool/;

/** What `r` is; "executed" for anything that is none of the outcomes that change nothing. */
function outcomeOf(r: CallResult): Outcome | "executed" {
  if (r.isError) return INVALID.test(text(r)) ? "invalid" : "refused";
  const status = r.structuredContent?.status;
  return status === "confirmation_required" || status === "dry_run" ? status : "executed";
}

/** Makes attempts, checks each came back as expected and changed nothing, counts outcomes. */
class Attempts {
  /** Outcomes observed, per kind. */
  observed = new Map<Outcome, number>();
  /** Outcomes observed, per category. */
  byCategory = new Map<string, number>();
  constructor(readonly s: MutationStack) {}

  async try(
    category: string,
    tool: string,
    args: Args,
    want: Outcome,
    expect?: RegExp,
  ): Promise<CallResult> {
    const before = stateSnapshot(this.s.sim);
    const writes = this.s.writes().length;
    const r = await this.s.call(tool, args);
    const label = `${category}: ${tool} ${JSON.stringify(args).slice(0, 200)}`;
    const got = outcomeOf(r);
    assert.notEqual(got, "executed", `${label} was executed: ${text(r)}`);
    assert.equal(got, want, `${label} came back as ${got}, not ${want}: ${text(r)}`);
    if (expect) assert.match(text(r), expect, `${label}: ${text(r)}`);
    assert.equal(this.s.writes().length, writes, `${label} sent a write request`);
    assert.equal(stateSnapshot(this.s.sim), before, `${label} changed the cluster`);
    this.observed.set(got, (this.observed.get(got) ?? 0) + 1);
    const key = `${category} (${got})`;
    this.byCategory.set(key, (this.byCategory.get(key) ?? 0) + 1);
    return r;
  }

  /** How many calls came back as `kind`. */
  count(kind: Outcome): number {
    return this.observed.get(kind) ?? 0;
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
    const r = await a.try("missing token", b.tool, b.args, "confirmation_required");
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
        "refused",
        /^Refused: confirmation_token is not valid/,
      );
    }
    const dot = t.lastIndexOf(".");
    for (const at of [6, 20, dot - 3, dot + 2, t.length - 2]) {
      await a.try(
        "tampered token",
        b.tool,
        { ...b.args, confirmation_token: flip(t, at) },
        "refused",
        /not valid for this call/,
      );
    }
    for (const cut of [t.slice(0, -1), t.slice(0, dot), t + "A"]) {
      await a.try(
        "truncated/extended token",
        b.tool,
        { ...b.args, confirmation_token: cut },
        "refused",
        /not valid/,
      );
    }
    await a.try(
      "other tool's token",
      b.tool,
      { ...b.args, confirmation_token: tokens[other] },
      "refused",
      /it was issued for \w+, not /,
    );
    if (sameTool >= 0) {
      await a.try(
        "token of another call",
        b.tool,
        {
          ...b.args,
          confirmation_token: tokens[sameTool],
        },
        "refused",
        /issued for different arguments|plan is different/,
      );
    }
    await a.try(
      "altered arguments",
      b.tool,
      { ...b.args, wait: false, confirmation_token: t },
      "refused",
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
        "invalid",
        /Unknown argument|Invalid arguments|Unrecognized key/,
      );
    }
    for (const bad of [123, true, [t], { token: t }, null]) {
      await a.try(
        "mistyped token",
        b.tool,
        { ...b.args, confirmation_token: bad },
        "invalid",
        /Invalid arguments|expected/,
      );
    }
    await a.try(
      "mistyped dry_run",
      b.tool,
      { ...b.args, dry_run: "no", confirmation_token: t },
      "invalid",
      /Invalid arguments|expected/,
    );
    await a.try(
      "misspelled dry_run",
      b.tool,
      { ...b.args, dryrun: false, confirmation_token: t },
      "invalid",
      /Unknown argument|Invalid arguments/,
    );
    const dry = await a.try("dry run with a valid token", b.tool, {
      ...b.args,
      dry_run: true,
      confirmation_token: t,
    }, "dry_run");
    assert.equal(dry.structuredContent?.status, "dry_run");
  }

  const updateIdx = bases.findIndex((b) => b.tool === "guest_update");
  const g106 = st.guests.get(106)!;
  const name = g106.config.name;
  g106.config.name = "renamed-meanwhile";
  await a.try(
    "plan changed since the token",
    "guest_update",
    {
      ...bases[updateIdx].args,
      confirmation_token: tokens[updateIdx],
    },
    "refused",
    /the cluster changed since it was issued/,
  );
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
        "refused",
        /outside this server's scope: VMID 211 is in denied_vmids/,
      );
    }
  }
  for (const t of [undefined, ...tokens]) {
    await a.try(
      "protected guest",
      "guest_delete",
      {
        vmid: 101,
        ...(t ? { confirmation_token: t } : {}),
      },
      "refused",
      /protection flag set, so it can't be deleted/,
    );
  }
  for (const t of [undefined, tokens[updateIdx]]) {
    await a.try(
      "protected guest",
      "guest_update",
      {
        vmid: 103,
        delete: ["scsi1"],
        ...(t ? { confirmation_token: t } : {}),
      },
      "refused",
      /protection flag set, so it can't have disks removed/,
    );
    await a.try(
      "protected guest",
      "backup_restore",
      {
        archive: st.volumes.find((v) => v.vmid === 103)!.volid,
        vmid: 103,
        force: true,
        ...(t ? { confirmation_token: t } : {}),
      },
      "refused",
      /is running|protection flag/,
    );
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
    await a.try(
      "replayed token",
      "guest_power",
      {
        ...bases[stopIdx].args,
        confirmation_token: tokens[stopIdx],
      },
      "refused",
      /already used/,
    );
  }

  clock.advance(300_001);
  for (const [i, b] of bases.entries()) {
    if (i === stopIdx) continue;
    await a.try(
      "expired token",
      b.tool,
      { ...b.args, confirmation_token: tokens[i] },
      "refused",
      /it expired/,
    );
  }

  const audit = s.safety.audit.lines.map((l) => JSON.parse(l));
  const executed = audit.filter((l) => l.event === "execute");
  assert.equal(executed.length, 2, "only the legitimate stop and start were executed");
  // The audit log saw every refusal, prompt and dry run the client saw, and nothing else.
  const decisions = (d: string) => audit.filter((l) => l.event === "decision" && l.decision === d);
  assert.equal(decisions("refused").length, a.count("refused"));
  assert.equal(decisions("confirmation-required").length, a.count("confirmation_required"));
  assert.equal(decisions("dry-run").length, a.count("dry_run"));
  assert.equal(a.count("confirmation_required"), bases.length);
  assert.equal(a.count("dry_run"), bases.length);
  assert.ok(a.count("refused") >= 150, `only ${a.count("refused")} refusals observed`);
  assert.ok(a.count("invalid") >= 100, `only ${a.count("invalid")} argument errors observed`);
});

Deno.test("read-only mode refuses every changing tool, with or without tokens", async () => {
  await using s = await startMutationStack({ readOnly: true });
  const a = new Attempts(s);
  const writers = catalogue.filter((t) => !t.annotations.readOnlyHint);
  const listed = new Set((await s.client.listTools()).tools.map((t) => t.name));
  const argSets: Args[] = [
    { vmid: 100 },
    { vmid: 100, action: "stop" },
    { vmid: 100, confirmation_token: "pmc1.a.b" },
    { vmid: 105, dry_run: true },
  ];
  for (const tool of writers) {
    assert.equal(listed.has(tool.name), false, `${tool.name} is listed on a read-only server`);
    for (const args of argSets) {
      // Refused for being a writer: never an argument error, never a prompt or a dry run.
      await a.try(
        "read-only",
        tool.name,
        args,
        "refused",
        new RegExp(`Tool ${tool.name} not found|this server is read-only`),
      );
    }
  }
  assert.equal(a.count("refused"), writers.length * argSets.length);
  assert.equal(s.safety.audit.lines.length, 0, "nothing reached the pipeline as a change");
});
