import assert from "node:assert/strict";
import { catalogue } from "../src/tools/catalogue.ts";
import { DEFAULT_TOOLSETS, resolveToolsets } from "../src/tools/toolsets.ts";
import { LISTING_BUDGETS, listingBytes } from "../bench/budgets.ts";
import { TOOLSETS } from "../src/tools/tool.ts";
import { startMutationStack, stateSnapshot, text } from "./helpers/mutations.ts";
import { START_FLAGS, startStack } from "./helpers/stack.ts";

const MAIN = new URL("../src/main.ts", import.meta.url).pathname;

async function listed(s: { client: { listTools(): Promise<{ tools: { name: string }[] }> } }) {
  return new Set((await s.client.listTools()).tools.map((t) => t.name));
}

/** The tools that create guests or fetch images: their own toolset, off by default. */
const PROVISION = [
  "vm_create",
  "ct_create",
  "guest_clone",
  "guest_template",
  "storage_download",
  "appliance_list",
];

const inSets = (sets: readonly string[]) =>
  catalogue.filter((t) => sets.includes(t.toolset)).map((t) => t.name).sort();

Deno.test("toolsets pick the rows a server offers", async (t) => {
  await t.step("the default is the everyday set plus the api tools", async () => {
    await using s = await startMutationStack({ toolsets: [] });
    const names = await listed(s);
    assert.deepEqual([...names].sort(), inSets(DEFAULT_TOOLSETS));
    for (const n of ["api_search", "api_read", "guest_list", "snapshot", "task_log"]) {
      assert.ok(names.has(n), n);
    }
    assert.ok(!names.has("my_permissions"), "access is not in the everyday set");
    const r = await s.call("my_permissions", {});
    assert.equal(r.isError, true);
    for (const n of PROVISION) assert.ok(!names.has(n), `${n} is off by default`);
    const create = await s.call("vm_create", { name: "web-01", dry_run: true });
    assert.equal(create.isError, true);
    assert.match(text(create), /in the provision toolset, .*--toolsets default,provision/);
    assert.equal(s.writes().length, 0);
  });
  await t.step("default plus provision: the everyday set and the creating tools", async () => {
    await using s = await startMutationStack({ toolsets: ["default", "provision"] });
    assert.deepEqual([...await listed(s)].sort(), inSets([...DEFAULT_TOOLSETS, "provision"]));
    assert.deepEqual(inSets(["provision"]), [...PROVISION].sort());
    const r = await s.call("vm_create", { name: "web-01", dry_run: true });
    assert.equal(r.isError, undefined, text(r));
    assert.equal(r.structuredContent?.status, "dry_run");
    assert.equal(s.writes().length, 0);
  });
  await t.step("default is a word like all, and mixes with other names", () => {
    assert.deepEqual(resolveToolsets(["default"]), new Set(DEFAULT_TOOLSETS));
    assert.deepEqual(
      resolveToolsets(["Default", "health"]),
      new Set([...DEFAULT_TOOLSETS, "health"]),
    );
    assert.ok(!resolveToolsets(undefined).has("provision"));
  });
  await t.step("a list of toolsets offers exactly their rows", async () => {
    await using s = await startMutationStack({ toolsets: ["guests", "tasks"] });
    assert.deepEqual([...await listed(s)].sort(), inSets(["guests", "tasks"]));
  });
  await t.step("all offers every row", async () => {
    await using s = await startMutationStack({ toolsets: ["all"] });
    assert.deepEqual([...await listed(s)].sort(), inSets(TOOLSETS));
  });
  await t.step("an unknown toolset is a configuration error naming the known ones", async () => {
    await assert.rejects(
      () => startMutationStack({ toolsets: ["guests", "vms"] }),
      (e: Error) => {
        assert.match(
          e.message,
          /Unknown toolset "vms": use "all", "default" \(the everyday set\) or toolset names among cluster,/,
        );
        return true;
      },
    );
  });
});

Deno.test("disable_destructive hides and refuses destructive tools, keeps other changes", async (t) => {
  await using s = await startMutationStack({ disableDestructive: true });
  const names = await listed(s);
  const destructive = catalogue.filter((x) => x.annotations.destructiveHint && !x.judgedPerCall);
  assert.ok(destructive.length > 3);
  await t.step("destructive rows are hidden", () => {
    for (const tool of destructive) assert.ok(!names.has(tool.name), tool.name);
  });
  await t.step("changes that lose nothing stay, and so do reads", () => {
    const kept = catalogue.filter((x) => !x.annotations.destructiveHint);
    assert.ok(kept.some((x) => !x.annotations.readOnlyHint), "some non-destructive writer");
    for (const tool of kept) assert.ok(names.has(tool.name), tool.name);
  });
  await t.step("calling a destructive tool anyway is refused; nothing changes", async () => {
    const before = stateSnapshot(s.sim);
    const r = await s.call("guest_delete", { vmid: 105 });
    assert.equal(r.isError, true);
    assert.equal(s.writes().length, 0);
    assert.equal(stateSnapshot(s.sim), before);
    assert.match(text(r), /guest_delete/);
  });
});

Deno.test("proxmox-mcp tools shows every toolset, on or off, with its size", async (t) => {
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...START_FLAGS, MAIN, "tools", "--simulator", ...args],
      env: { NO_COLOR: "1", ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return stdout;
  };
  await t.step("JSON: each toolset with on/off, tools and bytes", async () => {
    const report = JSON.parse(await run(["--json", "--toolsets", "guests,api"])) as {
      toolsListBytes: number;
      toolsets: { toolset: string; on: boolean; tools: number; bytes: number }[];
    };
    assert.deepEqual(report.toolsets.map((x) => x.toolset), [...TOOLSETS]);
    const on = report.toolsets.filter((x) => x.on).map((x) => x.toolset);
    assert.deepEqual(on.sort(), ["api", "guests"]);
    for (const set of report.toolsets) {
      assert.ok(set.tools === 0 || set.bytes > 100, `${set.toolset} has a size`);
    }
    const onBytes = report.toolsets.filter((x) => x.on).reduce((n, x) => n + x.bytes, 0);
    assert.ok(Math.abs(report.toolsListBytes - onBytes) < 100, "tools/list is the sum of its rows");
  });
  await t.step("PROXMOX_TOOLSETS, and the text table", async () => {
    const out = await run([], { PROXMOX_TOOLSETS: "all", PROXMOX_DISABLE_DESTRUCTIVE: "true" });
    assert.match(
      out,
      /^Toolsets \(changes allowed, destructive tools off; tools\/list is \d+ bytes/,
    );
    assert.match(out, /\naccess +on +\d+ +\d+\n/);
    assert.match(out, /\nguest_delete +guests +off +destructive /);
  });
  await t.step("the sizes are the budgets' (issue 10), with provision off by default", async () => {
    const cases = [
      [[], listingBytes(undefined, false), LISTING_BUDGETS.defaultChanges],
      [["--read-only"], listingBytes(undefined, true), LISTING_BUDGETS.defaultReadOnly],
      [["--toolsets", "all"], listingBytes(["all"], false), LISTING_BUDGETS.all],
    ] as const;
    for (const [args, measured, budget] of cases) {
      const report = JSON.parse(await run(["--json", ...args])) as {
        toolsListBytes: number;
        toolsets: { toolset: string; on: boolean; tools: number; bytes: number }[];
      };
      assert.equal(report.toolsListBytes, measured.bytes, `tools ${args.join(" ")}`);
      assert.ok(measured.bytes <= budget, `${measured.bytes} bytes <= ${budget} (${args})`);
      const provision = report.toolsets.find((x) => x.toolset === "provision")!;
      assert.equal(provision.on, args[0] === "--toolsets", `provision on with ${args}`);
      assert.ok(provision.tools >= 1 && provision.bytes > 100, "provision has its size");
    }
    assert.match(await run([]), /\nprovision +off +6 +\d+\n/);
  });
  await t.step("a bad name exits 2 with the known names", async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...START_FLAGS, MAIN, "tools", "--simulator", "--toolsets", "guestz"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 2);
    assert.match(new TextDecoder().decode(out.stderr), /Unknown toolset "guestz"/);
  });
});

Deno.test("--toolsets on the command line beats the config file", async () => {
  await using s = await startStack({
    config: { toolsets: ["all"], read_only: false },
    args: ["--toolsets", "tasks"],
  });
  const names = (await s.client.listTools()).tools.map((x) => x.name).sort();
  assert.deepEqual(names, inSets(["tasks"]));
});
