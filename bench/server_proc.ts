/**
 * Starting the server the way an MCP client does: `deno run <start flags> src/main.ts` as a
 * child process, over stdio (SDK StdioClientTransport) or Streamable HTTP.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import {
  getDefaultEnvironment,
  StdioClientTransport,
  StreamableHTTPClientTransport,
} from "./sdk.ts";
import { serverFlags } from "../scripts/permissions.ts";
import { RpcSession } from "./session.ts";

/** Root of the repository (where deno.json is). */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The flags the server runs with: those `deno task start` uses (see scripts/permissions.ts). */
export function startFlags(): Promise<string[]> {
  return serverFlags();
}

/** Environment of the child: the SDK's safe defaults, colourless, no PROXMOX_* leaking in. */
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { ...getDefaultEnvironment(), NO_COLOR: "1", ...extra };
  const denoDir = Deno.env.get("DENO_DIR");
  if (denoDir) env.DENO_DIR = denoDir;
  return env;
}

/** A running server child process and a session to it. */
export interface ServerProcess extends AsyncDisposable {
  session: RpcSession;
  pid: number;
  /** What the child wrote on stderr (for error reports). */
  stderr(): string;
}

/** `deno run` arguments for the server in a directory holding `config.json` (and `ca.pem`). */
function runArgs(flags: string[], extra: string[] = []): string[] {
  return [
    "run",
    `--config=${REPO_ROOT}deno.json`,
    ...flags,
    `${REPO_ROOT}src/main.ts`,
    "--config",
    "config.json",
    ...extra,
  ];
}

/**
 * Spawns the server on stdio in `dir` (which holds `config.json`); the session is started, not
 * initialised.
 */
export function spawnStdio(dir: string, flags: string[]): Promise<ServerProcess> {
  return spawnStdioArgs(dir, runArgs(flags));
}

/** `deno run` arguments of the floor (bench/floor_server.ts); it may read `dir` and reach loopback. */
function floorArgs(extra: string[] = []): string[] {
  return [
    "run",
    `--config=${REPO_ROOT}deno.json`,
    "--no-prompt",
    "--allow-read=.",
    "--allow-net=127.0.0.1",
    `${REPO_ROOT}bench/floor_server.ts`,
    ...extra,
  ];
}

/**
 * Spawns the floor (bench/floor_server.ts: a bare SDK `McpServer` with one tool; with `api`,
 * also its `api_get` tool) on stdio in `dir`, the way {@link spawnStdio} starts the server.
 */
export function spawnFloor(dir: string, opts: { api?: boolean } = {}): Promise<ServerProcess> {
  return spawnStdioArgs(dir, floorArgs(opts.api ? ["--api"] : []));
}

/**
 * Spawns the floor, with its `api_get` tool, on Streamable HTTP in `dir`, the way
 * {@link spawnHttp} starts the server.
 */
export function spawnFloorHttp(dir: string): Promise<ServerProcess & { listeningMs: number }> {
  return spawnHttpArgs(dir, (port) => floorArgs(["--api", "--http", String(port)]), {});
}

async function spawnStdioArgs(dir: string, args: string[]): Promise<ServerProcess> {
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args,
    cwd: dir,
    env: childEnv(),
    stderr: "pipe",
  });
  let err = "";
  const session = new RpcSession(transport);
  await session.start();
  transport.stderr?.on("data", (chunk: Uint8Array) => {
    if (err.length < 20_000) err += new TextDecoder().decode(chunk);
  });
  const pid = transport.pid;
  if (pid === null) throw new Error("Cannot start the server: no child process");
  return {
    session,
    pid,
    stderr: () => err,
    [Symbol.asyncDispose]: () => session.close(),
  };
}

/** Whether the server has a Streamable HTTP transport (the `--http` flag in its help). */
export async function httpSupported(): Promise<boolean> {
  const args = await Deno.readTextFile(`${REPO_ROOT}src/cli/args.ts`).catch(() => "");
  return /["']?http["']?\s*:\s*\{\s*type:/.test(args);
}

/** A free loopback TCP port. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** How the HTTP server is told its bearer token. */
export interface HttpAuth {
  /** Extra command-line arguments. */
  args: string[];
  /** Extra environment variables. */
  env: Record<string, string>;
  token: string;
}

/**
 * Spawns the server with `--http 127.0.0.1:PORT` and a bearer token, waits until it accepts
 * connections, and returns a session over Streamable HTTP (not yet initialised).
 */
export function spawnHttp(
  dir: string,
  flags: string[],
  auth: HttpAuth,
  onListening?: () => void,
): Promise<ServerProcess & { listeningMs: number }> {
  return spawnHttpArgs(
    dir,
    (port) => runArgs(flags, ["--http", `127.0.0.1:${port}`, ...auth.args]),
    auth.env,
    auth.token,
    onListening,
  );
}

async function spawnHttpArgs(
  dir: string,
  args: (port: number) => string[],
  env: Record<string, string>,
  token?: string,
  onListening?: () => void,
): Promise<ServerProcess & { listeningMs: number }> {
  const port = freePort();
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: args(port),
    cwd: dir,
    env: childEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let err = "";
  const decoder = new TextDecoder();
  (async () => {
    for await (const chunk of child.stderr) if (err.length < 20_000) err += decoder.decode(chunk);
  })().catch(() => {});
  let listeningMs = NaN;
  for (let i = 0; i < 1000; i++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      listeningMs = performance.now() - started;
      break;
    } catch {
      const status = await Promise.race([child.status, new Promise((r) => setTimeout(r, 5))]);
      if (status) throw new Error(`HTTP server exited before listening: ${err}`);
    }
  }
  if (Number.isNaN(listeningMs)) throw new Error(`HTTP server did not listen on ${port}: ${err}`);
  onListening?.();
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
    requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : undefined,
  });
  const session = new RpcSession(transport);
  await session.start();
  return {
    session,
    pid: child.pid,
    listeningMs,
    stderr: () => err,
    async [Symbol.asyncDispose]() {
      await session.close();
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const t = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 3000);
      await child.status;
      clearTimeout(t);
    },
  };
}

/**
 * Resident memory of process `pid` in MiB: current (VmRSS) and peak (VmHWM) from
 * `/proc/<pid>/status`, read with `cat` because Deno asks for --allow-all to read `/proc`.
 * Undefined where there is no `/proc` (not Linux).
 */
export async function rss(pid: number): Promise<{ rssMiB: number; hwmMiB: number } | undefined> {
  const status = await procFile(pid, "status");
  if (status === undefined) return undefined;
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { rssMiB: kb("VmRSS") / 1024, hwmMiB: kb("VmHWM") / 1024 };
}

/** `/proc/<pid>/<file>` as text (read with `cat`, see {@link rss}); undefined without it. */
async function procFile(pid: number, file: string): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("cat", {
      args: [`/proc/${pid}/${file}`],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU time process `pid` has used so far (user and system), in ms, from `/proc/<pid>/stat`
 * (read with `cat`, like {@link rss}); undefined where there is no `/proc`.
 */
export async function cpuMs(pid: number): Promise<number | undefined> {
  const stat = await procFile(pid, "stat");
  // Fields after the command name (which may hold spaces) start at "state"; utime and stime
  // are the 14th and 15th fields of the line, in clock ticks (100 per second on Linux).
  const fields = stat?.split(") ")[1]?.split(" ");
  if (!fields) return undefined;
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A bearer token for the HTTP server, passed as PROXMOX_MCP_HTTP_TOKEN. */
export function httpAuth(): HttpAuth {
  const token = crypto.randomUUID().replaceAll("-", "") + crypto.randomUUID().replaceAll("-", "");
  return { args: [], env: { PROXMOX_MCP_HTTP_TOKEN: token }, token };
}
