/**
 * `audit verify <file> [<key-file>]`: checks an audit log with its key (default `<file>.key`)
 * against its signed head (`<file>.head`): every line's MAC, sequence and link to the previous
 * line, then that the head names exactly this many lines, bytes and last line. Reports the first
 * problem.
 *
 * @module
 */
import { verifyAuditLog } from "../safety/audit_chain.ts";
import { auditFiles, readKey } from "../safety/audit.ts";
import { type CliArgs, UsageError } from "./args.ts";

/** Runs `audit <subcommand>`; returns the exit code (0 intact, 1 broken or unverifiable). */
export async function runAudit(cli: CliArgs): Promise<number> {
  const [sub, file, keyFile, ...rest] = cli.positionals;
  if (sub !== "verify" || !file || rest.length) {
    throw new UsageError("Usage: proxmox-mcp audit verify <file> [<key-file>]");
  }
  const files = auditFiles(file, keyFile);
  const read = async <T>(path: string, how: (p: string) => Promise<T>): Promise<T | undefined> => {
    try {
      return await how(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw new UsageError(
        `Cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  };
  const log = await read(files.log, Deno.readFile);
  if (!log) throw new UsageError(`Cannot read ${file}: no such file`);
  const key = await read(files.key, readKey);
  if (!key) {
    const reason = `the key file ${files.key} is missing: without it the log cannot be verified ` +
      "(give its path as the second argument if it is kept elsewhere)";
    if (cli.json) console.log(JSON.stringify({ file, ok: false, reason }));
    else console.log(`${file}: cannot verify: ${reason}`);
    return 1;
  }
  const head = await read(files.head, Deno.readTextFile);
  const check = verifyAuditLog(key, log, head);
  if (cli.json) {
    console.log(JSON.stringify({ file, ...check }));
  } else if (check.ok) {
    console.log(`${file}: ${check.lines} lines, MAC chain intact and matching its head`);
  } else if (check.line !== undefined) {
    console.log(`${file}: chain broken at line ${check.line} of ${check.lines}: ${check.reason}`);
  } else {
    console.log(`${file}: ${check.lines} lines chain, but ${check.reason}`);
  }
  return check.ok ? 0 : 1;
}
