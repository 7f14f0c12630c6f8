/**
 * What `src/main.ts` loads at startup: the modules reachable by static, non-type imports
 * (from `deno info --json`), so the benchmark can show that nothing large — above all the
 * 525 KB API schema — is loaded before a request needs it.
 *
 * @module
 */
import { REPO_ROOT } from "./server_proc.ts";
import { TOOL_MODULES } from "../src/tools/manifest_modules.ts";

/** The startup import graph's local part. */
export interface StartupGraph {
  /** Local modules evaluated at startup. */
  modules: number;
  /** Their total source size in bytes. */
  bytes: number;
  /** The five largest, as [path relative to the repository, bytes]. */
  largest: [string, number][];
  /** Whether the API schema data (pve-api.json) is among them. */
  apiSchemaAtStartup: boolean;
  /** Modules defining catalogue rows that start-up loads (want none: rows load on first call). */
  toolModulesAtStartup: string[];
  /** npm packages in the whole graph (static or dynamic). */
  npmPackages: number;
  /** npm packages that start-up imports (want no MCP SDK: it loads after the first answers). */
  startupPackages: string[];
}

interface InfoModule {
  specifier: string;
  size?: number;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
}

/** Walks the static import graph of `src/main.ts` with `deno info --json`. */
export async function startupGraph(): Promise<StartupGraph> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `--config=${REPO_ROOT}deno.json`, `${REPO_ROOT}src/main.ts`],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (!out.success) {
    throw new Error(`deno info failed: ${new TextDecoder().decode(out.stderr).slice(0, 500)}`);
  }
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: InfoModule[];
    npmPackages?: Record<string, unknown>;
  };
  const byUrl = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const packages = new Set<string>();
  const stack = [...info.roots];
  while (stack.length) {
    const url = stack.pop()!;
    if (url.startsWith("npm:")) {
      packages.add(url.slice(4).replace(/^\/?((?:@[^/@]+\/)?[^/@]+).*$/, "$1"));
    }
    if (seen.has(url) || !url.startsWith("file:")) continue;
    seen.add(url);
    for (const d of byUrl.get(url)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) stack.push(d.code.specifier);
    }
  }
  const root = new URL(`file://${REPO_ROOT}`).href;
  const sizes = [...seen].map((u) =>
    [u.replace(root, ""), byUrl.get(u)?.size ?? 0] as [
      string,
      number,
    ]
  );
  return {
    modules: sizes.length,
    bytes: sizes.reduce((s, [, b]) => s + b, 0),
    largest: sizes.sort((a, b) => b[1] - a[1]).slice(0, 5),
    apiSchemaAtStartup: sizes.some(([p]) => p.endsWith("pve-api.json")),
    toolModulesAtStartup: sizes.map(([p]) => p).filter((p) =>
      p.startsWith("src/tools/") && Object.hasOwn(TOOL_MODULES, p.slice("src/tools/".length))
    ),
    npmPackages: Object.keys(info.npmPackages ?? {}).length,
    startupPackages: [...packages].sort(),
  };
}
