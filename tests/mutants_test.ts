import assert from "node:assert/strict";
import { applyMutation, failedTests, verdictLines } from "../scripts/mutants.ts";
import { MUTATIONS } from "../scripts/mutations.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("mutations  every listed breakage still finds its code exactly once", async (t) => {
  for (const m of MUTATIONS) {
    await t.step(m.id, async () => {
      for (const e of m.edits) {
        const text = await Deno.readTextFile(`${ROOT}${e.file}`);
        assert.equal(
          text.split(e.find).length - 1,
          1,
          `${e.file} changed: update this mutation in scripts/mutations.ts: ${
            JSON.stringify(e.find)
          }`,
        );
        assert.notEqual(e.find, e.replace);
      }
      for (const f of m.tests) assert.ok((await Deno.stat(`${ROOT}${f}`)).isFile, f);
    });
  }
});

Deno.test("applyMutation()  edits a copy and fails loudly when its snippet drifted", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "proxmox-mcp-mutant-test-" });
  try {
    await Deno.writeTextFile(`${dir}/a.ts`, "if (ok) {\n  go();\n}\nif (ok) {}\n");
    const one = { id: "x", description: "x", tests: [] };
    await t.step("replaces the one occurrence", async () => {
      await applyMutation(dir, {
        ...one,
        edits: [{ file: "a.ts", find: "  go();\n", replace: "" }],
      });
      assert.equal(await Deno.readTextFile(`${dir}/a.ts`), "if (ok) {\n}\nif (ok) {}\n");
    });
    await t.step("a missing snippet is an error", async () => {
      await assert.rejects(
        applyMutation(dir, { ...one, edits: [{ file: "a.ts", find: "stop();", replace: "" }] }),
        /a\.ts: the snippet to break was found 0 times, not once: "stop\(\);"/,
      );
    });
    await t.step("an ambiguous snippet is an error", async () => {
      await assert.rejects(
        applyMutation(dir, { ...one, edits: [{ file: "a.ts", find: "if (ok)", replace: "" }] }),
        /found 2 times, not once/,
      );
    });
    await t.step("a missing file is an error", async () => {
      await assert.rejects(
        applyMutation(dir, { ...one, edits: [{ file: "b.ts", find: "x", replace: "" }] }),
        /b\.ts does not exist/,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("failedTests()  reads test and step names from Deno's failure list", () => {
  const output = [
    "ERRORS",
    "",
    "scope  limits guests ... out of scope => ./tests/safety_pipeline_test.ts:225:11",
    "error: AssertionError",
    "",
    "FAILURES",
    "",
    "scope  limits guests ... out of scope => ./tests/safety_pipeline_test.ts:225:11",
    "concurrent calls  spend a token once => ./tests/safety_pipeline_test.ts:139:6",
    "",
    "FAILED | 9 passed | 2 failed (4s)",
  ].join("\n");
  assert.deepEqual(failedTests(output), [
    "safety_pipeline_test.ts: scope limits guests ... out of scope",
    "safety_pipeline_test.ts: concurrent calls spend a token once",
  ]);
  assert.deepEqual(failedTests("ok | 3 passed | 0 failed"), []);
});

Deno.test("verdictLines()  shows each failed test under its mutation; survivors stand out", () => {
  const m = MUTATIONS[0];
  const width = m.id.length;
  const killed = verdictLines(
    m,
    { kind: "killed", failed: ["a: 1", "b: 2"], timedOut: false },
    width,
  );
  assert.equal(killed.length, 2);
  assert.match(killed[0], /killed {4}a: 1$/);
  assert.match(killed[1], /^ +b: 2$/);
  assert.match(
    verdictLines(m, { kind: "survived" }, width)[0],
    /SURVIVED {2}no test failed in tests\//,
  );
});
