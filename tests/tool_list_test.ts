import assert from "node:assert/strict";
import { MUTATION_STATUS } from "../src/safety/change.ts";
import { catalogue } from "../src/tools/catalogue.ts";
import { startMutationStack, stateSnapshot, text } from "./helpers/mutations.ts";

type Schema = Record<string, unknown>;

/** Every `[path, value]` of `schema`, depth first (`net.properties.index`, …). */
function* walk(schema: unknown, path = ""): Generator<[string, Schema]> {
  if (!schema || typeof schema !== "object") return;
  yield [path, schema as Schema];
  for (const [k, v] of Object.entries(schema as Schema)) yield* walk(v, path ? `${path}.${k}` : k);
}

Deno.test("tools/list leaves out what a client reads the same without it", async (t) => {
  await using s = await startMutationStack();
  const { tools } = await s.client.listTools();
  const rows = new Map(catalogue.map((r) => [r.name, r]));
  assert.equal(tools.length, catalogue.length, "every toolset is on");

  await t.step("annotations: readOnlyHint always, destructiveHint on every changing tool", () => {
    for (const tool of tools) {
      const a = rows.get(tool.name)!.annotations;
      const listed = tool.annotations as Record<string, unknown>;
      assert.equal(listed.readOnlyHint, a.readOnlyHint, `${tool.name} readOnlyHint`);
      if (a.readOnlyHint) {
        assert.ok(!("destructiveHint" in listed), `${tool.name}: no meaning on a read`);
        assert.ok(!("idempotentHint" in listed), `${tool.name}: no meaning on a read`);
      } else {
        assert.equal(listed.destructiveHint, a.destructiveHint, `${tool.name} destructiveHint`);
      }
      // A client that fills in the MCP defaults reads the catalogue's own hints.
      const read = {
        readOnlyHint: listed.readOnlyHint ?? false,
        destructiveHint: listed.destructiveHint ?? true,
        idempotentHint: listed.idempotentHint ?? false,
        openWorldHint: listed.openWorldHint ?? true,
      };
      assert.equal(read.openWorldHint, a.openWorldHint, `${tool.name} openWorldHint`);
      if (!a.readOnlyHint) assert.deepEqual(read, a, tool.name);
    }
    assert.ok(
      tools.some((x) => x.annotations?.openWorldHint === false),
      "a hint that differs from its default is listed",
    );
    assert.ok(
      tools.some((x) => x.annotations?.readOnlyHint === false && !x.annotations.destructiveHint),
      "destructiveHint: false is listed too",
    );
  });

  await t.step("input schemas: no additionalProperties:false, and no guard-sized caps", () => {
    for (const tool of tools) {
      for (const [path, node] of walk(tool.inputSchema)) {
        assert.notEqual(node.additionalProperties, false, `${tool.name} ${path}`);
        const cap = node.maxLength;
        assert.ok(cap === undefined || (cap as number) < 64, `${tool.name} ${path}: ${cap}`);
      }
    }
    const snap = tools.find((x) => x.name === "snapshot")!.inputSchema.properties as Schema;
    assert.equal((snap.name as Schema).maxLength, 40, "a limit a real name can hit stays");
  });

  await t.step(
    "output schemas: a change's status values are said once, in the instructions",
    () => {
      const instructions = s.client.getInstructions() ?? "";
      for (const value of MUTATION_STATUS.options) assert.ok(instructions.includes(value), value);
      const changing = tools.filter((x) => !x.annotations?.readOnlyHint);
      for (const tool of changing) {
        const status = (tool.outputSchema?.properties as Record<string, Schema>).status;
        assert.deepEqual(status, { type: "string" }, tool.name);
      }
      const guest = tools.find((x) => x.name === "guest_status")!.outputSchema!.properties!;
      assert.deepEqual(guest.type, { type: "string", enum: ["qemu", "lxc"] }, "other enums stay");
      assert.deepEqual(guest.tags, {}, "a nested list is named, not typed");
      assert.deepEqual(guest.mem, { type: "number" });
    },
  );
});

Deno.test("an argument the listing does not declare is still refused, naming the allowed ones", async (t) => {
  await using s = await startMutationStack();
  const before = stateSnapshot(s.sim);
  await t.step("at the top level", async () => {
    const r = await s.call("guest_update", { vmid: 101, colour: "red" });
    assert.equal(r.isError, true);
    assert.match(text(r), /Unknown argument "colour": this tool accepts vmid, node, memory_mib/);
  });
  await t.step("inside an object argument", async () => {
    const r = await s.call("guest_update", { vmid: 101, net: { bridge: "vmbr0", colour: "red" } });
    assert.equal(r.isError, true);
    assert.match(
      text(r),
      /net: Unknown field "colour": net accepts index, bridge, vlan, firewall, model, ip, gw/,
    );
    const rule = await s.call("firewall_rule", {
      level: "cluster",
      action: "add",
      rule: { action: "ACCEPT", port: 22 },
    });
    assert.equal(rule.isError, true);
    assert.match(text(rule), /rule: Unknown field "port": rule accepts type, action, macro, proto/);
  });
  await t.step("nothing was sent", () => {
    assert.deepEqual(s.writes(), []);
    assert.equal(stateSnapshot(s.sim), before);
  });
});
