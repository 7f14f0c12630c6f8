/**
 * The state folder: a local folder only the server's user can use (mode 0700, files 0600). It
 * is the channel between running servers and the operator's terminal: the kill switch file
 * `freeze` and the pending approvals under `approvals/`. Nothing in it travels over a network.
 *
 * @module
 */

/** Where the state folder is when `state_dir` is not set and the folder exists. */
export const DEFAULT_STATE_DIR = "/var/lib/proxmox-mcp";

/** The state folder cannot be used. */
export class StateDirError extends Error {
  /** @param message What is wrong and how to fix it. */
  constructor(message: string) {
    super(message);
    this.name = "StateDirError";
  }
}

/** An opened state folder. */
export interface StateDir {
  /** Absolute or configured path of the folder. */
  readonly path: string;
  /** The path of `name` inside the folder. */
  file(name: string): string;
}

/**
 * Opens `path` as the state folder: creates it (0700) if missing and refuses one that others
 * can read or write (the kill switch and approvals must be the owner's alone).
 */
export async function openStateDir(path: string): Promise<StateDir> {
  try {
    await Deno.mkdir(`${path}/approvals`, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new StateDirError(`Cannot use state folder ${path}: ${errorText(e)}`);
  }
  if (Deno.build.os !== "windows") {
    for (const dir of [path, `${path}/approvals`]) {
      const info = await Deno.stat(dir);
      if (info.mode !== null && (info.mode & 0o077) !== 0) {
        throw new StateDirError(
          `State folder ${dir} is open to other users (mode ${(info.mode & 0o777).toString(8)}): ` +
            `anyone who can write it could approve changes or lift a freeze. Run chmod 700 ${dir}`,
        );
      }
    }
  }
  return { path, file: (name) => `${path}/${name}` };
}

/** The configured state folder, or the default one when it exists; undefined for none. */
export async function findStateDir(configured?: string): Promise<StateDir | undefined> {
  if (configured) return await openStateDir(configured);
  try {
    const info = await Deno.stat(DEFAULT_STATE_DIR);
    if (!info.isDirectory) return undefined;
  } catch {
    return undefined;
  }
  return await openStateDir(DEFAULT_STATE_DIR);
}

/** Writes `text` to `path` atomically with mode 0600 (temporary file, then rename). */
export async function writePrivate(path: string, text: string): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(tmp, text, { mode: 0o600 });
  if (Deno.build.os !== "windows") await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
}

/** Reads `path` as JSON; undefined when it does not exist or is unreadable. */
export async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return undefined;
  }
}

/** Removes `path`, ignoring a missing file. */
export async function removeQuietly(path: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
}

/** An error as text. */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
