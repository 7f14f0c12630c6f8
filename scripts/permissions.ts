/**
 * Renders the `server` permission set of deno.json (the single source of truth for the
 * server's permissions) as command-line flags. `deno task start` uses the set directly with
 * `-P=server`; `deno task compile`, the container build and the tests use these flags, which
 * keep relative paths relative (a compiled binary resolves them against its working directory).
 *
 * Usage: deno task permissions   (prints the flags, one per line)
 *
 * @module
 */

/** One permission set as deno.json writes it. */
export interface PermissionSet {
  net?: boolean | string[];
  read?: boolean | string[];
  write?: boolean | string[];
  env?: boolean | string[];
  run?: boolean | string[];
  sys?: boolean | string[];
  ffi?: boolean | string[];
}

/** The name of the server's permission set in deno.json. */
export const SERVER_SET = "server";

/** Reads permission set `name` from the deno.json at `configUrl`. */
export async function readPermissionSet(
  name = SERVER_SET,
  configUrl: URL = new URL("../deno.json", import.meta.url),
): Promise<PermissionSet> {
  const config = JSON.parse(await Deno.readTextFile(configUrl)) as {
    permissions?: Record<string, PermissionSet>;
  };
  const set = config.permissions?.[name];
  if (!set) throw new Error(`deno.json has no permission set "${name}"`);
  return set;
}

/** The flags granting exactly `set`, plus `--no-prompt`. */
export function renderFlags(set: PermissionSet): string[] {
  const flags: string[] = [];
  for (const kind of ["net", "read", "write", "env", "run", "sys", "ffi"] as const) {
    const value = set[kind];
    if (value === true) flags.push(`--allow-${kind}`);
    else if (Array.isArray(value) && value.length) flags.push(`--allow-${kind}=${value.join(",")}`);
  }
  flags.push("--no-prompt");
  return flags;
}

/**
 * Runtime flags other than permissions that `deno task start` passes (e.g. `--v8-flags=...`),
 * so the binary, the container and the benchmark run the server exactly as the task does.
 */
export async function runtimeFlags(
  configUrl: URL = new URL("../deno.json", import.meta.url),
): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(configUrl)) as {
    tasks?: Record<string, string | { command: string }>;
  };
  const task = config.tasks?.start;
  const words = (typeof task === "string" ? task : task?.command ?? "").split(/\s+/);
  const run = words.indexOf("run");
  const main = words.findIndex((w) => w.endsWith("src/main.ts"));
  if (run < 0 || main <= run) return [];
  return words.slice(run + 1, main).filter((w) =>
    w !== "" && !/^(-P|--permission-set|--allow-|--deny-|--no-prompt|-A$)/.test(w)
  );
}

/**
 * The folder of the server's own modules, which `deno run` with lazily loaded dynamic imports
 * reads as they are first imported: `src` in the permission set, absolute in rendered flags
 * (under `-P=server` Deno resolves it against deno.json's folder; a flag is resolved against the
 * working directory).
 */
export const SOURCE_DIR: string = decodeURIComponent(new URL("../src", import.meta.url).pathname);

/** The server's flags: runtime flags of the start task and the permission set, rendered. */
export async function serverFlags(): Promise<string[]> {
  const set = await readPermissionSet();
  const read = Array.isArray(set.read)
    ? set.read.map((p) => (p === "src" ? SOURCE_DIR : p))
    : set.read;
  return [...await runtimeFlags(), ...renderFlags({ ...set, read })];
}

if (import.meta.main) {
  console.log((await serverFlags()).join("\n"));
}
