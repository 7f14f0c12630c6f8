/**
 * `deno task compile`: builds the `proxmox-mcp` binary for every release target into `dist/`,
 * with the server's permission flags (from deno.json, see permissions.ts) baked in, `--frozen`
 * so the lockfile is the only source of dependencies, and `--no-prompt`.
 *
 * The start task's runtime V8 flags (a small heap) are baked into the binary by
 * `deno compile --v8-flags=…`, but `deno compile` also applies them to its own process, where
 * type checking needs far more heap. So the program is type-checked first by a `deno check`
 * with the default heap, and each binary is then compiled with `--no-check`.
 *
 * `deno compile` downloads Deno's runtime base for each target from Deno's download host, so
 * this needs that host (release machines and CI have it).
 *
 * Usage: deno task compile [target...]   (default: every target)
 *
 * @module
 */
import { serverFlags, SOURCE_DIR } from "./permissions.ts";

/** Release targets and the file name of each binary. */
export const TARGETS: Readonly<Record<string, string>> = {
  "x86_64-unknown-linux-gnu": "proxmox-mcp-x86_64-linux",
  "aarch64-unknown-linux-gnu": "proxmox-mcp-aarch64-linux",
  "x86_64-apple-darwin": "proxmox-mcp-x86_64-macos",
  "aarch64-apple-darwin": "proxmox-mcp-aarch64-macos",
  "x86_64-pc-windows-msvc": "proxmox-mcp-x86_64-windows.exe",
};

/** The `deno check` arguments run once before compiling (no runtime flags: default heap). */
export const CHECK_ARGS: readonly string[] = ["check", "--frozen", "src/main.ts"];

/**
 * Loads statically analysable dynamic imports when they run instead of at start-up (about 3 MB
 * less memory under `deno run`); they then need read access to `src/`. A compiled binary must
 * not get either: `deno compile` embeds the dynamically imported modules, and the binary reads
 * them from inside itself.
 */
export const LAZY_IMPORTS_FLAG = "--unstable-lazy-dynamic-imports";

/** `flags` (the server's) as a binary gets them: without {@link LAZY_IMPORTS_FLAG} and `src`. */
export function binaryFlags(flags: readonly string[]): string[] {
  return flags.filter((f) => f !== LAZY_IMPORTS_FLAG).map((f) => {
    if (!f.startsWith("--allow-read=")) return f;
    const paths = f.slice("--allow-read=".length).split(",").filter((p) =>
      p !== "src" && p !== SOURCE_DIR
    );
    return `--allow-read=${paths.join(",")}`;
  });
}

/** The `deno compile` arguments for one target (type checking was done by {@link CHECK_ARGS}). */
export function compileArgs(target: string, flags: string[], outDir = "dist"): string[] {
  const name = TARGETS[target];
  if (!name) {
    throw new Error(`Unknown target "${target}": use one of ${Object.keys(TARGETS).join(", ")}`);
  }
  return [
    "compile",
    "--frozen",
    "--no-check",
    ...binaryFlags(flags),
    "--target",
    target,
    "--output",
    `${outDir}/${name}`,
    "src/main.ts",
  ];
}

if (import.meta.main) {
  const targets = Deno.args.length ? Deno.args : Object.keys(TARGETS);
  const flags = await serverFlags();
  await Deno.mkdir("dist", { recursive: true });
  for (const target of targets) compileArgs(target, flags);
  console.error(`deno ${CHECK_ARGS.join(" ")}`);
  const checked = await new Deno.Command("deno", {
    args: [...CHECK_ARGS],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (checked.code !== 0) {
    console.error(`Type checking failed (exit ${checked.code})`);
    Deno.exit(checked.code);
  }
  for (const target of targets) {
    const args = compileArgs(target, flags);
    console.error(`deno ${args.join(" ")}`);
    const { code } = await new Deno.Command("deno", { args, stdout: "inherit", stderr: "inherit" })
      .output();
    if (code !== 0) {
      console.error(`Compiling for ${target} failed (exit ${code})`);
      Deno.exit(code);
    }
  }
}
