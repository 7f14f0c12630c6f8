/**
 * `audit verify <file>`: checks the hash chain of an audit log and reports the first broken
 * line.
 *
 * @module
 */
import { verifyAuditChain } from "../safety/audit.ts";
import { type CliArgs, UsageError } from "./args.ts";

/** Runs `audit <subcommand>`; returns the exit code (0 intact, 1 broken). */
export async function runAudit(cli: CliArgs): Promise<number> {
  const [sub, file, ...rest] = cli.positionals;
  if (sub !== "verify" || !file || rest.length) {
    throw new UsageError("Usage: proxmox-mcp audit verify <file>");
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    throw new UsageError(
      `Cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const check = verifyAuditChain(text);
  if (cli.json) {
    console.log(JSON.stringify({ file, ...check }));
  } else if (check.ok) {
    console.log(`${file}: ${check.lines} lines, hash chain intact`);
  } else {
    console.log(
      `${file}: chain broken at line ${check.line} of ${check.lines}: ${check.reason}`,
    );
  }
  return check.ok ? 0 : 1;
}
