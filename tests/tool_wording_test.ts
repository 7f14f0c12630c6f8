import assert from "node:assert/strict";
import { renderToolList } from "../src/server/tool_list.ts";
import { catalogue } from "../src/tools/catalogue.ts";
import { WORDING } from "../src/tools/params.ts";
import { startStack } from "./helpers/stack.ts";

type Property = { description?: string; items?: Property };
type Listed = { name: string; inputSchema: { properties?: Record<string, Property> } };

Deno.test("tools/list describes every input parameter, with shared wording", async (t) => {
  await using stack = await startStack({ config: { read_only: false } });
  const { tools } = await stack.client.listTools() as { tools: Listed[] };
  const params = tools.flatMap((tool) =>
    Object.entries(tool.inputSchema.properties ?? {}).map(([name, p]) => ({
      tool: tool.name,
      name,
      description: p.description,
    }))
  );
  const named = (name: string) => params.filter((p) => p.name === name);

  await t.step("every parameter of every tool has a short description", () => {
    assert.ok(params.length > 150, `the catalogue has its parameters (${params.length})`);
    const missing = params.filter((p) => !p.description).map((p) => `${p.tool}.${p.name}`);
    assert.deepEqual(missing, []);
    const long = params.filter((p) => p.description!.length > 90).map((p) => `${p.tool}.${p.name}`);
    assert.deepEqual(long, [], "descriptions stay short");
  });

  await t.step("so does every row of the catalogue, whatever toolsets are on", () => {
    const missing = renderToolList(catalogue).flatMap((tool) =>
      Object.entries((tool.inputSchema as Listed["inputSchema"]).properties ?? {})
        .filter(([, p]) => !p.description).map(([name]) => `${tool.name}.${name}`)
    );
    assert.deepEqual(missing, []);
  });

  await t.step("control arguments and task IDs read the same in every tool", () => {
    const changing = tools.filter((x) => x.inputSchema.properties?.confirmation_token);
    assert.ok(changing.length >= 10, "changing tools are listed");
    for (
      const [name, text] of [
        ["dry_run", WORDING.dryRun],
        ["confirmation_token", WORDING.confirmationToken],
        ["wait", WORDING.wait],
        ["cursor", WORDING.cursor],
        ["upid", WORDING.upid],
      ] as const
    ) {
      const found = named(name);
      assert.ok(found.length > 0, name);
      assert.deepEqual(new Set(found.map((p) => p.description)), new Set([text]), name);
    }
  });

  await t.step("node arguments are all described as a node name or a node filter", () => {
    for (const p of named("node")) {
      assert.match(p.description!, /^(Node name|Only this node)/, `${p.tool}.node`);
    }
    assert.deepEqual(
      new Set(
        named("node").filter((p) => /^guest_(?!list)/.test(p.tool)).map((p) => p.description),
      ),
      new Set([WORDING.nodeLookup]),
      "guest tools look the node up the same way",
    );
  });

  await t.step("one name per concept across tools", () => {
    const names = new Set(params.map((p) => p.name));
    for (const old of ["target", "ssh_keys", "ci_password", "ci_user"]) {
      assert.ok(!names.has(old), `${old} is not used any more`);
    }
    assert.deepEqual(named("target_node").map((p) => p.tool).sort(), [
      "guest_clone",
      "guest_migrate",
      "ha_change",
    ]);
    assert.deepEqual(named("ssh_public_keys").map((p) => p.tool).sort(), [
      "ct_create",
      "guest_hardware",
      "vm_create",
    ]);
  });

  await t.step("formats are shown by example where they are not obvious", () => {
    for (
      const [tool, name, example] of [
        ["vm_create", "iso", "local:iso/"],
        ["ct_create", "ostemplate", "local:vztmpl/"],
        ["backup_restore", "archive", ":backup/vzdump-"],
        ["task_log", "upid", "UPID:"],
        ["vm_create", "ip", "/24"],
      ] as const
    ) {
      const p = params.find((x) => x.tool === tool && x.name === name);
      assert.ok(p?.description?.includes(example), `${tool}.${name}: ${p?.description}`);
    }
  });
});
