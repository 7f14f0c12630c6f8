/**
 * `audit verify <file> [<key-file>]`: checks an audit log with its key (default `<file>.key`)
 * against its signed head (`<file>.head`): every line's MAC, sequence and link to the previous
 * line, then that the head names exactly this many lines, bytes and last line. Reports the first
 * problem. The log is read in pieces, so a large log needs little memory.
 *
 * @module
 */
import { auditFiles, readKey, verifyFile } from "../safety/audit.ts";
import type { ChainCheck } from "../safety/audit_chain.ts";
import { type CliArgs, UsageError } from "./args.ts";

/** Runs `audit <subcommand>`; returns the exit code (0 intact, 1 broken or unverifiable). */
export async function runAudit(cli: CliArgs): Promise<number> {
  const [sub, file, keyFile, ...rest] = cli.positionals;
  if (sub !== "verify" || !file || rest.length) {
    throw new UsageError("Usage: proxmox-mcp audit verify <file> [<key-file>]");
  }
  const files = auditFiles(file, keyFile);
  const key = await optional(files.key, readKey);
  if (!key) {
    const reason = `the key file ${files.key} is missing: without it the log cannot be verified ` +
      "(give its path as the second argument if it is kept elsewhere)";
    if (cli.json) console.log(JSON.stringify({ file, ok: false, reason }));
    else console.log(`${file}: cannot verify: ${reason}`);
    return 1;
  }
  const head = await optional(files.head, Deno.readTextFile);
  const log = await optional(files.log, (p) => Deno.open(p, { read: true }));
  if (!log) throw new UsageError(`Cannot read ${file}: no such file`);
  let check: ChainCheck;
  try {
    check = await verifyFile(key, log, head);
  } finally {
    log.close();
  }
  if (cli.json) {
    console.log(JSON.stringify({ file, ...check }));
  } else if (check.ok) {
    console.log(`${file}: ${check.lines} lines, MAC chain intact and matching its head`);
  } else if (check.line !== undefined) {
    console.log(`${file}: chain broken at line ${check.line}: ${check.reason}`);
  } else {
    console.log(`${file}: ${check.lines} lines chain, but ${check.reason}`);
  }
  return check.ok ? 0 : 1;
}

/** `read(path)`, or undefined when the file does not exist; other failures are usage errors. */
async function optional<T>(path: string, read: (p: string) => Promise<T>): Promise<T | undefined> {
  try {
    return await read(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new UsageError(
      `Cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
