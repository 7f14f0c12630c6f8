/**
 * How to start this program again as a child process (the demo's server), whether it runs
 * under `deno run` or as a compiled binary.
 *
 * @module
 */

/** Permission flags of the stdio server on the simulator (loopback only). */
export const SIMULATOR_SERVER_FLAGS = [
  "--allow-net=127.0.0.1",
  "--allow-read",
  "--allow-env",
  "--no-prompt",
];

/** The command and arguments that run this program with `args`. */
export function selfCommand(args: string[]): { command: string; args: string[] } {
  const exe = Deno.execPath();
  const name = exe.split(/[\\/]/).pop()?.toLowerCase() ?? "";
  if (name === "deno" || name === "deno.exe") {
    const main = new URL("../main.ts", import.meta.url);
    return { command: exe, args: ["run", ...SIMULATOR_SERVER_FLAGS, main.pathname, ...args] };
  }
  return { command: exe, args };
}
