/**
 * `deno task conformance`: runs the official MCP conformance suite
 * (npm:@modelcontextprotocol/conformance, pinned in deno.json and deno.lock) against
 * `proxmox-mcp --simulator --http 127.0.0.1:0`, started with the server's permission flags,
 * and checks the result against tests/conformance/expected-failures.yml.
 *
 * The server runs on loopback without a bearer token: the suite sends no Authorization header
 * (a loopback listener may run without one; any other address requires it).
 *
 * @module
 */
import { serverFlags } from "./permissions.ts";

const SUITE = "npm:@modelcontextprotocol/conformance@0.1.16";
const BASELINE = "tests/conformance/expected-failures.yml";

/** Starts the server and resolves with its MCP URL, read from the startup line. */
async function startServer(): Promise<{ url: string; process: Deno.ChildProcess }> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", ...(await serverFlags()), "src/main.ts", "--simulator", "--http", "127.0.0.1:0"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = process.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = setTimeout(() => process.kill("SIGKILL"), 60_000);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`The server exited before listening:\n${seen}`);
    seen += value;
    const match = /Streamable HTTP at (http:\/\/\S+\/mcp)/.exec(seen);
    if (match) {
      clearTimeout(deadline);
      // Keep draining stderr so the server never blocks on a full pipe.
      (async () => {
        for (;;) if ((await reader.read()).done) break;
      })();
      return { url: match[1], process };
    }
  }
}

if (import.meta.main) {
  const server = await startServer();
  console.error(`conformance: server at ${server.url}`);
  let code = 1;
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--frozen",
        SUITE,
        "server",
        "--url",
        server.url,
        "--expected-failures",
        BASELINE,
      ],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    code = run.code;
  } finally {
    server.process.kill("SIGTERM");
    const status = await server.process.status;
    if (!status.success && status.signal === null) {
      console.error(`conformance: the server exited with ${status.code} after SIGTERM`);
      code ||= 1;
    }
  }
  Deno.exit(code);
}
