/**
 * The server as a child process spoken to line by line, for tests of what an SDK client never
 * sends (malformed JSON-RPC, huge lines) and of how the process ends.
 *
 * @module
 */
import { START_FLAGS } from "./stack.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/** A running server with raw access to its stdin and stdout. */
export interface RawServer extends AsyncDisposable {
  /** Writes `text` to stdin as is. */
  write(text: string): Promise<void>;
  /** Sends each message as one line. */
  send(...messages: unknown[]): Promise<void>;
  /** The next line of stdout, parsed; fails after `ms` (default 20 s). */
  next(ms?: number): Promise<unknown>;
  /** Reads answers until one has `id`; returns it. */
  answer(id: number | string | null): Promise<Record<string, unknown>>;
  /** Closes stdin; resolves with the exit status, failing if it does not come within `ms`. */
  endInput(ms?: number): Promise<Deno.CommandStatus>;
  stderr(): string;
}

/** The messages an MCP client opens a session with. */
export const HANDSHAKE = [
  {
    jsonrpc: "2.0",
    id: "init",
    method: "initialize",
    params: {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: "raw-test", version: "1" },
    },
  },
  { jsonrpc: "2.0", method: "notifications/initialized" },
];

/** Starts `deno run <start flags> main.ts <args>` in `cwd` (default: a fresh temporary folder). */
export async function startRawServer(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; flags?: string[] } = {},
): Promise<RawServer> {
  const cwd = opts.cwd ?? await Deno.makeTempDir({ prefix: "proxmox-mcp-raw-" });
  const env: Record<string, string> = { NO_COLOR: "1", ...opts.env };
  for (const name of ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const v = Deno.env.get(name);
    if (v !== undefined && env[name] === undefined) env[name] = v;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...(opts.flags ?? START_FLAGS), MAIN, ...args],
    cwd,
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let err = "";
  const errDone = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (err += chunk) }),
  ).catch(() => {});
  let buffer = "";
  let inputOpen = true;
  const encoder = new TextEncoder();

  const next = async (ms = 20_000): Promise<unknown> => {
    const timer = AbortSignal.timeout(ms);
    while (!buffer.includes("\n")) {
      const read = reader.read();
      const { done, value } = await Promise.race([
        read,
        new Promise<never>((_, reject) =>
          timer.addEventListener("abort", () => reject(new Error(`no answer within ${ms} ms`)))
        ),
      ]);
      if (done) throw new Error(`the server closed stdout; stderr:\n${err}`);
      buffer += value;
    }
    const at = buffer.indexOf("\n");
    const line = buffer.slice(0, at);
    buffer = buffer.slice(at + 1);
    return JSON.parse(line);
  };

  const endInput = async (ms = 20_000) => {
    if (inputOpen) {
      inputOpen = false;
      await writer.close().catch(() => {});
    }
    const timer = AbortSignal.timeout(ms);
    return await Promise.race([
      child.status,
      new Promise<never>((_, reject) =>
        timer.addEventListener(
          "abort",
          () => reject(new Error(`the server did not exit within ${ms} ms of stdin closing`)),
        )
      ),
    ]);
  };

  return {
    write: (text) => writer.write(encoder.encode(text)),
    send: (...messages) =>
      writer.write(encoder.encode(messages.map((m) => JSON.stringify(m) + "\n").join(""))),
    next,
    async answer(id) {
      for (;;) {
        const m = await next() as Record<string, unknown>;
        if ("id" in m && m.id === id) return m;
      }
    },
    endInput,
    stderr: () => err,
    async [Symbol.asyncDispose]() {
      try {
        await endInput(10_000);
      } catch {
        child.kill("SIGKILL");
        await child.status;
      }
      await reader.cancel().catch(() => {});
      await errDone;
      if (!opts.cwd) await Deno.remove(cwd, { recursive: true }).catch(() => {});
    },
  };
}
