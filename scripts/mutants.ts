/**
 * Mutation checks: applies each breakage of `scripts/mutations.ts` to its own scratch copy of
 * the repository (never the working tree), runs that mutation's test files against the copy and
 * fails unless every breakage makes at least one test fail that passes on the unbroken copy.
 * Prints a table: mutation → tests that failed.
 *
 * Usage: `deno task mutants [--only id,id] [--jobs N] [--timeout SECONDS] [--list]`
 *
 * @module
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Mutation, MUTATIONS } from "./mutations.ts";

/** What happened to one mutation. */
export type Verdict =
  /** At least one test failed that passes on the unbroken copy. */
  | { kind: "killed"; failed: string[]; timedOut: boolean }
  /** Every test still passed (or only tests that fail anyway). */
  | { kind: "survived" }
  /** The mutation could not be applied or its tests could not run. */
  | { kind: "error"; message: string };

/** One test run's outcome. */
interface TestRun {
  code: number;
  failed: string[];
  timedOut: boolean;
  output: string;
}

const ROOT = new URL("..", import.meta.url).pathname;
/** Not copied: version control, the installed toolchain, build output. */
const SKIP = new Set([".git", ".tools", "dist", "node_modules", "coverage"]);
const TEST_FLAGS = [
  "test",
  "--no-check",
  "--allow-net=127.0.0.1",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--no-prompt",
];

/** Test names from Deno's `name => ./tests/file_test.ts:line:col` failure lines. */
export function failedTests(output: string): string[] {
  const names = new Set<string>();
  for (const m of output.matchAll(/^(.+?) => \.\/(tests\/[^\s:]+):\d+:\d+\s*$/gm)) {
    names.add(`${m[2].replace(/^tests\//, "")}: ${m[1].replace(/\s+/g, " ").trim()}`);
  }
  return [...names];
}

/** Applies the edits of `mutation` to the text of files below `root`; throws on drift. */
export async function applyMutation(root: string, mutation: Mutation): Promise<void> {
  for (const edit of mutation.edits) {
    const path = join(root, edit.file);
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch {
      throw new Error(`${edit.file} does not exist`);
    }
    const count = text.split(edit.find).length - 1;
    if (count !== 1) {
      throw new Error(
        `${edit.file}: the snippet to break was found ${count} times, not once: ` +
          JSON.stringify(edit.find.length > 80 ? `${edit.find.slice(0, 77)}...` : edit.find),
      );
    }
    await writeFile(path, text.replace(edit.find, () => edit.replace));
  }
}

async function scratchCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "proxmox-mcp-mutant-"));
  await cp(ROOT, dir, {
    recursive: true,
    filter: (src) => {
      const rel = src.slice(ROOT.length).split("/").filter(Boolean);
      return !(rel.length === 1 && SKIP.has(rel[0]));
    },
  });
  return dir;
}

async function runTests(root: string, tests: string[], timeoutMs: number): Promise<TestRun> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const child = new Deno.Command(Deno.execPath(), {
    args: [...TEST_FLAGS, ...tests],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    signal: timeout,
  }).spawn();
  const { code, stdout, stderr } = await child.output();
  const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  return { code, failed: failedTests(output), timedOut: timeout.aborted, output };
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

async function judge(
  mutation: Mutation,
  baseline: ReadonlySet<string>,
  timeoutMs: number,
): Promise<Verdict> {
  const root = await scratchCopy();
  try {
    try {
      await applyMutation(root, mutation);
    } catch (err) {
      return { kind: "error", message: `Cannot apply: ${(err as Error).message}` };
    }
    const run = await runTests(root, mutation.tests, timeoutMs);
    if (run.timedOut) return { kind: "killed", failed: run.failed, timedOut: true };
    const failed = run.failed.filter((t) => !baseline.has(t));
    if (failed.length) return { kind: "killed", failed, timedOut: false };
    if (run.code !== 0 && !run.failed.length) {
      return {
        kind: "error",
        message: `The tests did not run (exit ${run.code}):\n${tail(run.output)}`,
      };
    }
    return { kind: "survived" };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** Runs `work` over `items` with at most `jobs` at a time, keeping the order of results. */
async function pool<T, R>(items: readonly T[], jobs: number, work: (t: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  return results;
}

/** Table rows for one mutation: its verdict, then each test that failed (at most `shown`). */
export function verdictLines(m: Mutation, v: Verdict, width: number, shown = 4): string[] {
  const id = m.id.padEnd(width);
  if (v.kind === "survived") return [`${id}  SURVIVED  no test failed in ${m.tests.join(", ")}`];
  if (v.kind === "error") return [`${id}  ERROR     ${v.message.split("\n").join("\n    ")}`];
  const pad = " ".repeat(width + 12);
  const clip = (t: string) => {
    if (t.length <= 110) return t;
    const steps = t.split(" ... ");
    const head = steps[0].length > 50 ? `${steps[0].slice(0, 47)}...` : steps[0];
    const short = steps.length > 1 ? `${head} ... ${steps.at(-1)}` : head;
    return short.length > 110 ? `${short.slice(0, 107)}...` : short;
  };
  const names = v.failed.slice(0, shown).map(clip);
  if (v.failed.length > shown) names.push(`(+${v.failed.length - shown} more)`);
  if (v.timedOut) names.unshift("(the tests timed out)");
  return [`${id}  killed    ${names[0] ?? ""}`, ...names.slice(1).map((n) => pad + n)];
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      only: { type: "string" },
      jobs: { type: "string", default: String(Math.max(1, navigator.hardwareConcurrency)) },
      timeout: { type: "string", default: "240" },
      list: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      "Usage: deno task mutants [--only id,id] [--jobs N] [--timeout SECONDS] [--list]",
    );
    return 0;
  }
  let chosen = MUTATIONS;
  if (values.only) {
    const ids = values.only.split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = ids.filter((id) => !MUTATIONS.some((m) => m.id === id));
    if (unknown.length) {
      console.error(
        `Unknown mutation: ${unknown.join(", ")}; known: ${MUTATIONS.map((m) => m.id).join(", ")}`,
      );
      return 2;
    }
    chosen = MUTATIONS.filter((m) => ids.includes(m.id));
  }
  const width = Math.max(...chosen.map((m) => m.id.length));
  if (values.list) {
    for (const m of chosen) console.log(`${m.id.padEnd(width)}  ${m.description}`);
    return 0;
  }
  const jobs = Number(values.jobs);
  const timeoutMs = Number(values.timeout) * 1000;
  if (!Number.isInteger(jobs) || jobs < 1 || !(timeoutMs > 0)) {
    console.error("Invalid --jobs or --timeout: both must be positive numbers");
    return 2;
  }

  const started = Date.now();
  const files = [...new Set(chosen.flatMap((m) => m.tests))].sort();
  console.log(`Baseline: ${files.length} test files on an unbroken copy`);
  const baseRoot = await scratchCopy();
  let base: TestRun;
  try {
    base = await runTests(baseRoot, files, timeoutMs);
  } finally {
    await rm(baseRoot, { recursive: true, force: true });
  }
  if (base.timedOut || (base.code !== 0 && !base.failed.length)) {
    console.error(`The baseline run did not finish:\n${tail(base.output)}`);
    return 1;
  }
  if (base.failed.length) {
    console.log(`Baseline: ${base.failed.length} tests fail without any mutation (ignored):`);
    for (const t of base.failed) console.log(`  ${t}`);
  }
  const baseline = new Set(base.failed);

  console.log(`Applying ${chosen.length} mutations, ${jobs} at a time`);
  const verdicts = await pool(chosen, jobs, async (m) => {
    const v = await judge(m, baseline, timeoutMs);
    console.log(`  ${m.id}: ${v.kind}`);
    return v;
  });

  console.log(`\n${"mutation".padEnd(width)}  result    tests that failed`);
  console.log(`${"-".repeat(width)}  --------  ${"-".repeat(40)}`);
  for (const [i, m] of chosen.entries()) {
    for (const line of verdictLines(m, verdicts[i], width)) console.log(line);
  }
  const killed = verdicts.filter((v) => v.kind === "killed").length;
  const bad = chosen.length - killed;
  const secs = Math.round((Date.now() - started) / 1000);
  console.log(
    `\n${killed} of ${chosen.length} mutations killed, ${bad} not (${secs} s)` +
      (bad ? ": every breakage of the safety code must make a test fail" : ""),
  );
  return bad ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
