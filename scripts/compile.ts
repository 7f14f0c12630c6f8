/**
 * `deno task compile`: builds the `proxmox-mcp` binary for every release target into `dist/`,
 * with the server's permission flags (from deno.json, see permissions.ts) baked in, `--frozen`
 * so the lockfile is the only source of dependencies, and `--no-prompt`.
 *
 * `deno compile` downloads Deno's runtime base for each target from Deno's download host, so
 * this needs that host (release machines and CI have it).
 *
 * Usage: deno task compile [target...]   (default: every target)
 *
 * @module
 */
import { serverFlags } from "./permissions.ts";

/** Release targets and the file name of each binary. */
export const TARGETS: Readonly<Record<string, string>> = {
  "x86_64-unknown-linux-gnu": "proxmox-mcp-x86_64-linux",
  "aarch64-unknown-linux-gnu": "proxmox-mcp-aarch64-linux",
  "x86_64-apple-darwin": "proxmox-mcp-x86_64-macos",
  "aarch64-apple-darwin": "proxmox-mcp-aarch64-macos",
  "x86_64-pc-windows-msvc": "proxmox-mcp-x86_64-windows.exe",
};

/** The `deno compile` arguments for one target. */
export function compileArgs(target: string, flags: string[], outDir = "dist"): string[] {
  const name = TARGETS[target];
  if (!name) {
    throw new Error(`Unknown target "${target}": use one of ${Object.keys(TARGETS).join(", ")}`);
  }
  return [
    "compile",
    "--frozen",
    ...flags,
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
