import assert from "node:assert/strict";
import { renderManifest } from "../scripts/gen_tool_manifest.ts";
import { catalogue } from "../src/tools/catalogue.ts";
import { manifest } from "../src/tools/manifest.ts";
import { catalogueSource } from "../src/server/tool_source.ts";

Deno.test("the tool manifest matches the catalogue", async (t) => {
  await t.step(
    "manifest.json and manifest_modules.ts are what deno task manifest writes",
    async () => {
      const { json, modules } = await renderManifest();
      const dir = new URL("../src/tools/", import.meta.url);
      assert.equal(
        await Deno.readTextFile(new URL("manifest.json", dir)),
        json,
        "src/tools/manifest.json is out of date: run deno task manifest",
      );
      assert.equal(
        await Deno.readTextFile(new URL("manifest_modules.ts", dir)),
        modules,
        "src/tools/manifest_modules.ts is out of date: run deno task manifest",
      );
    },
  );

  await t.step("every row loads from its module as the very row of the catalogue", async () => {
    assert.deepEqual(manifest.tools.map((e) => e.name), catalogue.map((t) => t.name));
    const source = catalogueSource();
    for (const row of catalogue) assert.equal(await source.load(row.name), row, row.name);
  });

  await t.step("an unknown name is refused, not loaded", async () => {
    await assert.rejects(() => catalogueSource().load("no_such_tool"), /No tool no_such_tool/);
  });
});
